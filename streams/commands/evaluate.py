"""`nichewatch evaluate`: generate a labelled scenario, replay it through the engine, score it.

    nichewatch evaluate --seed 1 [--family first|second] [--accounts 1500 --days 30] [--check]
    nichewatch evaluate --sweep --seed 1 [--family second] [--accounts 400] [--processes 2] [--check]

``--family second`` scores the independently written scenario family (never tune on it).
``--sweep`` varies the world one parameter at a time (streams/sweep.py) and prints
precision, recall and the honest-accounts-accused rate per setting; with ``--check`` it
fails when precision falls below 0.95 at any setting.

Everything runs in-process with the default engine configuration (no broker); with
``--alerts A.jsonl`` the alerts of another run (``nichewatch replay``, a topic dump) are
scored instead, against the same regenerated scenario. The exit code is 0 whatever the
scores, unless ``--check`` is given: then 1 when a target is missed, so CI can gate
threshold changes on it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from schemas.codec import encode
from schemas.events import NicheDefinition
from streams.cli import CliError
from streams.commands.simulate import add_scenario_arguments, build_scenario
from streams.core.config import EngineConfig
from streams.core.engine import Engine
from streams.core.replay import ReplayResult, replay
from streams.evaluation import (
    DEFAULT_GRACE, EvaluationResult, evaluate, follower_observations, format_false_alerts, format_report,
)
from streams.feeds.families import AnyScenario
from streams.feeds.simulator import DEFAULT_ACCOUNTS
from streams.sweep import SETTINGS, SWEEP_PRECISION, format_row, header, sweep

SWEEP_ACCOUNTS = 400


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="score the engine on a labelled synthetic scenario (precision, recall, delay)"
    )
    add_scenario_arguments(parser)
    parser.add_argument("--jitter-seconds", type=float, default=0.0,
                        help="deliver events up to this late, out of observed_at order (default 0)")
    parser.add_argument("--grace-hours", type=float, default=DEFAULT_GRACE.total_seconds() / 3600,
                        help="an alert may come this long after an incident ends and still count (default 24)")
    parser.add_argument("--alerts-out", type=Path, help="also write the engine's alerts (JSONL) here")
    parser.add_argument("--alerts", type=Path, metavar="A.jsonl",
                        help="score these alerts (e.g. from `nichewatch replay`) instead of running the engine")
    parser.add_argument("--influencers", type=Path, metavar="I.jsonl",
                        help="with --alerts: influencer profiles to check spam rankings against")
    parser.add_argument("--check", action="store_true", help="exit 1 when any target is missed")
    parser.add_argument("--show-false", type=int, default=0, metavar="N",
                        help="list the first N false purchase alerts with the account's labels and the evidence")
    parser.add_argument("--sweep", action="store_true",
                        help=f"vary the world one parameter at a time (default {SWEEP_ACCOUNTS} accounts)")
    parser.add_argument("--knob", action="append", choices=tuple(SETTINGS),
                        help="with --sweep: vary only this parameter (repeatable)")
    parser.add_argument("--processes", type=int, default=2, help="with --sweep: scenarios scored at once (default 2)")
    parser.set_defaults(func=run, accounts=None)


def run(args: argparse.Namespace) -> int:
    if args.influencers is not None and args.alerts is None:
        raise CliError("--influencers goes with --alerts")
    if args.accounts is None:
        args.accounts = SWEEP_ACCOUNTS if args.sweep else DEFAULT_ACCOUNTS
    if args.sweep:
        return run_sweep(args)
    scenario = build_scenario(args, args.jitter_seconds)
    began = time.perf_counter()
    events = list(scenario.events())
    generated = time.perf_counter() - began
    print(f"scenario family={args.family} seed={args.seed} accounts={args.accounts} days={args.days}: "
          f"{len(events)} events, "
          f"{len(scenario.truth)} labelled incidents, generated in {generated:.1f}s")
    if args.alerts is not None:
        alerts = _read_jsonl(args.alerts)
        profiles = _read_jsonl(args.influencers) if args.influencers is not None else None
        print(f"scoring {len(alerts)} alerts from {args.alerts}")
    else:
        outcome = replay_scenario(scenario, events)
        alerts = [alert.model_dump() for alert in outcome.alerts]
        profiles = [profile.model_dump() for profile in outcome.profiles.values()]
        if args.alerts_out is not None:
            args.alerts_out.write_bytes(b"".join(encode(alert) + b"\n" for alert in outcome.alerts))
        print(f"engine: {outcome.events} events in {outcome.elapsed_s:.1f}s ({outcome.events_per_second:,.0f}/s), "
              f"{len(outcome.alerts)} alerts, {len(outcome.profiles)} influencer profiles, "
              f"{outcome.bad_lines} bad lines, {outcome.late_dropped} late events dropped")
    result = evaluate(
        [t.as_dict() for t in scenario.truth],
        alerts,
        follower_observations(events),
        grace=timedelta(hours=args.grace_hours),
        influencers=profiles,
    )
    print()
    print(format_report(result))
    if args.show_false > 0:
        print()
        print(format_false_alerts(result, [t.as_dict() for t in scenario.truth], alerts, args.show_false))
    return exit_status(result, args.check)


def run_sweep(args: argparse.Namespace) -> int:
    if args.alerts is not None or args.alerts_out is not None or args.jitter_seconds:
        raise CliError("--sweep runs the engine itself, without --alerts, --alerts-out or --jitter-seconds")
    if args.processes < 1:
        raise CliError("--processes must be at least 1")
    build_scenario(args)  # refuses bad arguments before any work starts
    print(f"sweep family={args.family} seed={args.seed} accounts={args.accounts} days={args.days}, "
          f"one parameter at a time")
    print(header())
    low = []
    for row in sweep(args.family, args.seed, args.accounts, args.days, args.start, args.processes, args.knob):
        print(format_row(row), flush=True)
        if row.precision < SWEEP_PRECISION:
            low.append(row.setting.label)
    verdict = "met" if not low else "MISSED"
    print(f"\n  [{verdict:>6}] precision >= {SWEEP_PRECISION:g} at every setting"
          + (f" (below at: {', '.join(low)})" if low else ""))
    return 1 if args.check and low else 0


def replay_scenario(scenario: AnyScenario, events: list[dict]) -> ReplayResult:
    """Feed the scenario through a fresh engine exactly as `nichewatch replay` reads a file."""
    niches = [NicheDefinition(name=name, tags=tags) for name, tags in scenario.niches.items()]
    return replay(_as_lines(events), Engine(EngineConfig(), niches))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open("rb") as lines:
            return [orjson.loads(line) for line in lines if line.strip()]
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise CliError(f"{path} is not JSON lines: {exc}") from None


def _as_lines(events: list[dict]) -> Iterator[bytes]:
    for event in events:
        yield orjson.dumps(event)


def exit_status(result: EvaluationResult, check: bool) -> int:
    """0 unless checking and a target was missed (then 1, after naming the missed targets)."""
    if check and not result.all_targets_met:
        missed = ", ".join(t.name for t in result.targets() if not t.met)
        print(f"\ntargets missed: {missed}")
        return 1
    return 0
