"""Event time under faults: late, out-of-order and duplicated events within the lateness
bound give the results of ordered input; events beyond it are counted
(nichewatch_events_ingested_total{outcome="late"}) and dropped.

Bounds (streams/core/config.py): allowed_lateness_s (6 h) is how far behind an account's
latest observation an event may be; reorder_delay_s makes *decisions* order-invariant for
input shuffled by less than it (the worker runs with 0: decide at once). Without it the
account's windows and posts still end up the same, and the same episodes are found.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry

from schemas.events import NicheDefinition
from streams.core.config import HOUR, EngineConfig
from streams.core.synthetic import AccountSpec, iso, merged_events
from streams.niche_config import write_niche
from streams.native_engine import NativeWorkerEngine
from streams.pipeline import Record
from streams.views import account_summary
from tests.integration.test_pipeline import TOPICS, settings_for
from tests.kafka_helpers import Broker, WorkerProcess, fully_committed, http_get, metric_value, wait_until
from tests.unit.test_pipeline import pipeline

NICHE = NicheDefinition(name="pens", tags=["#FountainPens"])
SPECS = [
    AccountSpec("instagram:step", followers=20_000, scenario="purchase_step", amount=6_000, scenario_at_h=24 * 4),
    AccountSpec("instagram:viral", followers=15_000, scenario="viral", amount=4_000, scenario_at_h=24 * 4),
    AccountSpec("instagram:calm", followers=8_000),
]
WINDOWS = ("handle", "followers", "latest_observation", "followers_hourly", "followers_daily", "posts", "niche_post_counts")
LATENESS = EngineConfig().allowed_lateness_s


def ts(event: dict) -> float:
    return datetime.fromisoformat(event["observed_at"]).timestamp()


def tracked_events(days: float = 7.0) -> list[dict]:
    """Event-time ordered events, each account starting at its first niche post.

    Snapshots of an account nobody has tracked yet are skipped as untracked, so which ones
    count would depend on arrival order; starting at the first post keeps that out of the
    comparison.
    """
    started: set[str] = set()
    events = []
    for event in merged_events(SPECS, days=days):
        if event["kind"] == "post":
            started.add(event["account_id"])
        if event["account_id"] in started:
            events.append(event)
    return events


def disorder(events: list[dict], seed: int, max_delay_s: float, duplicate_share: float, stale: int) -> tuple[list[dict], int]:
    """Arrival order: each event delayed by up to ``max_delay_s``, some delivered twice, and
    ``stale`` events older than the lateness bound (with bogus counters) slipped in.

    Returns the arrivals and how many stale events are beyond the bound when they arrive.
    """
    rng = random.Random(seed)
    firsts = {}
    for event in events:
        firsts.setdefault(event["account_id"], event)
    timed = []
    for event in events:
        if firsts[event["account_id"]] is event:
            timed.append((-1.0, event))  # an account's first event opens it, in any order
            continue
        timed.append((ts(event) + rng.uniform(0, max_delay_s), event))
        if rng.random() < duplicate_share:
            timed.append((ts(event) + rng.uniform(0, max_delay_s), event))
    arrivals = [event for _, event in sorted(timed, key=lambda pair: pair[0])]
    seen: dict[str, float] = {}
    positions = []
    for position, event in enumerate(arrivals):
        account = event["account_id"]
        seen[account] = max(seen.get(account, 0.0), ts(event))
        if seen[account] - ts(firsts[account]) > 2 * LATENESS:
            positions.append((position, account, seen[account]))
    late = 0
    for position, account, latest in sorted(rng.sample(positions, stale), reverse=True):
        stale_event = {**firsts[account], "observed_at": iso(latest - LATENESS - HOUR), "followers": 1, "likes": 10**6}
        stale_event["posted_at"] = stale_event["observed_at"]  # the account's first event is a post
        arrivals.insert(position + 1, stale_event)
        late += 1
    return arrivals, late


def run(events: list[dict], config: EngineConfig) -> tuple[NativeWorkerEngine, CollectorRegistry, list[dict]]:
    line, _, registry = pipeline((NICHE,), config)
    records = [Record("posts", 0, i, e["account_id"].encode(), orjson.dumps(e)) for i, e in enumerate(events)]
    result = line.process(records)
    assert not result.dead_letters and not result.rekeyed
    alerts = [orjson.loads(a.value) for a in result.alerts]
    alerts += [a for a in map(orjson.loads, line.engine.native.flush()) if a["kind"] == "follower_spike_alert"]
    return line.engine, registry, alerts


def late_dropped(engine: NativeWorkerEngine) -> int:
    return engine.native.stats["late_dropped"]  # type: ignore[return-value]


def outcome_count(registry: CollectorRegistry, outcome: str) -> float:
    return sum(
        sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == "nichewatch_events_ingested_total" and sample.labels.get("outcome") == outcome
    )


def windows(engine: NativeWorkerEngine) -> dict[str, dict]:
    summaries = {spec.account_id: account_summary(engine.get_state(spec.account_id)) for spec in SPECS}  # type: ignore[arg-type]
    return {account: {k: summary[k] for k in WINDOWS} for account, summary in summaries.items()}


def own_state(engine: NativeWorkerEngine, account_id: str) -> dict:
    """An account's persisted state without its last influencer score ("L"): the score is
    relative to the niche's tier cohort, which every account of the engine updates as its
    observations are applied, so it depends on how accounts interleave, not only on the
    account's own events."""
    state = engine.get_state(account_id)
    assert state is not None
    return {k: v for k, v in state.to_dict().items() if k != "L"}


ORDERED = tracked_events()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_with_reorder_delay_disorder_within_it_gives_exactly_the_ordered_results(seed: int) -> None:
    config = EngineConfig(reorder_delay_s=4 * HOUR)
    arrivals, late = disorder(ORDERED, seed, max_delay_s=3.5 * HOUR, duplicate_share=0.2, stale=0)
    assert late == 0 and len(arrivals) > len(ORDERED)
    ordered_engine, _, ordered_alerts = run(ORDERED, config)
    engine, metrics, alerts = run(arrivals, config)
    assert sorted(a["classification"] for a in ordered_alerts) == ["organic_breakout", "suspected_purchase"]
    assert sorted(alerts, key=lambda a: a["alert_id"]) == sorted(ordered_alerts, key=lambda a: a["alert_id"])
    for spec in SPECS:
        assert own_state(engine, spec.account_id) == own_state(ordered_engine, spec.account_id)
    assert outcome_count(metrics, "late") == 0 and late_dropped(engine) == 0


@pytest.mark.parametrize("seed", [4, 5])
def test_without_reorder_delay_disorder_within_lateness_keeps_windows_and_episodes(seed: int) -> None:
    config = EngineConfig()
    arrivals, _ = disorder(ORDERED, seed, max_delay_s=LATENESS - HOUR, duplicate_share=0.2, stale=0)
    ordered_engine, _, ordered_alerts = run(ORDERED, config)
    engine, metrics, alerts = run(arrivals, config)
    assert windows(engine) == windows(ordered_engine)
    assert sorted((a["account_id"], a["classification"]) for a in alerts) == sorted(
        (a["account_id"], a["classification"]) for a in ordered_alerts
    )
    assert outcome_count(metrics, "late") == 0


@pytest.mark.parametrize("reorder_delay_s", [0.0, 4 * HOUR])
def test_events_beyond_the_lateness_bound_are_counted_and_change_nothing(reorder_delay_s: float) -> None:
    config = EngineConfig(reorder_delay_s=reorder_delay_s)
    arrivals, _ = disorder(ORDERED, 6, max_delay_s=1.0 * HOUR, duplicate_share=0.1, stale=0)
    with_stale, late = disorder(ORDERED, 6, max_delay_s=1.0 * HOUR, duplicate_share=0.1, stale=25)
    assert late == 25
    clean_engine, clean_metrics, clean_alerts = run(arrivals, config)
    engine, metrics, alerts = run(with_stale, config)
    assert outcome_count(metrics, "late") == late and late_dropped(engine) == late
    assert outcome_count(metrics, "accepted") == outcome_count(clean_metrics, "accepted")
    assert alerts == clean_alerts
    for spec in SPECS:
        assert engine.get_state(spec.account_id).to_dict() == clean_engine.get_state(spec.account_id).to_dict()  # type: ignore[union-attr]


def test_worker_handles_disorder_and_duplicates_and_counts_late_events(kafka: Broker, unique: str, tmp_path: Path) -> None:
    """Through a worker (reorder_delay 0): posts and snapshots shuffled by up to 2 h, 15%
    delivered twice, 20 events older than the lateness bound. The accounts' windows equal
    an ordered in-process run's, the same episodes are alerted, the stale events are
    counted as late and leave no trace."""
    arrivals, late = disorder(ORDERED, 7, max_delay_s=2 * HOUR, duplicate_share=0.15, stale=20)
    reference, _, reference_alerts = run(ORDERED, EngineConfig())
    worker = WorkerProcess(kafka, app_id=f"nw-time-{unique}", workdir=tmp_path,
                           topics={name: f"{name}-time-{unique}" for name in TOPICS})
    worker.workdir.mkdir(parents=True, exist_ok=True)
    worker.create_topics()
    write_niche(settings_for(worker), NICHE, "pens")
    try:
        worker.start().wait_ready()
        # One topic, keyed by account: the arrival order above is the order the worker sees.
        kafka.produce(worker.topics["posts"], [(e["account_id"].encode(), orjson.dumps(e)) for e in arrivals])
        wait_until(lambda: fully_committed(kafka, worker.app_id, [worker.topics["posts"]]), timeout=120,
                   what="all arrivals committed")
        assert metric_value(worker.metrics_port, "nichewatch_events_ingested_total", outcome="late") == late
        assert metric_value(worker.metrics_port, "nichewatch_events_ingested_total", outcome="invalid") == 0
        expected = windows(reference)
        for account in expected:
            status, body = http_get(worker.web_port, f"/accounts/{account}")
            assert status == 200, body
            assert {k: body[k] for k in WINDOWS} == expected[account], account
        alerts = [orjson.loads(r.value) for r in kafka.consume(worker.topics["alerts"], len(reference_alerts), timeout=30)]
        assert sorted({(a["account_id"], a["classification"]) for a in alerts}) == sorted(
            (a["account_id"], a["classification"]) for a in reference_alerts
        )
    except BaseException:
        print(worker.log_tail(60))
        raise
    finally:
        worker.stop()
