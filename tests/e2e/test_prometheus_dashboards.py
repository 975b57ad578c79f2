"""Proof against a real Prometheus: every dashboard and rule query on a real worker's metrics.

Real Kafka (the session ``kafka`` fixture), a real ``nichewatch worker`` subprocess, and
Debian's ``prometheus`` started here on a free port with a scratch copy of the shipped
prometheus.local.yml and rules.yml, discovering the worker through targets/worker.json.
A scenario of several niches goes through the worker: bought followers (suspected
purchases), a viral post, engaged accounts (influencer profiles), posts of no niche,
posts keyed by the wrong key, and malformed messages (dead letters). Then every PromQL
expression of every Grafana panel and every recording and alert rule is sent to
Prometheus' /api/v1/query, and every template variable to /api/v1/label/.../values.

A collector (`nichewatch collect mastodon` against a local fake Mastodon server) publishes
into the same topics and is scraped as the nichewatch-collector job, so the collector panels
are checked the same way.

Without prometheus/promtool the module is skipped, unless NICHEWATCH_REQUIRE_PROMTOOL is
set (CI), where it fails.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from schemas.events import NicheDefinition
from streams.core.synthetic import AccountSpec, merged_events
from streams.kafka_local import die_with_parent, free_port
from streams.niche_config import write_niche
from streams.settings import Settings, load_settings
from tests.dashboard_queries import (
    PromQLQuery,
    all_promql_expressions,
    template_variable_queries,
)
from tests.events_factory import post_bytes
from tests.collect_fakes import FakeMastodon, ServerThread, ago
from tests.kafka_helpers import Broker, WorkerProcess, metric_value, wait_until
from tests.prometheus_helpers import PrometheusProcess, parse_duration, require_prometheus

TOPICS = ("posts", "snapshots", "niches", "alerts", "influencers", "dlq", "niche_tags")
JOB = "nichewatch-worker"

NICHES = (
    NicheDefinition(name="pens", tags=["#FountainPens"]),
    NicheDefinition(name="bread", tags=["#sourdough"]),
    NicheDefinition(name="lifting", tags=["#powerlifting"]),
)
ACCOUNTS = (
    AccountSpec("instagram:bought-pens", followers=20_000, scenario="purchase_step", amount=5_000),
    AccountSpec("instagram:ink-hobbyist", followers=12_000, engagement_rate=0.06),
    AccountSpec("instagram:nib-grinder", followers=3_000, engagement_rate=0.05),
    AccountSpec("tiktok:crumb-shots", followers=40_000, scenario="viral", amount=20_000, tags=["#sourdough"]),
    AccountSpec("tiktok:bought-bread", followers=30_000, scenario="purchase_step", amount=8_000, tags=["#sourdough"]),
    AccountSpec("youtube:deadlift-dan", followers=150_000, engagement_rate=0.03, tags=["#powerlifting"]),
)
UNTRACKED_POSTS = 6
MALFORMED = (
    b"\xff\xfe not utf-8",
    b"{ not json",
    orjson.dumps({"kind": "reel", "account_id": "instagram:reel-maker"}),
    orjson.dumps({"kind": "post", "schema_version": 1, "account_id": "instagram:half-a-post"}),
)

# Panels that a healthy run cannot fill, with the reason. Each is still run and must
# succeed; it is only allowed to come back empty.
MAY_BE_EMPTY: dict[str, str] = {}


@dataclass
class Stack:
    worker: WorkerProcess
    prometheus: PrometheusProcess


def start_collector(worker: WorkerProcess, mastodon_url: str, workdir: Path, metrics_port: int) -> subprocess.Popen[bytes]:
    env = {**worker.env(), "NICHEWATCH_COLLECTOR_STATE_DIR": str(workdir / "state"),
           "NICHEWATCH_COLLECTOR_METRICS_PORT": str(metrics_port), "NICHEWATCH_COLLECTOR_POLL_INTERVAL_S": "1"}
    with (workdir / "collector.log").open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "streams.cli", "collect", "mastodon", "--instance", mastodon_url],
                                env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)


def fake_mastodon() -> FakeMastodon:
    fake = FakeMastodon()
    author = fake.add_account("inkjournal", followers=12_000)
    fake.add_status(author, ["FountainPens"], created_at=ago(minutes=15), favourites=9, replies=2)
    return fake


def settings_for(worker: WorkerProcess) -> Settings:
    env = worker.env()
    return load_settings(
        kafka_bootstrap_servers=worker.broker.bootstrap_servers,
        **{f"topic_{name}": env[f"NICHEWATCH_TOPIC_{name.upper()}"] for name in TOPICS},
    )


def publish(worker: WorkerProcess, events: list[dict], extra_posts: Sequence[tuple[bytes | None, bytes]] = ()) -> None:
    posts, snapshots = [], []
    for event in events:
        record = (event["account_id"].encode(), orjson.dumps(event))
        (posts if event["kind"] == "post" else snapshots).append(record)
    worker.broker.produce(worker.topics["snapshots"], snapshots)
    worker.broker.produce(worker.topics["posts"], posts + list(extra_posts))


def feed_scenario(worker: WorkerProcess) -> None:
    untracked = [
        (b"instagram:cat-pics", post_bytes(account_id="instagram:cat-pics", handle="cat-pics",
                                           post_id=f"cat{i}", tags=["#cats"]))
        for i in range(UNTRACKED_POSTS)
    ]
    # A producer that keys by something other than account_id: the worker re-keys these.
    unkeyed = [(None, post_bytes(account_id="instagram:no-key", handle="no-key", post_id=f"nk{i}"))
               for i in range(3)]
    malformed = [(b"instagram:poison", value) for value in MALFORMED]
    publish(worker, merged_events(list(ACCOUNTS), days=12), untracked + unkeyed + malformed)


def wait_for_worker_metrics(worker: WorkerProcess) -> None:
    """The scenario is through the worker: each kind of pipeline outcome shows on its /metrics.

    Only outcomes of the input are awaited here; whether the other metrics the dashboards
    read are there is what the tests check, panel by panel.
    """
    port = worker.metrics_port
    expectations = [
        ("suspected purchase alerts", "nichewatch_alerts_emitted_total", {"classification": "suspected_purchase"}, 2),
        ("influencer profile updates", "nichewatch_influencer_updates_total", {}, 1),
        ("untracked posts", "nichewatch_events_ingested_total", {"outcome": "untracked"}, UNTRACKED_POSTS),
        ("dead letters", "nichewatch_dlq_writes_total", {}, len(MALFORMED)),
        ("re-keyed posts", "nichewatch_events_rekeyed_total", {}, 3),
    ]
    for what, name, labels, at_least in expectations:
        wait_until(lambda: metric_value(port, name, **labels) >= at_least, timeout=180, interval=1.0,
                   what=f"{what} on the worker's /metrics ({name}{labels} >= {at_least})")


@pytest.fixture(scope="module")
def stack(kafka: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary = require_prometheus()
    unique = tmp_path_factory.mktemp("e2e").name.replace("_", "-")
    worker = WorkerProcess(kafka, app_id=f"nw-{unique}", workdir=tmp_path_factory.mktemp("e2e-worker"),
                           topics={name: f"{name}-{unique}" for name in TOPICS},
                           extra_env={"NICHEWATCH_TAG_REPORT_INTERVAL_S": "2"})
    prometheus = PrometheusProcess(binary, tmp_path_factory.mktemp("e2e-prometheus"))
    fake = fake_mastodon()
    mastodon = ServerThread(fake.app).__enter__()
    fake.base_url = mastodon.url
    collector_dir = tmp_path_factory.mktemp("e2e-collector")
    collector_port = free_port()
    collector: subprocess.Popen[bytes] | None = None
    try:
        worker.create_topics()
        settings = settings_for(worker)
        for niche in NICHES:
            write_niche(settings, niche, niche.name)
        worker.start()
        prometheus.prepare([f"127.0.0.1:{worker.metrics_port}"])
        (prometheus.workdir / "targets" / "collectors").mkdir()
        (prometheus.workdir / "targets" / "collectors" / "collector.json").write_text(
            json.dumps([{"targets": [f"127.0.0.1:{collector_port}"], "labels": {}}]))
        prometheus.start()
        worker.wait_ready(timeout=120)
        collector = start_collector(worker, mastodon.url, collector_dir, collector_port)
        feed_scenario(worker)
        wait_for_worker_metrics(worker)
        yield Stack(worker, prometheus)
    except BaseException:
        print("--- worker log ---\n" + worker.log_tail())
        print("--- prometheus log ---\n" + prometheus.log_tail())
        log = collector_dir / "collector.log"
        print("--- collector log ---\n" + (log.read_text(errors="replace")[-4000:] if log.exists() else "(none)"))
        raise
    finally:
        if collector is not None:
            collector.terminate()
            try:
                collector.wait(20)
            except subprocess.TimeoutExpired:
                collector.kill()
                collector.wait()
        mastodon.__exit__(None, None, None)
        prometheus.stop()
        worker.stop()


_RANGE = re.compile(r"\[(\d+(?:ms|s|m|h|d|w|y))+\]")


def range_windows(queries: list[PromQLQuery]) -> set[str]:
    return {match.group(0)[1:-1] for query in queries for match in _RANGE.finditer(query.expr)}


@pytest.fixture(scope="module")
def scraped(stack: Stack) -> Stack:
    """Prometheus has the scenario's series, with enough samples for the shortest range window."""
    prometheus = stack.prometheus
    windows = range_windows(all_promql_expressions())
    shortest = min(windows, key=parse_duration)
    # rate/increase need two samples inside the window, and Grafana's 1m assumes a scrape
    # interval well under it; with the shipped 2s there are ~30 per minute.
    assert prometheus.scrape_interval_s * 4 <= parse_duration(shortest), (
        f"scrape_interval {prometheus.scrape_interval_s}s is too long for the shortest window [{shortest}]"
    )

    def worker_up() -> bool:
        return any(t["health"] == "up" and t["labels"].get("job") == JOB for t in prometheus.targets())

    wait_until(worker_up, timeout=90, what=f"Prometheus scraping the worker ({prometheus.targets()})")

    def collector_up() -> bool:
        return any(t["health"] == "up" and t["labels"].get("job") == "nichewatch-collector"
                   for t in prometheus.targets())

    wait_until(collector_up, timeout=90, what=f"Prometheus scraping the collector ({prometheus.targets()})")
    # Counters the scenario created last (alerts, profiles, dead letters, re-keys) seen in
    # at least three scrapes of the shortest window: every rate/increase over it has two
    # samples or more. Other series are retried query by query in the tests.
    last_to_appear = [
        'nichewatch_alerts_emitted_total{classification="suspected_purchase"}',
        "nichewatch_influencer_updates_total",
        "nichewatch_dlq_writes_total",
        "nichewatch_events_rekeyed_total",
        'nichewatch_collector_requests_total{endpoint="timeline_tag"}',
        'nichewatch_collector_events_published_total{kind="post"}',
    ]
    for selector in last_to_appear:
        expr = f"min(count_over_time({selector}[{shortest}])) >= 3"
        wait_until(lambda: prometheus.result(expr), timeout=120, interval=1.0, what=f"Prometheus to hold {expr}")
    return stack


def _empty_or_failed(prometheus: PrometheusProcess, queries: list[PromQLQuery]) -> dict[str, str]:
    problems: dict[str, str] = {}
    for query in queries:
        body = prometheus.query(query.expr)
        if body.get("status") != "success":
            problems[query.source] = f"status {body.get('status')}: {body.get('errorType')}: {body.get('error')}"
        elif query.origin != "alert_rule" and query.source not in MAY_BE_EMPTY and not body["data"]["result"]:
            problems[query.source] = "empty result"
    return problems


def test_every_panel_and_rule_expression_runs_and_panels_and_recording_rules_have_data(scraped: Stack) -> None:
    prometheus = scraped.prometheus
    queries = all_promql_expressions()
    assert {q.origin for q in queries} == {"panel", "recording_rule", "alert_rule"}
    # Recording-rule outputs used by panels appear one evaluation after their inputs:
    # retry the whole set for a while, then report everything still wrong.
    deadline = time.monotonic() + 90
    problems = _empty_or_failed(prometheus, queries)
    while problems and time.monotonic() < deadline:
        time.sleep(2)
        problems = _empty_or_failed(prometheus, queries)
    if problems:
        by_source = {q.source: q for q in queries}
        pytest.fail("queries that failed or came back empty against a real Prometheus:\n" + "\n".join(
            f"- {source}: {problem}\n    {by_source[source].expr}" for source, problem in problems.items()
        ), pytrace=False)


def test_template_variables_offer_values(scraped: Stack) -> None:
    prometheus = scraped.prometheus
    variables = template_variable_queries()
    assert variables
    empty = [f"- {v.source}: label_values({v.match}, {v.label})" for v in variables
             if not prometheus.label_values(v.label, v.match)]
    if empty:
        pytest.fail("template variables with no values:\n" + "\n".join(empty), pytrace=False)
    assert {n.name for n in NICHES} <= set(prometheus.label_values("niche", 'nichewatch_events_ingested_total{outcome="accepted"}'))
    assert {"instagram", "tiktok", "youtube"} <= set(prometheus.label_values("platform", "nichewatch_events_ingested_total"))


def test_rules_load_and_evaluate_without_errors(scraped: Stack) -> None:
    prometheus = scraped.prometheus
    loaded = {rule["name"]: rule for group in prometheus.rule_groups() for rule in group["rules"]}
    expected = {q.source.split()[-1] for q in all_promql_expressions() if q.origin != "panel"}
    assert expected <= set(loaded), f"rules not loaded by Prometheus: {sorted(expected - set(loaded))}"

    def evaluated() -> bool:
        return all(loaded[name].get("lastEvaluation", "").startswith("20") for name in expected)

    def refresh() -> bool:
        loaded.update({rule["name"]: rule for group in prometheus.rule_groups() for rule in group["rules"]})
        return evaluated()

    wait_until(refresh, timeout=60, what="every rule evaluated once")
    unhealthy = {name: (loaded[name]["health"], loaded[name].get("lastError")) for name in expected
                 if loaded[name]["health"] != "ok"}
    assert not unhealthy, f"rules Prometheus could not evaluate: {unhealthy}"
    # The worker is up, so the worker-down alert must be quiet.
    assert loaded["NichewatchWorkerDown"]["state"] == "inactive"


def test_suspected_purchases_panel_counts_a_purchase_made_while_scraped(scraped: Stack) -> None:
    """Values, not only presence: a purchase after Prometheus knows the series is counted.

    (The scenario's first alerts create their series already at 1, which increase() cannot
    see; a later alert in a niche that already has the series must show.)
    """
    worker, prometheus = scraped.worker, scraped.prometheus
    panel = next(q for q in all_promql_expressions()
                 if q.source == "niches.json panel 'Suspected purchases per niche (last hour)' target A")
    labels = {"classification": "suspected_purchase", "niche": "bread"}
    before = metric_value(worker.metrics_port, "nichewatch_alerts_emitted_total", **labels)
    assert before >= 1, "the scenario should already have a suspected purchase in bread"
    spec = AccountSpec("tiktok:bought-loaves", followers=25_000, scenario="purchase_step", amount=7_000,
                       tags=["#sourdough"])
    publish(worker, merged_events([spec], days=12))
    wait_until(lambda: metric_value(worker.metrics_port, "nichewatch_alerts_emitted_total", **labels) > before,
               timeout=120, what="the new purchase alerted on the worker")

    def bread_counted() -> float:
        values = {r["metric"].get("niche"): float(r["value"][1]) for r in prometheus.result(panel.expr)}
        return values.get("bread", 0.0) > 0.5 and values["bread"]

    wait_until(bread_counted, timeout=60, interval=1.0,
               what=f"{panel.source} to show the purchase in bread: {panel.expr}")
