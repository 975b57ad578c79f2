"""Which tags a collector tracks: the current niches, from niches.config or from a file.

``NicheConfigFollower`` reads the compacted topic from its beginning in a background thread
and keeps following it, the way every worker does, so a niche added with
`nichewatch niches add` is collected on the next pass without a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Protocol

from kafka import KafkaConsumer, TopicPartition

from schemas.events import NicheDefinition
from streams.core.tags import normalise_tag
from streams.kafka_config import kafka_python_config
from streams.niche_config import fold
from streams.settings import Settings

log = logging.getLogger(__name__)


class NicheSource(Protocol):
    def tags(self) -> frozenset[str]: ...

    def close(self) -> None: ...


def tags_of(niches: Iterable[NicheDefinition]) -> frozenset[str]:
    """Every normalised tag of the niches (no '#', NFKC, casefolded)."""
    return frozenset(t for niche in niches for t in (normalise_tag(tag) for tag in niche.tags) if t)


class StaticNiches:
    """Niches from a file (`--niches FILE`): fixed for the life of the process."""

    def __init__(self, niches: Iterable[NicheDefinition]) -> None:
        self._tags = tags_of(niches)

    def tags(self) -> frozenset[str]:
        return self._tags

    def close(self) -> None:
        pass


class NicheConfigFollower:
    def __init__(self, settings: Settings, catch_up_timeout_s: float = 30.0) -> None:
        """Connects here (a KafkaError means no broker); reading goes on in a thread."""
        self._topic = settings.topic_niches
        self._niches: dict[str, NicheDefinition] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._caught_up = threading.Event()
        self._consumer = KafkaConsumer(**kafka_python_config(settings), enable_auto_commit=False, group_id=None)
        self._partitions = [TopicPartition(self._topic, p) for p in self._consumer.partitions_for_topic(self._topic) or ()]
        if not self._partitions:
            log.warning("topic %s does not exist; no niches to collect until it does", self._topic)
        self._thread = threading.Thread(target=self._run, name="niches-follower", daemon=True)
        self._thread.start()
        if not self._caught_up.wait(catch_up_timeout_s):
            log.warning("%s not read to its end within %.0fs; starting with the niches seen so far",
                        self._topic, catch_up_timeout_s)

    def tags(self) -> frozenset[str]:
        with self._lock:
            return tags_of(self._niches.values())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        consumer, partitions = self._consumer, self._partitions
        try:
            if not partitions:
                self._caught_up.set()
                return
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            end = consumer.end_offsets(partitions)
            while not self._stop.is_set():
                for records in consumer.poll(timeout_ms=500).values():
                    with self._lock:
                        for record in records:
                            reason = fold(self._niches, record.key, record.value)
                            if reason:
                                log.warning("niches.config: %s", reason)
                if not self._caught_up.is_set() and all(consumer.position(tp) >= end[tp] for tp in partitions):
                    self._caught_up.set()
        except Exception:  # a follower that died must not leave the collector waiting forever
            log.exception("following %s failed; the niches stay as last read", self._topic)
            self._caught_up.set()
        finally:
            consumer.close()
