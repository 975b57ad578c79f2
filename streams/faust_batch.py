"""Batch delivery for Faust: whole fetched batches per partition, Faust still in charge.

Why: Faust hands every message through ``Consumer._drain_messages``, which awaits
``wait_first(callback(message), suspend_flow.wait())`` per message
(faust/transport/consumer.py ``_drain_messages``; mode ``Service.wait_first`` creates four
futures and runs ``asyncio.wait`` each time). Measured alone that is ~120 us a message, a
ceiling near 8k msgs/s before any work is done. A topic registered with
:meth:`BatchApp.batch_agent` skips that: the consumer below hands each fetched batch of
a partition to a synchronous handler and acks it in bulk.

What stays Faust's: partition assignment and rebalances, fetching (``_wait_next_records``
with flow control and pause/resume), offset tracking and commits (``_acked``,
``_commit_offsets``), table recovery and standby replicas from changelog topics (whose
fetched batches are applied to the table whole: ``BatchConsumer._apply_changelog``).

    fetch ──► [await flow control, producer ebb] ──► handler(tp, records) ──► ack offsets
                                                        │  (no await: no rebalance can
                                                        │   slip in between)
                                     TableWriter.put ◄──┘      OutputWriter.send
                                             │                        │
    after each fetch: the outputs are flushed (sent now; the state waits for the commit)
    commit: _filter_committable_offsets ──► flush() both (one changelog record per dirty
            _commit_offsets ─────────────► await delivery, then Faust commits offsets

So every committed offset has its state on the changelog and its outputs on their topics
(at-least-once). Relies on faust-streaming 0.15.x internals (pinned in pyproject;
tests/integration exercise commit, recovery and takeover through them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import faust
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord
from faust.stores import rocksdb as rocks_store
from faust.stores.memory import Store as MemoryStore
from faust.stores.rocksdb import Store as RocksStore
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP

log = logging.getLogger(__name__)

BatchHandler = Callable[[TP, list[ConsumerRecord]], None]
PARTITIONS_REMEMBERED = 100_000  # output keys whose partition OutputWriter keeps


class Flushable(Protocol):
    def flush(self) -> None:
        """Synchronously start sending everything buffered so far."""

    async def wait_sent(self) -> None:
        """Return once everything flushed so far is acknowledged by the broker (or raise)."""


class BatchConsumer(aiokafka_driver.Consumer):
    async def _drain_messages(self, fetcher: Any) -> None:
        try:
            await self._drain_batches(fetcher)
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise

    async def _drain_batches(self, fetcher: Any) -> None:
        app: BatchApp = self.app  # type: ignore[assignment]
        read_offset = self._read_offset
        handlers = app.batch_handlers
        recovery = app.tables.recovery
        while not (self._stopped.is_set() or fetcher._stopped.is_set()):
            records, active = await self._wait_next_records(1.0)
            await asyncio.sleep(0)
            if not records or self.should_stop:
                continue
            if not self.flow_active:
                await self.perform_seek()
                continue
            generation = app.consumer_generation_id
            if any(tp.topic in handlers for tp in records):
                # Gates (e.g. "niches loaded") hold back our topics only: changelog records
                # must flow during recovery, which runs before the gates can open.
                for gate in app.batch_gates:
                    await gate()
                for align in app.batch_aligners:
                    await align(records)
            await app.flow_control.acquire()
            await app.producer.buffer.wait_until_ebb()
            todo: list[tuple[TP, list[ConsumerRecord]]] = []
            for tp, batch in records.items():
                if generation != app.consumer_generation_id or not self.flow_active:
                    # A rebalance happened while we awaited (above, or a changelog hand-off
                    # below): this fetch predates the seeks of the new recovery, drop it.
                    break
                if active is not None and tp not in active and tp not in self._buffered_partitions:
                    continue
                last = read_offset[tp]
                if last is not None and batch[0].offset < last:  # a fetch's offsets increase
                    batch = [r for r in batch if r.offset >= last]
                if not batch:
                    continue
                if tp in recovery.tp_to_table and (tp in recovery.active_tps or tp in recovery.standby_tps):
                    await self._apply_changelog(tp, batch)
                    read_offset[tp] = batch[-1].offset
                    continue
                if tp.topic not in handlers:  # any other topic: Faust's own per-message path
                    for record in batch:
                        await self.wait_first(self.callback(self._to_message(tp, record)), self.suspend_flow.wait())
                        read_offset[tp] = record.offset
                    continue
                todo.append((tp, batch))
            if generation != app.consumer_generation_id or not self.flow_active:
                continue  # a rebalance happened while we awaited: Faust re-seeks, drop this fetch
            for tp, batch in todo:  # synchronous from here to the acks
                handlers[tp.topic](tp, batch)
                self._ack_through(tp, batch[-1].offset, len(batch))
                read_offset[tp] = batch[-1].offset
            if todo:
                # Outputs (alerts, profiles) leave now rather than at the next commit: up to a
                # commit interval sooner. Still before the state that caused them, as below.
                for writer in app.output_writers:
                    writer.flush()
            if self._commit_every is not None and self._n_acked >= self._commit_every:
                self._n_acked = 0
                await self.commit()

    async def _apply_changelog(self, tp: TP, batch: list[ConsumerRecord]) -> None:
        """A fetched batch of a table's changelog, applied to the table at once.

        Faust's path costs a message callback, a queue hand-off and a recovery-end check per
        record (faust/tables/recovery.py ``_slurp_changelogs``). Here the store gets the
        whole batch, raw (an account's state is decoded when it is first touched,
        streams.changelog), and the recovery's offsets move past it. The last record then
        takes Faust's path, where it is seen as applied and makes recovery check whether it
        has reached the highwaters.
        """
        recovery = self.app.tables.recovery
        active = tp in recovery.active_tps
        offsets = recovery.active_offsets if active else recovery.standby_offsets
        seen = offsets.get(tp)
        fresh = batch if seen is None or batch[0].offset > seen else [r for r in batch if r.offset > seen]
        if fresh:
            recovery.flush_buffers()  # anything Faust's path buffered is older: apply it first
            apply_changelog_records(recovery.tp_to_table[tp], tp, fresh)
            offsets[tp] = fresh[-1].offset
            received = recovery._active_events_received_at if active else recovery._standby_events_received_at
            received[tp] = time.monotonic()
        await self.wait_first(self.callback(self._to_message(tp, batch[-1])), self.suspend_flow.wait())

    def _ack_through(self, tp: TP, offset: int, count: int) -> None:
        """``Consumer.ack`` of every record of a batch topic's partition up to ``offset``.

        A batch topic's records are handled in offset order, a fetched batch whole, so what
        is done is a prefix of the partition: it is kept as its last offset (in Faust's
        ``_acked[tp]``, which a revocation drops) rather than one entry per record, and
        ``_new_offset`` commits past it. Offsets missing in between (compaction,
        transaction markers) are covered without ``_add_gap``.
        """
        acked = self._acked[tp]
        if not acked or offset > acked[-1]:
            acked[:] = [offset]
        self._n_acked += count

    def _new_offset(self, tp: TP) -> int | None:
        if tp.topic not in self.app.batch_handlers:  # type: ignore[attr-defined]
            return super()._new_offset(tp)
        acked = self._acked[tp]
        if not acked:
            return None
        offset = acked.pop() + 1
        acked.clear()
        return offset

    def _filter_committable_offsets(self, tps: Iterable[TP]) -> Any:
        for flushable in self.app.flushables:  # type: ignore[attr-defined]
            flushable.flush()
        return super()._filter_committable_offsets(tps)

    async def _commit_offsets(self, offsets: Any, start_new_transaction: bool = True) -> bool:
        for flushable in self.app.flushables:  # type: ignore[attr-defined]
            await flushable.wait_sent()
        return await super()._commit_offsets(offsets, start_new_transaction=start_new_transaction)


def stored_keys(store: Any, db: Any) -> list[bytes]:
    """The table keys in one partition's RocksDB, without the key under which Faust keeps
    the partition's persisted changelog offset (``Store.offset_key``)."""
    offset_key = store.offset_key
    return [key for key in db.keys() if key != offset_key]


def apply_changelog_records(table: Any, tp: TP, records: list[ConsumerRecord]) -> None:
    """Fetched records of one changelog partition, written to the table's store as Faust's
    ``apply_changelog_batch`` writes them (faust/stores/memory.py, rocksdb.py): raw keys and
    values (a state is decoded on first touch), a tombstone deletes, the last record of a
    key wins; rocksdb also moves the partition's persisted offset.

    The memory and rocksdict stores are written directly, without the event object per
    record that ``apply_changelog_batch`` reads; any other store gets those events.
    """
    store = table.data
    if type(store) is MemoryStore:
        data, key_partition = store.data, store._key_partition
        data.update({r.key: r.value for r in records})
        key_partition.update(dict.fromkeys([r.key for r in records], tp.partition))
        for key in {r.key for r in records if r.value is None}:
            if not data[key]:  # the batch's last record of the key is a tombstone
                del data[key]
                key_partition.pop(key, None)
    elif isinstance(store, RocksStore) and store.use_rocksdict and rocks_store.rocksdict is not None:
        batch = rocks_store.rocksdict.WriteBatch(raw_mode=True)
        for r in records:
            if r.value is None:
                batch.delete(r.key)
            else:
                batch.put(r.key, r.value)
        store._db_for_partition(tp.partition).write(batch)
        store.set_persisted_offset(tp, records[-1].offset)
    else:
        table.apply_changelog_batch([_ChangelogEvent(tp, r) for r in records])


class _ChangelogMessage:
    __slots__ = ("tp", "topic", "partition", "offset", "key", "value")

    def __init__(self, tp: TP, record: ConsumerRecord) -> None:
        self.tp, self.topic, self.partition, self.offset = tp, tp.topic, tp.partition, record.offset
        self.key, self.value = record.key, record.value


class _ChangelogEvent:
    """What a store's ``apply_changelog_batch`` reads of an event (faust/stores/memory.py,
    rocksdb.py): the raw key and value, and the message's partition, offset and value."""

    __slots__ = ("key", "value", "message")

    def __init__(self, tp: TP, record: ConsumerRecord) -> None:
        self.message = _ChangelogMessage(tp, record)
        self.key, self.value = record.key, record.value


class BatchTransport(aiokafka_driver.Transport):
    Consumer = BatchConsumer


class BatchApp(faust.App):
    """A Faust app whose :meth:`batch_agent` topics are delivered a batch at a time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batch_handlers: dict[str, BatchHandler] = {}
        self.batch_gates: list[Callable[[], Awaitable[Any]]] = []
        # Awaited with each fetch before it is handled (e.g. "other partitions read this far").
        self.batch_aligners: list[Callable[[dict[TP, list[ConsumerRecord]]], Awaitable[Any]]] = []
        self.flushables: list[Flushable] = []
        self.output_writers: list[OutputWriter] = []  # flushed after every handled fetch
        self.on_partitions_revoked.connect(self._deliver_before_revoke)

    async def _deliver_before_revoke(self, sender: Any, revoked: Any, **kwargs: Any) -> None:
        # A commit with no new offsets to commit flushes but does not wait, so state written
        # without input (the settle pass) could reach its changelog after the next owner has
        # recovered. Revocation waits until everything buffered is on the broker.
        for flushable in self.flushables:
            flushable.flush()
        for flushable in self.flushables:
            await flushable.wait_sent()

    def _new_transport(self) -> Any:
        return BatchTransport(self.conf.broker_consumer, self)

    def batch_agent(self, topic: faust.TopicT) -> Callable[[BatchHandler], BatchHandler]:
        def register(handler: BatchHandler) -> BatchHandler:
            self.topics.add(topic)  # subscribed and acked by Faust; no Stream is created
            for name in topic.topics:
                self.batch_handlers[name] = handler
            return handler

        return register


class TableWriter:
    """Writes a Faust table from a batch handler, with the partition given explicitly.

    ``Table.__setitem__`` needs the current stream event to pick the changelog partition;
    here the partition is the source record's, exactly what Faust would use. Several
    updates of one key between commits become one changelog record. Keys are bytes
    (the table's key serializer is raw), so the changelog key equals the source record's
    key and Faust's router finds a key's owner by the same hash as the producer used.
    Values are kept live in the memory store and encoded with ``encode`` at flush time.

    Order on flush: the outputs (``after``) caused by the flushed state are delivered
    first, then the changelog records, then (rocksdb) the local store. State that says
    "alert sent" therefore never survives a crash without the alert on its topic.
    """

    def __init__(
        self, app: BatchApp, table: faust.Table, encode: Callable[[Any], bytes], after: OutputWriter | None = None
    ) -> None:
        self.app = app
        self.table = table
        self.encode = encode
        self.after = after
        self.dirty: dict[bytes, tuple[int, Any]] = {}
        self._inflight: list[dict[bytes, tuple[int, Any]]] = []  # flushed, not yet acknowledged
        self._pending: list[asyncio.Future[None]] = []
        self._rocks = hasattr(table.data, "_db_for_partition")
        self._encoded_sizes: dict[bytes, int] = {}
        app.flushables.append(self)

    @property
    def state_bytes(self) -> int:
        """Encoded size of the state written by this worker (as last flushed)."""
        return sum(self._encoded_sizes.values())

    def check_source(self, topic: str) -> None:
        """Fail loudly if the source topic and the changelog are not co-partitioned."""
        self.table._verify_source_topic_partitions(topic)

    def _unsettled(self, key: bytes) -> tuple[int, Any] | None:
        hit = self.dirty.get(key)
        if hit is None:
            for inflight in reversed(self._inflight):
                hit = inflight.get(key)
                if hit is not None:
                    break
        return hit

    def get(self, partition: int, key: bytes) -> Any:
        hit = self._unsettled(key)
        if hit is not None:
            return hit[1]
        store = self.table.data
        if self._rocks:
            raw = store._db_for_partition(partition).get(key)
            return None if raw is None else store._decode_value(raw)
        return store.data.get(key)

    def lookup(self, key: bytes) -> Any:
        """Read a key without knowing its partition (HTTP queries; not the hot path)."""
        hit = self._unsettled(key)
        if hit is not None:
            return hit[1]
        store = self.table.data
        if self._rocks:
            for db in store._dbs.values():
                raw = db.get(key)
                if raw is not None:
                    return store._decode_value(raw)
            return None
        return store.data.get(key)

    def keys_by_partition(self) -> dict[int, list[bytes]]:
        """The keys of this worker's *active* partitions, by partition (a snapshot, safe to use
        across awaits). The store also holds standby replicas of other workers' partitions;
        those are not ours to write."""
        changelog = self.table.changelog_topic.get_topic_name()
        actives = {tp.partition for tp in self.app.assignor.assigned_actives() if tp.topic == changelog}
        out: dict[int, list[bytes]] = {}
        store = self.table.data
        if self._rocks:
            for partition, db in list(store._dbs.items()):
                if partition in actives:
                    out[partition] = stored_keys(store, db)
        else:
            for key, partition in list(store._key_partition.items()):
                if partition in actives:
                    out.setdefault(partition, []).append(key)
        for key, (partition, _value) in list(self.dirty.items()):
            keys = out.setdefault(partition, []) if partition in actives else None
            if keys is not None and self._rocks and key not in keys:
                keys.append(key)
        return out

    def keep_decoded(self, key: bytes, value: Any) -> None:
        """Replace a value read back from the changelog by its decoded form (memory store only)."""
        if not self._rocks and self._unsettled(key) is None:
            self.table.data.data[key] = value

    def put(self, partition: int, key: bytes, value: Any) -> None:
        self.dirty[key] = (partition, value)
        if not self._rocks:
            self.table.data.data[key] = value
            self.table.data._key_partition[key] = partition  # lets Faust drop it on revoke

    def flush(self) -> None:
        if not self.dirty:
            return
        if self.after is not None:
            self.after.flush()
        barrier = self.after.in_flight() if self.after is not None else []
        # The previous flush's changelog records first: a key's older state must not land after its newer.
        barrier += self._pending[-1:]
        producer = self.app.producer._ensure_producer()
        batches: dict[int, list[Any]] = {}
        encoded_values: list[tuple[int, bytes, bytes]] = []
        for key, (partition, value) in self.dirty.items():
            encoded = self.encode(value)  # a snapshot: the live value keeps changing after this
            self._encoded_sizes[key] = len(encoded)
            encoded_values.append((partition, key, encoded))
            builders = batches.setdefault(partition, [producer.create_batch()])
            if builders[-1].append(timestamp=None, key=key, value=encoded) is None:
                builders.append(producer.create_batch())
                builders[-1].append(timestamp=None, key=key, value=encoded)
        inflight, self.dirty = self.dirty, {}
        self._inflight.append(inflight)
        self._pending.append(asyncio.ensure_future(self._send(producer, batches, barrier, encoded_values, inflight)))

    async def _send(
        self,
        producer: Any,
        batches: dict[int, list[Any]],
        barrier: list[asyncio.Future[None]],
        encoded_values: list[tuple[int, bytes, bytes]],
        inflight: dict[bytes, tuple[int, Any]],
    ) -> None:
        for future in barrier:
            await future
        topic = self.table.changelog_topic.get_topic_name()
        sent = []
        for partition, builders in batches.items():
            for builder in builders:
                sent.append((partition, builder.record_count(), await producer.send_batch(builder, topic, partition=partition)))
        for partition, count, future in sent:
            metadata = await future
            self.table.data.set_persisted_offset(TP(topic, partition), metadata.offset + count - 1)
        if self._rocks:
            store = self.table.data
            for partition, key, encoded in encoded_values:
                store._db_for_partition(partition).put(key, encoded)
                store._key_index[key] = partition
        self._inflight.remove(inflight)

    async def wait_sent(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            await future


class OutputWriter:
    """Messages produced by a batch handler, delivered before the offsets that caused them commit."""

    def __init__(self, app: BatchApp) -> None:
        self.app = app
        self.buffer: list[tuple[str, bytes, bytes, list[tuple[str, bytes]] | None]] = []
        self._pending: list[asyncio.Future[None]] = []
        self._queued: asyncio.Future[None] | None = None  # set once the last flush's sends are queued
        self._partitions: dict[tuple[str, int, bytes], int] = {}  # (topic, partition count, key) -> partition
        app.flushables.append(self)
        app.output_writers.append(self)

    def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> None:
        self.buffer.append((topic, key, value, headers))

    def flush(self) -> None:
        if self.buffer:
            messages, self.buffer = self.buffer, []
            # Sends of one flush wait for those of the previous one to be queued: two flushes
            # in flight must not interleave, or a key's older record could land after its newer.
            queued: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            previous, self._queued = self._queued, queued
            self._pending.append(asyncio.ensure_future(self._send(messages, previous, queued)))

    async def _send(
        self,
        messages: list[tuple[str, bytes, bytes, list[tuple[str, bytes]] | None]],
        previous: asyncio.Future[None] | None,
        queued: asyncio.Future[None],
    ) -> None:
        futures = []
        try:
            if previous is not None:
                await asyncio.shield(previous)
            producer = self.app.producer._ensure_producer()
            for (topic, partition), builders in (await self._batches(producer, messages)).items():
                for builder in builders:
                    futures.append(await producer.send_batch(builder, topic, partition=partition))
        finally:
            if not queued.done():
                queued.set_result(None)
        await asyncio.gather(*futures)

    async def _batches(
        self, producer: Any, messages: list[tuple[str, bytes, bytes, list[tuple[str, bytes]] | None]]
    ) -> dict[tuple[str, int], list[Any]]:
        """The messages in record batches by (topic, partition), in their order within each.

        ``producer.send`` per message costs a partitioner call (murmur2 in Python), a size
        estimate, an accumulator lookup and a delivery future; a batch builder per partition
        takes the same records, partitioned by the producer's own ``_partition`` (a key's
        partition is remembered while the topic's partition count stands).
        """
        out: dict[tuple[str, int], list[Any]] = {}
        counts: dict[str, int] = {}
        remembered, deterministic = self._partitions, type(producer._partitioner) is DefaultPartitioner
        for topic, key, value, headers in messages:
            count = counts.get(topic)
            if count is None:
                await producer.client._wait_on_metadata(topic)
                count = counts[topic] = len(producer._metadata.partitions_for_topic(topic))
            producer._serialize(key, value, headers or [])  # raises for a message over max_request_size, as send does
            partition = remembered.get((topic, count, key)) if deterministic and key is not None else None
            if partition is None:
                partition = producer._partition(topic, None, key, value, key, value)
                if deterministic and key is not None:
                    if len(remembered) >= PARTITIONS_REMEMBERED:
                        remembered.clear()
                    remembered[(topic, count, key)] = partition
            builders = out.get((topic, partition))
            if builders is None:
                builders = out[(topic, partition)] = [producer.create_batch()]
            if builders[-1].append(timestamp=None, key=key, value=value, headers=headers) is None:
                builders.append(producer.create_batch())
                builders[-1].append(timestamp=None, key=key, value=value, headers=headers)
        return out

    async def wait_sent(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            await future

    def in_flight(self) -> list[asyncio.Future[None]]:
        return list(self._pending)
