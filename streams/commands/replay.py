"""`nichewatch replay`: run a JSON-lines export through the detection engine, no broker.

Analysts backtest thresholds this way before changing them in production: the same
engine and codec as the workers, fed from a file instead of Kafka.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import orjson
from pydantic import ValidationError

from schemas.codec import describe_validation_error, encode
from schemas.events import NicheDefinition
from streams.cli import CliError
from streams.core.config import HOUR, EngineConfig
from streams.core.engine import Engine, Output
from streams.core.replay import ReplayResult, replay
from streams.core.tagstats import TagBook

MAX_BAD_LINES_SHOWN = 100


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="run a JSON-lines export of posts/snapshots through the engine in-process",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("input", type=Path, metavar="INPUT.jsonl", help="one event per line ('-' for stdin)")
    parser.add_argument("--niches", type=Path, metavar="NICHES.json", help='{"niche": ["tag", ...]}')
    parser.add_argument("--alerts-out", type=Path, metavar="A.jsonl", help="write follower-spike alerts here")
    parser.add_argument("--influencers-out", type=Path, metavar="I.jsonl", help="write influencer profiles here")
    parser.add_argument(
        "--tags-out",
        type=Path,
        metavar="TAGS.json",
        help="write each niche's tag statistics, generic-tag flags and suggested tags here",
    )
    parser.add_argument(
        "--reorder-delay-hours",
        type=float,
        default=0.0,
        help="buffer each account this long in event time and apply in order (default 0: as read)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    niches = load_niches(args.niches) if args.niches else []
    if not niches:
        print("nichewatch replay: no --niches given: alerts only, no influencer profiles", file=sys.stderr)
    if args.reorder_delay_hours < 0:
        raise CliError("--reorder-delay-hours must be >= 0")
    tag_book = TagBook() if args.tags_out else None
    config = EngineConfig(reorder_delay_s=args.reorder_delay_hours * HOUR)
    engine = Engine(config, niches, tags=tag_book)
    with ExitStack() as stack:
        source = sys.stdin.buffer if str(args.input) == "-" else _open(stack, args.input, "rb")
        alerts_out = _open(stack, args.alerts_out, "wb") if args.alerts_out else None
        influencers_out = _open(stack, args.influencers_out, "wb") if args.influencers_out else None
        tags_out = _open(stack, args.tags_out, "wb") if args.tags_out else None

        def write(output: Output) -> None:
            sink = alerts_out if output.kind == "follower_spike_alert" else influencers_out
            if sink is not None:
                sink.write(encode(output) + b"\n")

        shown = 0

        def report(number: int, reason: str) -> None:
            nonlocal shown
            shown += 1
            if shown <= MAX_BAD_LINES_SHOWN:
                print(f"{args.input}:{number}: {reason}", file=sys.stderr)
            elif shown == MAX_BAD_LINES_SHOWN + 1:
                print(f"{args.input}: more bad lines not shown (all are counted)", file=sys.stderr)

        result = replay(source, engine, on_output=write, on_bad_line=report)
        for output in engine.flush():
            write(output)
            _count(result, output)
        if tags_out is not None and tag_book is not None:
            tags_out.write(tag_report_json(tag_book, engine.niche_names))
    print(summary(result))
    return 0


def load_niches(path: Path) -> list[NicheDefinition]:
    try:
        raw = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise CliError(f"niches file {path} does not exist") from None
    except orjson.JSONDecodeError as exc:
        raise CliError(f"niches file {path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or not raw:
        raise CliError(f'niches file {path} must be a non-empty JSON object {{"niche": ["tag", ...]}}')
    niches = []
    for name, tags in raw.items():
        try:
            niches.append(NicheDefinition(name=name, tags=tags))
        except ValidationError as exc:
            raise CliError(f"niche {name!r} in {path}: {describe_validation_error(exc)}") from None
    return niches


def tag_report_json(book: TagBook, niches: Iterable[str]) -> bytes:
    """``{niche: {"tags": [...], "suggested": [...], ...}}`` for every niche."""
    reports = {name: book.report(name).model_dump(mode="json", exclude={"kind", "schema_version", "niche"})
               for name in niches}
    return orjson.dumps(reports, option=orjson.OPT_INDENT_2) + b"\n"


def summary(result: ReplayResult) -> str:
    by_kind = result.alerts_by_classification
    return (
        f"events {result.events:,} (bad lines {result.bad_lines:,}, late dropped {result.late_dropped:,}); "
        f"accounts {result.accounts:,}; alerts suspected_purchase {by_kind['suspected_purchase']:,}, "
        f"organic_breakout {by_kind['organic_breakout']:,}; profiles {result.profiles_emitted:,}; "
        f"{result.elapsed_s:.2f}s, {result.events_per_second:,.0f} events/s"
    )


def _count(result: ReplayResult, output: Output) -> None:
    if output.kind == "follower_spike_alert":
        result.alerts.append(output)  # type: ignore[arg-type]
    else:
        result.profiles[output.account_id] = output  # type: ignore[assignment]
        result.profiles_emitted += 1


def _open(stack: ExitStack, path: Path, mode: str) -> IO[bytes]:
    try:
        return stack.enter_context(open(path, mode))  # noqa: SIM115 - closed by the stack
    except FileNotFoundError:
        raise CliError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise CliError(f"{path} is a directory") from None
    except PermissionError:
        raise CliError(f"cannot open {path}: permission denied") from None
