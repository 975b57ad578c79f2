"""The accounts agent: posts and snapshots in, per-account state in a table, decisions out.

One batch handler serves both input topics (they are co-partitioned by account_id, so a
partition number names the same accounts on both). It decodes, asks the pipeline, and
hands what comes back to the writers; the writers deliver before offsets commit.
"""

from __future__ import annotations

import logging

from aiokafka.structs import ConsumerRecord
from faust.types import TP

from streams.dlq import BadRecord, dlq_headers
from streams.faust_batch import OutputWriter, TableWriter
from streams.metrics import Metrics
from streams.pipeline import BatchResult, Pipeline
from streams.settings import Settings


log = logging.getLogger(__name__)

AGENT_NAME = "accounts"


class PartitionStore:
    """The accounts table for the partition being processed, as the pipeline sees it.

    The engine reads an account's entry on first touch (either state format) and returns
    the compact state of every account it wrote; an entry that is not a valid state is
    logged and counted as skipped (``skip``), and the account starts afresh.
    """

    def __init__(self, writer: TableWriter, metrics: Metrics | None = None) -> None:
        self.writer = writer
        self.metrics = metrics
        self.partition = 0

    def skip(self, key: bytes, exc: BadRecord) -> None:
        """An entry that is not a state: logged, counted as skipped (the account starts afresh)."""
        topic = self.writer.table.changelog_topic.get_topic_name()
        log.warning("bad record %s[%d] key %.80r skipped (the account starts afresh): %s", topic, self.partition, key, exc)
        if self.metrics is not None:
            self.metrics.record_skipped(topic, exc.reason_class)


class AccountsAgent:
    def __init__(
        self, settings: Settings, pipeline: Pipeline, store: PartitionStore, outputs: OutputWriter
    ) -> None:
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
        self.deliver(tp.topic, self.pipeline.process_fetched(tp.topic, tp.partition, batch))

    def settle(self, partition: int, keys: list[bytes], threshold: float | None = None) -> int:
        """Settle some accounts of one partition (Engine.settle); returns profiles re-published.
        ``threshold`` 0 re-publishes every profile; None is the pipeline's settle threshold."""
        self.store.partition = partition
        ids = [key.decode() for key in keys]
        result = self.pipeline.settle(ids) if threshold is None else self.pipeline.settle(ids, threshold)
        self.deliver(None, result)
        return len(result.profiles)

    def deliver(self, topic: str | None, result: BatchResult) -> None:
        settings, send = self.settings, self.outputs.send
        for contribution in result.contributions:
            send(settings.topic_cohort_contributions, contribution.key, contribution.value)
        for observation in result.tag_observations:
            send(settings.topic_tag_observations, observation.key, observation.value)
        for record, exc in result.skipped:
            log.warning("bad record %s[%d]@%d skipped: %.300s", record.topic, record.partition, record.offset, exc.reason)
        for alert in result.alerts:
            send(settings.topic_alerts, alert.key, alert.value)
        for profile in result.profiles:
            send(settings.topic_influencers, profile.key, profile.value)
        for moved in result.rekeyed:
            assert topic is not None
            send(topic, moved.key, moved.value)
        for dead in result.dead_letters:
            record = dead.record
            headers = dlq_headers(dead.reason, record.topic, record.partition, record.offset)
            log.warning("bad input %s[%d]@%d -> DLQ: %s", record.topic, record.partition, record.offset, dead.reason)
            send(settings.topic_dlq, record.key, record.value, headers)
