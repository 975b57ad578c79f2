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
    (f) native replay            streams._native.NativeEngine.process_batch: decoding and the
                                 whole engine in Rust, one call per --batch lines
Also reports the serialised state size per tracked account: the JSON of format 1
(AccountState.to_bytes) and the compact format 2 the native engine writes.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable

import orjson

from schemas.codec import decode_event
from streams._native import NativeEngine, decode_batch
from schemas.events import NicheDefinition
from streams.core import Engine
from streams.core.config import EngineConfig
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

    native_engine = NativeEngine(dataclasses.asdict(EngineConfig()), list(niche_map.items()))
    native_out: list[bytes] = []
    native_replay_rate = timed(
        "(f) native replay", n, lambda: [native_out.extend(native_engine.process_batch(b)[0]) for b in batches]
    )
    native_alerts = sum(1 for o in native_out if o.startswith(b'{"kind":"follower_spike_alert"'))
    print(f"  {'':<28} {native_alerts} alerts, {len(native_out) - native_alerts} profiles "
          f"(python: {len(result.alerts)}, {result.profiles_emitted})")

    print("ratios (same run):")
    print(f"  decode / loads        {decode_rate / parse_rate:6.3f}")
    print(f"  native / loads        {native_rate / parse_rate:6.3f}")
    print(f"  native / decode       {native_rate / decode_rate:6.3f}")
    print(f"  engine / decode       {engine_rate / decode_rate:6.3f}")
    print(f"  replay / loads        {replay_rate / parse_rate:6.3f}")
    print(f"  replay / decode       {replay_rate / decode_rate:6.3f}")
    print(f"  tag stats / replay    {tagged.events_per_second / replay_rate:6.3f}")
    print(f"  native replay / loads {native_replay_rate / parse_rate:6.3f}")
    print(f"  native replay / replay {native_replay_rate / replay_rate:5.1f}x")
    target = 300_000
    verdict = "meets" if native_replay_rate >= target and native_replay_rate >= parse_rate else "below"
    print(f"  native replay {native_replay_rate:,.0f} events/s {verdict} the target ({target:,} events/s and "
          f"at least orjson.loads' {parse_rate:,.0f})")

    sizes = [len(engine.store[account].to_bytes()) for account in engine.store]
    print(f"state (format 1, JSON): {len(sizes)} accounts, bytes per account max {max(sizes):,}, "
          f"mean {statistics.fmean(sizes):,.0f}, median {statistics.median(sizes):,.0f}")
    compact = [len(native_engine.compact_state(account) or b"") for account in native_engine.accounts()]
    verdict = "meets" if statistics.fmean(compact) <= 1500 else "above"
    print(f"state (format 2, compact): {len(compact)} accounts, bytes per account max {max(compact):,}, "
          f"mean {statistics.fmean(compact):,.0f} ({verdict} the 1,500 B target), median {statistics.median(compact):,.0f}")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
