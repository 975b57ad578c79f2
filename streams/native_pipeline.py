"""What a worker does with one batch of input records, on the native engine.

The same decisions and the same BatchResult as streams/pipeline.py's ``Pipeline``, with
the per-record work in Rust: one ``NativeEngine.process_records`` call per fetched batch
decodes, re-key checks, matches niches, applies the events and counts them; this module
turns what comes back into the worker's records and metrics.

    records of one partition ──process_records──► outputs ──► alerts, profiles (+ metrics)
            ▲                       │            dead letters ──► DLQ (fit_for_dlq)
            │ load(account_id):     │            rekeyed ──► re-published under the account id
            │ the table's entry     │            counts, latencies ──► metrics
            │ (first touch)         └──────────► changed: (key, compact state) ──► table.put

The table holds the compact state (bytes) the engine returns; an entry recovered from
the changelog in the JSON state format, or left live by the Python engine, is handed to
the engine as bytes (it reads both formats). An entry that is not a state is logged and
counted by the table (``skip``) and the account starts afresh, as with ``Pipeline``.
No faust here: unit-tested with plain records and an in-memory table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import orjson

from streams.core.cohorts import Contribution
from streams.core.state import AccountState
from streams.dlq import BadRecord
from streams.metrics import Metrics
from streams.native_engine import NativeWorkerEngine, panics_as_errors
from streams.pipeline import (
    SETTLE_SCORE_CHANGE,
    BatchResult,
    Outgoing,
    Record,
    count_alert,
    count_batch,
    contribution_records,
    count_profile,
    dead_letter,
    skip_reason,
    tag_observation_batches,
)

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
    a live ``AccountState`` (written by the Python engine) as its JSON; anything decoded
    from the changelog's JSON (a dict, or something that is not a state at all) as JSON
    again, for the engine to read or refuse.
    """
    if value is None or type(value) is bytes:
        return value
    if type(value) is AccountState:
        return value.to_bytes()
    return orjson.dumps(value)


class NativePipeline:
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

        return self._process(topic, partition, [(r.key, r.value) for r in batch], record, now)

    def _process(
        self, topic: str, partition: int, pairs: list[tuple[bytes | None, bytes | None]],
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
        contributions = self.engine.native.take_cohort_contributions()
        if contributions:
            result.contributions += contribution_records(Contribution(*c) for c in contributions)
        parts = self.engine.native.take_tag_observation_parts()  # encoded in the engine
        if parts:
            result.tag_observations += tag_observation_batches(parts)
