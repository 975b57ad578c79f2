"""What a worker does with one batch of input records, free of Faust.

    records of one partition --decode--> events --engine--> alerts, profiles
              |                             |
              +--> dead letters (reason)    +--> metrics (accepted / duplicate / untracked / late)

The delivery mechanism (streams.agents) hands over raw records and sends what comes back;
this module decides. It imports neither faust nor aiokafka, so it is unit-tested with
plain records and a fresh metrics registry.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from schemas.codec import MAX_PAYLOAD_BYTES, DecodeError, ModelT, decode_model, encode
from schemas.events import SCHEMA_VERSION, AccountSnapshot, FollowerSpikeAlert, InfluencerProfile, Post
from schemas.cluster import CohortContribution
from schemas.cluster import TagObservation as TagObservationRecord
from streams.core.cohorts import ClusterCohorts, Contribution
from streams.core.engine import Engine
from streams.dlq import BadRecord
from streams.core.state import AccountState
from streams.core.tagstats import TagObservation
from streams._native import decode_batch
from streams.metrics import NO_NICHE, UNKNOWN_PLATFORM, DlqReason, Metrics, SkipReason


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


def is_redelivery(state: AccountState, event: Post | AccountSnapshot, niches: tuple[str, ...]) -> bool:
    """The state already holds exactly what this event would write (to the second): it is
    counted as ``duplicate`` rather than ``accepted``.

    A post: its observation under ``post_id`` has the same times, counters and niches, and
    the handle is not newer than the state's. A snapshot: its hourly follower bucket holds
    the same second and count.
    """
    ts = int(event.observed_at.timestamp())
    if type(event) is Post:
        known = state.posts.posts.get(event.post_id)
        return (
            known is not None
            and known.observed_ts == ts
            and known.posted_ts == int(event.posted_at.timestamp())
            and known.interactions == event.likes + event.comments + event.shares
            and known.followers == event.followers
            and known.views == event.views
            and known.comments == event.comments
            and known.niches == niches
            and (ts < state.latest_ts or event.handle == state.handle)
        )
    bucket = state.hourly.buckets.get(int(ts // state.hourly.width))
    return bucket == (ts, event.followers) and (ts < state.latest_ts or event.handle == state.handle)


class Pipeline:
    def __init__(self, engine: Engine, metrics: Metrics) -> None:
        self.engine = engine
        self.metrics = metrics

    def process(self, records: list[Record], now: float | None = None) -> BatchResult:
        result = BatchResult()
        engine, metrics = self.engine, self.metrics
        wall = time.time() if now is None else now
        counts: dict[tuple[str, str, str], int] = {}  # (platform, niche, outcome) -> events
        latencies: dict[str, list[float]] = {"post": [], "snapshot": []}
        if records:
            metrics.consumed(records[0].topic, len(records))  # a batch comes from one partition
        # The native decoder implements schemas.codec's input contract, reasons included
        # (tests/unit/test_native_decoder.py), for the whole batch in one call.
        events, dead_letters = decode_batch([record.value for record in records])
        refused = {index: reason for index, reason, _ in dead_letters}
        for index, (record, event) in enumerate(zip(records, events)):
            if event is None:
                self._dead(result, record, refused[index])
                continue
            account_key = event.account_id.encode()
            if record.key != account_key:
                # A producer that does not key by account_id breaks partition ownership:
                # send the record to the partition that owns the account instead.
                result.rekeyed.append(Outgoing(account_key, record.value))
                metrics.rekeyed(record.topic)
                continue
            is_post = type(event) is Post
            niches = engine.matcher.match(event.tags) if is_post else ()  # type: ignore[union-attr]
            state = engine.get_state(event.account_id)
            if not niches and state is None:
                key = (event.platform, NO_NICHE, "untracked")
                counts[key] = counts.get(key, 0) + 1
                continue
            duplicate = state is not None and is_redelivery(state, event, niches)
            late_before = engine.stats.late_dropped
            # A duplicate goes through the engine too: it leaves the account's state as it
            # is, but a single-process engine's books that are not persisted (mentions,
            # cohorts) are rebuilt from the re-deliveries that follow a restart.
            outputs = engine.process(event)
            if engine.stats.late_dropped != late_before:
                key = (event.platform, niches[0] if niches else NO_NICHE, "late")
                counts[key] = counts.get(key, 0) + 1
                continue
            outcome = "duplicate" if duplicate else "accepted"
            for niche in niches or (NO_NICHE,):
                key = (event.platform, niche, outcome)
                counts[key] = counts.get(key, 0) + 1
            latencies["post" if is_post else "snapshot"].append(wall - event.observed_at.timestamp())
            for output in outputs:
                self._emit(result, output, wall)
        count_batch(metrics, counts.items(), latencies)
        self._take_cluster_records(result)
        return result

    def settle(self, account_ids: list[str], threshold: float = SETTLE_SCORE_CHANGE) -> BatchResult:
        """Re-publish the profiles whose scores the cluster's cohorts have moved (Engine.settle)."""
        result = BatchResult()
        engine, wall = self.engine, time.time()
        for account_id in account_ids:
            profile = engine.settle(account_id, threshold)
            if profile is not None:
                self._emit(result, profile, wall)
        self._take_cluster_records(result)
        return result

    def _take_cluster_records(self, result: BatchResult) -> None:
        engine = self.engine
        cohorts = engine.cohorts
        if isinstance(cohorts, ClusterCohorts) and cohorts.outbox:
            result.contributions += contribution_records(cohorts.take_outbox())
        tags = engine.tag_outbox
        if tags:
            result.tag_observations += tag_observation_records(tags)
            tags.clear()

    def _emit(self, result: BatchResult, output: FollowerSpikeAlert | InfluencerProfile, wall: float) -> None:
        key = output.account_id.encode()
        if type(output) is FollowerSpikeAlert:
            result.alerts.append(Outgoing(key, encode(output)))
            count_alert(self.metrics, output.classification, output.niches, output.detected_at.timestamp(), wall)
        else:
            result.profiles.append(Outgoing(key, encode(output)))
            count_profile(self.metrics, output.primary_niche, output.tier, output.median_engagement_rate)  # type: ignore[union-attr]

    def _dead(self, result: BatchResult, record: Record, reason: str) -> None:
        dead_letter(result, self.metrics, record, reason)


# --- what both engines' pipelines share (streams/native_pipeline.py) ----------------------


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


def contribution_records(contributions: Iterable[Contribution]) -> list[Outgoing]:
    """Cohort contributions as niches.cohort-contributions records, keyed by niche."""
    out = []
    for c in contributions:
        record = CohortContribution(niche=c.niche, account_id=c.account_id, tier=c.tier, bin=c.bin, version=c.version)  # type: ignore[arg-type]
        out.append(Outgoing(c.niche.encode(), encode(record)))
    return out


def tag_observation_records(observations: Iterable[TagObservation]) -> list[Outgoing]:
    """New posts' tag observations as niches.tag-observations records.

    One record per batch (split by size), not one per post: a record costs the producer
    and every worker's reader far more than an observation in it.
    """
    return tag_observation_batches(
        encode(TagObservationRecord(post_id=o.post_id, account_id=o.account_id, tags=list(o.tags),
                                    niches=list(o.niches), followers=o.followers, rate=o.rate,
                                    weight=o.weight, ts=o.ts))
        for o in observations
    )


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
