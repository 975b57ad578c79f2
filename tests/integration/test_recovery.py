"""Recovery without manual action: a worker killed mid-stream is replaced by its peer,
and a broker restart is ridden out by a running worker."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from schemas.events import NicheDefinition
from streams.core.synthetic import AccountSpec, account_events
from streams.kafka_local import LocalKafka
from streams.niche_config import write_niche
from tests.integration.test_pipeline import TOPICS, publish, settings_for
from tests.integration.test_scale_out import INPUT_PARTITIONS, all_committed, assigned
from tests.kafka_helpers import Broker, WorkerProcess, http_get, wait_until


def test_survivor_takes_over_a_killed_workers_partitions_within_the_session_timeout(
    kafka: Broker, unique: str, tmp_path: Path
) -> None:
    topics = {name: f"{name}-{unique}" for name in TOPICS}
    first = WorkerProcess(kafka, app_id=f"nw-{unique}", workdir=tmp_path / "a", topics=topics)
    second = WorkerProcess(kafka, app_id=f"nw-{unique}", workdir=tmp_path / "b", topics=topics)
    first.workdir.mkdir(parents=True)
    first.create_topics()
    write_niche(settings_for(first), NicheDefinition(name="pens", tags=["fountainpens"]), "pens")
    specs = [AccountSpec(f"instagram:crash-{i}", followers=9_000 + 300 * i) for i in range(10)]
    events = sorted((e for s in specs for e in account_events(s, days=3)), key=lambda e: e["observed_at"])
    try:
        first.start().wait_ready()
        second.start().wait_ready()
        wait_until(lambda: 0 < assigned(first) < INPUT_PARTITIONS and assigned(first) + assigned(second) == INPUT_PARTITIONS,
                   timeout=90, what="partitions split")
        publish(first, events[: len(events) // 2])
        wait_until(lambda: all_committed(first), timeout=120, what="first half committed")

        second.kill()
        killed_at = time.monotonic()
        wait_until(lambda: assigned(first) == INPUT_PARTITIONS, timeout=150, interval=0.5, what="takeover")
        takeover_s = time.monotonic() - killed_at
        publish(first, events[len(events) // 2 :])
        wait_until(lambda: all_committed(first), timeout=120, what="second half committed")
        processed_s = time.monotonic() - killed_at
        print(f"\nfailover: all partitions on the survivor {takeover_s:.1f}s after SIGKILL; "
              f"second half processed {processed_s:.1f}s after SIGKILL")
        assert takeover_s < 60  # session timeout 10 s + rebalance + changelog recovery
        last = {e["account_id"]: e["followers"] for e in events}
        for spec in specs:
            status, body = http_get(first.web_port, f"/accounts/{spec.account_id}")
            assert status == 200 and body["followers"] == last[spec.account_id]
    except AssertionError:
        print(first.log_tail(40))
        raise
    finally:
        second.kill()
        first.stop()



def test_a_memory_store_takes_over_again_and_again_without_stalling(kafka: Broker, unique: str, tmp_path: Path) -> None:
    # Each round a peer joins, takes half the partitions, processes a slice, and is killed;
    # the survivor recovers those partitions from the changelog every time (memory:// keeps
    # nothing across a rebalance). A stalled recovery would miss the takeover deadline.
    topics = {name: f"{name}-{unique}" for name in TOPICS}
    env = {"NICHEWATCH_STORE": "memory://"}
    first = WorkerProcess(kafka, app_id=f"nw-{unique}", workdir=tmp_path / "a", topics=topics, extra_env=env)
    first.workdir.mkdir(parents=True)
    first.create_topics()
    write_niche(settings_for(first), NicheDefinition(name="pens", tags=["fountainpens"]), "pens")
    specs = [AccountSpec(f"instagram:again-{i}", followers=7_000 + 400 * i) for i in range(10)]
    events = sorted((e for s in specs for e in account_events(s, days=3)), key=lambda e: e["observed_at"])
    rounds = 3
    slices = [events[i * len(events) // rounds : (i + 1) * len(events) // rounds] for i in range(rounds)]
    peers: list[WorkerProcess] = []
    try:
        first.start().wait_ready()
        for i, part in enumerate(slices):
            peer = WorkerProcess(kafka, app_id=first.app_id, workdir=tmp_path / f"peer{i}", topics=topics, extra_env=env)
            peers.append(peer)
            peer.start().wait_ready()
            wait_until(lambda: 0 < assigned(first) < INPUT_PARTITIONS and assigned(first) + assigned(peer) == INPUT_PARTITIONS,
                       timeout=90, what=f"round {i}: partitions split")
            publish(first, part)
            wait_until(lambda: all_committed(first), timeout=120, what=f"round {i}: slice committed")
            peer.kill()
            killed_at = time.monotonic()
            wait_until(lambda: assigned(first) == INPUT_PARTITIONS, timeout=90, interval=0.5, what=f"round {i}: takeover")
            print(f"round {i}: takeover {time.monotonic() - killed_at:.1f}s after SIGKILL")
            last = {e["account_id"]: e["followers"] for e in events[: (i + 1) * len(events) // rounds]}
            for account, followers in last.items():
                status, body = http_get(first.web_port, f"/accounts/{account}")
                assert status == 200 and body["followers"] == followers, (account, status, body)
        assert "No event received for active tp" not in first.log_path.read_text(errors="replace")
    except AssertionError:
        print(first.log_tail(60))
        raise
    finally:
        for peer in peers:
            peer.kill()
        first.stop()

def test_running_worker_recovers_from_a_broker_restart_and_loses_nothing(unique: str, tmp_path: Path) -> None:
    local = LocalKafka(run_dir=tmp_path / "broker").start(bound_to_parent=True)
    broker = Broker(local.bootstrap_servers, local=local)
    topics = {name: f"{name}-{unique}" for name in TOPICS}
    worker = WorkerProcess(broker, app_id=f"nw-{unique}", workdir=tmp_path / "w", topics=topics)
    worker.workdir.mkdir(parents=True)
    spec = AccountSpec("instagram:restart-bought", followers=20_000, scenario="purchase_step", amount=5_000)
    events = list(account_events(spec, days=12))
    jump = next(i for i, e in enumerate(events) if e["followers"] >= 24_000)
    try:
        worker.create_topics()
        write_niche(settings_for(worker), NicheDefinition(name="pens", tags=["fountainpens"]), "pens")
        worker.start().wait_ready()
        publish(worker, events[: jump - 10])
        wait_until(lambda: all_committed(worker), timeout=120, what="events before the restart committed")

        local.stop()
        time.sleep(5)
        local.start(bound_to_parent=True)

        publish(worker, events[jump - 10 :])
        wait_until(lambda: all_committed(worker), timeout=180, what="events after the restart committed")
        alerts = [orjson.loads(r.value) for r in broker.consume(topics["alerts"], count=1, timeout=60)]
        assert [a["classification"] for a in alerts] == ["suspected_purchase"]
        assert worker.process is not None and worker.process.poll() is None  # never crashed
        status, body = http_get(worker.web_port, f"/accounts/{spec.account_id}")
        assert status == 200 and body["followers"] == events[-1]["followers"]
    except AssertionError:
        print(worker.log_tail(60))
        raise
    finally:
        worker.stop()
        local.stop()
