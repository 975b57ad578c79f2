"""Account state read back from the accounts table's changelog, trusted only once checked.

Faust decodes changelog records during recovery with the table's value codec; a record
it cannot decode raises there and stops the recovery for good (the worker never becomes
ready). So the table's codec (``StateValue``) never raises: bytes that are not JSON stay
bytes. ``decode_state`` then turns what recovery left (bytes or decoded JSON) into an
``AccountState``, or raises ``BadRecord`` for anything that is not one, once per
account, when the engine first asks for it (streams.agents.accounts.PartitionStore).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from faust.serializers import codecs
from pydantic import Field, Strict, TypeAdapter, ValidationError
from typing_extensions import NotRequired, TypedDict

from schemas.codec import DecodeError, parse_json
from schemas.events import COUNT_LIMIT
from streams.core.config import EngineConfig
from streams.core.state import STATE_FORMAT, AccountState
from streams._native import state_as_json
from streams.dlq import BadRecord
from streams.pipeline import skip_reason

# The changelog's state format (AccountState.to_dict), checked before it is trusted:
# scalars strictly typed and bounded, containers as JSON gives them (lists).
_Int = Annotated[int, Strict(), Field(gt=-COUNT_LIMIT, lt=COUNT_LIMIT)]
_Sum = Annotated[int, Strict(), Field(gt=-3 * COUNT_LIMIT, lt=3 * COUNT_LIMIT)]  # likes + comments + shares
_Time = Annotated[float, Strict(), Field(ge=0, lt=COUNT_LIMIT, allow_inf_nan=False)]
_Str = Annotated[str, Strict()]
_Niches = list[_Str]
_Score = Annotated[float, Strict(), Field(allow_inf_nan=False)]


class _StateFormat(TypedDict):
    v: Literal[1]
    a: _Str
    p: _Str
    h: _Str
    t: _Time
    s: _Time
    B: list[tuple[_Time, _Int, _Str, _Str | None, _Int, _Sum, _Int | None, _Niches, _Int]]
    f: _Int
    H: list[_Int]
    D: list[_Int]
    # post: posted, observed, interactions, followers, views, niches, comments[, previous
    # look's interactions, seconds since it (newer state)]
    P: dict[
        str,
        tuple[_Int, _Int, _Sum, _Int, _Int | None, _Niches, _Int, _Sum, _Int]
        | tuple[_Int, _Int, _Sum, _Int, _Int | None, _Niches, _Int],
    ]
    # episode: alert id, classification, start, last exceedance[, alert time (newer state)]
    E: tuple[_Str, _Str, _Int, _Int, _Int] | tuple[_Str, _Str, _Int, _Int] | None
    W: tuple[_Int | None, _Int | None] | None
    X: list[_Int]
    # last profile: score, tier, primary niche[, engagement component (newer state)]
    L: tuple[_Score, _Str, _Str, _Score | None] | tuple[_Score, _Str, _Str] | None
    C: tuple[_Str, _Str, _Int] | None
    S: NotRequired[_Time]  # last rescoring (newer state)
    b: NotRequired[dict[str, tuple[_Int, _Score, _Score, _Int]]]  # growth baselines (newer state)


_STATE = TypeAdapter(_StateFormat)
COMPACT_STATE = b"\x02"  # first byte of the native engine's compact state (format 2)
assert STATE_FORMAT == 1, "update _StateFormat with the state format"


class _TolerantJson(codecs.Codec):
    """Faust's JSON codec for the accounts table, except that bytes which are not JSON are
    returned as they are instead of raising: a raise there stops Faust's changelog
    recovery for good (the worker never gets ready). ``decode_state`` judges them."""

    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError:
            return bytes(s)


STATE_CODEC = "nichewatch-state"
codecs.register(STATE_CODEC, _TolerantJson())


class StateValue:
    """The accounts table's value type for Faust: decoded by ``_TolerantJson`` and kept as is."""

    class _options:  # read by faust.tables.base.Collection._serializer_from_type
        serializer = STATE_CODEC

    @classmethod
    def from_data(cls, data: Any, preferred_type: Any = None) -> Any:  # faust.serializers.registry
        return data


def decode_state(raw: Any, account_id: str, config: EngineConfig) -> AccountState:
    """An account's state as read back from the changelog, or ``BadRecord``.

    The native engine writes the compact format (first byte ``COMPACT_STATE``, kept as
    bytes by the table's codec); it is read through the native core's format 1 JSON.
    """
    if type(raw) is bytes and raw[:1] == COMPACT_STATE:
        try:
            raw = state_as_json(raw)
        except ValueError as exc:
            raise BadRecord("schema", f"compact account state: {exc}") from None
    if type(raw) is bytes:
        try:
            raw = parse_json(raw)
        except DecodeError as exc:
            raise BadRecord(skip_reason(exc.reason), f"account state: {exc.reason}") from None
    if type(raw) is not dict:
        raise BadRecord("schema", f"account state is {type(raw).__name__}, not an object")
    try:
        _STATE.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadRecord("schema", f"account state: {where}: {first['msg']} ({exc.error_count()} errors)") from None
    if raw["a"] != account_id:
        raise BadRecord("schema", f"account state of {raw['a']!r} under the key {account_id!r}")
    return AccountState.from_dict(raw, config)
