"""The native decoder (streams._native.decode_batch) implements the input contract exactly.

Every input goes through both decoders, the pydantic one (schemas.codec.decode_event, the
contract's reference) and the native one: same verdict, same dead-letter reason word for
word (so the same reason class and the same fields named), and for accepted records the
same model: equal values, the same fields set, the same time zones, the same bytes when
encoded. Inputs: the docs/samples payloads, the poison corpus the broker tests send
(tests/faults/test_poison.py), hand-written bad records (one or more per decoding rule),
and the decoder fuzzer's strategies (tests/unit/test_decoder_fuzz.py).
"""

from __future__ import annotations

import gc
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.codec import MAX_NESTING_DEPTH, MAX_PAYLOAD_BYTES, DecodeError, decode_event, encode
from schemas.events import AccountSnapshot, Post
from streams._native import decode_batch, validate_batch
from streams.pipeline import reason_class
from tests.faults.test_poison import CORPUS
from tests.unit.test_decoder_fuzz import dumps, json_trees, mutated_events, valid_post
from tests.unit.test_schemas import post_dict

SAMPLES = sorted((Path(__file__).parents[2] / "docs" / "samples").glob("*.json"))
CONFORMANCE = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime.now(UTC).replace(microsecond=0)

Verdict = Post | AccountSnapshot | tuple[str, str]


def pydantic_verdict(raw: bytes | None) -> Verdict:
    if raw is None:
        reason = "missing value (null record)"
        return reason, reason_class(reason)
    try:
        return decode_event(raw)
    except DecodeError as exc:
        return exc.reason, reason_class(exc.reason)


def native_verdicts(raws: list[bytes | None]) -> list[Verdict]:
    events, dead_letters = decode_batch(raws, time.time())
    refused = {index: (reason, kind) for index, reason, kind in dead_letters}
    assert len(events) == len(raws) and all((events[i] is None) == (i in refused) for i in range(len(raws)))
    return [refused[i] if event is None else event for i, event in enumerate(events)]


def assert_same(raw: bytes | None) -> Verdict:
    expected, (native,) = pydantic_verdict(raw), native_verdicts([raw])
    if isinstance(expected, tuple) or isinstance(native, tuple):
        assert native == expected, raw
        return native
    assert type(native) is type(expected)
    assert native == expected
    assert native.model_fields_set == expected.model_fields_set
    assert encode(native) == encode(expected)
    for name in ("posted_at", "observed_at"):
        if hasattr(expected, name):
            got, want = getattr(native, name), getattr(expected, name)
            assert (got.isoformat(), type(got.tzinfo)) == (want.isoformat(), type(want.tzinfo))
    return native


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_sample_payload_gets_the_same_verdict(sample: Path) -> None:
    verdict = assert_same(sample.read_bytes())
    if sample.name in ("post.json", "account_snapshot.json"):
        assert not isinstance(verdict, tuple)
    else:  # the output events are not input: their kind is refused
        assert isinstance(verdict, tuple) and verdict[1] == "unknown_kind"


@pytest.mark.parametrize("value", [value for *_, value, _ in CORPUS], ids=[case for case, *_ in CORPUS])
def test_every_poison_record_gets_the_same_dead_letter_reason(value: bytes | None) -> None:
    assert isinstance(assert_same(value), tuple)


def with_raw(field: str, literal: bytes) -> bytes:
    """A valid post whose ``field`` is the JSON text ``literal`` (an extra field when unknown)."""
    event = post_dict()
    event[field] = "__RAW__"
    return orjson.dumps(event).replace(b'"__RAW__"', literal)


SNAPSHOT = orjson.dumps({"kind": "snapshot", "schema_version": 1, "platform": "x", "account_id": "x:a", "handle": "a",
                         "observed_at": "2026-03-01T00:00:00Z", "followers": 5})
BAD_JSON = [
    b"", b"  ", b"not json", b'{"a":}', b'{"a":1,}', b'{"a":01}', b"{'a':1}", b'{"a":1 /*x*/}', b'{"a":1} x', b'{"a":1}\x00',
    b'{"a":"\\ud800"}', b'{"a":"\\udc00"}', b'{"a":"\\ud83dx"}', b'{"a":"\\ud83d\\u0041"}', b'{"a":"\x01"}', b'{"a":"\\x"}',
    b'{"a":"\\u00"}', b'{"a":NaN}', b'{"a":-Infinity}', b"[Infinity]", b"[-NaN]", b"[nan]", b'{"a":1e400}', b"1" + b"0" * 400,
    b'{"a":-}', b"-", b"+1", b".5", b'{"a":1.}', b'{"a":1e}', b"2.", b"0x10", b"[1,,2]", b'{"a" 1}', b'{"a":1 "b":2}', b"{1:2}",
    b"truex", b"nul", b"[tru]", b"1 2", b'{"a":1}{}', b"-01", b"\x0c{}", b"{}\x0c", b"[1,2", b'{"a":1', b"[" * 70,
]
BAD_BYTES = [
    b'"\xff\xfe"', b'{"a":"\xff"}', b'{"\xc3":1}', b'{"a":"\xed\xa0\x80"}', b'{"a":"\xc0\xaf"}', b'"\xf4\x90\x80\x80"',
    b'{"a":1}\xff', b"\xff{}", b'{"a":1,}\xff', b"\xef\xbb\xbf" + SNAPSHOT, b"\xef\xbb\xbf", b"\xef\xbb\xbf\xff",
    b" " * (MAX_PAYLOAD_BYTES + 1), b"[" * 5000 + b"]" * 5000, b"[" * 1025 + b"]" * 1025, b'{"a":' * 1025,
]
NOT_OBJECTS_OR_KINDS = [
    b"[1, 2]", b'"x"', b"1", b"null", b"true", b"1e16", b"{}", b'{"kind": "comment"}', b'{"kind": 5}', b'{"kind": [1, "x"]}',
    b'{"kind": 1e16}', b'{"kind": 1' + b"0" * 30 + b"}", b'{"kind": "caf\xc3\xa9\\n\\u0001\'"}', b'{"kind": {"a": 1, "a": 2}}',
    b'{"kind": "Post"}', b'{"kind": "post", "kind": "reel"}', b'{"kind": "reel", "kind": "snapshot"}',
]
FIELD_LITERALS = {
    "likes": [b'"12"', b"900.5", b"900.0", b"9e2", b"9.5E2", b"-0.0", b"-0", b"true", b"null", b"[]", b"1e20", b"-1e20", b"-5",
              b"1" + b"0" * 30, b"-1" + b"0" * 30, b"1e-400", b"9007199254740992", b"9007199254740991", b"9007199254740993.0",
              b"18446744073709551616", b"-9223372036854775809"],
    "schema_version": [b"2.0", b'"1"', b"0", b"1e30", b"1" + b"0" * 30, b"1.0", b"0.1e1", b"-1e30", b"null", b"1.5"],
    "views": [b'"1"', b"null", b"2.0", b"-1"],
    "following": [b"null", b"{}", b"3"],
    "post_id": [b'""', b"5", b'"' + b"x" * 513 + b'"', b'"' + b"x" * 512 + b'"', b"null"],
    "text": [b"5", b"null", b'""', b'"' + "é".encode() * 10_001 + b'"', b'"' + "é".encode() * 10_000 + b'"'],
    "tags": [b"null", b'"abc"', b'{"a": 1}', b"[1, 2]", b'["' + b"x" * 101 + b'"]', b"[" + b",".join([b'"t"'] * 101) + b"]",
             b"[" + b",".join([b"1"] * 101) + b"]", b"[" + b",".join([b"1"] * 100) + b"]", b'["\\u00e9", "#Ink"]'],
    "observed_at": [b"1772326800", b"1772326800.5", b'"1772326800"', b'"2026-03-01 01:00:00Z"', b'"2026-03-01_01:00:00Z"',
                    b'"2026-03-01T01:00Z"', b'"2026-03-01T01:00:00,5Z"', b'"2026-03-01T01:00:00+0100"', b'"2026-03-01T01:00:00.1234567890Z"',
                    b'"2026-03-01T01:00:00Z\\n"', b'"2026-03-01"', b'"2026-03-01T01:00:00"', b'"2026-02-30T01:00:00Z"',
                    b'"2026-03-01T24:00:00Z"', b'"2026-03-01T01:00:60Z"', b'"2026-03-01T01:00:00+24:00"', b'"2026-03-01T01:00:00+23:60"',
                    b'"2026-13-01T01:00:00Z"', b'"2026-00-01T01:00:00Z"', b'"2026-01-00T01:00:00Z"', b'"0000-01-01T01:00:00Z"',
                    b'"1999-12-31T23:00:00Z"', b'"1999-01-01T00:00:00"', b'"2026-02-30T01:00:00"', b"true", b"null",
                    orjson.dumps((NOW + timedelta(days=2)).isoformat()), orjson.dumps((NOW + timedelta(hours=20)).isoformat()),
                    orjson.dumps((NOW - timedelta(hours=3)).isoformat())],
    "posted_at": [b'"2020-01-01T01:00:00.123456789+05:30"', b'"2020-01-01T01:00:00.9999999Z"', b'"2000-01-01T00:30:00+01:00"',
                  b'"2026-03-01T01:00:00+23:59"', b'"2026-03-01T01:00:00-23:59"', b'"2024-02-29T01:00:00Z"', b'"1900-02-29T01:00:00Z"',
                  b'"2026-03-01T01:00:00.Z"', b'"9999-12-31T23:59:59-23:59"', b'"2026-03-01T01:00:00.5z"', b'"2026-03-01t01:00:00-00:00"',
                  b'"\xef\xbc\x92026-03-01T01:00:00Z"', b'"2026-03-01T01:00:00+5:00"', orjson.dumps((NOW + timedelta(days=2)).isoformat())],
    "extra": [b"NaN", b"1e400", b"[" * (MAX_NESTING_DEPTH - 1) + b"]" * (MAX_NESTING_DEPTH - 1),
              b"[" * MAX_NESTING_DEPTH + b"]" * MAX_NESTING_DEPTH, b'"' + b"[" * 500 + b'"', b'{"a":' * 64 + b"1" + b"}" * 64,
              b"1" + b"0" * 30, b'"\\u0000"'],
}
HAND_WRITTEN = [
    *BAD_JSON, *BAD_BYTES, *NOT_OBJECTS_OR_KINDS,
    *(with_raw(field, literal) for field, literals in FIELD_LITERALS.items() for literal in literals),
    b'{"kind":"post"}', b'{"kind":"snapshot"}', SNAPSHOT, SNAPSHOT[:-1] + b',"posts_count":1e20,"likes":"x","zz":1}',
    orjson.dumps(post_dict(likes="a", comments="b", shares="c", followers="d")),
    orjson.dumps(post_dict(likes="a", comments=5.0)),
    orjson.dumps(post_dict(posted_at="2026-01-01T01:00:00.5+01:00", observed_at="2026-01-01T00:00:00Z")),
    orjson.dumps(post_dict(posted_at="2026-01-01T01:00:00+01:00", observed_at="2026-01-01T00:00:00Z")),
    orjson.dumps(post_dict())[:-1] + b',"likes":7,"kind":"post"}',
    orjson.dumps(post_dict())[:-1] + b',"li\\u006bes":8}',
]


@pytest.mark.parametrize("raw", HAND_WRITTEN, ids=[f"{i}:{r[:40]!r}" for i, r in enumerate(HAND_WRITTEN)])
def test_hand_written_records_get_the_same_verdict_and_reason(raw: bytes) -> None:
    assert_same(raw)


def test_a_tombstone_is_a_dead_letter() -> None:
    assert native_verdicts([None]) == [("missing value (null record)", "not_json")]


def test_a_batch_keeps_its_order_and_names_each_dead_letter_by_position() -> None:
    raws: list[bytes | None] = [dumps(valid_post(1)), b"{", None, SNAPSHOT, dumps({**valid_post(2), "likes": -1})]
    events, dead_letters = decode_batch(raws, time.time())
    assert [type(e).__name__ for e in events] == ["Post", "NoneType", "NoneType", "AccountSnapshot", "NoneType"]
    assert [(i, kind) for i, _, kind in dead_letters] == [(1, "not_json"), (2, "not_json"), (4, "schema")]
    assert dead_letters[2][1] == "invalid event: likes: Input should be greater than or equal to 0"
    assert native_verdicts(raws) == [pydantic_verdict(r) for r in raws]


def test_the_clock_is_the_one_given() -> None:
    raw = with_raw("observed_at", orjson.dumps((NOW + timedelta(hours=30)).isoformat()))
    late = NOW.timestamp() + 86_400 * 2
    (event,), dead = decode_batch([raw], late)
    assert dead == [] and event.observed_at == NOW + timedelta(hours=30)
    (_,), ((_, reason, kind),) = decode_batch([raw], NOW.timestamp())
    assert kind == "schema" and reason.endswith("is more than 1 day in the future")


def test_decoded_models_are_frozen_like_validated_ones() -> None:
    (event,), _ = decode_batch([dumps(valid_post(1))])
    with pytest.raises(ValidationError, match="frozen"):
        event.likes = 1


@CONFORMANCE
@given(st.binary(max_size=400))
def test_random_bytes_get_the_same_verdict(raw: bytes) -> None:
    assert_same(raw)


@CONFORMANCE
@given(json_trees)
def test_random_json_trees_get_the_same_verdict(tree: Any) -> None:
    assert_same(dumps(tree))


@CONFORMANCE
@given(mutated_events)
def test_mutated_events_get_the_same_verdict(event: dict[str, Any]) -> None:
    assert_same(dumps(event))


@CONFORMANCE
@given(
    position=st.integers(min_value=0, max_value=10_000),
    operation=st.sampled_from(["flip", "insert", "delete", "truncate"]),
    byte=st.integers(min_value=0, max_value=255),
)
def test_byte_mutations_of_a_valid_post_get_the_same_verdict(position: int, operation: str, byte: int) -> None:
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
    assert_same(bytes(raw))


@CONFORMANCE
@given(
    name=st.sampled_from(["followers", "following", "likes", "comments", "shares", "views", "schema_version"]),
    value=st.integers() | st.integers(min_value=2**50, max_value=2**70) | st.floats(allow_nan=False, allow_infinity=False),
)
def test_numbers_of_any_size_and_shape_get_the_same_verdict(name: str, value: int | float) -> None:
    assert_same(dumps({**valid_post(3), name: value}))


@CONFORMANCE
@given(st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([2.0**46 + 0.625, 2.0**-24, 0.125, 2.5, 1e16, 1e-5]))
def test_a_float_in_a_reason_is_printed_as_python_prints_it(value: float) -> None:
    # The "unknown kind" reason quotes the value with Python's repr: shortest digits, and of
    # two equally short ones the correctly rounded (2**46 + 0.625 is "70368744177664.62"),
    # unless it does not read back (2**-24 is "5.960464477539063e-08").
    assert_same(orjson.dumps({**orjson.loads(dumps(valid_post(3))), "kind": value}))


@CONFORMANCE
@given(
    tags=st.lists(st.text(max_size=110), max_size=105),
    text=st.none() | st.text(max_size=300),
    offset_minutes=st.integers(min_value=-60 * 24 * 365 * 30, max_value=60 * 30),
    zone_minutes=st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
    micro=st.integers(min_value=0, max_value=999_999),
)
def test_posts_with_any_tags_text_and_time_zone_decode_alike(
    tags: list[str], text: str | None, offset_minutes: int, zone_minutes: int, micro: int
) -> None:
    zone = timezone(timedelta(minutes=zone_minutes))
    observed = (NOW + timedelta(minutes=offset_minutes)).replace(microsecond=micro).astimezone(zone)
    assert_same(dumps(post_dict(tags=tags, text=text, observed_at=observed.isoformat(),
                                posted_at=(observed - timedelta(hours=1)).isoformat())))


def test_a_batch_leaves_the_cyclic_collector_as_it_found_it() -> None:
    raws = [dumps(valid_post(1)), b"{"]
    assert gc.isenabled()
    decode_batch(raws)
    assert gc.isenabled()
    gc.disable()
    try:
        decode_batch(raws)
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(TypeError):
        decode_batch([dumps(valid_post(1)), "not bytes"])
    assert gc.isenabled()


def test_validating_a_batch_gives_the_dead_letters_decoding_gives() -> None:
    raws = [*HAND_WRITTEN[:60], None, dumps(valid_post(1))]
    assert validate_batch(raws) == decode_batch(raws)[1]


@pytest.mark.parametrize("raw", [b"[" * 1025, b"[" * 1025 + b"1,]", b'{"a":' * 1025])
def test_records_nested_beyond_1024_levels_and_unfinished_are_refused_by_both(raw: bytes) -> None:
    # The one known difference: JSON that is both unfinished and nested past the reference
    # reader's depth limit. orjson's reason depends on its allocator ("failed to allocate
    # memory" for arrays, its depth limit for objects); the native reader says too_deep.
    expected, (native,) = pydantic_verdict(raw), native_verdicts([raw])
    assert isinstance(expected, tuple) and expected[1] in ("not_json", "too_deep")
    assert native == ("JSON nested too deep (more than 64 levels)", "too_deep")
