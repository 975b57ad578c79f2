"""Run the Python engine and the native one side by side on the same input lines.

Both see the same bytes: the Python engine through ``streams.core.replay`` (the
native decoder, then ``Engine.process`` one event at a time), the native one through
``NativeEngine.process_batch`` a chunk at a time. What they publish is compared as the
contract's JSON (parsed): same outputs in the same order, strings and integers equal,
floats within ``REL_TOL``. Their states are compared the same way at the end.

    .venv/bin/python -m tests.engine_diff --family second --seed 7 --accounts 80 --days 21
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from schemas.codec import encode
from schemas.events import NicheDefinition
from streams._native import NativeEngine
from streams.core.config import EngineConfig
from streams.core.engine import Engine
from streams.core.replay import replay

REL_TOL = 1e-9
CHUNK = 4096
Json = Any


def python_run(lines: Sequence[bytes], niches: dict[str, list[str]], config: EngineConfig) -> tuple[list[Json], dict[str, Json]]:
    engine = Engine(config, [NicheDefinition(name=n, tags=t) for n, t in niches.items()])
    outputs: list[Json] = []
    replay(lines, engine, on_output=lambda o: outputs.append(orjson.loads(encode(o))))
    outputs += [orjson.loads(encode(o)) for o in engine.flush()]
    states = {account: orjson.loads(state.to_bytes()) for account, state in engine.store.items()}
    return outputs, states


def native_run(lines: Sequence[bytes], niches: dict[str, list[str]], config: EngineConfig) -> tuple[list[Json], dict[str, Json]]:
    engine = NativeEngine(dataclasses.asdict(config), list(niches.items()))
    outputs: list[Json] = []
    kept = [line for line in lines if line.strip()]
    for start in range(0, len(kept), CHUNK):
        encoded, _ = engine.process_batch(kept[start : start + CHUNK])
        outputs += [orjson.loads(o) for o in encoded]
    outputs += [orjson.loads(o) for o in engine.flush()]
    states = {account: orjson.loads(engine.state(account)) for account in engine.accounts()}
    return outputs, states


def differences(expected: Json, actual: Json, path: str = "$") -> list[str]:
    """Where two parsed JSON values differ (floats within REL_TOL), as paths."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if expected is actual else [f"{path}: {expected!r} != {actual!r}"]
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if isinstance(expected, int) and isinstance(actual, int):
            return [] if expected == actual else [f"{path}: {expected!r} != {actual!r}"]
        same = math.isclose(expected, actual, rel_tol=REL_TOL, abs_tol=1e-12)
        return [] if same else [f"{path}: {expected!r} != {actual!r}"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        if list(expected) != list(actual) and set(expected) != set(actual):
            return [f"{path}: keys {sorted(expected)} != {sorted(actual)}"]
        found: list[str] = []
        for key in expected:
            found += differences(expected[key], actual[key], f"{path}.{key}")
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items != {len(actual)}"]
        found = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            found += differences(e, a, f"{path}[{i}]")
        return found
    return [] if expected == actual else [f"{path}: {expected!r} != {actual!r}"]


def compare(lines: Sequence[bytes], niches: dict[str, list[str]], config: EngineConfig | None = None) -> list[str]:
    """Every difference between the two engines' outputs and final states (empty: identical)."""
    config = config or EngineConfig()
    py_out, py_states = python_run(lines, niches, config)
    na_out, na_states = native_run(lines, niches, config)
    found = differences(py_out, na_out, "outputs")
    if len(py_out) != len(na_out):
        # Say where they part: the first output that differs.
        for i, (e, a) in enumerate(zip(py_out, na_out)):
            if differences(e, a):
                found.append(f"first differing output #{i}: python {e} native {a}")
                break
    found += differences(py_states, na_states, "states")
    return found


def scenario_lines(family: str, seed: int, accounts: int, days: int) -> tuple[list[bytes], dict[str, list[str]]]:
    from streams.feeds.families import FAMILIES

    scenario = FAMILIES[family](seed, accounts, days)
    return [orjson.dumps(event) for event in scenario.events()], dict(scenario.niches)


def with_time_faults(lines: Iterable[bytes], seed: int, shuffle_s: float, duplicates: float, late: float) -> list[bytes]:
    """The lines shuffled by up to ``shuffle_s`` of event time, a share re-delivered, a
    share delivered far too late (a day after their time)."""
    rng = random.Random(seed)
    keyed: list[tuple[float, int, bytes]] = []
    for i, line in enumerate(lines):
        observed = orjson.loads(line)["observed_at"]
        from datetime import datetime

        t = datetime.fromisoformat(observed).timestamp()
        delay = 86_400.0 if rng.random() < late else rng.uniform(0.0, shuffle_s)
        keyed.append((t + delay, i, line))
        if rng.random() < duplicates:
            keyed.append((t + rng.uniform(0.0, shuffle_s * 2), i, line))
    keyed.sort()
    return [line for _, _, line in keyed]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--accounts", type=int, default=60)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--shuffle-hours", type=float, default=0.0)
    parser.add_argument("--reorder-hours", type=float, default=0.0)
    args = parser.parse_args()
    lines, niches = scenario_lines(args.family, args.seed, args.accounts, args.days)
    if args.shuffle_hours:
        lines = with_time_faults(lines, args.seed, args.shuffle_hours * 3600.0, 0.02, 0.01)
    config = EngineConfig(reorder_delay_s=args.reorder_hours * 3600.0)
    found = compare(lines, niches, config)
    print(f"{len(lines)} lines: {len(found)} differences")
    for line in found[:20]:
        print(" ", line[:400])
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
