"""Hostile records on every topic a worker reads, on a real broker and a running worker.

posts.raw and accounts.snapshots dead-letter what they cannot use (tests/faults/test_poison.py
covers the reasons). The topics every worker follows in full (niches.config, influencers,
alerts) and the state changelog have no DLQ: a bad record there is logged with its
partition and offset, counted in nichewatch_records_skipped_total and skipped. The worker
must come up, stay up, and come up again after a SIGKILL with the poison still on the
compacted niches.config topic.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from schemas.events import NicheDefinition
from streams.niche_config import write_niche
from tests.events_factory import BASE_TIME, post_bytes
from tests.integration.test_pipeline import TOPICS, settings_for
from tests.kafka_helpers import (
    Broker, WorkerProcess, fully_committed, http_get, metric_value, restart, wait_until,
)

GOOD_NICHE = orjson.dumps({"name": "pens", "tags": ["#FountainPens"]})
# (key, value, skip reason) for niches.config: every one must be skipped, none applied.
NICHE_POISON: list[tuple[bytes | None, bytes | None, str]] = [
    (b"\xff\xfe", None, "invalid_key"),  # the tombstone that crash-looped every worker
    (b"\xff\xfe", GOOD_NICHE, "invalid_key"),
    (b"broken", b"{not json", "not_json"),
    (b"bom", b"\xef\xbb\xbf" + orjson.dumps({"name": "bom", "tags": ["#x"]}), "not_json"),
    (b"nan", b'{"name":"nan","tags":["#x"],"weight":NaN}', "not_json"),
    (b"latin1", b'{"name":"latin1","tags":["#caf\xe9"]}', "invalid_utf8"),
    (b"deep", b'{"name":"deep","tags":["#x"],"x":' + b"[" * 100 + b"]" * 100 + b"}", "too_deep"),
    (b"array", b"[1,2]", "schema"),
    (b"lax", orjson.dumps({"name": "lax", "tags": "#x"}), "schema"),
    (b"number-tag", orjson.dumps({"name": "number-tag", "tags": [12]}), "schema"),
    (b"no-tags", orjson.dumps({"name": "no-tags", "tags": []}), "schema"),
    (b"mismatch", orjson.dumps({"name": "other", "tags": ["#x"]}), "schema"),
]
# Compacted topics (niches.config, influencers) refuse records without a key at the broker.
FOLLOWED_POISON: list[tuple[bytes | None, bytes | None, str]] = [
    (b"instagram:x", b"\xff", "not_json"),
    (b"instagram:x", b'{"score": NaN}', "not_json"),
    (b"instagram:x", b"[]", "schema"),
    (b"instagram:x", orjson.dumps({"score": "high", "niches": "pens"}), "schema"),
]
ACCOUNT = "instagram:hostile"


def _produce(broker: Broker, topic: str, records: list[tuple[bytes | None, bytes | None, list]]) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    try:
        for key, value, headers in records:
            producer.send(topic, key=key, value=value, headers=headers)
        producer.flush(30)
    finally:
        producer.close()


def _random_records(seed: int, n: int, keyed: bool) -> list[tuple[bytes | None, bytes | None, list]]:
    """Keys, values and headers of every shape: null, empty, random bytes, JSON-ish."""
    rng = random.Random(seed)

    def blob() -> bytes | None:
        choice = rng.randrange(5)
        if choice == 0:
            return None
        if choice == 1:
            return b""
        if choice == 2:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        if choice == 3:
            return orjson.dumps({"name": "fuzz", "tags": [rng.random()], "score": rng.randrange(-5, 5)})
        return b'{"kind":"post","schema_version":' + rng.choice([b'"1"', b"true", b"1.5", b"NaN"]) + b"}"

    headers = [[], [("h", b"\xff")], [("", b"")], [("x" * 300, b"y" * 3000)]]
    records = []
    for _ in range(n):
        key, value = blob(), blob()
        if keyed and key is None:
            key = b"k"
        records.append((key, value if key is not None or value is not None else b"", rng.choice(headers)))
    return records


@pytest.fixture
def worker(kafka: Broker, unique: str, tmp_path: Path) -> Iterator[WorkerProcess]:
    process = WorkerProcess(kafka, app_id=f"nw-hostile-{unique}", workdir=tmp_path,
                            topics={name: f"{name}-hostile-{unique}" for name in TOPICS})
    process.workdir.mkdir(parents=True, exist_ok=True)
    process.create_topics()
    try:
        yield process
    finally:
        process.stop()


def _skipped(worker: WorkerProcess, topic: str) -> float:
    return metric_value(worker.metrics_port, "nichewatch_records_skipped_total", topic=topic)


def _post(post_id: str, hours: int, tags: list[str] | None = None) -> bytes:
    return post_bytes(account_id=ACCOUNT, handle="hostile", post_id=post_id, likes=100 + hours,
                      observed_at=BASE_TIME + timedelta(hours=hours), tags=tags or ["#FountainPens"])


def _posts_applied(worker: WorkerProcess, n: int) -> bool:
    status, body = http_get(worker.web_port, f"/accounts/{ACCOUNT}")
    return status == 200 and len(body["posts"]) == n


def test_poison_on_niches_config_is_skipped_and_survives_a_kill_and_restart(worker: WorkerProcess) -> None:
    broker, topics = worker.broker, worker.topics
    niches_topic = topics["niches"]
    _produce(broker, niches_topic, [(key, value, []) for key, value, _ in NICHE_POISON])
    write_niche(settings_for(worker), NicheDefinition(name="pens", tags=["#FountainPens"]), "pens")
    _produce(broker, niches_topic, [(key, value, []) for key, value, _ in NICHE_POISON[:2]])  # after the good one too
    expected = len(NICHE_POISON) + 2

    worker.start().wait_ready()
    broker.produce(topics["posts"], [(ACCOUNT.encode(), _post("p1", 1))])
    wait_until(lambda: _posts_applied(worker, 1), timeout=90, what="a post of the niche applied behind the poison")
    assert wait_until(lambda: _skipped(worker, niches_topic) == expected, timeout=30, what="every poison record counted")
    for reason in {r for _, _, r in NICHE_POISON}:
        wanted = sum(1 for _, _, r in NICHE_POISON if r == reason) + (2 if reason == "invalid_key" else 0)
        assert metric_value(worker.metrics_port, "nichewatch_records_skipped_total", topic=niches_topic,
                            reason=reason) == wanted, reason
    status, body = http_get(worker.web_port, f"/accounts/{ACCOUNT}")
    assert body["posts"][0]["niches"] == ["pens"]  # the poison did not replace or remove the niche

    worker.kill()  # SIGKILL: no clean shutdown, the poison is still on the compacted topic
    restart(worker)
    broker.produce(topics["posts"], [(ACCOUNT.encode(), _post("p2", 2))])
    wait_until(lambda: _posts_applied(worker, 2), timeout=90, what="the restarted worker applying posts")
    assert _skipped(worker, niches_topic) == expected  # re-read from the start, skipped again
    log = worker.log_path.read_text(errors="replace")
    assert "Traceback" not in log, worker.log_tail()
    assert f"bad record {niches_topic}[0]@0 skipped: key b'\\xff\\xfe' is not valid UTF-8" in log


def test_hostile_records_on_followed_topics_and_the_changelog_never_stop_the_worker(worker: WorkerProcess) -> None:
    broker, topics = worker.broker, worker.topics
    write_niche(settings_for(worker), NicheDefinition(name="pens", tags=["#FountainPens"]), "pens")
    worker.start().wait_ready()
    broker.produce(topics["posts"], [(ACCOUNT.encode(), _post("p1", 1))])
    wait_until(lambda: _posts_applied(worker, 1), timeout=90, what="the first post applied")

    for name in ("influencers", "alerts"):
        _produce(broker, topics[name], [(key, value, [("h", b"\xff")]) for key, value, _ in FOLLOWED_POISON])
    _produce(broker, topics["alerts"], [(None, b"{}", [])])  # alerts is not compacted: keys may be missing
    compacted = ("niches", "influencers")
    randoms = {name: _random_records(seed, 60, keyed=name in compacted)
               for seed, name in enumerate(("niches", "influencers", "alerts", "posts", "snapshots"))}
    for name, records in randoms.items():
        _produce(broker, topics[name], records)
    broker.produce(topics["posts"], [(ACCOUNT.encode(), _post("p2", 2))])
    wait_until(lambda: _posts_applied(worker, 2), timeout=90, what="posts applied behind the hostile records")
    for name in ("influencers", "alerts"):
        assert wait_until(lambda: _skipped(worker, topics[name]) >= len(FOLLOWED_POISON), timeout=30,
                          what=f"poison on {name} counted")
    wait_until(lambda: fully_committed(broker, worker.app_id, [topics["posts"], topics["snapshots"]]),
               timeout=60, what="input offsets committed past the random records")

    # Garbage on the state changelog, met by the recovery of the next start.
    worker.kill()
    changelog = f"{worker.app_id}-accounts-changelog"
    poisoned = {ACCOUNT: b"\xff not json", "instagram:other": b"[1]", "instagram:third": orjson.dumps({"v": 1, "a": 5})}
    _produce(broker, changelog, [(account.encode(), value, []) for account, value in poisoned.items()])
    restart(worker)
    broker.produce(topics["posts"], [(account.encode(), _post_of(account, "p3", 3)) for account in poisoned])

    def all_applied() -> bool:
        for account in poisoned:
            status, body = http_get(worker.web_port, f"/accounts/{account}")
            if status != 200 or not any(p["interactions"] == 100 + 3 + 40 + 12 for p in body["posts"]):
                return False
        return True

    wait_until(all_applied, timeout=90, what="accounts processed after their changelog entries were garbage")
    assert _skipped(worker, changelog) >= 2  # the two entries that reached the table as JSON
    assert worker.process is not None and worker.process.poll() is None, worker.log_tail()
    assert "Traceback" not in worker.log_path.read_text(errors="replace"), worker.log_tail()


def _post_of(account: str, post_id: str, hours: int) -> bytes:
    return post_bytes(account_id=account, handle=account.split(":")[1], post_id=post_id, likes=100 + hours,
                      observed_at=BASE_TIME + timedelta(hours=hours), tags=["#FountainPens"])


def _raw_http(port: int, request_line: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_line + b"\r\nHost: 127.0.0.1\r\n\r\n")
        return sock.recv(200)


def test_malformed_http_requests_are_answered_400_and_logged_as_one_warning_line(worker: WorkerProcess) -> None:
    worker.start().wait_ready()
    for request_line in (b"GET /" + b"a" * 70_000 + b" HTTP/1.1", b"GET /accounts/\xff\xfe HTTP/1.1"):
        status_line = _raw_http(worker.web_port, request_line).split(b"\r\n")[0]
        assert status_line.split()[1:2] == [b"400"], (request_line[:40], status_line)
    status, _ = http_get(worker.web_port, "/alerts/recent")
    assert status == 200
    log = wait_until(lambda: (text := worker.log_path.read_text(errors="replace")).count("answered 400") >= 2 and text,
                     timeout=10, what="two warning lines")
    assert "Traceback" not in log and "[ERROR] Error handling request" not in log, worker.log_tail()
    assert "[WARNING] Error handling request from 127.0.0.1: answered 400: Invalid char in url path" in log
