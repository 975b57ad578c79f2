"""Two workers in one group split the partitions; when one stops, the other takes over its
partitions and their state from the changelog, and the HTTP API answers for any key."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.events import NicheDefinition
from streams.core.synthetic import AccountSpec, account_events
from streams.niche_config import write_niche
from tests.integration.test_pipeline import TOPICS, publish, settings_for
from tests.kafka_helpers import Broker, WorkerProcess, http_get, metric_value, wait_until

INPUT_PARTITIONS = 8  # posts and snapshots, 4 partitions each


def all_committed(worker: WorkerProcess) -> bool:
    broker, group = worker.broker, worker.app_id
    for name in ("posts", "snapshots"):
        committed = broker.committed(group, worker.topics[name])
        if any(committed.get(p, 0) < end for p, end in broker.end_offsets(worker.topics[name]).items()):
            return False
    return True


def assigned(worker: WorkerProcess) -> float:
    return metric_value(worker.metrics_port, "nichewatch_partitions_assigned")


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_two_workers_split_partitions_and_the_survivor_takes_over_with_state(
    kafka: Broker, unique: str, tmp_path: Path, store: str
) -> None:
    topics = {name: f"{name}-{unique}" for name in TOPICS}
    env = {"NICHEWATCH_STORE": store}
    first = WorkerProcess(kafka, app_id=f"nw-{unique}", workdir=tmp_path / "a", topics=topics, extra_env=env)
    second = WorkerProcess(kafka, app_id=f"nw-{unique}", workdir=tmp_path / "b", topics=topics, extra_env=env)
    first.workdir.mkdir(parents=True)
    first.create_topics()
    write_niche(settings_for(first), NicheDefinition(name="pens", tags=["fountainpens"]), "pens")
    accounts = [f"instagram:penpal-{i}" for i in range(12)]
    specs = [AccountSpec(account, followers=8_000 + 500 * i) for i, account in enumerate(accounts)]
    events = sorted((e for spec in specs for e in account_events(spec, days=4)), key=lambda e: e["observed_at"])
    early, late = events[: len(events) // 2], events[len(events) // 2 :]
    try:
        first.start().wait_ready()
        second.start().wait_ready()
        wait_until(lambda: 0 < assigned(first) < INPUT_PARTITIONS and assigned(first) + assigned(second) == INPUT_PARTITIONS,
                   timeout=90, what="partitions split between the two workers")

        publish(first, early)
        wait_until(lambda: all_committed(first), timeout=120, what="the first half committed")
        before = {}
        for account in accounts:  # asked of the first worker, answered by the owner
            status, body = http_get(first.web_port, f"/accounts/{account}")
            assert status == 200, body
            before[account] = body

        second.stop()
        wait_until(lambda: assigned(first) == INPUT_PARTITIONS, timeout=120, what="takeover of all partitions")

        publish(first, late)
        wait_until(lambda: all_committed(first), timeout=120, what="the second half committed")
        last_followers = {e["account_id"]: e["followers"] for e in events}
        for account in accounts:
            status, after = http_get(first.web_port, f"/accounts/{account}")
            assert status == 200, after
            assert after["followers"] == last_followers[account]
            # History from before the takeover survived: the hourly window still starts where it did.
            assert after["followers_hourly"][0] == before[account]["followers_hourly"][0]
            assert len(after["followers_hourly"]) > len(before[account]["followers_hourly"])
    except AssertionError:
        print("--- first worker ---\n" + first.log_tail(60))
        print("--- second worker ---\n" + second.log_tail(60))
        raise
    finally:
        second.stop()
        first.stop()
