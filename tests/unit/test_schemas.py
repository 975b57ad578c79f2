from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.codec import MAX_NESTING_DEPTH, MAX_PAYLOAD_BYTES, DecodeError, decode_event, encode
from schemas.events import TIMESTAMP_PATTERN, AccountSnapshot, FollowerSpikeAlert, Post
from streams.pipeline import reason_class
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
        (b"\xef\xbb\xbf" + orjson.dumps(post_dict()), "not valid JSON: starts with a byte-order mark"),
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
    post = Post.model_validate(post_dict(
        likes=likes, followers=followers, views=views, tags=tags, text=text, observed_at=observed,
        posted_at=observed - timedelta(hours=1),
    ))
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


def with_raw(field: str, literal: bytes) -> bytes:
    """A valid post whose ``field`` is the JSON text ``literal`` (or an extra field when unknown)."""
    event = post_dict()
    event[field] = "__RAW__"
    return orjson.dumps(event).replace(b'"__RAW__"', literal)


@pytest.mark.parametrize("field", ["followers", "likes", "comments", "shares", "following", "views", "schema_version"])
@pytest.mark.parametrize("literal", [b'"12000"', b'" 12 "', b'"1_000"', b'"12000.0"', b"true", b"false", b'"1"', b"900.5"])
def test_lax_counts_are_rejected_naming_the_field(field: str, literal: bytes) -> None:
    assert reason_for(with_raw(field, literal)).startswith(f"invalid event: {field}: ")


@pytest.mark.parametrize(("literal", "value"), [(b"900", 900), (b"900.0", 900), (b"9e2", 900), (b"9.5E2", 950), (b"-0.0", 0)])
def test_integral_json_numbers_are_counts_as_json_schema_integer_allows(literal: bytes, value: int) -> None:
    assert decode_event(with_raw("likes", literal)).likes == value
    assert decode_event(with_raw("schema_version", literal.replace(b"900", b"1").replace(b"9e2", b"1e0")
                                 .replace(b"9.5E2", b"0.1e1").replace(b"-0.0", b"1.0"))).schema_version == 1


def test_counts_of_2_to_the_53_or_more_are_rejected_however_written() -> None:
    for literal in (b"9007199254740992", b"9007199254740992.0", b"1e20", b"1e300", b"1" + b"0" * 30):
        assert reason_for(with_raw("likes", literal)) == "invalid event: likes: counter of 2**53 or more"
    assert decode_event(with_raw("likes", b"9007199254740991")).likes == 2**53 - 1


@pytest.mark.parametrize("spelling", [
    "2026-03-01T01:00:00Z", "2026-03-01t01:00:00z", "2026-03-01T01:00:00+00:00", "2026-03-01T01:00:00-00:00",
    "2026-03-01T02:30:00+01:30", "2026-03-01T01:00:00.5Z", "2026-03-01T01:00:00.123456789Z",
])
def test_accepted_timestamp_spellings(spelling: str) -> None:
    event = post_dict(posted_at="2026-03-01T00:00:00Z")
    assert decode_event(orjson.dumps({**event, "observed_at": spelling})).observed_at.timestamp() >= 1772326800


@pytest.mark.parametrize(("literal", "expected"), [
    (b"1772326800", "observed_at: Input should be a valid string"),
    (b"1772326800.5", "observed_at: Input should be a valid string"),
    (b'"1772326800"', "observed_at: Input should be an RFC 3339 timestamp"),
    (b'"2026-03-01 01:00:00Z"', "observed_at: Input should be an RFC 3339 timestamp"),
    (b'"2026-03-01_01:00:00Z"', "observed_at: Input should be an RFC 3339 timestamp"),
    (b'"2026-03-01T01:00Z"', "observed_at: Input should be an RFC 3339 timestamp"),
    (b'"2026-03-01T01:00:00,5Z"', "observed_at: Input should be an RFC 3339 timestamp"),
    (b'"2026-03-01T01:00:00+0100"', "observed_at: Input should be an RFC 3339 timestamp"),
    (b'"2026-03-01T01:00:00.1234567890Z"', "observed_at: Input should be an RFC 3339 timestamp"),
    (b'"2026-03-01T01:00:00Z\\n"', "observed_at: Input should be an RFC 3339 timestamp"),
    (b'"2026-03-01"', "observed_at: Input should be an RFC 3339 timestamp"),
    (b'"2026-03-01T01:00:00"', "observed_at: Input should have timezone info"),
    (b'"2026-02-30T01:00:00Z"', "observed_at: Input should be a valid datetime"),
    (b'"2026-03-01T24:00:00Z"', "observed_at: Input should be a valid datetime"),
    (b'"2026-03-01T01:00:60Z"', "observed_at: Input should be a valid datetime"),
    (b'"2026-03-01T01:00:00+24:00"', "observed_at: Input should be a valid datetime"),
    (b"true", "observed_at: Input should be a valid string"),
])
def test_timestamps_other_than_rfc_3339_strings_are_rejected(literal: bytes, expected: str) -> None:
    assert expected in reason_for(with_raw("observed_at", literal))


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"[1, NaN]", b'{"x": Infinity}'])
@pytest.mark.parametrize("field", ["likes", "text", "an_unknown_field"])
def test_nan_and_infinity_anywhere_are_not_json(literal: bytes, field: str) -> None:
    assert reason_for(with_raw(field, literal)) == "not valid JSON: NaN and Infinity are not JSON numbers"


def test_numbers_beyond_a_double_are_not_json_even_in_unknown_fields() -> None:
    assert reason_for(with_raw("extra", b"1e400")) == "not valid JSON: number beyond the range of a 64-bit float"


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_is_too_deep() -> None:
    inner = MAX_NESTING_DEPTH - 1  # the event object is level 1
    decode_event(with_raw("extra", b"[" * inner + b"]" * inner))
    decode_event(with_raw("extra", b'"' + b"[" * 500 + b'"'))  # brackets inside a string do not nest
    for deeper in (b"[" * (inner + 1) + b"]" * (inner + 1), b'{"a":' * (inner + 1) + b"1" + b"}" * (inner + 1)):
        reason = reason_for(with_raw("extra", deeper))
        assert reason == f"JSON nested too deep (more than {MAX_NESTING_DEPTH} levels)"
        assert reason_class(reason) == "too_deep"


def test_duplicate_keys_the_last_one_wins() -> None:
    raw = orjson.dumps(post_dict())[:-1] + b',"likes":7,"kind":"post"}'
    assert decode_event(raw).likes == 7


def test_a_post_observed_before_it_was_posted_is_rejected() -> None:
    reason = reason_for(orjson.dumps(post_dict(posted_at=NOW.isoformat(), observed_at=(NOW - timedelta(seconds=1)).isoformat())))
    assert reason.startswith("invalid event: observed_at: ") and "is earlier than posted_at" in reason
    decode_event(orjson.dumps(post_dict(posted_at=NOW.isoformat(), observed_at=NOW.isoformat())))


def test_exported_schema_states_the_counter_and_timestamp_rules() -> None:
    schema = orjson.loads(render_schemas()["post.schema.json"])
    assert schema["properties"]["likes"]["exclusiveMaximum"] == 2**53
    assert schema["properties"]["observed_at"]["pattern"] == TIMESTAMP_PATTERN
