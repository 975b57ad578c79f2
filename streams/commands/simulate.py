"""`nichewatch simulate`: write a labelled synthetic scenario to files (no broker needed).

    nichewatch simulate --seed 1 [--family second] --out events.jsonl --truth truth.jsonl --niches-out niches.json

``--family first`` (the default) is streams/feeds/simulator.py, the world detection is tuned
on; ``--family second`` is streams/feeds/second_family/, written independently and used
only to evaluate.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

from streams.cli import CliError
from streams.feeds.families import FAMILIES, AnyScenario
from streams.feeds.realism import WorldKnobs
from streams.feeds.simulator import DEFAULT_ACCOUNTS, DEFAULT_DAYS, DEFAULT_START


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate", help="generate a labelled synthetic feed (events, ground truth, niches) to files"
    )
    add_scenario_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="events JSONL (posts and snapshots)")
    parser.add_argument("--truth", type=Path, required=True, help="ground-truth JSONL, one injected incident a line")
    parser.add_argument("--niches-out", type=Path, required=True, help="niche definitions JSON {niche: [tags]}")
    parser.add_argument("--jitter-seconds", type=float, default=0.0,
                        help="events arrive up to this late, so observed_at is only mostly ordered (default 0)")
    parser.set_defaults(func=run)


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that define a scenario; shared with `nichewatch evaluate`."""
    # Not argparse-required so that a caller may set_defaults(seed=...); build_scenario insists.
    parser.add_argument("--seed", type=int, help="same seed, same scenario (required)")
    parser.add_argument("--family", choices=tuple(FAMILIES), default="first",
                        help="scenario generator: first (tuned on) or second (independent, evaluation only)")
    parser.add_argument("--accounts", type=int, default=DEFAULT_ACCOUNTS, help=f"default {DEFAULT_ACCOUNTS}")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"simulated days (default {DEFAULT_DAYS})")
    parser.add_argument("--start", type=_utc_instant, default=None,
                        help=f"simulated start, ISO-8601 UTC (default {DEFAULT_START.isoformat()} for the first "
                             "family, the second family's own otherwise)")


def build_scenario(
    args: argparse.Namespace, jitter_seconds: float = 0.0, knobs: WorldKnobs | None = None
) -> AnyScenario:
    if args.seed is None:
        raise CliError("--seed N is required: the same seed gives the same scenario")
    family = FAMILIES[getattr(args, "family", "first")]
    start = {} if args.start is None else {"start": args.start}
    try:
        return family(args.seed, args.accounts, args.days, **start, max_jitter_seconds=jitter_seconds, knobs=knobs)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    scenario = build_scenario(args, args.jitter_seconds)
    for path in (args.out, args.truth, args.niches_out):
        if not path.parent.is_dir():
            raise CliError(f"directory {path.parent} does not exist")
    began = time.perf_counter()
    count = scenario.write(args.out, args.truth, args.niches_out)
    elapsed = time.perf_counter() - began
    print(f"{count} events, {len(scenario.truth)} labelled incidents in {elapsed:.1f}s -> {args.out}")
    return 0


def _utc_instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 instant") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a timezone (e.g. 2026-03-01T00:00:00Z)")
    return value
