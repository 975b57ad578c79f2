"""`nichewatch kafka start|stop|status`: a local single-node Kafka for development."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from streams.cli import CliError
from streams.kafka_local import KAFKA_VERSION, KafkaToolingError, LocalKafka, ensure_jars
from streams.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("kafka", help=f"run a local Apache Kafka {KAFKA_VERSION} (KRaft) broker")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = actions.add_parser("start", help="fetch the jars (once) and start a broker in the background")
    start.add_argument("--port", type=int, default=9092, help="client port (default 9092)")
    start.set_defaults(func=start_broker)
    actions.add_parser("fetch", help="fetch the Kafka jars from Maven Central (once)").set_defaults(func=fetch_jars)
    stop = actions.add_parser("stop", help="stop the local broker")
    stop.set_defaults(func=stop_broker)
    status = actions.add_parser("status", help="is the local broker running, and where")
    status.set_defaults(func=broker_status)
    for sub in (start, stop, status):
        sub.add_argument("--run-dir", type=Path, help="broker data and log directory (default: CACHE_DIR/local-kafka)")


def _broker(args: argparse.Namespace) -> LocalKafka:
    settings = load_settings()
    run_dir = args.run_dir or settings.cache_dir / "local-kafka"
    return LocalKafka(run_dir=run_dir, cache_dir=settings.cache_dir)


def start_broker(args: argparse.Namespace) -> int:
    broker = _broker(args)
    if broker.is_running():
        print(f"already running (pid file {broker.pid_path}); `nichewatch kafka stop` first")
        return 0
    broker.port = args.port
    if not _port_free(args.port):
        raise CliError(f"port {args.port} is in use; pass --port N or stop what listens there")
    try:
        broker.start(bound_to_parent=False)
    except KafkaToolingError as exc:
        raise CliError(str(exc)) from None
    print(f"Kafka {KAFKA_VERSION} ready on {broker.bootstrap_servers} in {broker.startup_seconds:.1f}s")
    print(f"log: {broker.log_path}")
    print(f"use it: export KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap_servers}")
    return 0


def fetch_jars(args: argparse.Namespace) -> int:
    try:
        libs = ensure_jars(load_settings().cache_dir)
    except KafkaToolingError as exc:
        raise CliError(str(exc)) from None
    print(f"Kafka {KAFKA_VERSION} jars in {libs}")
    return 0


def stop_broker(args: argparse.Namespace) -> int:
    broker = _broker(args)
    if not broker.is_running():
        print("no local broker running")
        return 0
    broker.stop()
    print("stopped")
    return 0


def broker_status(args: argparse.Namespace) -> int:
    broker = _broker(args)
    if not broker.is_running():
        print("stopped")
        return 3
    ports = (broker.run_dir / "ports").read_text().split()
    print(f"running on 127.0.0.1:{ports[0]} (log {broker.log_path})")
    return 0


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
