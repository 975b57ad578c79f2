"""Where a collector's events go: Kafka (posts.raw / accounts.snapshots, keyed by account_id)
or a JSON-lines file that `nichewatch replay` and `nichewatch feed replay` read."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Protocol

from schemas.codec import encode
from schemas.events import AccountSnapshot, Post
from streams.feeds.publisher import EventPublisher
from streams.metrics import CollectorMetrics, CollectorPlatform
from streams.settings import Settings

Event = Post | AccountSnapshot


class Sink(Protocol):
    def publish(self, event: Event) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class KafkaSink:
    """Publishes through the same producer helper as `nichewatch feed` (routing and keying)."""

    def __init__(self, settings: Settings, metrics: CollectorMetrics, platform: CollectorPlatform) -> None:
        self._publisher = EventPublisher(settings)
        self._metrics = metrics
        self._platform: CollectorPlatform = platform

    def publish(self, event: Event) -> None:
        self._publisher.publish_raw(encode(event))
        self._metrics.published(self._platform, event.kind)

    def flush(self) -> None:
        self._publisher.flush()

    def close(self) -> None:
        self._publisher.close()


class JsonlSink:
    """One event a line, appended (a restarted collector continues the same file)."""

    def __init__(self, path: Path, metrics: CollectorMetrics, platform: CollectorPlatform) -> None:
        self._out: IO[bytes] = open(path, "ab")  # noqa: SIM115 - closed by close()
        self._metrics = metrics
        self._platform: CollectorPlatform = platform

    def publish(self, event: Event) -> None:
        self._out.write(encode(event) + b"\n")
        self._metrics.published(self._platform, event.kind)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self._out.close()
