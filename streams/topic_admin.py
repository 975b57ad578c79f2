"""Create and check the topics of DESIGN.md (kafka-python admin client)."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.kafka_config import kafka_python_config
from streams.settings import Settings
from streams.topics import topic_specs


def _admin(settings: Settings) -> KafkaAdminClient:
    return KafkaAdminClient(client_id="nichewatch-admin", **kafka_python_config(settings))


def existing_topics(settings: Settings) -> set[str]:
    admin = _admin(settings)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def missing_topics(settings: Settings) -> list[str]:
    existing = existing_topics(settings)
    return [spec.name for spec in topic_specs(settings) if spec.name not in existing]


def create_topics(settings: Settings) -> list[str]:
    """Create every missing topic with its partitions and cleanup policy; return those created."""
    missing = set(missing_topics(settings))
    new = [
        NewTopic(
            spec.name,
            num_partitions=1 if spec.single_partition else settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
            topic_configs=spec.config(),
        )
        for spec in topic_specs(settings)
        if spec.name in missing
    ]
    if not new:
        return []
    admin = _admin(settings)
    try:
        admin.create_topics(new)
    except TopicAlreadyExistsError:
        pass  # another worker or operator won the race; the topics exist, which is what we want
    finally:
        admin.close()
    return [topic.name for topic in new]
