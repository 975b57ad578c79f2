"""The streaming pipeline on a real broker: decisions, niches at runtime, redelivery, DLQ."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from schemas.events import NicheDefinition
from streams.core.synthetic import AccountSpec, account_events
from streams.niche_config import write_niche
from streams.settings import load_settings
from tests.events_factory import post_bytes
from tests.kafka_helpers import Broker, WorkerProcess, http_get, metric_value, wait_until

TOPICS = ("posts", "snapshots", "niches", "alerts", "influencers", "dlq")


@pytest.fixture(scope="module")
def worker(kafka: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    unique = tmp_path_factory.mktemp("pipeline").name.replace("_", "-")
    topics = {name: f"{name}-{unique}" for name in TOPICS}
    process = WorkerProcess(kafka, app_id=f"nw-{unique}", workdir=tmp_path_factory.mktemp("worker"), topics=topics)
    process.create_topics()
    write_niche(settings_for(process), NicheDefinition(name="pens", tags=["#FountainPens"]), "pens")
    process.start()
    try:
        process.wait_ready()
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


def publish(worker: WorkerProcess, events: list[dict]) -> None:
    by_kind = {"post": [], "snapshot": []}
    for event in events:
        by_kind[event["kind"]].append((event["account_id"].encode(), orjson.dumps(event)))
    worker.broker.produce(worker.topics["posts"], by_kind["post"])
    worker.broker.produce(worker.topics["snapshots"], by_kind["snapshot"])


def test_bought_followers_become_one_suspected_purchase_alert_with_evidence(worker: WorkerProcess) -> None:
    spec = AccountSpec("instagram:bought-pens", followers=20_000, scenario="purchase_step", amount=5_000)
    publish(worker, list(account_events(spec, days=12)))
    alerts = [r for r in worker.broker.consume(worker.topics["alerts"], count=1, timeout=90)
              if r.key == b"instagram:bought-pens"]
    assert len(alerts) == 1
    alert = orjson.loads(alerts[0].value)
    assert alert["classification"] == "suspected_purchase"
    assert alert["account_id"] == "instagram:bought-pens" and alert["niches"] == ["pens"]
    assert alert["followers_after"] - alert["followers_before"] >= 5_000
    assert alert["evidence"] and all(item["detail"] for item in alert["evidence"])
    assert metric_value(worker.metrics_port, "nichewatch_alerts_emitted_total",
                        classification="suspected_purchase", niche="pens") >= 1


def test_engaged_niche_account_gets_an_influencer_profile_and_is_queryable(worker: WorkerProcess) -> None:
    spec = AccountSpec("instagram:ink-hobbyist", followers=12_000, engagement_rate=0.06)
    publish(worker, list(account_events(spec, days=10)))

    def profile() -> dict | None:
        records = worker.broker.consume(worker.topics["influencers"], count=50, timeout=5)
        mine = [orjson.loads(r.value) for r in records if r.key == b"instagram:ink-hobbyist"]
        return mine[-1] if mine else None

    latest = wait_until(profile, timeout=90, what="an influencer profile")
    assert latest["primary_niche"] == "pens" and latest["tier"] == "micro"
    assert 0.0 < latest["score"] <= 1.0

    status, body = http_get(worker.web_port, "/accounts/instagram:ink-hobbyist")
    assert status == 200 and body["handle"] == "ink-hobbyist"
    assert body["niche_post_counts"].get("pens", 0) >= 1
    status, top = wait_until(lambda: (s := http_get(worker.web_port, "/niches/pens/top?limit=5"))[1]["influencers"] and s,
                             timeout=30, what="top influencers of pens")
    assert any(p["account_id"] == "instagram:ink-hobbyist" for p in top["influencers"])


def test_untracked_posts_are_counted_and_leave_no_state(worker: WorkerProcess) -> None:
    before = metric_value(worker.metrics_port, "nichewatch_events_ingested_total", outcome="untracked")
    worker.broker.produce(worker.topics["posts"], [
        (b"instagram:cat-pics", post_bytes(account_id="instagram:cat-pics", post_id=f"c{i}", tags=["#cats"]))
        for i in range(5)
    ])
    wait_until(lambda: metric_value(worker.metrics_port, "nichewatch_events_ingested_total", outcome="untracked")
               >= before + 5, timeout=60, what="5 untracked posts counted")
    assert http_get(worker.web_port, "/accounts/instagram:cat-pics")[0] == 404


def test_niche_added_at_runtime_applies_without_restart(worker: WorkerProcess) -> None:
    account = "instagram:sourdough-sam"
    first = post_bytes(account_id=account, handle="sourdough-sam", post_id="s1", tags=["#Sourdough"])
    worker.broker.produce(worker.topics["posts"], [(account.encode(), first)])
    wait_until(lambda: metric_value(worker.metrics_port, "nichewatch_events_ingested_total", outcome="untracked") > 0,
               timeout=60, what="the first post counted")
    assert http_get(worker.web_port, f"/accounts/{account}")[0] == 404

    write_niche(settings_for(worker), NicheDefinition(name="bread", tags=["sourdough"]), "bread")

    def tracked() -> bool:
        post = post_bytes(account_id=account, handle="sourdough-sam", post_id="s2", tags=["#Sourdough"])
        worker.broker.produce(worker.topics["posts"], [(account.encode(), post)])
        return http_get(worker.web_port, f"/accounts/{account}")[0] == 200

    wait_until(tracked, timeout=60, interval=2.0, what="the new niche to apply")
    assert metric_value(worker.metrics_port, "nichewatch_events_ingested_total", niche="bread", outcome="accepted") >= 1


def test_redelivered_post_observation_is_not_counted_twice(worker: WorkerProcess) -> None:
    account = "instagram:twice-told"
    post = post_bytes(account_id=account, handle="twice-told", post_id="t1", likes=500)
    bigger = post_bytes(account_id=account, handle="twice-told", post_id="t1", likes=700)
    worker.broker.produce(worker.topics["posts"], [(account.encode(), post), (account.encode(), post),
                                                   (account.encode(), bigger)])

    def account_state() -> dict | None:
        status, body = http_get(worker.web_port, f"/accounts/{account}")
        return body if status == 200 and body["posts"] and body["posts"][0]["interactions"] >= 700 else None

    body = wait_until(account_state, timeout=60, what="the re-observed post applied")
    assert len(body["posts"]) == 1
    assert body["posts"][0]["interactions"] == 700 + 40 + 12


def test_malformed_input_goes_to_dlq_and_later_input_is_processed(worker: WorkerProcess) -> None:
    account = "instagram:after-poison"
    worker.broker.produce(worker.topics["posts"], [
        (account.encode(), b"\xff\xfe not utf-8"),
        (account.encode(), orjson.dumps({"kind": "reel", "account_id": account})),
        (account.encode(), post_bytes(account_id=account, handle="after-poison", post_id="g1")),
    ])
    dead = worker.broker.consume(worker.topics["dlq"], count=2, timeout=60)
    reasons = {dict(r.headers)["nichewatch-error"].decode() for r in dead if r.key == account.encode()}
    assert any("UTF-8" in reason for reason in reasons) and any("unknown kind" in reason for reason in reasons)
    wait_until(lambda: http_get(worker.web_port, f"/accounts/{account}")[0] == 200, timeout=60,
               what="the good post after the poison processed")
    assert metric_value(worker.metrics_port, "nichewatch_dlq_writes_total") >= 2
