"""What a worker does with one batch of input records, free of Faust.

One ``NativeEngine.process_records`` call per fetched batch decodes, re-key checks,
matches niches, applies the events and counts them (the per-record work is in Rust); this
module turns what comes back into the worker's records and metrics.

    records of one partition ──process_records──► outputs ──► alerts, profiles (+ metrics)
            ▲                       │            dead letters ──► DLQ (fit_for_dlq)
            │ load(account_id):     │            rekeyed ──► re-published under the account id
            │ the table's entry     │            counts, latencies ──► metrics
            │ (first touch)         └──────────► changed: (key, compact state) ──► table.put

The table holds the compact state (bytes) the engine returns; an entry recovered from a
changelog in the JSON state format is handed to the engine as bytes (it reads both
formats). An entry that is not a state is logged and counted by the table (``skip``) and
the account starts afresh. The delivery mechanism (streams.agents) hands over raw
records and sends what comes back; this module decides. It imports neither faust nor
aiokafka, so it is unit-tested with plain records, an in-memory table and a fresh metrics
registry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import orjson

from schemas.codec import MAX_PAYLOAD_BYTES, DecodeError, ModelT, decode_model
from schemas.events import SCHEMA_VERSION
from streams.dlq import BadRecord
from streams.metrics import NO_NICHE, UNKNOWN_PLATFORM, DlqReason, Metrics, SkipReason
from streams.native_engine import NativeWorkerEngine, panics_as_errors


# A dead letter must itself be deliverable. The broker accepts input records up to its
# max.message.bytes (~1 MiB), but the worker's producer stops at ~1 MB (Faust's
# producer_max_request_size) and the DLQ topic at the same broker limit *with* our headers
# added; a dead letter that cannot be sent crashes the worker at the same offset forever.
DLQ_MAX_VALUE_BYTES = MAX_PAYLOAD_BYTES  # anything larger was rejected for its size anyway
DLQ_MAX_KEY_BYTES = 4096
# A settled score is within this of the one the cluster's current cohorts give.
SETTLE_SCORE_CHANGE = 0.002


class Record(NamedTuple):
    """One consumed Kafka record (the parts the pipeline needs)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Outgoing(NamedTuple):
    key: bytes
    value: bytes


@dataclass
class DeadLetter:
    record: Record
    reason: str
    reason_class: DlqReason


@dataclass
class BatchResult:
    alerts: list[Outgoing] = field(default_factory=list)
    profiles: list[Outgoing] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    rekeyed: list[Outgoing] = field(default_factory=list)
    """Records whose key was not their account_id, to re-publish under the right key."""
    contributions: list[Outgoing] = field(default_factory=list)
    """Cohort entries that changed, keyed by niche (only with cluster cohorts)."""
    tag_observations: list[Outgoing] = field(default_factory=list)
    """New posts' tags, for every worker's tag statistics (only when the engine shares them)."""
    skipped: list[tuple[Record, BadRecord]] = field(default_factory=list)
    """Records of the workers' own topics that could not be applied (logged and counted)."""


def reason_class(reason: str) -> DlqReason:
    """Fold a free-text decode reason into the metric's closed set of reasons."""
    if reason.startswith("not valid UTF-8"):
        return "invalid_utf8"
    if reason.startswith("JSON nested too deep"):
        return "too_deep"
    if reason.startswith("not valid JSON") or reason.startswith("missing value"):
        return "not_json"
    if reason.startswith("payload of"):
        return "too_large"
    if reason.startswith("unknown kind"):
        return "unknown_kind"
    return "schema"


def skip_reason(decode_reason: str) -> SkipReason:
    """The skip reason of a ``DecodeError`` on a topic without a DLQ (the DLQ's classes where they apply)."""
    kind = reason_class(decode_reason)
    return kind if kind in ("not_json", "invalid_utf8", "too_large", "too_deep") else "schema"  # type: ignore[return-value]


def count_batch(
    metrics: Metrics, counts: Iterable[tuple[tuple[str, str, str], int]], latencies: Mapping[str, list[float]]
) -> None:
    """A batch's ingestion counts by (platform, niche, outcome) and its latencies by kind."""
    for (platform, niche, outcome), n in counts:
        metrics.ingested(platform, niche, outcome, n)  # type: ignore[arg-type]
    for kind, values in latencies.items():
        if values:
            metrics.observe_latencies(kind, values)  # type: ignore[arg-type]


def count_alert(metrics: Metrics, classification: str, niches: Iterable[str], detected_at: float, wall: float) -> None:
    """An alert going out: per niche (or NO_NICHE), and the time since its detection (epoch seconds)."""
    for niche in niches or [NO_NICHE]:
        metrics.alert_emitted(classification, niche)  # type: ignore[arg-type]
    metrics.observe_post_to_alert(max(0.0, wall - detected_at))


def count_profile(metrics: Metrics, primary_niche: str, tier: str, median_engagement_rate: float) -> None:
    """An influencer profile going out."""
    metrics.influencer_updated(primary_niche)
    metrics.observe_engagement(primary_niche, tier, median_engagement_rate)  # type: ignore[arg-type]


def dead_letter(result: BatchResult, metrics: Metrics, record: Record, reason: str) -> None:
    """A record the contract refuses: to the DLQ (cut to fit), counted by reason and as invalid input."""
    kind = reason_class(reason)
    record, reason = fit_for_dlq(record, reason)
    result.dead_letters.append(DeadLetter(record, reason, kind))
    metrics.dlq_written(kind)
    metrics.ingested(UNKNOWN_PLATFORM, NO_NICHE, "invalid")


def tag_observation_batches(encoded: Iterable[bytes]) -> list[Outgoing]:
    """Encoded tag observations joined into niches.tag-observations records (split by size)."""
    out: list[Outgoing] = []
    parts: list[bytes] = []
    size = 0
    for part in encoded:
        if parts and size + len(part) > TAG_RECORD_BYTES:
            out.append(_tag_observations(parts))
            parts, size = [], 0
        parts.append(part)
        size += len(part) + 1
    if parts:
        out.append(_tag_observations(parts))
    return out


TAG_RECORD_BYTES = MAX_PAYLOAD_BYTES // 4  # a niches.tag-observations record, well under the limit
_TAG_RECORD_HEAD = b'{"schema_version":%d,"kind":"tag_observations","observations":[' % SCHEMA_VERSION


def _tag_observations(parts: list[bytes]) -> Outgoing:
    """A ``TagObservations`` record from encoded observations (joined, not encoded again).
    The topic has one partition, so the key routes nothing."""
    return Outgoing(b"tags", _TAG_RECORD_HEAD + b",".join(parts) + b"]}")


def decode_record(value: bytes | None, model: type[ModelT]) -> ModelT:
    """A record of the workers' own topics, strictly as ``model``, or ``BadRecord``."""
    if value is None:
        raise BadRecord("schema", "record without a value")
    try:
        return decode_model(value, model)
    except DecodeError as exc:
        raise BadRecord(skip_reason(exc.reason), exc.reason) from None


def fit_for_dlq(record: Record, reason: str) -> tuple[Record, str]:
    """Cut an oversized key or value down to what the DLQ can take, saying so in the reason."""
    key, value = record.key, record.value
    notes = []
    if value is not None and len(value) > DLQ_MAX_VALUE_BYTES:
        notes.append(f"value truncated to its first {DLQ_MAX_VALUE_BYTES} of {len(value)} bytes")
        value = value[:DLQ_MAX_VALUE_BYTES]
    if key is not None and len(key) > DLQ_MAX_KEY_BYTES:
        notes.append(f"key truncated to its first {DLQ_MAX_KEY_BYTES} of {len(key)} bytes")
        key = key[:DLQ_MAX_KEY_BYTES]
    if not notes:
        return record, reason
    return record._replace(key=key, value=value), f"{reason} ({'; '.join(notes)})"


NativeOutput = tuple[str, bytes, bytes, Any, Any, Any]
"""("alert", key, value, classification, niches, detected_at) or
("profile", key, value, primary_niche, tier, median_engagement_rate)."""


class Fetched(Protocol):
    """A consumed record as the consumer hands it over (aiokafka's ConsumerRecord)."""

    offset: int
    key: bytes | None
    value: bytes | None


class StateWriter(Protocol):
    """The accounts table by partition (streams.faust_batch.TableWriter)."""

    def get(self, partition: int, key: bytes) -> Any: ...

    def put(self, partition: int, key: bytes, value: Any) -> None: ...


class AccountTable(Protocol):
    """The accounts table for the partition being handled (streams.agents.accounts.PartitionStore)."""

    partition: int
    writer: StateWriter

    def skip(self, key: bytes, exc: BadRecord) -> None:
        """Log and count a table entry that is not a state."""


def state_bytes(value: Any) -> bytes | None:
    """A table entry as the native engine reads it: compact or JSON state bytes (None: no entry).

    Bytes are passed as they are (compact state, or JSON the table codec could not parse);
    anything decoded from the changelog's JSON (a dict, or something that is not a state at
    all) as JSON again, for the engine to read or refuse. Integers beyond 64 bits, which
    orjson does not write, are written by the standard library (the engine refuses them).
    """
    if value is None or type(value) is bytes:
        return value
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


class Pipeline:
    def __init__(self, engine: NativeWorkerEngine, metrics: Metrics, table: AccountTable) -> None:
        self.engine = engine
        self.metrics = metrics
        self.table = table

    def process(self, records: list[Record], now: float | None = None) -> BatchResult:
        if not records:
            return BatchResult()
        first = records[0]  # a batch comes from one partition
        return self._process(first.topic, first.partition, [(r.key, r.value) for r in records], records.__getitem__, now)

    def process_fetched(self, topic: str, partition: int, batch: list[Fetched], now: float | None = None) -> BatchResult:
        """``process`` of a fetched batch of one partition as the consumer hands it over: the
        ``Record`` of a position is built only for a record that goes to the DLQ or is re-keyed."""
        if not batch:
            return BatchResult()

        def record(index: int) -> Record:
            fetched = batch[index]
            return Record(topic, partition, fetched.offset, fetched.key, fetched.value)

        return self._process(topic, partition, batch, record, now)  # the engine reads .key and .value

    def _process(
        self, topic: str, partition: int, pairs: list[tuple[bytes | None, bytes | None]] | list[Fetched],
        record: Callable[[int], Record], now: float | None,
    ) -> BatchResult:
        result = BatchResult()
        metrics, writer = self.metrics, self.table.writer
        wall = time.time() if now is None else now
        metrics.consumed(topic, len(pairs))
        with panics_as_errors():
            outputs, dead, rekeyed, counts, post_latencies, snapshot_latencies, changed, bad_states = (
                self.engine.native.process_records(pairs, partition=partition, wall=wall, load=self._loader(partition))
            )
        for account_id, reason in bad_states:
            self.table.skip(account_id.encode(), BadRecord(skip_reason(reason), f"account state: {reason}"))
        for index, reason, _class in dead:
            dead_letter(result, metrics, record(index), reason)
        for index, account_id in rekeyed:
            # A producer that does not key by account_id breaks partition ownership:
            # send the record to the partition that owns the account instead.
            moved = record(index)
            result.rekeyed.append(Outgoing(account_id.encode(), moved.value))  # type: ignore[arg-type]
            metrics.rekeyed(moved.topic)
        count_batch(
            metrics,
            (((platform, niche, outcome), n) for platform, niche, outcome, n in counts),
            {"post": post_latencies, "snapshot": snapshot_latencies},
        )
        self._emit_all(result, outputs, wall)
        for key, state in changed:
            writer.put(partition, key, state)
        self._take_cluster_records(result)
        return result

    def settle(self, account_ids: list[str], threshold: float = SETTLE_SCORE_CHANGE) -> BatchResult:
        """Re-publish the profiles whose scores the cluster's cohorts have moved (the table's
        partition is ``table.partition``); an account the engine does not hold is loaded first."""
        result = BatchResult()
        native, writer, partition = self.engine.native, self.table.writer, self.table.partition
        wall = time.time()
        for account_id in account_ids:
            key = account_id.encode()
            if not native.holds(account_id) and not self._load(partition, account_id, key):
                continue
            with panics_as_errors():
                output, state = native.settle_account(account_id, threshold)
            if state is not None:
                writer.put(partition, key, state)
            if output is not None:
                self._emit(result, output, wall)
        self._take_cluster_records(result)
        return result

    def _loader(self, partition: int) -> Callable[[str], bytes | None]:
        get = self.table.writer.get

        def load(account_id: str) -> bytes | None:
            return state_bytes(get(partition, account_id.encode()))

        return load

    def _load(self, partition: int, account_id: str, key: bytes) -> bool:
        raw = state_bytes(self.table.writer.get(partition, key))
        if raw is None:
            return False
        try:
            with panics_as_errors():
                self.engine.native.load_state(raw, partition, account_id)
        except ValueError as exc:
            self.table.skip(key, BadRecord(skip_reason(str(exc)), f"account state: {exc}"))
            return False
        return True

    def _emit_all(self, result: BatchResult, outputs: list[NativeOutput], wall: float) -> None:
        """``_emit`` of each output, in order (one loop: a batch has an output every few posts)."""
        metrics, alerts, profiles = self.metrics, result.alerts, result.profiles
        for kind, key, value, first, second, third in outputs:
            if kind == "alert":
                alerts.append(Outgoing(key, value))
                count_alert(metrics, first, second, third, wall)
            else:
                profiles.append(Outgoing(key, value))
                count_profile(metrics, first, second, third)

    def _emit(self, result: BatchResult, output: NativeOutput, wall: float) -> None:
        kind, key, value, first, second, third = output
        if kind == "alert":
            result.alerts.append(Outgoing(key, value))
            count_alert(self.metrics, first, second, third, wall)
        else:
            result.profiles.append(Outgoing(key, value))
            count_profile(self.metrics, first, second, third)

    def _take_cluster_records(self, result: BatchResult) -> None:
        contributions = self.engine.native.take_cohort_contribution_records()  # encoded in the engine
        if contributions:
            result.contributions += [Outgoing(key, value) for key, value in contributions]
        parts = self.engine.native.take_tag_observation_parts()  # encoded in the engine
        if parts:
            result.tag_observations += tag_observation_batches(parts)
