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
from mode import Service

from streams.kafka_config import kafka_python_config
from streams.settings import Settings

log = logging.getLogger(__name__)

RecordHandler = Callable[[bytes | None, bytes | None], None]


class TopicFollower(Service):
    def __init__(self, settings: Settings, topic: str, on_record: RecordHandler, **kwargs: object) -> None:
        self.settings = settings
        self.topic = topic
        self.on_record = on_record
        self.ready = asyncio.Event()
        super().__init__(**kwargs)

    @Service.task
    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            **kafka_python_config(self.settings), enable_auto_commit=False, group_id=None, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(self.topic, p) for p in sorted(consumer.partitions_for_topic(self.topic) or ())]
            if not partitions:
                await consumer.force_metadata_update()
                partitions = [TopicPartition(self.topic, p) for p in sorted(consumer.partitions_for_topic(self.topic) or ())]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            while not self.should_stop:
                if not self.ready.is_set() and all([await consumer.position(tp) >= end[tp] for tp in partitions]):
                    self.ready.set()
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        self.on_record(record.key, record.value)
        finally:
            await consumer.stop()
