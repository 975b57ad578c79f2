"""`nichewatch kafka start|status|stop` runs a real broker that kafka-python can use, and leaves no JVM."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from streams.kafka_local import free_port


def nichewatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, timeout=180)


def jvms_using(run_dir: Path) -> list[str]:
    found = subprocess.run(["pgrep", "-fa", "kafka.Kafka"], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if str(run_dir) in line]


def test_cli_broker_serves_kafka_python_and_stops_without_leaving_a_jvm(tmp_path: Path) -> None:
    run_dir = tmp_path / "broker"
    port = free_port()
    started = nichewatch("kafka", "start", "--port", str(port), "--run-dir", str(run_dir))
    try:
        assert started.returncode == 0, started.stderr
        assert f"127.0.0.1:{port}" in started.stdout
        assert nichewatch("kafka", "status", "--run-dir", str(run_dir)).returncode == 0

        bootstrap = f"127.0.0.1:{port}"
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        admin.create_topics([NewTopic("cli-check", 1, 1)])
        admin.close()
        producer = KafkaProducer(bootstrap_servers=bootstrap)
        producer.send("cli-check", b"hello").get(timeout=30)
        producer.close()
        consumer = KafkaConsumer("cli-check", bootstrap_servers=bootstrap, auto_offset_reset="earliest")
        received = next(iter(consumer))
        consumer.close()
        assert received.value == b"hello"
    finally:
        stopped = nichewatch("kafka", "stop", "--run-dir", str(run_dir))
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert jvms_using(run_dir) == []
    assert nichewatch("kafka", "status", "--run-dir", str(run_dir)).returncode == 3
