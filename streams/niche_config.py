"""niches.config: a compacted topic keyed by niche name; the value is a NicheDefinition
(JSON) or null to delete. Operators write it with `nichewatch niches`; every worker folds
the whole topic into its niche matcher and keeps following it, so changes apply without
a restart.
"""

from __future__ import annotations

import time

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pydantic import ValidationError

from schemas.codec import encode
from schemas.events import NicheDefinition
from streams.kafka_config import kafka_python_config
from streams.settings import Settings


def fold(niches: dict[str, NicheDefinition], key: bytes | None, value: bytes | None) -> str | None:
    """Apply one niches.config record; returns why it was ignored, or None when applied."""
    if key is None:
        return "record without a key"
    name = key.decode("utf-8", "replace")
    if value is None:
        niches.pop(name, None)
        return None
    try:
        niche = NicheDefinition.model_validate(orjson.loads(value))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        return f"invalid niche {name!r}: {exc}"
    if niche.name != name:
        return f"niche key {name!r} does not match its name {niche.name!r}"
    niches[name] = niche
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
