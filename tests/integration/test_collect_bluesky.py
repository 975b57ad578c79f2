"""Fake Jetstream + AppView -> `nichewatch collect bluesky` -> real Kafka: posts and snapshots
keyed by ``bluesky:<did>``, niches followed from niches.config, and a restart that resumes
from the saved cursor without publishing the post again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from schemas.events import NicheDefinition
from streams.niche_config import write_niche
from streams.settings import load_settings
from tests.collect_fakes import FakeBluesky, ServerThread
from tests.kafka_helpers import Broker, WorkerProcess, consume_all

DID = "did:plc:l7mosai5i2u562b5qbosw6c7"


def test_bluesky_collector_publishes_keyed_by_did_and_resumes_without_duplicates(
    kafka: Broker, unique: str, tmp_path: Path
) -> None:
    topics = {name: f"{name}-bsky-{unique}" for name in ("posts", "snapshots", "niches", "alerts", "influencers", "dlq")}
    worker = WorkerProcess(kafka, app_id=f"nw-bsky-{unique}", workdir=tmp_path, topics=topics)  # for its env only
    worker.create_topics()
    settings = load_settings(kafka_bootstrap_servers=kafka.bootstrap_servers,
                             **{f"topic_{name}": topic for name, topic in topics.items()})
    write_niche(settings, NicheDefinition(name="ios", tags=["#SwiftUI"]), "ios")
    fake = FakeBluesky()
    with ServerThread(fake.app) as server:
        env = {**worker.env(), "NICHEWATCH_COLLECTOR_STATE_DIR": str(tmp_path / "state"),
               "NICHEWATCH_COLLECTOR_METRICS_PORT": "0"}
        argv = [sys.executable, "-m", "streams.cli", "collect", "bluesky", "--once", "--listen-seconds", "8",
                "--jetstream", server.url.replace("http", "ws") + "/subscribe", "--appview", server.url]
        first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "1 found, 1 new" in first.stdout
        again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "0 found, 0 new" in again.stdout
    assert fake.connections[0]["cursor"] is None
    assert fake.connections[1]["cursor"] == orjson.loads(fake.lines[-1])["time_us"]
    posts = consume_all(kafka, topics["posts"])
    assert [r.key for r in posts] == [f"bluesky:{DID}".encode()]
    assert orjson.loads(posts[0].value)["handle"] == "kamhoyung.bsky.social"
    snapshots = consume_all(kafka, topics["snapshots"])
    assert {r.key for r in snapshots} == {f"bluesky:{DID}".encode()}
