"""Replay throughput: JSON parsing vs decode+validate vs the full engine, in one run.

    .venv/bin/python bench/bench_replay.py                    # simulator feed, 500 accounts x 30 days
    .venv/bin/python bench/bench_replay.py --source synthetic # the small built-in generator
    .venv/bin/python bench/bench_replay.py --profile          # cProfile of the full replay

Stages, each over the same lines:
    (a) orjson.loads             the floor: parsing alone
    (b) decode_event             parse + pydantic validation (the codec)
    (b') native decode_batch     the same contract in the native core (streams._native), in
                                 batches of --batch values, models built without validating twice
    (c) engine only              Engine.process on already-decoded events
    (d) full replay              streams.core.replay.replay: (b) + (c) + bookkeeping
    (e) full replay + tag stats  (d) with a TagBook (per-niche tag statistics) in the engine
Also reports the serialised state size per tracked account (AccountState.to_bytes).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable

import orjson

from schemas.codec import decode_event
from streams._native import decode_batch
from schemas.events import NicheDefinition
from streams.core import Engine
from streams.core.replay import replay
from streams.core.tagstats import TagBook


def simulator_lines(accounts: int, days: int, seed: int) -> tuple[list[bytes], dict[str, list[str]]]:
    from streams.feeds.simulator import Scenario

    scenario = Scenario(seed, accounts=accounts, days=days)
    return [orjson.dumps(event) for event in scenario.events()], scenario.niches


def synthetic_lines(accounts: int, days: int, seed: int) -> tuple[list[bytes], dict[str, list[str]]]:
    from streams.core.synthetic import AccountSpec, merged_events

    rng = random.Random(seed)
    scenarios = ["none", "none", "none", "purchase_step", "purchase_drip", "viral", "purge"]
    specs = []
    for i in range(accounts):
        followers = int(10 ** rng.uniform(3.3, 6.3))
        specs.append(
            AccountSpec(
                f"instagram:bench{i}",
                followers=followers,
                scenario=scenarios[i % len(scenarios)],  # type: ignore[arg-type]
                amount=int(followers * 0.2),
                post_every_h=rng.uniform(8, 48),
                snapshot_every_h=rng.choice([1.0, 2.0, 4.0]),
            )
        )
    return [orjson.dumps(e) for e in merged_events(specs, days=days, seed=seed)], {"pens": ["fountainpens"]}


def timed(label: str, n: int, fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    rate = n / elapsed
    print(f"  {label:<28} {elapsed:7.2f} s  {rate:>10,.0f} events/s")
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("simulator", "synthetic"), default="simulator")
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile the full replay, top 20 by own time")
    parser.add_argument("--batch", type=int, default=1000, help="values per native decode_batch call (a fetched batch)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    make = simulator_lines if args.source == "simulator" else synthetic_lines
    lines, niche_map = make(args.accounts, args.days, args.seed)
    niches = [NicheDefinition(name=name, tags=tags) for name, tags in niche_map.items()]
    n = len(lines)
    print(f"{args.source}: {n:,} events, {args.accounts} accounts, {args.days} days "
          f"(generated in {time.perf_counter() - started:.1f}s); python {sys.version.split()[0]}")

    loads = orjson.loads
    parse_rate = timed("(a) orjson.loads", n, lambda: [loads(line) for line in lines])
    events: list = []
    decode_rate = timed("(b) decode_event", n, lambda: events.extend(decode_event(line) for line in lines))
    native: list = []
    batches = [lines[i:i + args.batch] for i in range(0, n, args.batch)]
    native_rate = timed("(b') native decode_batch", n, lambda: [native.extend(decode_batch(b)[0]) for b in batches])
    same = sum(a == b for a, b in zip(events, native, strict=True))
    print(f"  {'':<28} {same:,} of {n:,} decoded equal to (b)")
    engine_only = Engine(niches=niches)
    engine_rate = timed("(c) engine only", n, lambda: [engine_only.process(e) for e in events])
    engine = Engine(niches=niches)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    result = replay(lines, engine)
    if profiler:
        profiler.disable()
    replay_rate = result.events_per_second
    print(f"  {'(d) full replay':<28} {result.elapsed_s:7.2f} s  {replay_rate:>10,.0f} events/s"
          f"   ({len(result.alerts)} alerts, {result.profiles_emitted} profiles, {result.bad_lines} bad lines)")

    tag_book = TagBook()
    tagged = replay(lines, Engine(niches=niches, tags=tag_book))
    print(f"  {'(e) full replay + tag stats':<28} {tagged.elapsed_s:7.2f} s  {tagged.events_per_second:>10,.0f} events/s"
          f"   ({tag_book.total_posts:,} posts counted)")

    print("ratios (same run):")
    print(f"  decode / loads        {decode_rate / parse_rate:6.3f}")
    print(f"  native / loads        {native_rate / parse_rate:6.3f}")
    print(f"  native / decode       {native_rate / decode_rate:6.3f}")
    print(f"  engine / decode       {engine_rate / decode_rate:6.3f}")
    print(f"  replay / loads        {replay_rate / parse_rate:6.3f}")
    print(f"  replay / decode       {replay_rate / decode_rate:6.3f}")
    print(f"  tag stats / replay    {tagged.events_per_second / replay_rate:6.3f}")
    target = 100_000
    verdict = "meets" if replay_rate >= target else "below"
    print(f"  full replay {replay_rate:,.0f} events/s {verdict} the {target:,} events/s target")

    sizes = [len(engine.store[account].to_bytes()) for account in engine.store]
    print(f"state: {len(sizes)} accounts, bytes per account max {max(sizes):,}, mean {statistics.fmean(sizes):,.0f}, "
          f"median {statistics.median(sizes):,.0f}")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
