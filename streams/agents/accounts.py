"""The accounts agent: posts and snapshots in, per-account state in a table, decisions out.

One batch handler serves both input topics (they are co-partitioned by account_id, so a
partition number names the same accounts on both). It decodes, asks the pipeline, and
hands what comes back to the writers; the writers deliver before offsets commit.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
import logging
from typing import Annotated, Any, Literal

from aiokafka.structs import ConsumerRecord
from faust.types import TP
from pydantic import Field, Strict, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from schemas.codec import DecodeError, parse_json
from schemas.events import COUNT_LIMIT
from streams.core.config import EngineConfig
from streams.core.state import STATE_FORMAT, AccountState
from streams.dlq import BadRecord, dlq_headers
from streams.faust_batch import OutputWriter, TableWriter
from streams.metrics import Metrics
from streams.pipeline import Pipeline, Record, skip_reason
from streams.settings import Settings


log = logging.getLogger(__name__)

AGENT_NAME = "accounts"


# The changelog's state format (AccountState.to_dict), checked before it is trusted:
# scalars strictly typed and bounded, containers as JSON gives them (lists).
_Int = Annotated[int, Strict(), Field(gt=-COUNT_LIMIT, lt=COUNT_LIMIT)]
_Time = Annotated[float, Field(ge=0, lt=COUNT_LIMIT, allow_inf_nan=False)]
_Str = Annotated[str, Strict()]
_Niches = list[_Str]


class _StateFormat(TypedDict):
    v: Literal[1]
    a: _Str
    p: _Str
    h: _Str
    t: _Time
    s: _Time
    B: list[tuple[_Time, _Int, _Str, _Str | None, _Int, _Int, _Int | None, _Niches, _Int]]
    f: _Int
    H: list[_Int]
    D: list[_Int]
    P: dict[str, tuple[_Int, _Int, _Int, _Int, _Int | None, _Niches, _Int]]
    E: tuple[_Str, _Str, _Int, _Int] | None
    W: tuple[_Int | None, _Int | None] | None
    X: list[_Int]
    L: tuple[Annotated[float, Field(allow_inf_nan=False)], _Str, _Str] | None
    C: tuple[_Str, _Str, _Int] | None


_STATE = TypeAdapter(_StateFormat)
assert STATE_FORMAT == 1, "update _StateFormat with the state format"


class StateBytes:
    """The accounts table's value type for Faust: changelog values stay the raw bytes.

    Faust then never parses a changelog record itself (a record that is not JSON would
    stop its recovery for good); ``decode_state`` does, once per account, when the engine
    first asks for it.
    """

    class _options:  # read by faust.tables.base.Collection._serializer_from_type
        serializer = "raw"

    @classmethod
    def from_data(cls, data: Any, preferred_type: Any = None) -> Any:  # faust.serializers.registry
        return data


def decode_state(raw: Any, account_id: str, config: EngineConfig) -> AccountState:
    """An account's state as read back from the changelog, or ``BadRecord``."""
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


class PartitionStore(MutableMapping[str, AccountState]):
    """The engine's view of the accounts table, for the partition being processed.

    State recovered from the changelog is checked once (``decode_state``); an entry that
    is not a valid state is logged, counted as skipped, and the account starts afresh.
    """

    def __init__(self, writer: TableWriter, config: EngineConfig, metrics: Metrics | None = None) -> None:
        self.writer = writer
        self.config = config
        self.metrics = metrics
        self.partition = 0

    def get(self, account_id: str, default: AccountState | None = None) -> AccountState | None:  # type: ignore[override]
        key = account_id.encode()
        try:
            value = self.writer.get(self.partition, key)
            if value is None:
                return default
            if type(value) is not AccountState:  # recovered from the changelog: decode once, keep it live
                value = decode_state(value, account_id, self.config)
                self.writer.keep_decoded(key, value)
        except BadRecord as exc:
            self._skip(key, exc)
            return default
        return value

    def _skip(self, key: bytes, exc: BadRecord) -> None:
        topic = self.writer.table.changelog_topic.get_topic_name()
        log.warning("bad record %s[%d] key %.80r skipped (the account starts afresh): %s", topic, self.partition, key, exc)
        if self.metrics is not None:
            self.metrics.record_skipped(topic, exc.reason_class)

    def __getitem__(self, account_id: str) -> AccountState:
        state = self.get(account_id)
        if state is None:
            raise KeyError(account_id)
        return state

    def __setitem__(self, account_id: str, state: AccountState) -> None:
        self.writer.put(self.partition, account_id.encode(), state)

    def __delitem__(self, account_id: str) -> None:
        raise NotImplementedError("accounts expire through their bounded windows, not deletion")

    def __iter__(self) -> Iterator[str]:
        return (key.decode() for key in self.writer.table.data.keys())

    def __len__(self) -> int:
        return len(self.writer.table.data)


class AccountsAgent:
    def __init__(self, settings: Settings, pipeline: Pipeline, store: PartitionStore, outputs: OutputWriter) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.store = store
        self.outputs = outputs

    def __call__(self, tp: TP, batch: list[ConsumerRecord]) -> None:
        try:
            self._handle(tp, batch)
        except Exception:
            # Not bad input (that goes to the DLQ): a bug or a broken dependency. Count it and
            # let the worker crash and restart from the last committed offset.
            self.pipeline.metrics.agent_error(AGENT_NAME)
            raise

    def _handle(self, tp: TP, batch: list[ConsumerRecord]) -> None:
        self.store.writer.check_source(tp.topic)
        self.store.partition = tp.partition
        records = [Record(tp.topic, tp.partition, r.offset, r.key, r.value) for r in batch]
        result = self.pipeline.process(records)
        settings, send = self.settings, self.outputs.send
        for alert in result.alerts:
            send(settings.topic_alerts, alert.key, alert.value)
        for profile in result.profiles:
            send(settings.topic_influencers, profile.key, profile.value)
        for moved in result.rekeyed:
            send(tp.topic, moved.key, moved.value)
        for dead in result.dead_letters:
            record = dead.record
            headers = dlq_headers(dead.reason, record.topic, record.partition, record.offset)
            log.warning("bad input %s[%d]@%d -> DLQ: %s", record.topic, record.partition, record.offset, dead.reason)
            send(settings.topic_dlq, record.key, record.value, headers)
