"""Fuzzing the input boundary: whatever bytes arrive, decoding either succeeds or says why.

``schemas.codec.decode_event`` may raise ``DecodeError`` and nothing else; the pipeline turns
that into a dead letter. Anything else escaping ``Pipeline.process`` (or the state it leaves
behind failing to serialise for the changelog) would crash the worker on every restart at
the same offset: a poison pill that stops the partition.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.codec import DecodeError, decode_event, encode
from schemas.events import AccountSnapshot, NicheDefinition, Post
from streams.changelog import decode_state
from streams.pipeline import Record
from tests.unit.test_pipeline import pipeline
from tests.events_factory import BASE_TIME, post_dict

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NICHES = [NicheDefinition(name="pens", tags=["#FountainPens"])]
ACCOUNT = "instagram:inkjournal"

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_trees = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
# Values that are each plausible for some field and wrong for most: big and negative
# integers, timestamps of every shape, strings, nesting. The hand-picked edges are drawn
# as often as everything else together.
edge_values = st.sampled_from([
    2**53 - 1, 2**53, 2**63, 2**64, 10**30, 10**400, -1, 0, 1.5, True, "", "x" * 600, [], {},
    "2026-03-01T01:00:00", "2026-03-01T01:00:00Z", "1999-12-31T23:59:59Z", "2999-01-01T00:00:00Z",
    "not a date", 1_772_326_800, "2026-03-01T01:00:00+14:00",
])
field_values = st.one_of(
    edge_values,
    st.one_of(
        json_trees,
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.none() | st.just(UTC))
        .map(lambda dt: dt.isoformat()),
    ),
)


def dumps(obj: Any) -> bytes:
    """JSON bytes; the standard library writes integers of any size (orjson stops at 64 bits)."""
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", errors="surrogatepass")


def decode_or_reason(raw: bytes) -> Post | AccountSnapshot | str:
    try:
        return decode_event(raw)
    except DecodeError as exc:
        assert exc.reason and len(exc.reason) < 2000
        return exc.reason


def valid_post(i: int = 1) -> dict[str, Any]:
    return post_dict(post_id=f"p{i}", observed_at=BASE_TIME + timedelta(hours=i))


def run_pipeline(payloads: list[tuple[bytes | None, bytes | None]]) -> None:
    """Feed records through a fresh pipeline; the engine's state must still encode."""
    line, writer, _ = pipeline(NICHES)
    records = [Record("posts", 0, offset, key, value) for offset, (key, value) in enumerate(payloads)]
    result = line.process(records, now=BASE_TIME.timestamp() + 86_400 * 30)
    for dead in result.dead_letters:
        assert dead.reason
    assert set(writer.data) == {account_id.encode() for account_id in line.engine.native.accounts()}
    for key, state in writer.data.items():  # what the changelog holds reads back
        assert decode_state(state, key.decode(), line.engine.config).account_id == key.decode()


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_decode_or_raise_decode_error(raw: bytes) -> None:
    decode_or_reason(raw)
    run_pipeline([(ACCOUNT.encode(), raw)])


@FUZZ
@given(json_trees)
def test_random_json_trees_decode_or_raise_decode_error(tree: Any) -> None:
    raw = dumps(tree)
    decoded = decode_or_reason(raw)
    if not isinstance(tree, dict):
        assert isinstance(decoded, str)
    run_pipeline([(ACCOUNT.encode(), raw)])


def _mutated(kind: str, changes: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
    base = valid_post(3)
    if kind == "snapshot":
        base = {k: base[k] for k in ("schema_version", "platform", "account_id", "handle", "observed_at", "followers")}
        base["kind"] = "snapshot"
    return {k: v for k, v in {**base, **changes}.items() if k not in dropped}


# A valid post or snapshot with up to three fields changed to any value and up to two dropped.
mutated_events = st.builds(
    _mutated,
    kind=st.sampled_from(["post", "snapshot"]),
    changes=st.dictionaries(
        st.sampled_from([
            "kind", "schema_version", "post_id", "platform", "account_id", "handle", "posted_at", "observed_at",
            "followers", "following", "likes", "comments", "shares", "views", "tags", "text", "posts_count", "extra",
        ]),
        field_values,
        max_size=3,
    ),
    dropped=st.sets(st.sampled_from(["post_id", "account_id", "observed_at", "followers", "likes", "tags", "kind"]), max_size=2),
)


@FUZZ
@given(mutated_events)
def test_mutated_valid_events_decode_or_raise_decode_error(event: dict[str, Any]) -> None:
    raw = dumps(event)
    decoded = decode_or_reason(raw)
    if not isinstance(decoded, str):
        encode(decoded)  # a decoded event re-encodes
    account = event.get("account_id")
    key = account.encode("utf-8", errors="surrogatepass") if isinstance(account, str) else None
    # Two valid posts around it, so the mutated one meets existing state when it is accepted.
    good = [(ACCOUNT.encode(), dumps(valid_post(i))) for i in (1, 2)]
    run_pipeline([*good, (key, raw), (ACCOUNT.encode(), dumps(valid_post(4)))])


@FUZZ
@given(
    kind=st.sampled_from(["post", "snapshot"]),
    name=st.sampled_from(["followers", "following", "likes", "comments", "shares", "views", "posts_count"]),
    value=st.integers() | st.integers(min_value=2**50, max_value=2**70) | st.sampled_from([10**400, -(10**400)]),
)
def test_counters_of_any_size_decode_or_raise_decode_error(kind: str, name: str, value: int) -> None:
    event = valid_post(3)
    if kind == "snapshot":
        event = {k: event[k] for k in ("schema_version", "platform", "account_id", "handle", "observed_at", "followers")}
        event["kind"] = "snapshot"
    raw = dumps({**event, name: value})
    decode_or_reason(raw)
    good = [(ACCOUNT.encode(), dumps(valid_post(i))) for i in (1, 2)]
    run_pipeline([*good, (ACCOUNT.encode(), raw), (ACCOUNT.encode(), dumps(valid_post(4)))])


@FUZZ
@given(
    position=st.integers(min_value=0, max_value=10_000),
    operation=st.sampled_from(["flip", "insert", "delete", "truncate"]),
    byte=st.integers(min_value=0, max_value=255),
)
def test_byte_mutations_of_a_valid_post_decode_or_raise_decode_error(position: int, operation: str, byte: int) -> None:
    raw = bytearray(dumps(valid_post(2)))
    at = position % len(raw)
    if operation == "flip":
        raw[at] ^= byte or 1
    elif operation == "insert":
        raw.insert(at, byte)
    elif operation == "delete":
        del raw[at]
    else:
        del raw[at:]
    decode_or_reason(bytes(raw))
    run_pipeline([(ACCOUNT.encode(), dumps(valid_post(1))), (ACCOUNT.encode(), bytes(raw))])


@FUZZ
@given(key=st.none() | st.binary(max_size=20), value=st.none() | st.binary(max_size=50))
def test_null_keys_and_values_become_dead_letters_or_are_rekeyed(key: bytes | None, value: bytes | None) -> None:
    run_pipeline([(key, value)])


def test_counters_beyond_64_bits_are_rejected_not_carried_into_state() -> None:
    # Found by the fuzzer above: a post with likes=10**30 decoded, then the account state
    # could not be written to the changelog (orjson: "Integer exceeds 64-bit range"), so the
    # worker would crash at every restart on the same offset; likes=10**400 overflowed a float.
    for name, value in [("likes", 10**30), ("followers", 2**64), ("shares", 2**53)]:
        reason = decode_or_reason(dumps({**valid_post(), name: value}))
        assert isinstance(reason, str) and name in reason and "counter of 2**53 or more" in reason
    # Beyond a double (which JSON readers such as orjson and serde_json refuse): not JSON.
    assert decode_or_reason(dumps({**valid_post(), "views": 10**400})) == (
        "not valid JSON: number beyond the range of a 64-bit float")
    assert isinstance(decode_or_reason(dumps({**valid_post(), "likes": 2**53 - 1})), Post)
    snapshot = {k: valid_post()[k] for k in ("schema_version", "platform", "account_id", "handle", "observed_at")}
    reason = decode_or_reason(dumps({**snapshot, "kind": "snapshot", "followers": 5, "posts_count": 10**20}))
    assert isinstance(reason, str) and "posts_count" in reason
    run_pipeline([(ACCOUNT.encode(), dumps({**valid_post(i), "likes": 10**30 if i == 2 else 5})) for i in (1, 2, 3)])


def test_oversized_dead_letters_are_cut_to_what_the_dlq_can_take() -> None:
    # Found on the broker (tests/faults/test_poison.py): a 1 MB record is accepted by the
    # broker but re-sending it to the DLQ failed (MessageSizeTooLargeError) and crashed the
    # worker, which then met the same record again after every restart.
    from streams.pipeline import DLQ_MAX_KEY_BYTES, DLQ_MAX_VALUE_BYTES

    line, _, _ = pipeline(NICHES)
    big_value, big_key = b"x" * 1_000_000, b"k" * 900_000
    result = line.process([Record("posts", 0, 7, ACCOUNT.encode(), big_value), Record("posts", 0, 8, big_key, b"{")])
    first, second = result.dead_letters
    assert first.record.value == big_value[:DLQ_MAX_VALUE_BYTES] and first.record.offset == 7
    assert first.reason.startswith("payload of 1000000 bytes") and "value truncated" in first.reason
    assert first.reason_class == "too_large"
    assert second.record.key == big_key[:DLQ_MAX_KEY_BYTES] and "key truncated" in second.reason
