"""Helpers of the security tests: settings from a worker's environment, secured clients, CLI runs."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord

from streams.kafka_config import kafka_python_config
from streams.settings import ENV_PREFIX, Settings, load_settings


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """The Settings a process started with ``env`` builds (NICHEWATCH_* variables only)."""
    return load_settings(**{k[len(ENV_PREFIX):].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX)})


def produce(settings: Settings, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> None:
    producer = KafkaProducer(**kafka_python_config(settings), acks="all", linger_ms=5)
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value)
        producer.flush(30)
    finally:
        producer.close()


def consume(settings: Settings, topic: str, count: int, timeout: float = 60.0) -> list[ConsumerRecord]:
    """Read up to ``count`` records from the start of ``topic`` with the client settings of ``settings``."""
    consumer = KafkaConsumer(
        topic, **kafka_python_config(settings),
        auto_offset_reset="earliest", enable_auto_commit=False, group_id=None,
    )
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records


NICHEWATCH = Path(sys.executable).parent / "nichewatch"
"""The console script users run (WorkerProcess runs ``python -m streams.cli``)."""


def run_cli(env: Mapping[str, str], *args: str, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``nichewatch *args`` with exactly ``env``."""
    return subprocess.run(
        [str(NICHEWATCH), *args],
        env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )
