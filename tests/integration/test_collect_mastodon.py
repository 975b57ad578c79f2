"""Fake Mastodon server -> `nichewatch collect mastodon` -> real Kafka -> worker -> alert.

The collector follows niches.config (a niche added while it runs is collected), publishes
posts and snapshots keyed by account_id, and the worker flags the account after the fake
server's follower count jumps. The engine judges growth against the account's hourly
history, so hourly observations of an earlier post of the account are on posts.raw first,
as an earlier run of the collector would have left them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from schemas.events import NicheDefinition
from streams.kafka_local import die_with_parent, free_port
from streams.niche_config import write_niche
from streams.settings import load_settings
from tests.collect_fakes import FakeMastodon, ServerThread, ago
from tests.kafka_helpers import Broker, WorkerProcess, metric_value, wait_until

TOPICS = ("posts", "snapshots", "niches", "alerts", "influencers", "dlq")


def history(account_id: str, handle: str, followers: int, hours: int) -> list[tuple[bytes, bytes]]:
    """An older post of the account observed hourly (followers included), as an earlier run left it."""
    now = datetime.now(UTC)
    return [
        (account_id.encode(), orjson.dumps({
            "kind": "post", "schema_version": 1, "post_id": f"{account_id}/earlier", "platform": "mastodon",
            "account_id": account_id, "handle": handle, "posted_at": (now - timedelta(hours=hours + 1)).isoformat(),
            "observed_at": (now - timedelta(hours=h)).isoformat(), "followers": followers, "likes": 4,
            "comments": 1, "shares": 0, "tags": ["#FountainPens"],
        }))
        for h in range(hours, 0, -1)
    ]


def scraped(port: int, name: str, **labels: str) -> float:
    """A collector's metric, 0 until its /metrics endpoint is up."""
    try:
        return metric_value(port, name, **labels)
    except OSError:
        return 0.0


def test_collector_feeds_a_worker_that_alerts_when_the_servers_follower_count_jumps(
    kafka: Broker, unique: str, tmp_path: Path
) -> None:
    topics = {name: f"{name}-{unique}" for name in TOPICS}
    worker = WorkerProcess(kafka, app_id=f"nw-collect-{unique}", workdir=tmp_path / "worker", topics=topics)
    fake = FakeMastodon()
    collector: subprocess.Popen[bytes] | None = None
    with ServerThread(fake.app) as server:
        fake.base_url = server.url
        host = server.url.removeprefix("http://")
        account_id, handle = f"mastodon:inkjournal@{host}", f"inkjournal@{host}"
        author = server.call(fake.add_account, "inkjournal", 20_000)
        baker = server.call(fake.add_account, "crumbshots", 4_000)
        server.call(lambda: fake.add_status(author, ["FountainPens"], created_at=ago(minutes=20), favourites=3,
                                            replies=1))
        server.call(lambda: fake.add_status(baker, ["sourdough"], created_at=ago(minutes=10)))
        try:
            worker.create_topics()
            settings = load_settings(kafka_bootstrap_servers=kafka.bootstrap_servers,
                                     **{f"topic_{name}": topic for name, topic in topics.items()})
            write_niche(settings, NicheDefinition(name="pens", tags=["#FountainPens"]), "pens")
            kafka.produce(topics["posts"], history(account_id, handle, 20_000, hours=5))
            worker.start()
            worker.wait_ready(timeout=120)

            metrics_port = free_port()
            env = {**worker.env(), "NICHEWATCH_COLLECTOR_STATE_DIR": str(tmp_path / "state"),
                   "NICHEWATCH_COLLECTOR_METRICS_PORT": str(metrics_port),
                   "NICHEWATCH_COLLECTOR_POLL_INTERVAL_S": "1", "NICHEWATCH_COLLECTOR_PROFILE_INTERVAL_S": "2"}
            log = (tmp_path / "collector.log").open("wb")
            collector = subprocess.Popen([sys.executable, "-m", "streams.cli", "collect", "mastodon",
                                          "--instance", server.url], env=env, stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=die_with_parent)

            wait_until(lambda: scraped(metrics_port, "nichewatch_collector_events_published_total",
                                       kind="snapshot") >= 1,
                       timeout=60, what="the collector's first snapshot")
            posts = kafka.consume(topics["posts"], count=6, timeout=30)[5:]  # after the 5 earlier ones
            assert [r.key for r in posts] == [account_id.encode()]
            assert orjson.loads(posts[0].value)["tags"] == ["#FountainPens"]

            # A niche added while the collector runs is collected without a restart.
            write_niche(settings, NicheDefinition(name="bread", tags=["#sourdough"]), "bread")
            wait_until(lambda: any(r.key == f"mastodon:crumbshots@{host}".encode()
                                   for r in kafka.consume(topics["posts"], count=7, timeout=2)),
                       timeout=60, what=f"the sourdough post on {topics['posts']}")

            server.call(fake.set_followers, author, 26_000)
            alerts = wait_until(lambda: [r for r in kafka.consume(topics["alerts"], count=1, timeout=2)
                                         if r.key == account_id.encode()],
                                timeout=90, what=f"an alert for {account_id}")
            alert = orjson.loads(alerts[0].value)
            assert alert["classification"] == "suspected_purchase"
            assert (alert["followers_before"], alert["followers_after"]) == (20_000, 26_000)
            assert alert["niches"] == ["pens"]

            collector.send_signal(signal.SIGTERM)
            assert collector.wait(30) == 0
            saved = orjson.loads((tmp_path / "state" / "mastodon.json").read_bytes())
            assert f"{server.url}|fountainpens" in saved["source"]["cursors"]
        except BaseException:
            print("--- collector log ---\n" + (tmp_path / "collector.log").read_text(errors="replace")[-6000:])
            print("--- worker log ---\n" + worker.log_tail(60))
            raise
        finally:
            if collector is not None and collector.poll() is None:
                collector.kill()
                collector.wait()
            worker.stop()
    assert os.path.exists(tmp_path / "collector.log")
