from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.codec import MAX_PAYLOAD_BYTES, DecodeError, decode_event, encode
from schemas.events import AccountSnapshot, FollowerSpikeAlert, Post
from schemas.export import drifted_files, render_schemas

NOW = datetime.now(UTC).replace(microsecond=0)


def post_dict(**overrides: object) -> dict:
    base = {
        "kind": "post",
        "schema_version": 1,
        "post_id": "p1",
        "platform": "instagram",
        "account_id": "instagram:inkjournal",
        "handle": "inkjournal",
        "posted_at": (NOW - timedelta(hours=2)).isoformat(),
        "observed_at": (NOW - timedelta(hours=1)).isoformat(),
        "followers": 12_000,
        "following": 300,
        "likes": 400,
        "comments": 20,
        "shares": 3,
        "views": None,
        "tags": ["#FountainPens", "ink"],
        "text": "swatch of the day",
    }
    base.update(overrides)
    return base


def reason_for(payload: bytes) -> str:
    with pytest.raises(DecodeError) as info:
        decode_event(payload)
    return info.value.reason


def test_post_and_snapshot_decode_by_kind() -> None:
    post = decode_event(orjson.dumps(post_dict()))
    assert isinstance(post, Post) and post.likes == 400
    snap = decode_event(
        orjson.dumps(
            {
                "kind": "snapshot",
                "schema_version": 1,
                "platform": "tiktok",
                "account_id": "tiktok:a",
                "handle": "a",
                "observed_at": NOW.isoformat(),
                "followers": 5,
            }
        )
    )
    assert isinstance(snap, AccountSnapshot) and snap.following is None


def test_unknown_fields_on_input_are_ignored() -> None:
    post = decode_event(orjson.dumps(post_dict(new_optional_field="x")))
    assert not hasattr(post, "new_optional_field")


def test_models_are_frozen() -> None:
    post = decode_event(orjson.dumps(post_dict()))
    with pytest.raises(Exception):
        post.likes = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"not json", "not valid JSON"),
        (b'"\xff\xfe"', "not valid UTF-8"),
        (b"[1, 2]", "expected a JSON object, got an array"),
        (b'{"kind": "comment"}', "unknown kind 'comment'"),
        (b"[" * 5000 + b"]" * 5000, "nested too deep"),
        (b" " * (MAX_PAYLOAD_BYTES + 1), "exceeds"),
    ],
)
def test_malformed_payloads_get_a_short_reason(payload: bytes, expected: str) -> None:
    assert expected in reason_for(payload)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"likes": -1}, "likes: Input should be greater than or equal to 0"),
        ({"post_id": ""}, "post_id: String should have at least 1 character"),
        ({"observed_at": "2026-01-01T10:00:00"}, "observed_at: Input should have timezone info"),
        ({"observed_at": "1999-12-31T23:00:00Z"}, "observed_at: Input should be greater than or equal to 2000"),
        ({"observed_at": (NOW + timedelta(days=2)).isoformat()}, "more than 1 day in the future"),
        ({"posted_at": (NOW + timedelta(days=2)).isoformat()}, "posted_at"),
        ({"text": "x" * 10_001}, "text: String should have at most 10000 characters"),
        ({"tags": ["t"] * 101}, "tags: List should have at most 100 items"),
        ({"tags": ["t" * 101]}, "tags.0: String should have at most 100 characters"),
        ({"schema_version": 2}, "unsupported schema_version"),
    ],
)
def test_invalid_posts_are_rejected_with_a_clear_message(overrides: dict, expected: str) -> None:
    assert expected in reason_for(orjson.dumps(post_dict(**overrides)))


def test_timestamp_within_a_day_ahead_is_accepted() -> None:
    decode_event(orjson.dumps(post_dict(observed_at=(NOW + timedelta(hours=20)).isoformat())))


counters = st.integers(min_value=0, max_value=2**40)
texts = st.text(max_size=200)


@given(
    likes=counters,
    followers=counters,
    views=st.none() | counters,
    tags=st.lists(st.text(max_size=100), max_size=100),
    text=st.none() | texts,
    offset_minutes=st.integers(min_value=-60 * 24 * 365 * 20, max_value=60 * 20),
)
def test_encode_decode_round_trip(
    likes: int, followers: int, views: int | None, tags: list[str], text: str | None, offset_minutes: int
) -> None:
    observed = NOW + timedelta(minutes=offset_minutes)
    post = Post.model_validate(
        post_dict(likes=likes, followers=followers, views=views, tags=tags, text=text, observed_at=observed)
    )
    assert decode_event(encode(post)) == post


def test_output_events_encode_with_utc_timestamps() -> None:
    alert = FollowerSpikeAlert(
        alert_id="abc",
        account_id="instagram:a",
        platform="instagram",
        handle="a",
        niches=["fountainpens"],
        classification="suspected_purchase",
        window_start=NOW,
        window_end=NOW,
        detected_at=NOW,
        followers_before=1,
        followers_after=2,
        growth=1,
        growth_relative=1.0,
        expected_growth=0.0,
        baseline_growth_per_hour=0.0,
        baseline_mad_per_hour=0.0,
        evidence=[],
    )
    decoded = orjson.loads(encode(alert))
    assert decoded["kind"] == "follower_spike_alert"
    assert decoded["window_start"].endswith("Z")


def test_checked_in_json_schemas_match_the_models() -> None:
    assert drifted_files() == [], "run: python -m schemas.export"


def test_every_exported_schema_names_its_kind_and_required_fields() -> None:
    for name, text in render_schemas().items():
        schema = orjson.loads(text)
        assert schema["type"] == "object", name
        assert schema["required"], name
