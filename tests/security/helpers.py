"""Helpers of the security tests: settings from a worker's environment, secured clients, CLI runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from kafka.consumer.fetcher import ConsumerRecord

from streams.kafka_config import kafka_python_config
from streams.settings import ENV_PREFIX, Settings, load_settings
from tests.kafka_helpers import read_records, write_records


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """The Settings a process started with ``env`` builds (NICHEWATCH_* variables only)."""
    return load_settings(**{k[len(ENV_PREFIX):].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX)})


def produce(settings: Settings, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> None:
    write_records(kafka_python_config(settings), topic, records)


def consume(settings: Settings, topic: str, count: int, timeout: float = 60.0) -> list[ConsumerRecord]:
    """Read up to ``count`` records from the start of ``topic`` with the client settings of ``settings``."""
    return read_records(kafka_python_config(settings), topic, count, timeout)


NICHEWATCH = Path(sys.executable).parent / "nichewatch"
"""The console script users run (WorkerProcess runs ``python -m streams.cli``)."""


def run_cli(env: Mapping[str, str], *args: str, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``nichewatch *args`` with exactly ``env``."""
    return subprocess.run(
        [str(NICHEWATCH), *args],
        env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )
