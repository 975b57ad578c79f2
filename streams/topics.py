"""The topics of DESIGN.md, declared once from settings.

Values travel as raw bytes: decoding happens in one place (schemas.codec) so that a bad
message can be sent to the DLQ with its original bytes instead of failing inside Faust.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.settings import Settings

DAY_MS = 24 * 3600 * 1000
TABLES = ("accounts", "cohort-members")  # streams/app.py


@dataclass(frozen=True)
class TopicSpec:
    name: str
    compacted: bool = False
    retention_days: int | None = None
    single_partition: bool = False  # one total order for every reader

    def config(self) -> dict[str, str]:
        if self.compacted:
            return {"cleanup.policy": "compact"}
        assert self.retention_days is not None
        return {"cleanup.policy": "delete", "retention.ms": str(self.retention_days * DAY_MS)}


def topic_specs(settings: Settings) -> list[TopicSpec]:
    return [
        TopicSpec(settings.topic_posts, retention_days=7),
        TopicSpec(settings.topic_snapshots, retention_days=7),
        TopicSpec(settings.topic_niches, compacted=True, single_partition=True),
        TopicSpec(settings.topic_alerts, retention_days=30),
        TopicSpec(settings.topic_influencers, compacted=True),
        TopicSpec(settings.topic_dlq, retention_days=14),
        TopicSpec(settings.topic_niche_tags, compacted=True),
        TopicSpec(settings.topic_cohort_contributions, retention_days=7),
        TopicSpec(settings.topic_cohorts, compacted=True),
        TopicSpec(settings.topic_tag_observations, retention_days=7, single_partition=True),
        # The workers' table changelogs (Faust's names), made here rather than by a starting
        # worker, which would otherwise create them while it already produces.
        *(TopicSpec(f"{settings.app_id}-{table}-changelog", compacted=True) for table in TABLES),
    ]


@dataclass(frozen=True)
class InputTopics:
    """The Faust topics the accounts agent consumes (outputs are produced by name)."""

    posts: Any
    snapshots: Any
    contributions: Any


def declare_input_topics(app: Any, settings: Settings) -> InputTopics:
    def raw(name: str) -> Any:
        return app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.topic_partitions,
            replicas=settings.topic_replication_factor,
        )

    return InputTopics(
        raw(settings.topic_posts),
        raw(settings.topic_snapshots),
        raw(settings.topic_cohort_contributions),
    )
