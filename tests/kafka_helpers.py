"""Small kafka-python helpers and a worker subprocess for integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError

from streams.kafka_local import LocalKafka, die_with_parent, free_port


def write_records(client: Mapping[str, Any], topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Produce ``records`` with kafka-python client settings ``client``; returns how many."""
    producer = KafkaProducer(**client, acks="all", linger_ms=5)
    count = 0
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value)
            count += 1
        producer.flush(30)
    finally:
        producer.close()
    return count


def read_records(client: Mapping[str, Any], topic: str, count: int, timeout: float) -> list[ConsumerRecord]:
    """Read ``count`` records from the start of ``topic`` (fewer if ``timeout`` passes)."""
    consumer = KafkaConsumer(topic, **client, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records


@dataclass
class Broker:
    bootstrap_servers: str
    local: LocalKafka | None

    def admin(self) -> KafkaAdminClient:
        return KafkaAdminClient(bootstrap_servers=self.bootstrap_servers)

    def create_topics(self, names: Iterable[str], partitions: int = 1) -> None:
        admin = self.admin()
        try:
            admin.create_topics([NewTopic(name, partitions, 1) for name in names])
        finally:
            admin.close()

    def produce(self, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
        return write_records({"bootstrap_servers": self.bootstrap_servers}, topic, records)

    def consume(self, topic: str, count: int, timeout: float = 30.0) -> list[ConsumerRecord]:
        """Read ``count`` records from the start of ``topic`` (fewer if ``timeout`` passes)."""
        return read_records({"bootstrap_servers": self.bootstrap_servers}, topic, count, timeout)

    def committed(self, group: str, topic: str, attempts: int = 20) -> dict[int, int]:
        for attempt in range(attempts):
            admin = self.admin()
            try:
                offsets = admin.list_group_offsets(group).get(group, {})
                break
            except KafkaError as exc:  # e.g. the group coordinator still loading after a broker restart
                if not exc.retriable or attempt == attempts - 1:
                    raise
            finally:
                admin.close()
            time.sleep(0.5)
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}

    def end_offsets(self, topic: str) -> dict[int, int]:
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap_servers)
        try:
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
        finally:
            consumer.close()


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.5, what: str = "condition"):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


OWN_TOPICS = ("niche_tags", "cohort_contributions", "cohorts", "tag_observations")


@dataclass
class WorkerProcess:
    """`nichewatch worker` in a subprocess, configured only through NICHEWATCH_* variables."""

    broker: Broker
    app_id: str
    workdir: Path
    topics: Mapping[str, str] = field(default_factory=dict)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    web_port: int = 0
    metrics_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"worker-{self.web_port}.log"

    def env(self) -> dict[str, str]:
        self.web_port = self.web_port or free_port()
        self.metrics_port = self.metrics_port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("NICHEWATCH_")}
        env.update(
            NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS=self.broker.bootstrap_servers,
            NICHEWATCH_APP_ID=self.app_id,
            NICHEWATCH_DATA_DIR=str(self.workdir / f"data-{self.web_port}"),
            NICHEWATCH_WEB_PORT=str(self.web_port),
            NICHEWATCH_METRICS_PORT=str(self.metrics_port),
            NICHEWATCH_TOPIC_PARTITIONS="4",
            # The workers' own topics, one set per group (tests share a broker), unless named.
            **{f"NICHEWATCH_TOPIC_{k.upper()}": v for k, v in {
                **{k: f"{self.app_id}.{k}" for k in OWN_TOPICS}, **self.topics}.items()},
            **self.extra_env,
        )
        return env

    def create_topics(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "streams.cli", "topics", "create"],
            env=self.env(), capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, f"topics create failed: {result.stderr}"

    def start(self) -> WorkerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.create_topics()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"],
                env=self.env(),
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log_tail()}")
            return "Ready" in self.log_path.read_text(errors="replace")

        try:
            wait_until(ready, timeout, what="worker ready")
        except AssertionError:
            raise AssertionError(f"worker not ready:\n{self.log_tail()}") from None

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 80) -> str:
        if not self.log_path.exists():
            return "(no worker log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, dict]:
    """GET a worker's HTTP API; returns (status, JSON body)."""
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def metric_value(port: int, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` on a worker's /metrics whose labels include ``labels``."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def consume_all(broker: Broker, topic: str, timeout: float = 60.0) -> list[ConsumerRecord]:
    """Every record of ``topic`` up to its end offsets as of this call."""
    expected = sum(broker.end_offsets(topic).values())
    records = broker.consume(topic, expected, timeout=timeout) if expected else []
    assert len(records) >= expected, f"read {len(records)} of {expected} records of {topic}"
    return records


def fully_committed(broker: Broker, group: str, topics: Iterable[str]) -> bool:
    """The group's committed offset equals the end offset on every partition that holds data."""
    for topic in topics:
        committed = broker.committed(group, topic)
        for partition, end in broker.end_offsets(topic).items():
            if end > 0 and committed.get(partition) != end:
                return False
    return True


def restart(worker: WorkerProcess, timeout: float = 90.0) -> None:
    """Start a stopped or killed worker again (same app id, ports and data directory) and wait
    for *this* run's "Ready" (the log is appended to, so an earlier run's does not count)."""
    assert worker.process is None or worker.process.poll() is not None, "the worker is still running"
    offset = worker.log_path.stat().st_size if worker.log_path.exists() else 0
    worker.start()

    def ready() -> bool:
        if worker.process is not None and worker.process.poll() is not None:
            raise AssertionError(f"worker exited with {worker.process.returncode}:\n{worker.log_tail()}")
        with worker.log_path.open("rb") as log:
            log.seek(offset)
            return b"Ready" in log.read()

    try:
        wait_until(ready, timeout, what="the restarted worker ready")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker.log_tail()}") from None
