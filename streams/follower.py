"""Follow a whole topic (every partition, no consumer group) inside a worker.

Used for the small, shared views every worker needs in full, whichever partitions it
owns: the niche set (niches.config), and the latest influencer profiles and alerts that
the HTTP API serves. ``ready`` is set once the records that existed at start-up have
been applied, so agents can wait for the niche set before judging posts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.kafka_config import kafka_python_config
from streams.settings import Settings

log = logging.getLogger(__name__)

RecordHandler = Callable[[bytes | None, bytes | None], None]


class TopicFollower:
    def __init__(self, settings: Settings, topic: str, on_record: RecordHandler) -> None:
        self.settings = settings
        self.topic = topic
        self.on_record = on_record
        self.ready = asyncio.Event()

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
                        self.on_record(record.key, record.value)
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
