"""Every worker's book of @mentions, read from all input partitions ahead of its own work.

A shout-out is a post by one account that explains growth of another, and the two are
usually owned by different workers. So each worker reads the posts of *every* partition
for the mentions they carry (records without an ``@`` byte are skipped unparsed, which
keeps this a small fraction of the work of processing them), starting
``mention_lookback_s`` back (broker time) so a restarted worker knows the recent ones.

Ordering: :meth:`MentionReader.caught_up` is a batch aligner (streams.faust_batch). Before
the accounts agent gets a fetched batch, the reader has read every partition as far as the
batch's event time (a record observed that late, or the partition's end once it is quiet),
so every mention observed before the batch's events is in the book. The book counts a mention for a decision at event time ``t`` only if its post was
observed by ``t`` (core/src/engine/mentions.rs), so reading ahead changes nothing: the
decisions are the same with one worker, many, or one restarted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from streams.kafka_config import kafka_python_config
from streams.native_engine import NativeMentions
from streams.settings import Settings

log = logging.getLogger(__name__)

SLOW_WARNING_S = 10.0
QUIET_S = 0.5


def observed_ts(value: bytes | None) -> float | None:
    """``observed_at`` of an input record as epoch seconds, or None when it has none readable."""
    if not value:
        return None
    try:
        raw = orjson.loads(value).get("observed_at")
        return datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00")).timestamp()
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
        return None


class MentionReader:
    def __init__(self, settings: Settings, book: NativeMentions) -> None:
        self.settings = settings
        self.book = book
        self.topics = (settings.topic_posts, settings.topic_snapshots)
        self.positions: dict[TopicPartition, int] = {}
        self.progress: dict[TopicPartition, float] = {}  # event time of the latest record read
        self.last_data: dict[TopicPartition, float] = {}  # monotonic time records last arrived
        self.consumer: AIOKafkaConsumer | None = None
        self.started = asyncio.Event()
        self._round = asyncio.Event()

    def apply(self, values: list[bytes | None]) -> None:
        """Note the mentions of a batch of input records (anything unusable is the accounts agent's to reject).

        The engine reads the values itself: records without an ``@`` cannot mention anyone
        and are not decoded; the rest are decoded by the native decoder (the input contract
        of schemas.codec).
        """
        self.book.record_values(values)

    async def caught_up(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Return once every partition has been read as far as the fetched input's event time.

        A partition is far enough when a record observed at or after that time was read
        from it, or when it has been read to its end and nothing new arrived for
        ``QUIET_S`` (its producer may still be flushing what it sent before).
        """
        target = max((t for tp, records in fetched.items() if tp.topic in self.topics
                      for t in (observed_ts(records[-1].value),) if t is not None), default=None)
        if target is None:
            return
        await self.started.wait()
        assert self.consumer is not None
        end = await self.consumer.end_offsets(list(self.positions))
        waited_since = time.monotonic()
        while behind := self._behind(target, end):
            round_done = self._round
            try:
                await asyncio.wait_for(round_done.wait(), timeout=SLOW_WARNING_S)
            except asyncio.TimeoutError:
                pass
            if time.monotonic() - waited_since > SLOW_WARNING_S:
                log.warning("input waits for the mention reader, behind on: %s", behind)
                waited_since = time.monotonic()

    def _behind(self, target: float, end: dict[TopicPartition, int]) -> list[str]:
        now = time.monotonic()
        return [
            f"{tp.topic}[{tp.partition}]"
            for tp, offset in end.items()
            if self.progress.get(tp, 0.0) < target
            and (self.positions[tp] < offset or now - self.last_data.get(tp, 0.0) < QUIET_S)
        ]

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            *self.topics,  # without a group_id, aiokafka assigns every partition of the topics
            **kafka_python_config(self.settings), enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            partitions = await self._partitions(consumer)
            since_ms = int((time.time() - self.settings.mention_lookback_s) * 1000)
            found = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
            end = await consumer.end_offsets(partitions)
            for tp in partitions:
                hit = found.get(tp)
                self.positions[tp] = hit.offset if hit is not None else end[tp]
                consumer.seek(tp, self.positions[tp])
            self.consumer = consumer
            self.started.set()
            log.info("reading mentions from %d partition(s) of %s", len(partitions), ", ".join(self.topics))
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=20_000)
                for tp, records in batches.items():
                    self.apply([record.value for record in records])
                    self.positions[tp] = records[-1].offset + 1
                    self.last_data[tp] = time.monotonic()
                    latest = observed_ts(records[-1].value)
                    if latest is not None and latest > self.progress.get(tp, 0.0):
                        self.progress[tp] = latest
                for tp in partitions:  # past compaction gaps and transaction markers too
                    self.positions[tp] = max(self.positions[tp], await consumer.position(tp))
                round_done, self._round = self._round, asyncio.Event()
                round_done.set()
        finally:
            await consumer.stop()

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        while True:
            assigned = consumer.assignment()
            if {tp.topic for tp in assigned} == set(self.topics):
                return sorted(assigned)
            await asyncio.sleep(0.1)
