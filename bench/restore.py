"""How long a worker takes to restore N tracked accounts from the accounts changelog.

    python bench/restore.py [--accounts 100000] [--store memory://|rocksdb://] [--format compact|json] [--repeat 3]

Writes N realistic account states (cloned from engine-built states of synthetic accounts,
so their size matches real ones) into the changelog topic of one app id, then starts a
worker with an empty data directory and stops the clock when the worker says its tables
are restored (its ``nichewatch_tables_recovered_time_seconds``, set once the changelog
partitions are read to their highwaters and applied). The worker must then report all N
accounts (``nichewatch_accounts_tracked``, within a minute) and answer ``GET /accounts/ID``
for one of them with that account's state, or the run fails. A worker of another app id, whose
(pre-created) changelog is empty, gives the baseline start-up time; the difference is the
restore time. Starts on a shared machine vary by a second or more, so each is repeated
(``--repeat``) and the fastest is kept; the worker's own log also gives the changelog read
alone ("Restoring state from changelog topics" to "Done reading from changelog topics").
A throw-away start first makes the broker's first consumer group (``__consumer_offsets``).

The states are in the engine's compact format (format 2), what a worker's changelog
holds; ``--format json`` writes the JSON state format (format 1) instead, as a changelog
written before the compact format holds it (the worker reads both).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.events import NicheDefinition  # noqa: E402
from streams._native import NativeEngine, state_as_json  # noqa: E402
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


def account_id(n: int) -> str:
    return f"instagram:account-{n:07d}"


def account_values(accounts: int, templates: list[dict], state_format: str) -> list[tuple[bytes, bytes]]:
    """(key, changelog value) of each account: a template's state under the account's id.

    Each template is encoded once under a placeholder id as long as the accounts' ids, and
    the id is replaced in the bytes (checked: the value reads back as the account's state).
    """
    placeholders = [f"instagram:account-t{i:06d}" for i in range(len(templates))]
    assert all(len(p) == len(account_id(0)) for p in placeholders)
    encoded_templates = []
    for template, placeholder in zip(templates, placeholders, strict=True):
        value = encoded(dict(template, a=placeholder), state_format)
        assert value.count(placeholder.encode()) == 1, "the id must occur once in the encoded state"
        encoded_templates.append(value)
    out = []
    for n in range(accounts):
        i = n % len(templates)
        key = account_id(n).encode()
        out.append((key, encoded_templates[i].replace(placeholders[i].encode(), key)))
    for key, value in out[:: max(1, accounts // 7)]:
        state = orjson.loads(state_as_json(value) if value[:1] == b"\x02" else value)
        assert state["a"].encode() == key, (state["a"], key)
    return out


def create_changelog(bootstrap: str, app_id: str) -> str:
    topic = f"{app_id}-accounts-changelog"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, PARTITIONS, 1, topic_configs={"cleanup.policy": "compact"})])
    admin.close()
    return topic


def fill_changelog(bootstrap: str, app_id: str, values: list[tuple[bytes, bytes]]) -> None:
    asyncio.run(_produce(bootstrap, create_changelog(bootstrap, app_id), values))


async def _produce(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    # The default partitioner is murmur2 of the key, as the worker's router and producers use.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50, max_batch_size=1 << 20,
                                compression_type="lz4" if _has_lz4() else None, max_request_size=8 << 20)
    await producer.start()
    try:
        pending = []
        for key, value in values:
            pending.append(await producer.send(topic, key=key, value=value))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


def _has_lz4() -> bool:
    try:
        import lz4  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Start:
    """One worker start, timed from launching the process."""

    recovered_s: float  # to the worker's nichewatch_tables_recovered_time_seconds
    ready_s: float  # to the "Worker ready" log line
    changelog_s: float | None  # the worker log's changelog read; None when there was nothing to read
    accounts: int  # nichewatch_accounts_tracked once recovered


_LOG_TIME = re.compile(rb"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")


def _logged_at(log: bytes, text: bytes) -> datetime | None:
    for line in log.splitlines():
        if text in line:
            found = _LOG_TIME.match(line)
            if found:
                return datetime.strptime(found.group(1).decode(), "%Y-%m-%d %H:%M:%S,%f")
    return None


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels}


def start_worker(bootstrap: str, app_id: str, store: str, workdir: Path, run: int, accounts: int) -> Start:
    """Start a worker with an empty data directory, wait until its tables are recovered, check
    that it holds ``accounts`` accounts (and can read one back), stop it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NICHEWATCH_")}
    web, metrics_port = free_port(), free_port()
    env.update(NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS=bootstrap, NICHEWATCH_APP_ID=app_id, NICHEWATCH_STORE=store,
               NICHEWATCH_DATA_DIR=str(workdir / f"data-{app_id}-{run}"), NICHEWATCH_WEB_PORT=str(web),
               NICHEWATCH_METRICS_PORT=str(metrics_port), NICHEWATCH_TOPIC_PARTITIONS=str(PARTITIONS))
    subprocess.run([sys.executable, "-m", "streams.cli", "topics", "create"], env=env, check=True, capture_output=True)
    log = workdir / f"{app_id}-{run}.log"
    began = time.time()
    with log.open("wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env, stdout=out,
                                  stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    try:
        recovered_at, tracked, deadline = 0.0, 0.0, began + 900
        # Recovered, ready, and the accounts gauge (refreshed every few seconds) at the count.
        while not recovered_at or b"Worker ready" not in log.read_bytes() or int(tracked) != accounts:
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited:\n{log.read_text()[-3000:]}")
            if time.time() > deadline:
                raise RuntimeError(f"{app_id}: recovered {recovered_at > 0}, {int(tracked):,} accounts tracked "
                                   f"(expected {accounts:,}) after {time.time() - began:.0f} s")
            time.sleep(0.2)  # the times are the worker's own: polling does not blur them
            try:
                sample = _scrape(metrics_port)
            except (OSError, urllib.error.URLError):
                continue
            if not recovered_at and sample.get("nichewatch_tables_recovered_time_seconds", 0.0):
                recovered_at = sample["nichewatch_tables_recovered_time_seconds"]
                deadline = min(deadline, time.time() + 60)
            tracked = sample.get("nichewatch_accounts_tracked", 0.0)
        text = log.read_bytes()
        ready = _logged_at(text, b"Worker ready")
        restoring = _logged_at(text, b"Restoring state from changelog topics")
        done = _logged_at(text, b"Done reading from changelog topics")
        assert ready is not None
        if accounts:
            _check_account(web, account_id(accounts - 1))
        return Start(
            recovered_s=recovered_at - began,
            ready_s=ready.timestamp() - began,
            changelog_s=(done - restoring).total_seconds() if restoring and done else None,
            accounts=int(tracked),
        )
    finally:
        worker.terminate()
        worker.wait(60)


def _check_account(web_port: int, account: str) -> None:
    """The worker answers with the account's state (decoded from the restored bytes)."""
    url = f"http://127.0.0.1:{web_port}/accounts/{urllib.parse.quote(account)}"
    with urllib.request.urlopen(url, timeout=30) as response:
        body = orjson.loads(response.read())
    if body.get("account_id") != account or not body.get("posts"):
        raise RuntimeError(f"GET {url}: not the account's restored state: {str(body)[:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--store", action="append", choices=["memory://", "rocksdb://"])
    parser.add_argument("--format", default="compact", choices=["compact", "json"], dest="state_format",
                        help="the changelog's state format (json: a changelog from before the compact format)")
    parser.add_argument("--repeat", type=int, default=3, help="starts of each worker; the fastest is kept")
    args = parser.parse_args()
    stores = args.store or ["memory://", "rocksdb://"]
    workdir = Path(tempfile.mkdtemp(prefix="nichewatch-restore-"))
    broker = LocalKafka(run_dir=workdir / "kafka").start(bound_to_parent=True)
    try:
        templates = template_states()
        sizes = [len(encoded(t, args.state_format)) for t in templates]
        print(f"state per account ({args.state_format} format): mean {sum(sizes) / len(sizes):,.0f} B, "
              f"max {max(sizes):,} B (7 days of history)")
        values = account_values(args.accounts, templates, args.state_format)
        bootstrap = broker.bootstrap_servers
        create_changelog(bootstrap, "warmup")
        start_worker(bootstrap, "warmup", stores[0], workdir, 0, 0)  # the broker's first consumer group
        for store in stores:
            label = store.removesuffix("://")
            began = time.monotonic()
            fill_changelog(bootstrap, f"restore-{label}", values)
            print(f"[{store}] changelog: {args.accounts:,} accounts, {sum(len(v) for _k, v in values) / 1e6:,.0f} MB "
                  f"written in {time.monotonic() - began:.1f}s")
            create_changelog(bootstrap, f"empty-{label}")
            empty: list[Start] = []
            full: list[Start] = []
            for run in range(args.repeat):  # alternated, so both see the same machine
                empty.append(start_worker(bootstrap, f"empty-{label}", store, workdir, run, 0))
                full.append(start_worker(bootstrap, f"restore-{label}", store, workdir, run, args.accounts))
            print(f"[{store}] start to tables recovered, empty changelog: "
                  f"{', '.join(f'{s.recovered_s:.2f}' for s in empty)} s; with {args.accounts:,} accounts: "
                  f"{', '.join(f'{s.recovered_s:.2f}' for s in full)} s (to \"Worker ready\": "
                  f"{min(s.ready_s for s in empty):.2f} / {min(s.ready_s for s in full):.2f} s at best)")
            baseline, restored = min(s.recovered_s for s in empty), min(s.recovered_s for s in full)
            restore = restored - baseline
            rate = f"{args.accounts / restore:,.0f} accounts/s" if restore > 0 else "within the start-up's noise"
            reads = [s.changelog_s for s in full if s.changelog_s is not None]
            read = min(reads) if reads else float("nan")
            print(f"[{store}] restore beyond the empty start (best of {args.repeat}): {restore:.2f}s ({rate}); "
                  f"changelog read in the worker's log {read:.2f}s ({args.accounts / read:,.0f} accounts/s); "
                  f"{full[0].accounts:,} accounts tracked, one read back over HTTP")
    except BaseException:
        print(f"worker logs, broker and worker data kept in {workdir}", file=sys.stderr)
        raise
    finally:
        broker.stop()
    for data in workdir.iterdir():  # the broker's and the workers' data: hundreds of MB; the logs stay
        if data.is_dir():
            shutil.rmtree(data, ignore_errors=True)
    print(f"worker logs in {workdir}")


if __name__ == "__main__":
    main()
