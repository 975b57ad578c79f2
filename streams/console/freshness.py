"""Is what the console shows current? Input lag and silence, read from the worker's metrics.

The worker's own gauges and counters (streams.metrics) already say how far behind the
input topics it is and how many messages it has consumed; a timer samples them here, so a
page can say "lagging" or "no events lately" without touching the hot path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

LAG_SAMPLE = "nichewatch_consumer_lag_messages"
CONSUMED_SAMPLE = "nichewatch_messages_consumed_total"
LAGGING_FROM = 10_000  # messages behind the input topics
QUIET_AFTER_S = 120.0  # no input consumed for this long


@dataclass(frozen=True, slots=True)
class Freshness:
    lag: int
    quiet_for_s: float | None  # None until the first message since start
    reasons: tuple[str, ...]  # empty when fresh

    @property
    def stale(self) -> bool:
        return bool(self.reasons)


def sample_total(registry: CollectorRegistry, sample_name: str) -> float:
    return sum(s.value for family in registry.collect() for s in family.samples if s.name == sample_name)


class InputWatch:
    """Samples lag and the consumed count; remembers when input last moved."""

    def __init__(self, registry: CollectorRegistry, clock: Callable[[], float] = time.monotonic,
                 lagging_from: int = LAGGING_FROM, quiet_after_s: float = QUIET_AFTER_S) -> None:
        self.registry = registry
        self.clock = clock
        self.lagging_from = lagging_from
        self.quiet_after_s = quiet_after_s
        self._consumed = 0.0
        self._moved_at: float | None = None
        self._lag = 0

    def sample(self) -> None:
        consumed = sample_total(self.registry, CONSUMED_SAMPLE)
        if consumed > self._consumed:
            self._consumed, self._moved_at = consumed, self.clock()
        self._lag = int(sample_total(self.registry, LAG_SAMPLE))

    def status(self) -> Freshness:
        quiet = None if self._moved_at is None else self.clock() - self._moved_at
        reasons = []
        if self._lag >= self.lagging_from:
            reasons.append(f"worker lagging: {self._lag:,} input messages not processed yet")
        if quiet is None:
            reasons.append("no input events since this worker started")
        elif quiet >= self.quiet_after_s:
            reasons.append(f"no input events for {quiet:,.0f} s")
        return Freshness(self._lag, quiet, tuple(reasons))
