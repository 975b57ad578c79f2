"""`nichewatch niches add|remove|list|report`: change the tracked niches at runtime, judge their tags."""

from __future__ import annotations

import argparse

from kafka.errors import KafkaError
from pydantic import ValidationError

from schemas.codec import describe_validation_error
from schemas.events import NicheDefinition
from streams.cli import CliError
from streams.niche_config import read_niches, write_niche
from streams.niche_tags import format_report, read_tag_report
from streams.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("niches", help="add, remove or list tracked niches (applies without restart)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add or replace a niche: NAME TAG [TAG ...]")
    add.add_argument("name")
    add.add_argument("tags", nargs="+", help="hashtags, with or without '#'")
    add.add_argument("--description")
    add.set_defaults(func=add_niche)
    remove = actions.add_parser("remove", help="stop tracking a niche")
    remove.add_argument("name")
    remove.set_defaults(func=remove_niche)
    listing = actions.add_parser("list", help="the niches workers are tracking")
    listing.set_defaults(func=list_niches)
    report = actions.add_parser("report", help="a niche's tags: statistics, generic flags, suggested tags")
    report.add_argument("name")
    report.set_defaults(func=report_niche)


def add_niche(args: argparse.Namespace) -> int:
    try:
        niche = NicheDefinition(name=args.name, tags=args.tags, description=args.description)
    except ValidationError as exc:
        raise CliError(f"invalid niche: {describe_validation_error(exc)}") from None
    _write(niche, args.name)
    print(f"niche {niche.name}: {' '.join(niche.tags)}")
    return 0


def remove_niche(args: argparse.Namespace) -> int:
    _write(None, args.name)
    print(f"niche {args.name} removed")
    return 0


def list_niches(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        niches = read_niches(settings)
    except (KafkaError, TimeoutError) as exc:
        raise CliError(f"cannot read {settings.topic_niches} on {settings.kafka_bootstrap_servers}: {exc}") from None
    if not niches:
        print("no niches; add one with `nichewatch niches add NAME TAG [TAG ...]`")
    for name in sorted(niches):
        print(f"{name:24} {' '.join(niches[name].tags)}")
    return 0


def report_niche(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        report = read_tag_report(settings, args.name)
    except (KafkaError, TimeoutError) as exc:
        raise CliError(f"cannot read {settings.topic_niche_tags} on {settings.kafka_bootstrap_servers}: {exc}") from None
    if report is None:
        raise CliError(
            f"no tag report for niche {args.name} on {settings.topic_niche_tags} yet "
            f"(workers publish one every {settings.tag_report_interval_s:g}s once the niche has posts)"
        )
    print(format_report(report))
    return 0


def _write(niche: NicheDefinition | None, name: str) -> None:
    settings = load_settings()
    try:
        write_niche(settings, niche, name)
    except KafkaError as exc:
        raise CliError(
            f"cannot write to {settings.topic_niches} on {settings.kafka_bootstrap_servers}: {exc} "
            "(is Kafka running and were topics created with `nichewatch topics create`?)"
        ) from None
