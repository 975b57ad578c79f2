"""The one place events are turned into bytes and back (orjson).

``decode_event`` is on every worker's hot path and is the input contract
(docs/contract.md, "Decoding rules"). In order, each step's failure naming the reason:

    size <= 256 KiB ──► RFC 8259 JSON (orjson) ──► nesting <= 64 ──► model, strict (pydantic-core)
      too_large          not_json / invalid_utf8      too_deep          schema / unknown_kind
                         (NaN, Infinity, BOM,                           (a whole number written
                          numbers beyond a double)                      900.0 or 9e2 is retried
                                                                        as the integer 900)
    ──► not more than a day ahead, observed_at >= posted_at (schema)

orjson is the JSON reference: pydantic-core's parser also takes NaN/Infinity and numbers
beyond a double, which JSON does not have. Parsing twice (orjson ~1.3-2 us a post) makes
decode_event ~1.4x the former lax decoder per post, ~1.3x per snapshot
(bench/decode_contract.py). The nesting check only walks the parsed value when the record
has more than 64 brackets at all, which no real event has.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import orjson
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from schemas.events import COUNT_LIMIT, SCHEMA_VERSION, AccountSnapshot, InputEvent, NicheDefinition, Post, check_not_in_future

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_NESTING_DEPTH = 64
"""The event object is level 1; each array or object inside it is one level more."""
MAX_DEPTH_HINT = "JSON nested too deep"
BOM = b"\xef\xbb\xbf"
_TIMESTAMPS = ("posted_at", "observed_at")
_COUNTS = ("followers", "following", "likes", "comments", "shares", "views", "posts_count")

_INPUT_KINDS = ("post", "snapshot")
_INPUT = TypeAdapter(Annotated[Post | AccountSnapshot, Field(discriminator="kind")])


ModelT = TypeVar("ModelT", bound=BaseModel)

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
    obj = parse_json(raw)
    try:
        event: InputEvent = _INPUT.validate_json(raw)
    except ValidationError as exc:
        event = _validate_whole_numbers(obj, exc)
    try:
        check_not_in_future(event)
    except ValueError as exc:
        raise DecodeError(f"invalid event: {exc}") from None
    if type(event) is Post and event.observed_at < event.posted_at:
        raise DecodeError(
            f"invalid event: observed_at: {event.observed_at.isoformat()} is earlier than posted_at "
            f"{event.posted_at.isoformat()}"
        )
    return event


def decode_niche(raw: bytes) -> NicheDefinition:
    """A niches.config value: the same JSON rules as events, then NicheDefinition (strict)."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise DecodeError(f"payload of {len(raw)} bytes exceeds {MAX_PAYLOAD_BYTES} bytes")
    obj = parse_json(raw)
    if type(obj) is not dict:
        raise DecodeError(f"expected a JSON object, got {_json_type(obj)}")
    try:
        return NicheDefinition.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise DecodeError(describe_validation_error(exc, prefix="invalid niche: ")) from None


def decode_output(raw: bytes, model: type[BaseModel]) -> Any:
    """An output event read back (influencers, alerts): the JSON rules, then ``model``.

    Returns the parsed JSON object (readers keep it as is); raises ``DecodeError``.
    """
    return _decode_as(raw, model)[0]


def decode_model(raw: bytes, model: type[ModelT]) -> ModelT:
    """A record of nichewatch's own topics: the JSON rules, then ``model`` (strict); ``DecodeError``."""
    return _decode_as(raw, model)[1]


def _decode_as(raw: bytes, model: type[ModelT]) -> tuple[Any, ModelT]:
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise DecodeError(f"payload of {len(raw)} bytes exceeds {MAX_PAYLOAD_BYTES} bytes")
    obj = parse_json(raw)
    if type(obj) is not dict:
        raise DecodeError(f"expected a JSON object, got {_json_type(obj)}")
    try:
        return obj, model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise DecodeError(describe_validation_error(exc)) from None


def parse_json(raw: bytes) -> Any:
    """RFC 8259 JSON of at most ``MAX_NESTING_DEPTH`` levels, or ``DecodeError`` saying why."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(_json_reason(raw, exc)) from None
    if raw.count(b"[") + raw.count(b"{") > MAX_NESTING_DEPTH and _depth(obj) > MAX_NESTING_DEPTH:
        raise DecodeError(f"{MAX_DEPTH_HINT} (more than {MAX_NESTING_DEPTH} levels)")
    return obj


def _depth(obj: Any) -> int:
    deepest, todo = 0, [(obj, 1)]
    while todo:
        value, level = todo.pop()
        if type(value) is dict:
            value = value.values()
        elif type(value) is not list:
            continue
        deepest = max(deepest, level)
        if level <= MAX_NESTING_DEPTH:  # no need to walk further down than the limit
            todo.extend((child, level + 1) for child in value)
    return deepest


def _validate_whole_numbers(obj: Any, exc: ValidationError) -> InputEvent:
    """JSON Schema's ``integer`` admits 900.0 and 9e2: retry with those read as integers.

    Only on the failure path; anything still invalid is diagnosed from the second attempt.
    """
    fixed: dict[str, int] = {}
    if type(obj) is dict and any(error["type"] == "int_type" for error in exc.errors(include_url=False)):
        for name in ("schema_version", *_COUNTS):
            value = obj.get(name)
            if type(value) is float and value.is_integer():
                # Past 2**53 any value gives the same "counter of 2**53 or more".
                fixed[name] = int(value) if abs(value) < COUNT_LIMIT else COUNT_LIMIT * (1 if value > 0 else -1)
    if not fixed:
        raise DecodeError(_diagnose(obj, exc))
    retry = {**obj, **fixed}
    try:
        return _INPUT.validate_json(orjson.dumps(retry))
    except ValidationError as again:
        raise DecodeError(_diagnose(retry, again)) from None


def describe_validation_error(exc: ValidationError, limit: int = 3, prefix: str = "invalid event: ") -> str:
    """``field: message; field: message`` for the first few errors, short enough for a header."""
    parts = []
    errors = exc.errors(include_url=False, include_input=False)
    for error in errors[:limit]:
        loc = [str(p) for p in error["loc"]]
        if loc and loc[0] in _INPUT_KINDS:  # the union's tag, not a field
            loc = loc[1:]
        field = ".".join(loc)
        kind = error["type"]
        if field == "schema_version" and kind in ("greater_than_equal", "less_than_equal"):
            message = f"unsupported schema_version (this reader understands {SCHEMA_VERSION})"
        elif field in _TIMESTAMPS and kind == "string_pattern_mismatch":
            message = "Input should be an RFC 3339 timestamp such as 2026-03-14T09:00:00Z (see the contract)"
        elif field in _COUNTS and kind == "less_than":
            message = "counter of 2**53 or more"
        else:
            message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return prefix + "; ".join(parts)


def _diagnose(obj: Any, exc: ValidationError) -> str:
    if type(obj) is not dict:
        return f"expected a JSON object, got {_json_type(obj)}"
    kind = obj.get("kind")
    if kind not in _INPUT_KINDS:
        return f"unknown kind {kind!r} (expected one of: {', '.join(_INPUT_KINDS)})"
    first = exc.errors(include_url=False, include_input=False)[0]
    if first["type"] == "json_invalid":  # orjson accepted what pydantic-core's parser did not
        message = first["msg"]
        return MAX_DEPTH_HINT if "recursion" in message else "not valid JSON: " + message[:80]
    return describe_validation_error(exc)


def _json_reason(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    message = str(exc)
    lowered = message.lower()
    if raw.startswith(BOM):
        return "not valid JSON: starts with a byte-order mark (U+FEFF)"
    if "utf-8" in lowered:
        return "not valid UTF-8"
    if "recursion" in lowered or "depth" in lowered:
        return f"{MAX_DEPTH_HINT} (more than {MAX_NESTING_DEPTH} levels)"
    if "infinity when parsed as double" in lowered:
        return "not valid JSON: number beyond the range of a 64-bit float"
    near = raw[max(0, exc.pos - 1):exc.pos + 8]
    if b"NaN" in near or b"Infinity" in near:
        return "not valid JSON: NaN and Infinity are not JSON numbers"
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
