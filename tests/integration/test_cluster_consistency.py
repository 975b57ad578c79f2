"""The same scenario through one worker, two workers, and a worker killed and restarted
mid-way, on the real broker: the cluster-wide cohorts, the alerts and the scores agree."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from schemas.events import NicheDefinition
from streams.feeds.simulator import Scenario
from streams.niche_config import write_niche
from streams.settings import load_settings
from tests.kafka_helpers import Broker, WorkerProcess, consume_all, fully_committed, restart, wait_until

TOPICS = ("posts", "snapshots", "niches", "alerts", "influencers", "dlq")
SCORE_TOLERANCE = 0.005
QUIET_S = 10.0


@pytest.fixture(scope="module")
def scenario_records() -> list[tuple[bytes, bytes]]:
    # Posts and snapshots on one topic, in event-time order ("kind" decides, whatever the
    # topic): each account's observations then arrive in the same order in every run.
    scenario = Scenario(11, accounts=150, days=14)
    return [(event["account_id"].encode(), orjson.dumps(event)) for event in scenario.events()]


def start_group(kafka: Broker, unique: str, tmp_path: Path, size: int) -> list[WorkerProcess]:
    topics = {name: f"{name}-{unique}" for name in TOPICS}
    # A settle pass checks 40 accounts (10 a partition) of about 150: scores settle over cycles.
    env = {"NICHEWATCH_SETTLE_INTERVAL_S": "1", "NICHEWATCH_SETTLE_ACCOUNTS_PER_PASS": "40",
           "NICHEWATCH_TAG_REPORT_INTERVAL_S": "1"}
    workers = [WorkerProcess(kafka, app_id=f"nw-{unique}", workdir=tmp_path / f"w{i}", topics=topics,
                             extra_env=env)
               for i in range(size)]
    first = workers[0]
    first.workdir.mkdir(parents=True)
    first.create_topics()
    settings = load_settings(kafka_bootstrap_servers=kafka.bootstrap_servers,
                             **{f"topic_{name}": topic for name, topic in topics.items()})
    for name, tags in Scenario(11, accounts=150, days=14).niches.items():
        write_niche(settings, NicheDefinition(name=name, tags=tags), name)
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.wait_ready()
    return workers


def drained(worker: WorkerProcess) -> bool:
    """Input, mentions and contributions all committed, and no output moved for a while."""
    env = worker.env()
    group = worker.app_id
    topics = [worker.topics["posts"]] + [env[f"NICHEWATCH_TOPIC_{name.upper()}"] for name in ("cohort_contributions",)]
    if not fully_committed(worker.broker, group, topics):
        return False
    outputs = [worker.topics["influencers"]] + [env[f"NICHEWATCH_TOPIC_{name}"] for name in (
        "COHORTS", "COHORT_CONTRIBUTIONS", "NICHE_TAGS", "TAG_OBSERVATIONS")]
    before = [worker.broker.end_offsets(t) for t in outputs]
    # Long enough for a last contribution to go round: owner, summary, followers, settle pass,
    # profile (each hop waits up to a commit interval, more on a loaded machine).
    time.sleep(QUIET_S)
    return before == [worker.broker.end_offsets(t) for t in outputs] and fully_committed(worker.broker, group, topics)


def results(worker: WorkerProcess) -> dict[str, dict]:
    env = worker.env()
    broker = worker.broker
    alerts: dict[str, dict] = {}
    for record in consume_all(broker, worker.topics["alerts"]):
        alert = orjson.loads(record.value)
        alerts[alert["alert_id"]] = alert  # at-least-once: a redelivered copy is the same alert
    scores: dict[str, float] = {}
    profiles: dict[str, dict] = {}
    for record in sorted(consume_all(broker, worker.topics["influencers"]), key=lambda r: (r.partition, r.offset)):
        profiles[record.key.decode()] = profile = orjson.loads(record.value)  # latest per key
        scores[record.key.decode()] = profile["score"]
    cohorts: dict[str, dict] = {}
    for record in sorted(consume_all(broker, env["NICHEWATCH_TOPIC_COHORTS"]), key=lambda r: (r.partition, r.offset)):
        cohorts[record.key.decode()] = orjson.loads(record.value)
    tags: dict[str, dict] = {}
    for record in sorted(consume_all(broker, env["NICHEWATCH_TOPIC_NICHE_TAGS"]), key=lambda r: (r.partition, r.offset)):
        report = orjson.loads(record.value)  # latest per niche: what each tracked tag finds
        tags[record.key.decode()] = {row["tag"]: (row["posts"], row["accounts"], row["generic"])
                                     for row in report["tags"] if row["tracked"]}
    return {"alerts": alerts, "scores": scores, "cohorts": cohorts, "tags": tags, "profiles": profiles}


def run(kafka: Broker, unique: str, tmp_path: Path, records: list[tuple[bytes, bytes]], size: int,
        kill_midway: bool = False) -> dict[str, dict]:
    workers = start_group(kafka, unique, tmp_path, size)
    try:
        kafka.produce(workers[0].topics["posts"], records)
        if kill_midway:
            posts, group = workers[0].topics["posts"], workers[0].app_id
            wait_until(lambda: sum(kafka.committed(group, posts).values()) >= len(records) // 2, timeout=180,
                       interval=0.2, what="half the input committed")
            workers[0].kill()  # SIGKILL: no clean shutdown, no final commit
            restart(workers[0])
        wait_until(lambda: drained(workers[0]), timeout=300, interval=1.0, what="the input drained and scores settled")
        return results(workers[0])
    except AssertionError:
        for worker in workers:
            print(f"--- worker {worker.web_port} ---\n" + worker.log_tail(60))
        raise
    finally:
        for worker in workers:
            worker.stop()


def test_one_worker_two_workers_and_a_restarted_worker_agree(
    kafka: Broker, unique: str, tmp_path: Path, scenario_records: list[tuple[bytes, bytes]]
) -> None:
    one = run(kafka, f"{unique}-one", tmp_path / "one", scenario_records, 1)
    two = run(kafka, f"{unique}-two", tmp_path / "two", scenario_records, 2)
    restarted = run(kafka, f"{unique}-restart", tmp_path / "restart", scenario_records, 1, kill_midway=True)

    assert one["cohorts"] and sum(c["members"] for c in one["cohorts"].values()) > 100
    assert one["tags"] and any(generic for rows in one["tags"].values() for _, _, generic in rows.values())
    assert any(a["classification"] == "suspected_purchase" for a in one["alerts"].values())
    assert_agree(one, ("two workers", two), ("restarted", restarted))


def assert_agree(one: dict[str, dict], *others: tuple[str, dict[str, dict]]) -> None:
    """Identical cohorts, tag statistics and alerts; every score within SCORE_TOLERANCE."""
    for name, other in others:
        assert other["cohorts"] == one["cohorts"], f"{name}: cohort aggregates differ"
        assert other["tags"] == one["tags"], f"{name}: tag statistics differ"
        assert other["alerts"].keys() == one["alerts"].keys(), (
            f"{name}: alerts differ: only one worker {[one['alerts'][k] for k in one['alerts'].keys() - other['alerts'].keys()]}, "
            f"only {name} {[other['alerts'][k] for k in other['alerts'].keys() - one['alerts'].keys()]}"
        )
        for alert_id, alert in one["alerts"].items():
            assert other["alerts"][alert_id] == alert, f"{name}: alert {alert_id} differs"
        assert other["scores"].keys() == one["scores"].keys()
        differences = sorted(abs(other["scores"][a] - s) for a, s in one["scores"].items())
        worst = differences[-1]
        within = sum(d <= SCORE_TOLERANCE for d in differences)
        account = max(one["scores"], key=lambda a: abs(other["scores"][a] - one["scores"][a]))
        print(f"{name}: {len(one['scores'])} scores, {within} within {SCORE_TOLERANCE}, largest difference {worst:.4f}"
              f" ({account}); {len(one['alerts'])} alerts; {len(one['cohorts'])} niches")
        assert within == len(differences), (
            f"{name}: {len(differences) - within} scores differ by more than {SCORE_TOLERANCE}, up to {worst:.4f}: "
            f"{account} one worker {one['profiles'][account]}, {name} {other['profiles'][account]}"
        )
