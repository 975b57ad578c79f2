"""`nichewatch demo`: the whole system on this machine, watched from the terminal.

    local Kafka ─► topics + sample niches ─► worker (metrics, HTTP API)
                                  ▲                       │
    feed simulate --realtime ─────┘        alerts, throughput, lag, top influencers
                                                          ▼
                                         this terminal (and Prometheus, if installed)

Every child process is started bound to this one (it dies with it), and Ctrl-C stops
them in reverse order, so nothing is left behind.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from kafka import KafkaConsumer

from schemas.events import NicheDefinition
from streams.cli import CliError
from streams.commands.alerts import describe_alert
from streams.core.tagstats import TagStatsConfig
from streams.feeds.catalogue import canonical_niches
from streams.kafka_config import kafka_python_config
from streams.live_status import status_line, top_lines
from streams.kafka_local import KafkaToolingError, LocalKafka, die_with_parent, free_port
from streams.niche_config import write_niche
from streams.niche_tags import TagNewsFeed
from streams.settings import Settings, load_settings
from streams.topic_admin import create_topics

PROMETHEUS_CONFIG = Path(__file__).resolve().parents[2] / "prometheus"
STATUS_EVERY_S = 5.0
TOP_EVERY_S = 30.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run Kafka, a worker and a live feed here; watch alerts live")
    parser.add_argument("--accounts", type=int, default=300, help="simulated accounts (default 300)")
    parser.add_argument("--days", type=int, default=14, help="simulated days (default 14)")
    parser.add_argument("--speed", type=float, default=10_080.0,
                        help="simulated seconds per real second (default 10080: a week a minute)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: at Ctrl-C)")
    parser.add_argument("--source", choices=("simulator", "mastodon", "bluesky"), default="simulator",
                        help="where posts come from: the simulator (default) or a real platform's collector")
    parser.add_argument("--instance", action="append", metavar="URL",
                        help="with --source mastodon: a server to collect from (repeatable)")
    parser.set_defaults(func=run)


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        self.running.append((name, process))
        return process

    def stop_all(self, grace_s: float = 20.0) -> None:
        """SIGTERM everything at once (newest first), then kill what is still up after the grace period."""
        for _, process in reversed(self.running):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for name, process in reversed(self.running):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"demo: {name} did not stop in {grace_s:.0f}s; killing it", file=sys.stderr)
                process.kill()
                process.wait()
        self.running.clear()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    # Ctrl-C and SIGTERM both stop the demo cleanly, even when started from a shell that
    # ignores SIGINT for background jobs (Python then installs no handler of its own).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    settings = load_settings()
    if args.source == "mastodon" and not args.instance:
        raise CliError("--source mastodon needs --instance URL")
    external = "kafka_bootstrap_servers" in settings.model_fields_set
    workdir = Path(tempfile.mkdtemp(prefix="nichewatch-demo-"))
    processes = Processes(workdir)
    broker: LocalKafka | None = None
    web_port = free_port()
    print(f"demo: console http://127.0.0.1:{web_port}/ (leaderboards and flagged accounts; "
          "answers once the worker is up)", flush=True)
    try:
        if not external:
            broker = LocalKafka(run_dir=workdir / "kafka", cache_dir=settings.cache_dir)
            print("demo: starting a local Kafka (first run fetches the jars from Maven Central) ...", flush=True)
            try:
                broker.start(bound_to_parent=True)
            except KafkaToolingError as exc:
                raise CliError(str(exc)) from None
            print(f"demo: Kafka ready on {broker.bootstrap_servers} in {broker.startup_seconds:.1f}s", flush=True)
            settings = load_settings(kafka_bootstrap_servers=broker.bootstrap_servers)
        create_topics(settings)
        for name, tags in canonical_niches().items():
            write_niche(settings, NicheDefinition(name=name, tags=tags), name)
        print(f"demo: topics created; niches: {', '.join(sorted(canonical_niches()))}", flush=True)
        env = _child_env(settings, workdir, web_port)
        cli = [sys.executable, "-m", "streams.cli"]
        processes.start("worker", [*cli, "worker"], env)
        web, metrics = env["NICHEWATCH_WEB_PORT"], env["NICHEWATCH_METRICS_PORT"]
        print(f"demo: worker HTTP API http://127.0.0.1:{web}/alerts/recent , "
              f"/niches/<niche>/top , /accounts/<account_id>", flush=True)
        print(f"demo: metrics http://127.0.0.1:{metrics}/metrics", flush=True)
        _maybe_start_prometheus(processes, workdir, int(metrics))
        if args.source == "simulator":
            processes.start("feed", [*cli, "feed", "simulate", "--realtime", "--quiet", "--seed", str(args.seed),
                                     "--accounts", str(args.accounts), "--days", str(args.days),
                                     "--speed", str(args.speed)], env)
            print(f"demo: live feed started ({args.accounts} accounts, {args.days} simulated days at "
                  f"{args.speed:,.0f}x); logs in {workdir}; Ctrl-C stops everything", flush=True)
        else:
            _start_collector(processes, cli, env, workdir, args)
        _watch(settings, int(web), int(metrics), args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        print("demo: stopping ...", flush=True)
        processes.stop_all()
        if broker is not None:
            broker.stop()
        print("demo: stopped", flush=True)
    return 0


def _start_collector(processes: Processes, cli: list[str], env: dict[str, str], workdir: Path,
                     args: argparse.Namespace) -> None:
    """Real posts of the demo's niches from a platform (where the network allows)."""
    port = free_port()
    collector_env = {**env, "NICHEWATCH_COLLECTOR_STATE_DIR": str(workdir / "collector-state"),
                     "NICHEWATCH_COLLECTOR_METRICS_PORT": str(port)}
    instances = [part for url in args.instance or [] for part in ("--instance", url)]
    processes.start("collector", [*cli, "collect", args.source, *instances], collector_env)
    print(f"demo: {args.source} collector started (metrics http://127.0.0.1:{port}/metrics); real posts arrive "
          f"as they are published, so alerts take longer than with the simulator; logs in {workdir}; "
          "Ctrl-C stops everything", flush=True)


def _child_env(settings: Settings, workdir: Path, web_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers,
        NICHEWATCH_DATA_DIR=str(workdir / "worker-data"),
        NICHEWATCH_WEB_PORT=str(web_port),
        NICHEWATCH_METRICS_PORT=str(free_port()),
    )
    return env


def _maybe_start_prometheus(processes: Processes, workdir: Path, metrics_port: int) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        print("demo: no prometheus binary on this machine; skipping Prometheus (apt-get install prometheus)")
        return
    config = workdir / "prometheus"
    shutil.copytree(PROMETHEUS_CONFIG, config, ignore=shutil.ignore_patterns("tests"))
    (config / "targets").mkdir(exist_ok=True)
    (config / "targets" / "worker.json").write_bytes(orjson.dumps([{"targets": [f"127.0.0.1:{metrics_port}"]}]))
    port = free_port()
    processes.start("prometheus", [binary, f"--config.file={config / 'prometheus.local.yml'}",
                                   f"--storage.tsdb.path={config / 'data'}",
                                   f"--web.listen-address=127.0.0.1:{port}"], dict(os.environ))
    print(f"demo: Prometheus http://127.0.0.1:{port} (rules loaded from prometheus/rules.yml)", flush=True)


def _watch(settings: Settings, web_port: int, metrics_port: int, duration: float) -> None:
    consumer = KafkaConsumer(settings.topic_alerts, settings.topic_niche_tags, **kafka_python_config(settings),
                             group_id=None, auto_offset_reset="earliest", enable_auto_commit=False)
    tag_news = TagNewsFeed(TagStatsConfig().strong_suggestion)
    began = last_status = time.monotonic()
    last_top = began
    previous: tuple[float, float] | None = None
    try:
        while not duration or time.monotonic() - began < duration:
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    if record.topic == settings.topic_niche_tags:
                        news = tag_news.line(record.key, record.value)
                        if news is not None:
                            print("TAGS " + news, flush=True)
                        continue
                    print("ALERT " + describe_alert(orjson.loads(record.value)), flush=True)
            now = time.monotonic()
            if now - last_status >= STATUS_EVERY_S:
                last_status = now
                line, previous = status_line(metrics_port, previous)
                print(line, flush=True)
            if now - last_top >= TOP_EVERY_S:
                last_top = now
                for line in top_lines(web_port, sorted(canonical_niches())):
                    print(line, flush=True)
    finally:
        consumer.close()
