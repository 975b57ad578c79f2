"""Put input events on Kafka the way collectors should: keyed by account_id, posts on
posts.raw and snapshots on accounts.snapshots."""

from __future__ import annotations

from typing import Any

import orjson
from kafka import KafkaProducer

from streams.kafka_config import kafka_python_config
from streams.settings import Settings


class UnroutableEvent(ValueError):
    """A line without a known ``kind`` or an ``account_id``: it cannot be routed or keyed."""


class EventPublisher:
    def __init__(self, settings: Settings) -> None:
        self._topics = {"post": settings.topic_posts, "snapshot": settings.topic_snapshots}
        self._producer = KafkaProducer(
            **kafka_python_config(settings), linger_ms=20, batch_size=256 * 1024, acks=1
        )
        self.sent = 0

    def publish(self, event: dict[str, Any]) -> None:
        self._send(event, orjson.dumps(event))

    def publish_raw(self, line: bytes) -> None:
        """Send one JSONL line as it is (after checking it can be routed)."""
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise UnroutableEvent(f"not JSON: {exc}") from None
        if not isinstance(event, dict):
            raise UnroutableEvent("not a JSON object")
        self._send(event, line)

    def _send(self, event: dict[str, Any], value: bytes) -> None:
        topic = self._topics.get(event.get("kind"))  # type: ignore[arg-type]
        account_id = event.get("account_id")
        if topic is None:
            raise UnroutableEvent(f"unknown kind {event.get('kind')!r}")
        if not isinstance(account_id, str) or not account_id:
            raise UnroutableEvent("no account_id to key by")
        self._producer.send(topic, key=account_id.encode(), value=value)
        self.sent += 1

    def flush(self, timeout: float = 60) -> None:
        """Block until every event sent so far is acknowledged."""
        self._producer.flush(timeout)

    def close(self) -> None:
        self._producer.flush(60)
        self._producer.close()
