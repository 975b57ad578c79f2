"""The native engine publishes exactly what the Python engine publishes.

Both engines read the same lines (tests/engine_diff.py): simulator seeds of both scenario
families, and the same input under time faults (shuffled within the lateness bound,
re-delivered, far too late), with and without a reorder delay. Alerts and profiles are
compared as the contract's JSON: ids, classifications, evidence texts equal, numbers
within 1e-9 relative; the final account states likewise.
"""

from __future__ import annotations

import pytest

from streams.core.config import HOUR, EngineConfig
from tests.engine_diff import compare, scenario_lines, with_time_faults

ACCOUNTS = 40
DAYS = 21


@pytest.mark.parametrize("family", ["first", "second"])
@pytest.mark.parametrize("seed", [3, 11, 29])
def test_both_engines_publish_the_same_alerts_and_profiles(family: str, seed: int) -> None:
    lines, niches = scenario_lines(family, seed, ACCOUNTS, DAYS)
    assert compare(lines, niches) == []


@pytest.mark.parametrize("family", ["first", "second"])
@pytest.mark.parametrize("reorder_h", [0.0, 4.0])
def test_both_engines_agree_under_disorder_duplicates_and_late_events(family: str, reorder_h: float) -> None:
    lines, niches = scenario_lines(family, 5, ACCOUNTS, DAYS)
    faulty = with_time_faults(lines, seed=5, shuffle_s=3 * HOUR, duplicates=0.05, late=0.02)
    assert compare(faulty, niches, EngineConfig(reorder_delay_s=reorder_h * HOUR)) == []


def test_the_comparison_sees_a_difference() -> None:
    lines, niches = scenario_lines("first", 3, ACCOUNTS, DAYS)
    # Different settings must show up: the comparison is not blind.
    from tests.engine_diff import differences, native_run, python_run

    python_outputs, _ = python_run(lines, niches, EngineConfig())
    native_outputs, _ = native_run(lines, niches, EngineConfig(sigma_k=3.0, material_score_change=0.01))
    assert differences(python_outputs, native_outputs) != []


@pytest.mark.parametrize("family", ["first", "second"])
def test_the_compact_state_reads_back_as_the_same_state(family: str) -> None:
    import dataclasses

    import orjson

    from streams._native import NativeEngine, state_as_json

    lines, niches = scenario_lines(family, 17, ACCOUNTS, DAYS)
    engine = NativeEngine(dataclasses.asdict(EngineConfig()), list(niches.items()))
    engine.process_batch(lines)
    accounts = engine.accounts()
    assert accounts
    for account in accounts:
        compact = engine.compact_state(account)
        assert compact is not None and compact[0] == 2
        assert orjson.loads(state_as_json(compact)) == orjson.loads(engine.state(account))
        assert len(compact) * 2 < len(engine.state(account))


def test_an_engine_restarted_from_the_python_engines_json_states_carries_on_identically() -> None:
    # The upgrade path: a changelog written by the Python engine (format 1 JSON) is read by
    # the native one; after it, both engines carry on from those states with the same outputs.
    import dataclasses

    import orjson

    from schemas.codec import encode
    from schemas.events import NicheDefinition
    from streams._native import NativeEngine
    from streams.core.engine import Engine
    from streams.core.replay import replay
    from streams.core.state import AccountState
    from tests.engine_diff import differences

    config = EngineConfig()
    lines, niches = scenario_lines("second", 23, ACCOUNTS, DAYS)
    half = len(lines) // 2
    definitions = [NicheDefinition(name=n, tags=t) for n, t in niches.items()]
    before = Engine(config, definitions)
    replay(lines[:half], before)
    states = [state.to_bytes() for state in before.store.values()]

    python = Engine(config, definitions)
    for raw in states:
        state = AccountState.from_bytes(raw, config)
        python.store[state.account_id] = state
    python_out: list = []
    replay(lines[half:], python, on_output=lambda o: python_out.append(orjson.loads(encode(o))))

    native = NativeEngine(dataclasses.asdict(config), list(niches.items()))
    for raw in states:
        native.load_state(raw)
    native_out = [orjson.loads(o) for o in native.process_batch(lines[half:])[0]]

    assert len(python_out) > 10
    assert differences(python_out, native_out) == []
    for account, state in python.store.items():
        assert differences(orjson.loads(state.to_bytes()), orjson.loads(native.state(account))) == []
