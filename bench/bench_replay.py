"""Replay throughput: JSON parsing vs decode+validate vs the full engine, in one run.

    .venv/bin/python bench/bench_replay.py                    # simulator feed, 500 accounts x 30 days
    .venv/bin/python bench/bench_replay.py --source synthetic # the small built-in generator
    .venv/bin/python bench/bench_replay.py --accounts 50 --days 10   # a quick look
    .venv/bin/python bench/bench_replay.py --profile          # cProfile of the full replay

Stages, each over the same lines:
    (a) orjson.loads             the floor: parsing alone
    (b) decode_event             parse + pydantic validation (schemas.codec), one line at a time
    (b') native decode_batch     the same contract in the native core (streams._native), in
                                 batches of --batch values, models built without validating twice
    (c) full replay              streams.core.replay.replay(lines, Engine(...)): decoding and the
                                 whole engine in the native core, a chunk of lines per call, plus
                                 the replay's bookkeeping (every output as its contract model)
    (d) full replay + tag stats  (c) with a TagBook (per-niche tag statistics) fed by the engine
    (e) engine batches           Engine.process_values per --batch lines: (c) without the replay's
                                 bookkeeping (outputs stay encoded)
The target: (c) at least 300,000 events/s and at least (a) over the same lines in the same run.
Also reports the serialised state size per tracked account: the compact format 2 the changelog
holds (Engine.compact_state) and the JSON of format 1 (Engine.native.state).
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
from schemas.events import NicheDefinition
from streams._native import decode_batch
from streams.core import Engine
from streams.core.replay import replay
from streams.core.tagstats import TagBook

TARGET = 300_000  # events/s of the full replay
TARGET_STATE_BYTES = 1_500  # compact state per account on average


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
    parser.add_argument("--batch", type=int, default=1000, help="values per native call of (b') and (e) (a fetched batch)")
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
    del events, native

    engine = Engine(niches=niches)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    result = replay(lines, engine)
    if profiler:
        profiler.disable()
    replay_rate = result.events_per_second
    print(f"  {'(c) full replay':<28} {result.elapsed_s:7.2f} s  {replay_rate:>10,.0f} events/s"
          f"   ({len(result.alerts)} alerts, {result.profiles_emitted} profiles, {result.bad_lines} bad lines)")

    tag_book = TagBook()
    tagged = replay(lines, Engine(niches=niches, tags=tag_book))
    print(f"  {'(d) full replay + tag stats':<28} {tagged.elapsed_s:7.2f} s  {tagged.events_per_second:>10,.0f} events/s"
          f"   ({tag_book.total_posts:,} posts counted)")

    batched = Engine(niches=niches)
    outputs: list[bytes] = []
    batched_rate = timed("(e) engine batches", n, lambda: [outputs.extend(batched.process_values(b)[0]) for b in batches])
    alerts = sum(1 for o in outputs if o.startswith(b'{"kind":"follower_spike_alert"'))
    print(f"  {'':<28} {alerts} alerts, {len(outputs) - alerts} profiles "
          f"((c): {len(result.alerts)}, {result.profiles_emitted})")

    print("ratios (same run):")
    print(f"  decode / loads          {decode_rate / parse_rate:6.3f}")
    print(f"  native decode / loads   {native_rate / parse_rate:6.3f}")
    print(f"  native decode / decode  {native_rate / decode_rate:6.3f}")
    print(f"  replay / loads          {replay_rate / parse_rate:6.3f}")
    print(f"  replay / decode         {replay_rate / decode_rate:6.3f}")
    print(f"  tag stats / replay      {tagged.events_per_second / replay_rate:6.3f}")
    print(f"  engine batches / replay {batched_rate / replay_rate:6.3f}")
    verdict = "meets" if replay_rate >= TARGET and replay_rate >= parse_rate else "below"
    print(f"  full replay {replay_rate:,.0f} events/s {verdict} the target ({TARGET:,} events/s and "
          f"at least orjson.loads' {parse_rate:,.0f}: {replay_rate / parse_rate:.3f}x)")

    accounts = list(engine.accounts())
    compact = [len(engine.compact_state(account) or b"") for account in accounts]
    verdict = "meets" if statistics.fmean(compact) <= TARGET_STATE_BYTES else "above"
    print(f"state (format 2, compact): {len(compact)} accounts, bytes per account max {max(compact):,}, "
          f"mean {statistics.fmean(compact):,.0f} ({verdict} the {TARGET_STATE_BYTES:,} B target), "
          f"median {statistics.median(compact):,.0f}")
    sizes = [len(engine.native.state(account) or b"") for account in accounts]
    print(f"state (format 1, JSON): {len(sizes)} accounts, bytes per account max {max(sizes):,}, "
          f"mean {statistics.fmean(sizes):,.0f}, median {statistics.median(sizes):,.0f} "
          f"({statistics.fmean(sizes) / statistics.fmean(compact):.1f}x the compact)")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
