"""Replay a JSON-lines export through the engine in-process: the analyst's backtest loop.

Bad lines never stop a replay: each is reported (line number, reason) through
``on_bad_line``, counted and skipped, like the worker's DLQ policy.

Lines go to the engine a chunk at a time (decoded by the native decoder: the input
contract of schemas.codec) and are applied in order; a lazy input is read up to a chunk
ahead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from schemas.events import FollowerSpikeAlert, InfluencerProfile
from streams.core.engine import Engine, Output, decode_output

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
    """Decode and process every line in order, one engine call per chunk of lines; blank
    lines are skipped silently. Within a chunk the bad lines are reported before the
    chunk's outputs."""
    result = ReplayResult()
    dropped_before = engine.stats.late_dropped
    started = time.perf_counter()
    for numbers, chunk, last in _chunks(lines):
        result.lines = last
        encoded, dead_letters = engine.process_values(chunk)
        result.events += len(chunk) - len(dead_letters)
        for index, reason, _ in dead_letters:
            result.bad_lines += 1
            if len(result.bad_line_samples) < MAX_BAD_LINES_KEPT:
                result.bad_line_samples.append((numbers[index], reason))
            if on_bad_line is not None:
                on_bad_line(numbers[index], reason)
        for raw in encoded:
            record(result, decode_output(raw), on_output)
    result.elapsed_s = time.perf_counter() - started
    result.late_dropped = engine.stats.late_dropped - dropped_before
    result.accounts = len(engine)
    return result


def record(result: ReplayResult, output: Output, on_output: Callable[[Output], None] | None = None) -> None:
    """Add an output to the result (and give it to ``on_output``)."""
    if type(output) is FollowerSpikeAlert:
        result.alerts.append(output)
    else:
        result.profiles[output.account_id] = output  # type: ignore[assignment]
        result.profiles_emitted += 1
    if on_output is not None:
        on_output(output)


def _chunks(lines: Iterable[bytes]) -> Iterator[tuple[list[int], list[bytes], int]]:
    """(line numbers, non-blank lines, number of the chunk's last line) for CHUNK_LINES lines at a time."""
    numbered = enumerate(lines, start=1)
    while chunk := list(islice(numbered, CHUNK_LINES)):
        kept = [(number, line) for number, line in chunk if line.strip()]
        yield [number for number, _ in kept], [line for _, line in kept], chunk[-1][0]
