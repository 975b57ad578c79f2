"""niches.config: a compacted topic keyed by niche name; the value is a NicheDefinition
(JSON) or null to delete. Operators write it with `nichewatch niches`; every worker folds
the whole topic into its niche matcher and keeps following it, so changes apply without
a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas.codec import DecodeError, decode_niche, encode
from schemas.events import NicheDefinition
from streams.core.engine import Engine
from streams.dlq import BadRecord
from streams.kafka_config import kafka_python_config
from streams.settings import Settings


def apply_niche(niches: dict[str, NicheDefinition], key: bytes | None, value: bytes | None) -> str:
    """Apply one niches.config record and return the niche's name.

    Raises ``BadRecord`` or ``DecodeError`` for a record that cannot be applied; ``niches``
    is then unchanged.
    """
    if key is None:
        raise BadRecord("no_key", "record without a key")
    try:
        name = key.decode()
    except UnicodeDecodeError:
        raise BadRecord("invalid_key", f"key {key[:64]!r} is not valid UTF-8") from None
    if value is None:
        niches.pop(name, None)
        return name
    niche = decode_niche(value)
    if niche.name != name:
        raise BadRecord("schema", f"niche key {name!r} does not match its name {niche.name!r}")
    niches[name] = niche
    return name


class EngineNiches:
    """A worker's niche set: niches.config records applied to the engine's matcher.

    ``apply`` is the record handler of the worker's niches.config follower; a record it
    cannot apply raises before anything changes.
    """

    def __init__(self, engine: Engine, on_added: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self.on_added = on_added
        self.niches: dict[str, NicheDefinition] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        before = set(self.niches)
        name = apply_niche(self.niches, key, value)
        for removed in before - set(self.niches):
            self.engine.remove_niche(removed)
        if name in self.niches:
            self.engine.set_niche(self.niches[name])
            if self.on_added is not None:
                self.on_added(name)


def fold(niches: dict[str, NicheDefinition], key: bytes | None, value: bytes | None) -> str | None:
    """Apply one niches.config record; returns why it was ignored, or None when applied."""
    try:
        apply_niche(niches, key, value)
    except (BadRecord, DecodeError) as exc:
        return exc.reason
    return None


def write_niche(settings: Settings, niche: NicheDefinition | None, name: str) -> None:
    producer = KafkaProducer(**kafka_python_config(settings), acks="all")
    try:
        value = encode(niche) if niche is not None else None
        producer.send(settings.topic_niches, key=name.encode(), value=value).get(timeout=30)
    finally:
        producer.close()


def read_niches(settings: Settings, timeout: float = 30.0) -> dict[str, NicheDefinition]:
    """The current niche set: the topic folded from its beginning up to its end offsets."""
    consumer = KafkaConsumer(**kafka_python_config(settings), enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(settings.topic_niches, p) for p in consumer.partitions_for_topic(settings.topic_niches) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        niches: dict[str, NicheDefinition] = {}
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {settings.topic_niches} took longer than {timeout:.0f}s")
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    fold(niches, record.key, record.value)
        return niches
    finally:
        consumer.close()
