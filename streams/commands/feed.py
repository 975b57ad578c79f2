"""`nichewatch feed simulate|replay`: put events on Kafka (the simulator live, or a JSONL export)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka.errors import KafkaError

from streams.cli import CliError
from streams.commands.simulate import add_scenario_arguments, build_scenario
from streams.feeds.publisher import EventPublisher, UnroutableEvent
from streams.settings import load_settings

PROGRESS_EVERY_S = 2.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("feed", help="publish events to Kafka: the live simulator or a JSONL export")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    simulate = actions.add_parser("simulate", help="publish the scenario generator's events to Kafka")
    add_scenario_arguments(simulate)
    simulate.set_defaults(seed=1)
    simulate.add_argument("--realtime", action="store_true",
                          help="pace events by their timestamps (ending at the current time) instead of as fast as possible")
    simulate.add_argument("--speed", type=float, default=8640.0,
                          help="with --realtime: simulated seconds per real second (default 8640: 30 days in 5 minutes)")
    simulate.set_defaults(func=simulate_feed)

    replay = actions.add_parser("replay", help="publish a JSONL export (one post or snapshot a line) to Kafka")
    replay.add_argument("file", type=Path)
    replay.set_defaults(func=replay_file)

    for sub in (simulate, replay):
        sub.add_argument("--quiet", action="store_true", help="no progress lines")


class _Progress:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.began = self.last = time.monotonic()

    def tick(self, count: int, extra: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if self.quiet or (not force and now - self.last < PROGRESS_EVERY_S):
            return
        self.last = now
        rate = count / max(now - self.began, 1e-9)
        print(f"feed: {count} events sent ({rate:,.0f}/s){extra}", file=sys.stderr, flush=True)


def simulate_feed(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        raise CliError("--speed must be positive")
    if args.realtime:
        # Shift the scenario so that its simulated clock reaches "now" as the feed ends:
        # every event is in the past when sent, as it would be from a real collector.
        args.start = datetime.now(UTC) - timedelta(days=args.days)
    scenario = build_scenario(args)
    publisher = _publisher()
    progress = _Progress(args.quiet)
    began = time.monotonic()
    first_ts: float | None = None
    try:
        for event in scenario.events():
            if args.realtime:
                ts = datetime.fromisoformat(event["observed_at"]).timestamp()
                first_ts = ts if first_ts is None else first_ts
                delay = began + (ts - first_ts) / args.speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            publisher.publish(event)
            progress.tick(publisher.sent, f", simulated {event['observed_at'][:16]}")
    except KeyboardInterrupt:
        pass
    except KafkaError as exc:
        raise CliError(f"cannot publish to Kafka: {exc}") from None
    finally:
        publisher.close()
    progress.tick(publisher.sent, " (done)", force=True)
    return 0


def replay_file(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise CliError(f"{args.file} is not a file")
    publisher = _publisher()
    progress = _Progress(args.quiet)
    skipped = 0
    try:
        with args.file.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    publisher.publish_raw(line.rstrip(b"\r\n"))
                except UnroutableEvent as exc:
                    skipped += 1
                    print(f"{args.file}:{number}: skipped: {exc}", file=sys.stderr)
                progress.tick(publisher.sent)
    except KafkaError as exc:
        raise CliError(f"cannot publish to Kafka: {exc}") from None
    finally:
        publisher.close()
    progress.tick(publisher.sent, f", {skipped} lines skipped (done)", force=True)
    return 0


def _publisher() -> EventPublisher:
    settings = load_settings()
    try:
        return EventPublisher(settings)
    except KafkaError as exc:
        raise CliError(
            f"cannot reach Kafka at {settings.kafka_bootstrap_servers} ({exc}); "
            "start one with `nichewatch kafka start` or set KAFKA_BOOTSTRAP_SERVERS"
        ) from None
