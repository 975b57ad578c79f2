"""Replay a JSON-lines export through the engine in-process: the analyst's backtest loop.

Bad lines never stop a replay: each is reported (line number, reason) through
``on_bad_line``, counted and skipped, like the worker's DLQ policy.

Lines are decoded a chunk at a time by the native decoder (streams._native.decode_batch,
the input contract of schemas.codec), then processed one by one in order, so callbacks see
the same sequence as with one line at a time; a lazy input is read up to a chunk ahead.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

import orjson

from schemas.events import FollowerSpikeAlert, InfluencerProfile, NicheDefinition
from streams._native import NativeEngine, decode_batch
from streams.core.config import EngineConfig
from streams.core.engine import Engine, Output
from streams.core.tags import NicheMatcher
from streams.core.tagstats import TagBook

MAX_BAD_LINES_KEPT = 1000
CHUNK_LINES = 4096


@dataclass
class ReplayResult:
    lines: int = 0
    events: int = 0
    bad_lines: int = 0
    late_dropped: int = 0
    accounts: int = 0
    alerts: list[FollowerSpikeAlert] = field(default_factory=list)
    # Latest profile per account: what a compacted influencers topic would hold.
    profiles: dict[str, InfluencerProfile] = field(default_factory=dict)
    profiles_emitted: int = 0
    # First bad lines as (line number, reason); the count above is complete.
    bad_line_samples: list[tuple[int, str]] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def alerts_by_classification(self) -> dict[str, int]:
        counts = {"suspected_purchase": 0, "organic_breakout": 0}
        for alert in self.alerts:
            counts[alert.classification] += 1
        return counts

    @property
    def events_per_second(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s > 0 else 0.0


def replay(
    lines: Iterable[bytes],
    engine: Engine,
    *,
    on_output: Callable[[Output], None] | None = None,
    on_bad_line: Callable[[int, str], None] | None = None,
) -> ReplayResult:
    """Decode and process every line in order; blank lines are skipped silently."""
    result = ReplayResult()
    dropped_before = engine.stats.late_dropped
    started = time.perf_counter()
    process = engine.process
    for numbers, chunk, last in _chunks(lines):
        result.lines = last
        events, dead_letters = decode_batch(chunk)
        refused = {index: reason for index, reason, _ in dead_letters}
        for index, (number, event) in enumerate(zip(numbers, events)):
            if event is None:
                reason = refused[index]
                result.bad_lines += 1
                if len(result.bad_line_samples) < MAX_BAD_LINES_KEPT:
                    result.bad_line_samples.append((number, reason))
                if on_bad_line is not None:
                    on_bad_line(number, reason)
                continue
            result.events += 1
            for output in process(event):
                _record(result, output, on_output)
    result.elapsed_s = time.perf_counter() - started
    result.late_dropped = engine.stats.late_dropped - dropped_before
    result.accounts = len(engine.store)
    return result


def _record(result: ReplayResult, output: Output, on_output: Callable[[Output], None] | None) -> None:
    if type(output) is FollowerSpikeAlert:
        result.alerts.append(output)
    else:
        result.profiles[output.account_id] = output  # type: ignore[assignment]
        result.profiles_emitted += 1
    if on_output is not None:
        on_output(output)


def native_engine(config: EngineConfig, niches: Iterable[NicheDefinition]) -> NativeEngine:
    """A native engine (streams._native, the Rust port of this package's engine) for a replay."""
    return NativeEngine(dataclasses.asdict(config), [(niche.name, list(niche.tags)) for niche in niches])


def native_output(raw: bytes) -> Output:
    """A native engine's encoded output as its contract model."""
    if orjson.loads(raw)["kind"] == "follower_spike_alert":
        return FollowerSpikeAlert.model_validate_json(raw)
    return InfluencerProfile.model_validate_json(raw)


def replay_native(
    lines: Iterable[bytes],
    engine: NativeEngine,
    *,
    tags: TagBook | None = None,
    on_output: Callable[[Output], None] | None = None,
    on_bad_line: Callable[[int, str], None] | None = None,
) -> ReplayResult:
    """``replay`` on the native engine, one ``process_batch`` call per chunk of lines.

    Same decisions as ``replay`` with ``Engine`` (tests/unit/test_native_engine_parity.py);
    within a chunk the bad lines are reported before the chunk's outputs. ``tags``: a book
    fed with every new post's tags, as ``Engine(tags=...)`` feeds it.
    """
    result = ReplayResult()
    dropped_before = int(engine.stats["late_dropped"])  # type: ignore[call-overload]
    if tags is not None:
        engine.share_tags()
        matcher = NicheMatcher()
        for name in engine.niche_names:
            matcher.set_niche(NicheDefinition(name=name, tags=list(engine.niche_tags(name))))
        tags.tracked_of = matcher.tags_of
    started = time.perf_counter()
    for numbers, chunk, last in _chunks(lines):
        result.lines = last
        encoded, dead_letters = engine.process_batch(chunk)
        result.events += len(chunk) - len(dead_letters)
        for index, reason, _ in dead_letters:
            result.bad_lines += 1
            if len(result.bad_line_samples) < MAX_BAD_LINES_KEPT:
                result.bad_line_samples.append((numbers[index], reason))
            if on_bad_line is not None:
                on_bad_line(numbers[index], reason)
        for raw in encoded:
            _record(result, native_output(raw), on_output)
        if tags is not None:
            for _post, post_tags, niches, account, followers, rate, weight, ts in engine.take_tag_observations():
                tags.observe(post_tags, niches, account, followers, rate, weight, ts)
    result.elapsed_s = time.perf_counter() - started
    result.late_dropped = int(engine.stats["late_dropped"]) - dropped_before  # type: ignore[call-overload]
    result.accounts = len(engine)
    return result


def _chunks(lines: Iterable[bytes]) -> Iterator[tuple[list[int], list[bytes], int]]:
    """(line numbers, non-blank lines, number of the chunk's last line) for CHUNK_LINES lines at a time."""
    numbered = enumerate(lines, start=1)
    while chunk := list(islice(numbered, CHUNK_LINES)):
        kept = [(number, line) for number, line in chunk if line.strip()]
        yield [number for number, _ in kept], [line for _, line in kept], chunk[-1][0]
