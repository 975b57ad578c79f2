"""`nichewatch worker`: run one Faust worker of the nichewatch consumer group."""

from __future__ import annotations

import argparse

from kafka.errors import KafkaError

from streams.cli import CliError
from streams.settings import Settings, load_settings
from streams.topic_admin import missing_topics


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run a worker (configure with NICHEWATCH_* variables; see README)",
        description="Run a nichewatch worker. More workers with the same NICHEWATCH_APP_ID share the partitions.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()  # fails here, before Faust starts, when configuration is wrong
    _require_topics(settings)
    from faust import Worker

    from streams.app import build_app

    app = build_app(settings)
    worker = Worker(app, loglevel=settings.log_level.lower())
    worker.execute_from_commandline()  # returns only via SystemExit; Faust handles SIGINT/SIGTERM
    return 0


def _require_topics(settings: Settings) -> None:
    try:
        missing = missing_topics(settings)
    except KafkaError as exc:
        raise CliError(
            f"cannot reach Kafka at {settings.kafka_bootstrap_servers} ({exc}); start one with "
            "`nichewatch kafka start` or set KAFKA_BOOTSTRAP_SERVERS"
        ) from None
    if missing:
        raise CliError("missing topics: " + ", ".join(missing) + "; run `nichewatch topics create` first")
