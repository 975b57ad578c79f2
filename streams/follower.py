"""Follow a whole topic (every partition, no consumer group) inside a worker.

Used for the small, shared views every worker needs in full, whichever partitions it
owns: the niche set (niches.config), and the latest influencer profiles and alerts that
the HTTP API serves. ``ready`` is set once the records that existed at start-up have
been applied, so agents can wait for the niche set before judging posts.

A record the handler cannot apply is logged with topic/partition/offset, counted and
skipped (the policy in streams.dlq): these topics are read from the beginning at every
start, so one bad record must not stop the worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel

from schemas.codec import DecodeError, decode_output
from streams.dlq import BadRecord
from streams.kafka_config import kafka_python_config
from streams.metrics import Metrics, SkipReason
from streams.pipeline import skip_reason
from streams.settings import Settings

log = logging.getLogger(__name__)

RecordHandler = Callable[[bytes | None, bytes | None], None]


def only_valid(model: type[BaseModel], handler: RecordHandler) -> RecordHandler:
    """``handler`` behind a check: a keyed record whose value is a valid ``model`` or null."""

    def checked(key: bytes | None, value: bytes | None) -> None:
        if key is None:
            raise BadRecord("no_key", "record without a key")
        if value is not None:
            decode_output(value, model)
        handler(key, value)

    return checked


class TopicFollower:
    def __init__(self, settings: Settings, topic: str, on_record: RecordHandler, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.topic = topic
        self.on_record = on_record
        self.metrics = metrics
        self.ready = asyncio.Event()

    def apply(self, record: ConsumerRecord) -> None:
        """Hand one record to the handler; a record it cannot apply is logged, counted, skipped."""
        try:
            self.on_record(record.key, record.value)
        except BadRecord as exc:
            self._skip(record, exc.reason_class, exc.reason)
        except DecodeError as exc:
            self._skip(record, skip_reason(exc.reason), exc.reason)
        except Exception:  # a bug, but on a compacted topic a crash would repeat forever
            log.exception("could not apply %s[%d]@%d (skipped)", record.topic, record.partition, record.offset)
            self._skip(record, "error", None)

    def _skip(self, record: ConsumerRecord, kind: SkipReason, reason: str | None) -> None:
        if reason is not None:
            log.warning("bad record %s[%d]@%d skipped: %.300s", record.topic, record.partition, record.offset, reason)
        if self.metrics is not None:
            self.metrics.record_skipped(record.topic, kind)

    async def run(self) -> None:
        """Follow the topic until cancelled (when the worker stops)."""
        consumer = AIOKafkaConsumer(
            self.topic,  # without a group_id, aiokafka assigns every partition of the topic
            **kafka_python_config(self.settings),
            enable_auto_commit=False,
            group_id=None,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        log.info("following %s", self.topic)
        end: dict[TopicPartition, int] | None = None
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        self.apply(record)
                if self.ready.is_set():
                    continue
                assigned = consumer.assignment()
                if assigned and end is None:
                    end = await consumer.end_offsets(list(assigned))
                if end is not None and all([await consumer.position(tp) >= offset for tp, offset in end.items()]):
                    log.info("following %s: caught up with %d partition(s)", self.topic, len(end))
                    self.ready.set()
        finally:
            await consumer.stop()
