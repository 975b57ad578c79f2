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
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    import gc

    from faust import Worker

    from streams import __version__
    from streams.app import build_app
    from streams.metrics import serve

    worker = build_app(settings)
    server = serve(worker.metrics, settings.web_host, settings.metrics_port)
    worker.metrics.mark_started(__version__)
    # Long-lived state objects make the default generation-0 threshold collect constantly;
    # freezing start-up objects and collecting less often halves time spent in the hot path.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        Worker(worker.app, loglevel=settings.log_level.lower()).execute_from_commandline()
    finally:  # execute_from_commandline leaves through SystemExit; Faust handles SIGINT/SIGTERM
        worker.metrics.mark_stopped()
        if server is not None:
            server.close()
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
