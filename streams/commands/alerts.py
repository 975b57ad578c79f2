"""`nichewatch alerts tail`: follow the alert topic, human-readable or as JSON lines."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson
from kafka import KafkaConsumer
from kafka.errors import KafkaError

from streams.cli import CliError
from streams.kafka_config import kafka_python_config
from streams.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("alerts", help="read the follower-spike alert topic")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    tail = actions.add_parser("tail", help="follow alerts as they are published (Ctrl-C to stop)")
    tail.add_argument("--json", action="store_true", help="print each alert as one JSON line")
    tail.add_argument("--from-beginning", action="store_true", help="start at the oldest retained alert")
    tail.add_argument("--max", type=int, default=0, help="stop after this many alerts (0: never)")
    tail.add_argument("--idle-timeout", type=float, default=0.0, help="stop after this many seconds without alerts")
    tail.set_defaults(func=tail_alerts)


def describe_alert(alert: dict[str, Any]) -> str:
    """One line an operator can read: when, who, what, and the strongest evidence."""
    evidence = "; ".join(item.get("detail", "") for item in alert.get("evidence", [])[:2])
    niches = ",".join(alert.get("niches") or []) or "-"
    return (
        f"{alert.get('detected_at', '?')[:19]}  {alert.get('classification', '?'):18}  "
        f"{alert.get('account_id', '?')}  [{niches}]  "
        f"{alert.get('followers_before', '?')} -> {alert.get('followers_after', '?')} followers  {evidence}"
    )


def tail_alerts(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        consumer = KafkaConsumer(
            settings.topic_alerts,
            **kafka_python_config(settings),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if args.from_beginning else "latest",
            consumer_timeout_ms=int(args.idle_timeout * 1000) if args.idle_timeout else float("inf"),
        )
    except KafkaError as exc:
        raise CliError(f"cannot reach Kafka at {settings.kafka_bootstrap_servers}: {exc}") from None
    shown = 0
    try:
        for record in consumer:
            if args.json:
                sys.stdout.write(record.value.decode() + "\n")
            else:
                print(describe_alert(orjson.loads(record.value)))
            sys.stdout.flush()
            shown += 1
            if args.max and shown >= args.max:
                break
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0
