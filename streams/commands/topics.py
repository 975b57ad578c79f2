"""`nichewatch topics create|check`: the topics of DESIGN.md with the right configuration."""

from __future__ import annotations

import argparse

from kafka.errors import KafkaError

from streams.cli import CliError
from streams.settings import load_settings
from streams.topic_admin import create_topics, missing_topics
from streams.topics import topic_specs


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("topics", help="create or check nichewatch's Kafka topics")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("create", help="create every missing topic (idempotent)").set_defaults(func=create)
    actions.add_parser("check", help="list missing topics; exit 1 if any").set_defaults(func=check)


def create(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        created = create_topics(settings)
    except KafkaError as exc:
        raise CliError(f"cannot create topics on {settings.kafka_bootstrap_servers}: {exc}") from None
    for spec in topic_specs(settings):
        state = "created" if spec.name in created else "exists"
        print(f"{spec.name:32} {state:8} {spec.config()}")
    return 0


def check(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        missing = missing_topics(settings)
    except KafkaError as exc:
        raise CliError(f"cannot reach Kafka at {settings.kafka_bootstrap_servers}: {exc}") from None
    if missing:
        print("missing topics: " + ", ".join(missing) + " (run `nichewatch topics create`)")
        return 1
    print("all topics present")
    return 0
