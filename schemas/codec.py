"""The one place events are turned into bytes and back (orjson).

``decode_event`` is on every worker's hot path. The fast path is one pydantic-core
``validate_json`` on a union discriminated by ``kind`` (measured faster than
``orjson.loads`` + ``model_validate``: ~170k vs ~140k posts/s). Only when that fails is the
payload parsed again with orjson to find a short human reason (``DecodeError.reason``) fit
for a DLQ header or a log line.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from schemas.events import SCHEMA_VERSION, AccountSnapshot, InputEvent, Post, check_not_in_future

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_DEPTH_HINT = "JSON nested too deep"
# Counters above this are not real, and would not survive the trip through the state
# changelog (orjson writes 64-bit integers only) or into floats for engagement rates.
MAX_COUNT_BITS = 53
_POST_COUNTS = ("followers", "following", "likes", "comments", "shares", "views")
_SNAPSHOT_COUNTS = ("followers", "following", "posts_count")

_INPUT_KINDS = ("post", "snapshot")
_INPUT = TypeAdapter(Annotated[Post | AccountSnapshot, Field(discriminator="kind")])


class DecodeError(ValueError):
    """Bytes that are not a valid input event; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(model: BaseModel) -> bytes:
    """Serialise any event model to compact JSON bytes (ISO-8601 timestamps)."""
    return model.__pydantic_serializer__.to_json(model)


def decode_event(raw: bytes) -> InputEvent:
    """Parse and validate one input event, dispatching on its ``kind``."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise DecodeError(f"payload of {len(raw)} bytes exceeds {MAX_PAYLOAD_BYTES} bytes")
    try:
        event: InputEvent = _INPUT.validate_json(raw)
    except ValidationError as exc:
        raise DecodeError(_diagnose(raw, exc)) from None
    try:
        check_not_in_future(event)
    except ValueError as exc:
        raise DecodeError(f"invalid event: {exc}") from None
    if type(event) is Post:
        combined = event.followers | event.likes | event.comments | event.shares | (event.following or 0) | (event.views or 0)
    else:
        combined = event.followers | (event.following or 0) | (event.posts_count or 0)  # type: ignore[union-attr]
    if combined.bit_length() > MAX_COUNT_BITS:
        raise DecodeError(_count_reason(event))
    return event


def _count_reason(event: InputEvent) -> str:
    names = _POST_COUNTS if type(event) is Post else _SNAPSHOT_COUNTS
    too_big = [name for name in names if (getattr(event, name) or 0).bit_length() > MAX_COUNT_BITS]
    return f"invalid event: {', '.join(too_big)}: counter of 2**{MAX_COUNT_BITS} or more"


def describe_validation_error(exc: ValidationError, limit: int = 3) -> str:
    """``field: message; field: message`` for the first few errors, short enough for a header."""
    parts = []
    errors = exc.errors(include_url=False, include_input=False)
    for error in errors[:limit]:
        loc = [str(p) for p in error["loc"]]
        if loc and loc[0] in _INPUT_KINDS:  # the union's tag, not a field
            loc = loc[1:]
        field = ".".join(loc)
        if field == "schema_version" and error["type"] in ("greater_than_equal", "less_than_equal"):
            message = f"unsupported schema_version (this reader understands {SCHEMA_VERSION})"
        else:
            message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return "invalid event: " + "; ".join(parts)


def _diagnose(raw: bytes, exc: ValidationError) -> str:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as json_exc:
        return _json_reason(str(json_exc))
    if type(obj) is not dict:
        return f"expected a JSON object, got {_json_type(obj)}"
    kind = obj.get("kind")
    if kind not in _INPUT_KINDS:
        return f"unknown kind {kind!r} (expected one of: {', '.join(_INPUT_KINDS)})"
    return describe_validation_error(exc)


def _json_reason(message: str) -> str:
    lowered = message.lower()
    if "utf-8" in lowered:
        return "not valid UTF-8"
    if "recursion" in lowered or "depth" in lowered:
        return MAX_DEPTH_HINT
    return "not valid JSON: " + message.split(":")[0][:80]


def _json_type(obj: object) -> str:
    if isinstance(obj, list):
        return "an array"
    if isinstance(obj, str):
        return "a string"
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "a boolean"
    return "a number"
