"""End-to-end throughput of one nichewatch worker on a real broker, against two references.

    make bench                                   # = .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py --posts 200000 --store rocksdb://
    .venv/bin/python bench/run.py --profile      # also one worker run under cProfile
    .venv/bin/python bench/run.py --accounts 200000   # high cardinality: 200,000 accounts, one post each

One local Kafka (streams.kafka_local), one posts topic of 4 partitions, produced once with
simulator posts (streams.feeds.simulator, posts only, keyed by account_id). Then, over the
same messages, each reader in its own consumer group from the earliest offset:

  (a) ceiling   aiokafka getmany + orjson.loads, no framework, in this process
  (a+)          the same consumer + streams.pipeline.Pipeline.process per fetched batch
                (the native engine's decode and detection, and the pipeline's records and
                metrics; no Faust, no changelog): what our own code costs
  (b) naive     stock Faust agent, ``async for value in stream`` + one Table write per post
                (bench/naive_agent.py, on the first --naive-posts posts)
  (c) worker    the real ``python -m streams.cli worker`` subprocess, NICHEWATCH_* env as in
                tests/kafka_helpers.WorkerProcess, every canonical niche on niches.config

How (c) is timed, start-up and rebalance excluded: the worker's /metrics is polled every
POLL_S. Posts processed = nichewatch_processing_latency_seconds_count (accepted events, once
each) + nichewatch_events_ingested{outcome!=accepted} (untracked, late, invalid) +
nichewatch_events_rekeyed. The clock starts at the first poll that sees processed > 0 (the
posts already counted then are subtracted) and stops at the first poll that sees all posts
processed (a run so small that one poll interval holds it all is timed from the last poll
that saw none processed, which may include some start-up); a second figure stops when the
group's committed offsets equal the end offsets of the posts topic (adds the commit
interval and changelog delivery). Both ends are quantised to POLL_S, which makes the
figure slightly pessimistic.

Every rate is given twice: per wall-clock second, and per CPU second of the process doing
the work (time.process_time() in this process for (a)/(a+) and in the naive agent,
utime+stime from /proc/PID/stat for the worker). On a shared machine (the broker runs on
the same cores) the wall rate depends on what else runs; the CPU rate is what one process
does with a core to itself, and is the fairer basis for the ratios. Compare ratios of one
run, not absolute rates across runs.

The per-post cost of the engine grows with each account's window, so --posts changes the
rates: a smaller run covers fewer simulated days per account and reads as faster.

--accounts N (high cardinality) replaces the input with --posts-per-account posts (default 1)
for each of N distinct accounts: simulator posts serve as templates (tags, counters, times)
and each copy gets its own account_id, handle and post_id; an account's later posts come
from later templates, so each account's observations stay in time order. Same readers,
same ratios. What it measures is the per-account cost: state creation, table and changelog
keys, profiles, memory, rather than long windows.

Memory, at the end of the worker's run (after its gauges' next refresh, at most 5 s):
the worker's RSS (VmRSS from /proc/PID/status) per tracked account
(nichewatch_accounts_tracked), both whole and as growth since the first poll that saw
posts processed (the interpreter, Faust and the broker client are most of a small run's
RSS), and nichewatch_state_size_bytes per tracked account: the encoded size of the state
the worker last flushed to its changelog.

--profile runs the worker once more, as ``python -m cProfile -o worker.prof -m streams.cli
worker`` in its own consumer group over the same posts, and prints self time per component
(ours: the native engine's calls, streams/core's Python helpers, pipeline/agents/writers;
theirs: faust+mode, aiokafka, asyncio) and the direct callees of the hot functions. The
native engine's work (decoding, detection, state encoding) is inside its methods' self
time: cProfile does not see into it. The .prof is kept in the temp directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas.events import NicheDefinition  # noqa: E402
from streams.kafka_local import LocalKafka, die_with_parent  # noqa: E402
from streams.settings import load_settings  # noqa: E402

PARTITIONS = 4
TARGET = 100_000  # posts/s per worker
TARGET_RATIO = 0.45  # of the raw-consumer ceiling of the same run
TARGET_STATE_BYTES = 1_500  # per account on average, after 30 simulated days
POLL_S = 0.2
POSTS_PER_ACCOUNT = 95  # simulator: ~107 posts per account in 30 days; a little headroom
TOPICS = ("posts", "snapshots", "niches", "alerts", "influencers", "dlq")


# ---------------------------------------------------------------------------------- input
def many_account_posts(accounts: int, per_account: int, seed: int) -> tuple[list[tuple[bytes, bytes]], dict[str, list[str]]]:
    """per_account posts for each of ``accounts`` accounts, simulator posts as templates (see the docstring)."""
    block = 20_000
    templates, niches = simulator_posts(block * per_account, seed)
    templates_decoded = [orjson.loads(value) for _key, value in templates]
    block = len(templates_decoded) // per_account
    posts: list[tuple[bytes, bytes]] = []
    for j in range(per_account):  # every account's first post, then every account's second, ...
        for i in range(accounts):
            event = dict(templates_decoded[i % block + j * block])
            platform = event["platform"]
            event.update(account_id=f"{platform}:hc{i:07d}", handle=f"hc{i:07d}", post_id=f"{platform}:hc{i:07d}-{j}")
            posts.append((event["account_id"].encode(), orjson.dumps(event)))
    return posts, niches


def simulator_posts(n: int, seed: int) -> tuple[list[tuple[bytes, bytes]], dict[str, list[str]]]:
    from streams.feeds.simulator import Scenario

    scenario = Scenario(seed, accounts=max(20, math.ceil(n / POSTS_PER_ACCOUNT)), days=30)
    posts: list[tuple[bytes, bytes]] = []
    for event in scenario.events():
        if event["kind"] == "post":
            posts.append((event["account_id"].encode(), orjson.dumps(event)))
            if len(posts) == n:
                break
    return posts, scenario.niches


async def produce(bootstrap: str, topic: str, posts: list[tuple[bytes, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50, max_batch_size=512 * 1024, acks=1)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in posts]
        await producer.flush()
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


# ------------------------------------------------------------------------ (a) and (a+)
async def raw_consume(bootstrap: str, topic: str, n: int, pipeline: object | None = None) -> tuple[float, float]:
    """Posts/s from the first non-empty fetch to the n-th post (per wall and per CPU second)."""
    from aiokafka import AIOKafkaConsumer

    from streams.pipeline import Record

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest", enable_auto_commit=False,
        max_poll_records=10_000, fetch_max_bytes=50 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    got, started, cpu_started, loads = 0, None, 0.0, orjson.loads
    try:
        while got < n:
            fetched = await consumer.getmany(timeout_ms=1000)
            for tp, batch in fetched.items():
                if started is None:
                    started, cpu_started = time.perf_counter(), time.process_time()
                if pipeline is None:
                    for record in batch:
                        loads(record.value)
                else:
                    pipeline.process([Record(tp.topic, tp.partition, r.offset, r.key, r.value) for r in batch])  # type: ignore[attr-defined]
                got += len(batch)
        return got / (time.perf_counter() - started), got / (time.process_time() - cpu_started)  # type: ignore[operator]
    finally:
        await consumer.stop()


class MemoryTable:
    """The accounts table of (a+): a dict per partition, as the worker's table holds states."""

    def __init__(self) -> None:
        self.partition = 0
        self.writer = self
        self.data: dict[tuple[int, bytes], object] = {}

    def get(self, partition: int, key: bytes) -> object:
        return self.data.get((partition, key))

    def put(self, partition: int, key: bytes, value: object) -> None:
        self.data[(partition, key)] = value

    def skip(self, key: bytes, exc: Exception) -> None:
        raise RuntimeError(f"bad state for {key!r}: {exc}")


def our_pipeline(niches: list[NicheDefinition]) -> object:
    """The worker's batch pipeline over an in-memory table, every niche set."""
    from streams.metrics import Metrics, new_registry
    from streams.native_engine import NativeWorkerEngine
    from streams.pipeline import Pipeline

    engine = NativeWorkerEngine()
    for niche in niches:
        engine.set_niche(niche)
    return Pipeline(engine, Metrics(new_registry(process_collectors=False)), MemoryTable())  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- processes
def stop(process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def naive_rate(bootstrap: str, topic: str, n: int, store: str, work: Path, timeout: float = 600.0) -> dict:
    result = work / "naive.json"
    with (work / "naive.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "naive_agent.py"), bootstrap, topic, "bench-naive", store,
             str(work / "naive-data"), str(n), str(result)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
        )
    try:
        deadline = time.monotonic() + timeout
        while not result.exists():
            if process.poll() is not None:
                raise RuntimeError(f"naive agent exited with {process.returncode}; see {work / 'naive.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"naive agent did not reach {n} posts in {timeout:.0f}s")
            time.sleep(0.5)
        time.sleep(0.2)
        return json.loads(result.read_text())
    finally:
        stop(process)


class Worker:
    """`python -m streams.cli worker` configured like tests/kafka_helpers.WorkerProcess."""

    def __init__(self, bootstrap: str, app_id: str, topics: dict[str, str], store: str, work: Path) -> None:
        from streams.kafka_local import free_port

        self.bootstrap, self.app_id, self.topics, self.work = bootstrap, app_id, topics, work
        self.metrics_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("NICHEWATCH_")}
        env.update(
            NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS=bootstrap,
            NICHEWATCH_APP_ID=app_id,
            NICHEWATCH_DATA_DIR=str(work / f"data-{app_id}"),
            NICHEWATCH_WEB_PORT=str(free_port()),
            NICHEWATCH_METRICS_PORT=str(self.metrics_port),
            NICHEWATCH_TOPIC_PARTITIONS=str(PARTITIONS),
            NICHEWATCH_STORE=store,
            **{f"NICHEWATCH_TOPIC_{k.upper()}": v for k, v in topics.items()},
        )
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def settings(self):  # noqa: ANN201
        return load_settings(kafka_bootstrap_servers=self.bootstrap, **{f"topic_{k}": v for k, v in self.topics.items()})

    def create_topics(self) -> None:
        subprocess.run([sys.executable, "-m", "streams.cli", "topics", "create"], env=self.env, cwd=self.work,
                       check=True, capture_output=True, timeout=120)

    def start(self, profile: Path | None = None) -> None:
        command = [sys.executable, "-m", "streams.cli", "worker"]
        if profile is not None:
            command[1:1] = ["-m", "cProfile", "-o", str(profile)]
        with (self.work / f"{self.app_id}.log").open("wb") as log:
            self.process = subprocess.Popen(command, env=self.env, cwd=self.work, stdout=log, stderr=subprocess.STDOUT,
                                            preexec_fn=die_with_parent)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the worker process so far (all its threads)."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def gauges(self, *names: str) -> dict[str, float] | None:
        """Values of the worker's unlabelled gauges of those names (None: /metrics not reachable)."""
        from prometheus_client.parser import text_string_to_metric_families

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return None
        return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples
                if s.name in names}

    def memory(self, accounts: int, rss_at_start: int, timeout: float = 8.0) -> dict:
        """RSS and state bytes per tracked account, once the gauges count ``accounts`` (refreshed every 5 s)."""
        deadline, values = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            values = self.gauges("nichewatch_accounts_tracked", "nichewatch_state_size_bytes") or {}
            if values.get("nichewatch_accounts_tracked", 0) >= accounts:
                break
            time.sleep(0.5)
        tracked = values.get("nichewatch_accounts_tracked", 0.0)
        rss = self.rss_bytes()
        state = values.get("nichewatch_state_size_bytes")
        return {
            "accounts_tracked": tracked, "rss_bytes": rss, "rss_at_start_bytes": rss_at_start,
            "rss_per_account": rss / tracked if tracked else None,
            "rss_growth_per_account": (rss - rss_at_start) / tracked if tracked else None,
            "state_bytes": state, "state_bytes_per_account": state / tracked if tracked and state is not None else None,
        }

    def processed(self) -> float | None:
        from prometheus_client.parser import text_string_to_metric_families

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return None
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "nichewatch_processing_latency_seconds_count" and sample.labels.get("kind") == "post":
                    total += sample.value
                elif sample.name == "nichewatch_events_ingested_total" and sample.labels.get("outcome") != "accepted":
                    total += sample.value
                elif sample.name == "nichewatch_events_rekeyed_total":
                    total += sample.value
        return total

    def measure(self, n: int, committed, timeout: float = 900.0) -> dict:  # noqa: ANN001
        """Poll until all n posts are processed and committed; rates as in the module docstring."""
        assert self.process is not None
        started = time.perf_counter()
        first = done = all_committed = None
        idle: tuple[float, float, int] | None = None  # (time, cpu, rss) of the last poll that saw none processed
        first_count = 0.0
        while all_committed is None:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}; see {self.work / (self.app_id + '.log')}")
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"worker did not finish {n} posts in {timeout:.0f}s (processed {self.processed()})")
            now = time.perf_counter()
            count = self.processed() or 0.0
            if first is None and count == 0:
                idle = now, self.cpu_seconds(), self.rss_bytes()
            if first is None and count > 0:
                first, first_count, cpu_first, rss_first = now, count, self.cpu_seconds(), self.rss_bytes()
                if count >= n:  # all in one poll interval: time them from the last poll that saw none
                    if idle is None:
                        raise RuntimeError(f"the first poll of the worker's metrics saw all {n} posts processed")
                    (first, cpu_first, rss_first), first_count = idle, 0.0
            if done is None and count >= n:
                done, cpu_done = now, self.cpu_seconds()
            if done is not None and committed():
                all_committed = time.perf_counter()
            time.sleep(POLL_S)
        return {
            "posts": n,
            "startup_s": first - started,  # type: ignore[operator]  spawn to first post counted
            "processing_s": done - first,  # type: ignore[operator]
            "rate": (n - first_count) / (done - first),  # type: ignore[operator]
            "rate_to_committed": (n - first_count) / (all_committed - first),  # type: ignore[operator]
            "cpu_seconds": cpu_done - cpu_first,
            "cpu_rate": (n - first_count) / (cpu_done - cpu_first),
            "counted_at_first_poll": first_count,
            "rss_at_first_poll": rss_first,
        }


def committed_equals_end(bootstrap: str, group: str, topic: str):  # noqa: ANN201
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    admin, consumer = KafkaAdminClient(bootstrap_servers=bootstrap), KafkaConsumer(bootstrap_servers=bootstrap)
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    end = consumer.end_offsets(partitions)
    consumer.close()

    def check() -> bool:
        offsets = admin.list_group_offsets(group).get(group, {})
        return all(tp in offsets and offsets[tp].offset == end[tp] for tp in partitions)

    check.close = admin.close  # type: ignore[attr-defined]
    return check


# ------------------------------------------------------------------------------ profile
OURS = ("/streams/", "/schemas/")
GROUPS = (  # needles matched against "file:function" (a built-in's file is "~")
    ("native engine (streams._native calls)", ("streams._native.",)),
    ("decode (schemas/, pydantic)", ("/schemas/", "pydantic")),
    ("streams/core/ (tag book, niche matcher)", ("/streams/core/",)),
    ("pipeline + agents + writers (streams/)", ("/streams/",)),
    ("faust + mode", ("/faust/", "/mode/")),
    ("aiokafka + kafka", ("/aiokafka/", "/kafka/")),
    ("asyncio + selectors", ("/asyncio/", "selectors.py")),
    ("prometheus_client", ("prometheus_client",)),
)
HOT = (  # functions whose direct callees are listed
    ("faust_batch.py", "_drain_batches"),
    ("agents/accounts.py", "_handle"),
    ("streams/pipeline.py", "_process"),
    ("agents/accounts.py", "deliver"),
    ("niche_tags.py", "apply"),
    ("faust_batch.py", "flush"),
)


def profile_report(path: Path, top: int = 25) -> str:
    stats = pstats.Stats(str(path))
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in raw.values())
    lines = [f"profile {path} (whole worker process incl. start-up; cProfile overhead inflates small calls)",
             f"  total self time {total:.2f}s; self time by component:"]
    by_group: dict[str, float] = defaultdict(float)
    for (filename, _line, name), (_cc, _nc, tt, _ct, _callers) in raw.items():
        label = "other (builtins, C calls, stdlib)"
        where = f"{filename}:{name}"
        for group, needles in GROUPS:
            if any(needle in where for needle in needles):
                label = group
                break
        by_group[label] += tt
    for label, tt in sorted(by_group.items(), key=lambda item: -item[1]):
        lines.append(f"    {label:<40} {tt:7.2f}s {100 * tt / total:5.1f}%")
    idle = sum(tt for (f, _l, name), (_cc, _nc, tt, _ct, _c) in raw.items() if name == "<method 'poll' of 'select.epoll' objects>")
    lines.append(f"  of which waiting in epoll (idle): {idle:.2f}s; busy: {total - idle:.2f}s")
    stats.calc_callees()
    callees = stats.all_callees  # type: ignore[attr-defined]
    for file_end, func in HOT:
        for key, (_cc, nc, _tt, ct, _callers) in raw.items():
            if key[0].endswith(file_end) and key[2] == func:
                lines.append(f"  {file_end}:{key[1]}({func}) {ct:.2f}s cum, {nc} calls, "
                             f"{100 * ct / max(total - idle, 1e-9):.0f}% of busy time; direct callees by time:")
                ranked_callees = sorted(callees.get(key, {}).items(), key=lambda item: -item[1][3])[:8]
                for (c_file, c_line, c_name), (_c_cc, c_nc, _c_tt, c_ct) in ranked_callees:
                    short = "/".join(c_file.split("/")[-2:])
                    lines.append(f"      {c_ct:7.2f}s {c_nc:>8}  {short}:{c_line}({c_name})")
    lines.append(f"  top {top} by self time:")
    ranked = sorted(raw.items(), key=lambda item: -item[1][2])[:top]
    for (filename, line, name), (_cc, nc, tt, ct, _callers) in ranked:
        short = "/".join(filename.split("/")[-2:])
        lines.append(f"    {tt:6.2f}s self {ct:6.2f}s cum {nc:>9}  {short}:{line}({name})")
    return "\n".join(lines)


# --------------------------------------------------------------------------------- main
def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fmt_bytes(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} B"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--accounts", type=int, default=0,
                        help="high cardinality: this many distinct accounts, --posts-per-account each (replaces --posts)")
    parser.add_argument("--posts-per-account", type=int, default=1, choices=(1, 2, 3))
    parser.add_argument("--naive-posts", type=int, default=20_000)
    parser.add_argument("--store", default="memory://", choices=("memory://", "rocksdb://"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="also run the worker once under cProfile")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, profile)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="nichewatch-bench-"))
    print(f"work dir {work}; load average {load()}", flush=True)
    started = time.perf_counter()
    if args.accounts:
        posts, niche_map = many_account_posts(args.accounts, args.posts_per_account, args.seed)
    else:
        posts, niche_map = simulator_posts(args.posts, args.seed)
    n = len(posts)
    accounts = len({k for k, _ in posts})
    observed = sorted(orjson.loads(v)["observed_at"] for _, v in (posts[0], posts[-1]))
    span_days = (datetime.fromisoformat(observed[1].replace("Z", "+00:00"))
                 - datetime.fromisoformat(observed[0].replace("Z", "+00:00"))).total_seconds() / 86400
    sizes = sorted(len(v) for _, v in posts)
    print(f"input: {n:,} {'templated' if args.accounts else 'simulator'} posts, {accounts:,} accounts over {span_days:.1f} simulated days, value bytes median "
          f"{sizes[n // 2]} (min {sizes[0]}, max {sizes[-1]}), generated in {time.perf_counter() - started:.1f}s", flush=True)
    niches = [NicheDefinition(name=name, tags=tags) for name, tags in niche_map.items()]

    broker = LocalKafka(run_dir=work / "kafka")
    broker.start(bound_to_parent=True)
    results: dict[str, object] = {"posts": n, "accounts": accounts, "store": args.store}
    try:
        bootstrap = broker.bootstrap_servers
        topics = {name: f"bench-{name}" for name in TOPICS}
        worker = Worker(bootstrap, "bench-worker", topics, args.store, work)
        worker.create_topics()
        from streams.niche_config import write_niche

        for niche in niches:
            write_niche(worker.settings(), niche, niche.name)
        t = time.perf_counter()
        asyncio.run(produce(bootstrap, topics["posts"], posts))
        print(f"produced {n:,} posts to {topics['posts']} ({PARTITIONS} partitions) in {time.perf_counter() - t:.1f}s", flush=True)
        del posts

        row = "{:<48} {:>10,.0f} posts/s  {:>10,.0f} per CPU-s{}"
        a, a_cpu = asyncio.run(raw_consume(bootstrap, topics["posts"], n))
        print(row.format("(a)  aiokafka getmany + orjson.loads", a, a_cpu, ""), flush=True)
        a_plus, a_plus_cpu = asyncio.run(raw_consume(bootstrap, topics["posts"], n, our_pipeline(niches)))
        print(row.format("(a+) aiokafka getmany + Pipeline.process", a_plus, a_plus_cpu, ""), flush=True)
        naive = naive_rate(bootstrap, topics["posts"], min(args.naive_posts, n), args.store, work)
        b, b_cpu = naive["rate"], naive["cpu_rate"]
        print(row.format("(b)  naive Faust agent, Table write per post", b, b_cpu, f"  (first {naive['posts']:,} posts)"), flush=True)

        committed = committed_equals_end(bootstrap, worker.app_id, topics["posts"])
        worker.start()
        try:
            c_run = worker.measure(n, committed)
            memory = worker.memory(accounts, c_run["rss_at_first_poll"])
        finally:
            worker.stop()
            committed.close()  # type: ignore[attr-defined]
        c, c_cpu = c_run["rate"], c_run["cpu_rate"]
        print(row.format("(c)  nichewatch worker (streams.cli worker)", c, c_cpu,
                         f"  (first consumption -> all processed in {c_run['processing_s']:.2f}s;"
                         f" start-up {c_run['startup_s']:.1f}s excluded)"), flush=True)
        print(f"{'     ... to committed offsets == end offsets':<48} {c_run['rate_to_committed']:>10,.0f} posts/s", flush=True)
        results.update(a=a, a_cpu=a_cpu, a_plus=a_plus, a_plus_cpu=a_plus_cpu, b=b, b_cpu=b_cpu, c=c, c_cpu=c_cpu,
                       c_run=c_run, naive=naive, memory=memory)

        if args.profile:
            profiled = Worker(bootstrap, "bench-profile", {**topics, "alerts": "bench-profile-alerts",
                                                           "influencers": "bench-profile-influencers"}, args.store, work)
            profiled.create_topics()
            prof_path = work / "worker.prof"
            committed = committed_equals_end(bootstrap, profiled.app_id, topics["posts"])
            profiled.start(profile=prof_path)
            try:
                p_run = profiled.measure(n, committed)
            finally:
                profiled.stop()
                committed.close()  # type: ignore[attr-defined]
            print(row.format("(c') the same worker under cProfile", p_run["rate"], p_run["cpu_rate"], ""), flush=True)
            results["profile_rate"] = p_run["rate"]
            if prof_path.exists():
                report = profile_report(prof_path)
                print(report)
                kept = Path(tempfile.gettempdir()) / "nichewatch-bench-worker.prof"
                shutil.copy(prof_path, kept)
                print(f"profile kept at {kept} (python -m pstats {kept})")
            else:
                print("no profile written (worker did not exit cleanly)")
    finally:
        broker.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"store {args.store}, {n:,} posts, {accounts:,} accounts, load average {load()} on {os.cpu_count()} CPUs")
    print("                                         wall    per CPU-s")
    print(f"  c/a  worker vs raw consumer ceiling   {c / a:6.3f}   {c_cpu / a_cpu:6.3f}")
    print(f"  c/a+ worker vs consumer + Pipeline    {c / a_plus:6.3f}   {c_cpu / a_plus_cpu:6.3f}")
    print(f"  c/b  worker vs naive Faust agent      {c / b:5.1f}x   {c_cpu / b_cpu:5.1f}x")
    verdict = "MET" if c >= TARGET else "NOT met"
    print(f"  target >= {TARGET:,} posts/s per worker: {verdict} ({c:,.0f} posts/s wall clock; "
          f"{c_cpu:,.0f} per CPU-second of the worker, i.e. with a whole core to itself)")
    print(f"  worker memory at the end: {memory['accounts_tracked']:,.0f} accounts tracked, RSS "
          f"{memory['rss_bytes'] / 2**20:,.0f} MiB = {fmt_bytes(memory['rss_per_account'])} per account "
          f"({fmt_bytes(memory['rss_growth_per_account'])} per account of growth since the first post processed, "
          f"from {memory['rss_at_start_bytes'] / 2**20:,.0f} MiB)")
    print(f"  state (nichewatch_state_size_bytes, encoded as on the changelog): {fmt_bytes(memory['state_bytes_per_account'])} "
          f"per account on average, {fmt_bytes(memory['state_bytes'])} in all")
    state = memory["state_bytes_per_account"]
    print(f"  target >= {TARGET_RATIO} of the raw-consumer ceiling: {'MET' if c / a >= TARGET_RATIO else 'NOT met'} "
          f"({c / a:.3f} wall, {c_cpu / a_cpu:.3f} per CPU-s)")
    if not args.accounts:
        print(f"  target state <= {TARGET_STATE_BYTES:,} B per account: "
              f"{'n/a' if state is None else 'MET' if state <= TARGET_STATE_BYTES else 'NOT met'} ({fmt_bytes(state)}; "
              f"the input spans {span_days:.1f} simulated days)")
    print("json " + json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
