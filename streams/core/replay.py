"""Replay a JSON-lines export through the engine in-process: the analyst's backtest loop.

Bad lines never stop a replay: each is reported (line number, reason) through
``on_bad_line``, counted and skipped, like the worker's DLQ policy.

Lines are decoded a chunk at a time by the native decoder (streams._native.decode_batch,
the input contract of schemas.codec), then processed one by one in order, so callbacks see
the same sequence as with one line at a time; a lazy input is read up to a chunk ahead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from schemas.events import FollowerSpikeAlert, InfluencerProfile
from streams._native import decode_batch
from streams.core.engine import Engine, Output

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
                if type(output) is FollowerSpikeAlert:
                    result.alerts.append(output)
                else:
                    result.profiles[output.account_id] = output  # type: ignore[assignment]
                    result.profiles_emitted += 1
                if on_output is not None:
                    on_output(output)
    result.elapsed_s = time.perf_counter() - started
    result.late_dropped = engine.stats.late_dropped - dropped_before
    result.accounts = len(engine.store)
    return result


def _chunks(lines: Iterable[bytes]) -> Iterator[tuple[list[int], list[bytes], int]]:
    """(line numbers, non-blank lines, number of the chunk's last line) for CHUNK_LINES lines at a time."""
    numbered = enumerate(lines, start=1)
    while chunk := list(islice(numbered, CHUNK_LINES)):
        kept = [(number, line) for number, line in chunk if line.strip()]
        yield [number for number, _ in kept], [line for _, line in kept], chunk[-1][0]
