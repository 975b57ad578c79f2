"""How long a worker takes to restore N tracked accounts from the accounts changelog.

    python bench/restore.py [--accounts 100000] [--store memory://|rocksdb://] [--format compact|json]

Writes N realistic account states (cloned from engine-built states of synthetic accounts,
so their size matches real ones) into the changelog topic of one app id, then starts a
worker with an empty data directory and times start -> "Worker ready". In the same run, a
worker of another app id with an empty changelog gives the baseline start-up time; the
difference is the restore time. The states are in the engine's compact format (format 2),
what a worker's changelog holds; ``--format json`` writes the JSON state format (format 1)
instead, as a changelog written before the compact format holds it (the worker reads both).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.events import NicheDefinition  # noqa: E402
from streams._native import NativeEngine  # noqa: E402
from streams.core.engine import Engine  # noqa: E402
from streams.core.synthetic import AccountSpec, account_events  # noqa: E402
from streams.kafka_local import LocalKafka, die_with_parent, free_port  # noqa: E402

PARTITIONS = 4


def template_states(count: int = 20) -> list[dict]:
    """``count`` accounts' states after 7 days of synthetic history, in the JSON state format, as dicts."""
    engine = Engine(niches=[NicheDefinition(name="pens", tags=["fountainpens"])])
    for i in range(count):
        spec = AccountSpec(f"instagram:template-{i}", followers=5_000 + 3_000 * i, post_every_h=8.0)
        _outputs, dead = engine.process_values([orjson.dumps(raw) for raw in account_events(spec, days=7, seed=i)])
        assert not dead, dead
    return [orjson.loads(engine.native.state(f"instagram:template-{i}") or b"") for i in range(count)]


def encoded(state: dict, state_format: str) -> bytes:
    """The state as a changelog entry: the compact format, or the JSON format."""
    return compact(state) if state_format == "compact" else orjson.dumps(state)


def compact(state: dict) -> bytes:
    """The state in the engine's compact format."""
    engine = NativeEngine()
    engine.load_state(orjson.dumps(state))
    value = engine.compact_state(state["a"])
    assert value is not None
    return value


def fill_changelog(bootstrap: str, app_id: str, accounts: int, templates: list[dict], state_format: str) -> int:
    topic = f"{app_id}-accounts-changelog"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, PARTITIONS, 1, topic_configs={"cleanup.policy": "compact"})])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=50, batch_size=1 << 20, compression_type="lz4"
                             if _has_lz4() else None, max_request_size=8 << 20)
    total = 0
    for n in range(accounts):
        state = dict(templates[n % len(templates)])
        state["a"] = f"instagram:account-{n}"
        value = encoded(state, state_format)
        total += len(value)
        producer.send(topic, key=state["a"].encode(), value=value)  # murmur2 partitioner, as the worker's router
    producer.flush(300)
    producer.close()
    return total


def _has_lz4() -> bool:
    try:
        import lz4  # noqa: F401
    except ImportError:
        return False
    return True


def time_to_ready(bootstrap: str, app_id: str, store: str, workdir: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NICHEWATCH_")}
    env.update(NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS=bootstrap, NICHEWATCH_APP_ID=app_id, NICHEWATCH_STORE=store,
               NICHEWATCH_DATA_DIR=str(workdir / f"data-{app_id}"), NICHEWATCH_WEB_PORT=str(free_port()),
               NICHEWATCH_METRICS_PORT="0", NICHEWATCH_TOPIC_PARTITIONS=str(PARTITIONS))
    subprocess.run([sys.executable, "-m", "streams.cli", "topics", "create"], env=env, check=True, capture_output=True)
    log = workdir / f"{app_id}.log"
    began = time.monotonic()
    with log.open("wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env, stdout=out,
                                  stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    try:
        while b"Worker ready" not in log.read_bytes():
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited:\n{log.read_text()[-3000:]}")
            if time.monotonic() - began > 900:
                raise RuntimeError("worker not ready after 900 s")
            time.sleep(0.1)
        return time.monotonic() - began
    finally:
        worker.terminate()
        worker.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--store", action="append", choices=["memory://", "rocksdb://"])
    parser.add_argument("--format", default="compact", choices=["compact", "json"], dest="state_format",
                        help="the changelog's state format (json: a changelog from before the compact format)")
    args = parser.parse_args()
    stores = args.store or ["memory://", "rocksdb://"]
    workdir = Path(tempfile.mkdtemp(prefix="nichewatch-restore-"))
    broker = LocalKafka(run_dir=workdir / "kafka").start(bound_to_parent=True)
    try:
        templates = template_states()
        sizes = [len(encoded(t, args.state_format)) for t in templates]
        print(f"state per account ({args.state_format} format): mean {sum(sizes) / len(sizes):,.0f} B, max {max(sizes):,} B (7 days of history)")
        for store in stores:
            label = store.removesuffix("://")
            began = time.monotonic()
            total = fill_changelog(broker.bootstrap_servers, f"restore-{label}", args.accounts, templates, args.state_format)
            print(f"[{store}] changelog: {args.accounts:,} accounts, {total / 1e6:,.0f} MB written in "
                  f"{time.monotonic() - began:.1f}s")
            baseline = time_to_ready(broker.bootstrap_servers, f"empty-{label}", store, workdir)
            restored = time_to_ready(broker.bootstrap_servers, f"restore-{label}", store, workdir)
            restore = restored - baseline
            rate = f"{args.accounts / restore:,.0f} accounts/s" if restore > 0 else "within the start-up's noise"
            print(f"[{store}] start-up with empty changelog {baseline:.1f}s; with {args.accounts:,} accounts "
                  f"{restored:.1f}s; restore {restore:.1f}s ({rate}); ratio {restored / baseline:.2f}x the empty start")
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
