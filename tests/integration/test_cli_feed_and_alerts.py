"""`nichewatch feed simulate|replay` publish to Kafka; `nichewatch alerts tail` follows alerts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from tests.events_factory import post_bytes
from tests.kafka_helpers import Broker


def cli(kafka: Broker, unique: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NICHEWATCH_")}
    env["NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
    for name in ("posts", "snapshots", "niches", "alerts", "influencers", "dlq"):
        env[f"NICHEWATCH_TOPIC_{name.upper()}"] = f"{name}-{unique}"
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env, capture_output=True, text=True,
                          timeout=180)


def test_feed_replay_publishes_each_line_keyed_by_account_and_reports_bad_lines(
    kafka: Broker, unique: str, tmp_path: Path
) -> None:
    assert cli(kafka, unique, "topics", "create").returncode == 0
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"\n".join([
        post_bytes(post_id="a"), b"this is not json", post_bytes(post_id="b", account_id="tiktok:other"),
        orjson.dumps({"kind": "snapshot", "schema_version": 1, "platform": "instagram",
                      "account_id": "instagram:inkjournal", "handle": "inkjournal",
                      "observed_at": "2026-03-01T05:00:00Z", "followers": 12_100}),
    ]) + b"\n")
    result = cli(kafka, unique, "feed", "replay", str(export))
    assert result.returncode == 0, result.stderr
    assert f"{export}:2: skipped: not JSON" in result.stderr
    assert "3 events sent" in result.stderr
    posts = kafka.consume(f"posts-{unique}", count=2)
    assert sorted(r.key for r in posts) == [b"instagram:inkjournal", b"tiktok:other"]
    assert [r.key for r in kafka.consume(f"snapshots-{unique}", count=1)] == [b"instagram:inkjournal"]


def test_feed_simulate_as_fast_as_possible_publishes_posts_and_snapshots(kafka: Broker, unique: str) -> None:
    assert cli(kafka, unique, "topics", "create").returncode == 0
    result = cli(kafka, unique, "feed", "simulate", "--seed", "3", "--accounts", "20", "--days", "12")
    assert result.returncode == 0, result.stderr
    assert "(done)" in result.stderr
    assert sum(kafka.end_offsets(f"posts-{unique}").values()) > 20
    assert sum(kafka.end_offsets(f"snapshots-{unique}").values()) > 20


def test_alerts_tail_prints_alerts_readably_or_as_json(kafka: Broker, unique: str) -> None:
    assert cli(kafka, unique, "topics", "create").returncode == 0
    alert = {"alert_id": "a1", "account_id": "instagram:bought", "classification": "suspected_purchase",
             "detected_at": "2026-03-09T10:00:00+00:00", "niches": ["pens"], "followers_before": 20_000,
             "followers_after": 25_000, "evidence": [{"name": "excess_growth", "value": 4990.0,
                                                      "detail": "followers grew by 5,000 in 1 h"}]}
    kafka.produce(f"alerts-{unique}", [(b"instagram:bought", orjson.dumps(alert))])
    readable = cli(kafka, unique, "alerts", "tail", "--from-beginning", "--max", "1")
    assert readable.returncode == 0, readable.stderr
    line = readable.stdout.strip()
    assert "suspected_purchase" in line and "instagram:bought" in line and "20000 -> 25000" in line
    assert "followers grew by 5,000" in line
    as_json = cli(kafka, unique, "alerts", "tail", "--from-beginning", "--max", "1", "--json")
    assert orjson.loads(as_json.stdout) == alert
