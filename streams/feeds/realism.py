"""The world's ordinary-life parameters, and the per-account traits drawn from them.

``WorldKnobs`` is what a robustness sweep varies (one field at a time); its defaults are
the scenario's defaults. Each account's ``Traits`` come from their own ``random.Random``
keyed by seed and account, drawn as uniforms first and mapped through the knobs after, so
changing one knob changes that behaviour and leaves the rest of the world where it was.

    good post         a post doing 2-5x the account's usual interactions; over the next day
                      or two the account gains  unit x (multiple - 1)  of its followers
                      (a few percent), real followers who engage          label: good_post
    collector outage  no observation of the account for 1-3 days; the organic growth of
                      those days shows up at once in the next observation label: outage_catchup
    rounded counts    post payloads carry the follower count as the page shows it
                      (12,345 -> "12.3K" -> 12300); profile snapshots stay exact
    cadence           profile polled every 1-24 h (log-uniform per account)
    drift             the organic growth rate moves over the weeks of the scenario
    generic tagging   some accounts put #love / #instagood / #fyp on most posts
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields

DAY = 86_400
HOUR = 3600
GOOD_POST_MULTIPLE = (2.0, 5.0)
GOOD_POST_MAX_GAIN = 0.10  # a good post is not a breakout: never more than 10% of followers
GENERIC_TAGGER_SHARE = 0.15


@dataclass(frozen=True)
class WorldKnobs:
    engagement_noise: float = 0.35  # sigma of the log-normal per-post engagement noise
    growth_scale: float = 1.0  # multiplies every account's organic daily growth rate
    post_rate_scale: float = 1.0  # multiplies every account's posts per day
    snapshot_hours: tuple[float, float] = (1.0, 24.0)  # profile polling interval range (log-uniform)
    rounded_share: float = 0.3  # share of accounts whose posts show page-rounded follower counts
    outage_rate: float = 0.2  # collector outages per account per 30 days (clean accounts)
    outage_days: tuple[float, float] = (1.0, 3.0)
    good_post_rate: float = 0.03  # share of ordinary posts that do 2-5x the usual
    good_post_gain: tuple[float, float] = (0.006, 0.02)  # followers gained per extra multiple of usual
    drift_share: float = 0.3  # share of accounts whose organic growth rate drifts over the weeks

    def __post_init__(self) -> None:
        for name in ("engagement_noise", "growth_scale", "post_rate_scale", "outage_rate"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("rounded_share", "good_post_rate", "drift_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("snapshot_hours", "outage_days", "good_post_gain"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must be a range 0 < low <= high")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class Traits:
    """What ordinary life looks like for one account."""

    rounded_counts: bool
    snapshot_hours: float
    growth_start: float  # organic growth, fraction per day, at the scenario start ...
    growth_end: float  # ... and at its end (equal unless the account drifts)
    good_post_unit: float  # followers gained (share) per extra multiple of usual engagement
    outages: tuple[tuple[int, int], ...]  # [start, end) epoch seconds without any observation
    generic_tagger: bool = False  # adds #love, #instagood, #fyp to most posts

    def growth_at(self, fraction: float) -> float:
        return self.growth_start + (self.growth_end - self.growth_start) * fraction

    def in_outage(self, t: float) -> bool:
        return any(start <= t < end for start, end in self.outages)


def draw_traits(
    seed: int,
    index: int,
    knobs: WorldKnobs,
    daily_growth: float,
    days: int,
    outage_window: tuple[int, int] | None,
) -> Traits:
    """``outage_window`` is where outages may fall (None: this account has none)."""
    rng = random.Random(f"nichewatch:{seed}:traits:{index}")
    u_round, u_snap, u_drift, u_delta, u_unit = (rng.random() for _ in range(5))
    low, high = knobs.snapshot_hours
    snapshot_hours = math.exp(math.log(low) + (math.log(high) - math.log(low)) * u_snap)
    growth = daily_growth * knobs.growth_scale
    # Drifting accounts end the scenario growing between -0.1% and +0.8% a day (times the scale).
    end_growth = (-0.001 + 0.009 * u_delta) * knobs.growth_scale if u_drift < knobs.drift_share else growth
    unit = knobs.good_post_gain[0] + (knobs.good_post_gain[1] - knobs.good_post_gain[0]) * u_unit
    u_generic = rng.random()
    outages = () if outage_window is None else _outages(rng, knobs, days, outage_window)
    return Traits(u_round < knobs.rounded_share, snapshot_hours, growth, end_growth, unit, outages,
                  u_generic < GENERIC_TAGGER_SHARE)


def _outages(rng: random.Random, knobs: WorldKnobs, days: int, window: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    count = poisson(rng, knobs.outage_rate * days / 30)
    spans: list[tuple[int, int]] = []
    for _ in range(count):
        length = int(rng.uniform(*knobs.outage_days) * DAY)
        if window[1] - window[0] <= length:
            break
        begin = rng.randint(window[0], window[1] - length)
        # Outages do not overlap, and leave a day of observations between them.
        if all(begin >= end + DAY or begin + length + DAY <= other for other, end in spans):
            spans.append((begin, begin + length))
    return tuple(sorted(spans))


def good_post_gain(unit: float, multiple: float) -> float:
    """Share of followers a post doing ``multiple`` x the usual brings (a few percent)."""
    return min(GOOD_POST_MAX_GAIN, unit * max(0.0, multiple - 1.0))


def displayed_count(count: int) -> int:
    """A follower count as platform pages show it, read back as a number.

    9,876 -> 9876;  12,345 -> "12.3K" -> 12300;  123,456 -> "123K" -> 123000;
    1,234,567 -> "1.2M" -> 1200000.  Pages truncate rather than round.
    """
    if count < 10_000:
        return count
    if count < 100_000:
        return count // 100 * 100
    if count < 1_000_000:
        return count // 1_000 * 1_000
    return count // 100_000 * 100_000


def poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method: fine for the small rates used here (< 50).
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
