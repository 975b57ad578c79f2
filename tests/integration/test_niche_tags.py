"""Niche tag reports on a real broker: the worker publishes them, every reader sees the same one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import orjson
import pytest

from schemas.events import NicheDefinition
from streams.feeds.catalogue import GENERIC_TRACKED_TAG
from streams.feeds.simulator import Scenario
from streams.niche_config import write_niche
from streams.niche_tags import read_tag_report
from streams.settings import load_settings
from tests.kafka_helpers import Broker, WorkerProcess, http_get, metric_value, wait_until

TOPICS = ("posts", "snapshots", "niches", "alerts", "influencers", "dlq", "niche_tags")
(GENERIC_NICHE, GENERIC_TAG), = GENERIC_TRACKED_TAG.items()


@pytest.fixture(scope="module")
def worker(kafka: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    unique = tmp_path_factory.mktemp("tags").name.replace("_", "-")
    process = WorkerProcess(kafka, app_id=f"nw-{unique}", workdir=tmp_path_factory.mktemp("worker"),
                            topics={name: f"{name}-{unique}" for name in TOPICS},
                            extra_env={"NICHEWATCH_TAG_REPORT_INTERVAL_S": "1"})
    process.create_topics()
    scenario = Scenario(3, accounts=80, days=12)
    settings = settings_for(process)
    for name, tags in scenario.niches.items():
        write_niche(settings, NicheDefinition(name=name, tags=tags), name)
    process.start()
    try:
        process.wait_ready()
        by_kind: dict[str, list[tuple[bytes, bytes]]] = {"post": [], "snapshot": []}
        for event in scenario.events():
            by_kind[event["kind"]].append((event["account_id"].encode(), orjson.dumps(event)))
        kafka.produce(process.topics["posts"], by_kind["post"])
        kafka.produce(process.topics["snapshots"], by_kind["snapshot"])
        yield process
    except BaseException:
        print(process.log_tail())
        raise
    finally:
        process.stop()


def settings_for(process: WorkerProcess):  # noqa: ANN201
    env = process.env()
    return load_settings(
        kafka_bootstrap_servers=process.broker.bootstrap_servers,
        **{f"topic_{name}": env[f"NICHEWATCH_TOPIC_{name.upper()}"] for name in TOPICS},
    )


def test_the_published_report_flags_the_generic_tracked_tag_for_the_cli_and_the_http_api(worker: WorkerProcess) -> None:
    settings = settings_for(worker)
    tag = GENERIC_TAG.lstrip("#").lower()

    def flagged() -> bool:
        report = read_tag_report(settings, GENERIC_NICHE, timeout=10)
        return report is not None and any(row.tag == tag and row.generic for row in report.tags)

    wait_until(flagged, timeout=120, interval=2.0, what=f"a report flagging #{tag} on {settings.topic_niche_tags}")
    cli = subprocess.run([sys.executable, "-m", "streams.cli", "niches", "report", GENERIC_NICHE],
                         env=worker.env(), capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    line = next(line for line in cli.stdout.splitlines() if line.strip().startswith(f"#{tag} "))
    assert line.rstrip().endswith("GENERIC") and "spread:" in cli.stdout
    specific = [ln for ln in cli.stdout.splitlines()
                if ln.strip().startswith("#") and " yes " in ln and not ln.strip().startswith(f"#{tag} ")]
    assert specific and not any(ln.rstrip().endswith("GENERIC") for ln in specific)

    status, body = wait_until(lambda: (r := http_get(worker.web_port, f"/niches/{GENERIC_NICHE}/tags"))[0] == 200 and r,
                              timeout=30, what="GET /niches/{niche}/tags")
    assert {row["tag"] for row in body["tags"] if row["tracked"] and row["generic"]} == {tag}
    assert body["generic_only_share"] > 0
    assert http_get(worker.web_port, "/niches/no-such-niche/tags")[0] == 404
    assert metric_value(worker.metrics_port, "nichewatch_niche_generic_only_posts_ratio", niche=GENERIC_NICHE) > 0
    assert metric_value(worker.metrics_port, "nichewatch_niche_generic_only_posts_ratio", niche="fountainpens") == 0
