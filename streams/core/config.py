"""Thresholds and limits of the detection engine, in one frozen object.

Every default is a starting point to backtest with ``nichewatch replay``; none is a law.
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field

from schemas.events import Tier

HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class TierBounds:
    """Lower follower bounds of each tier above nano (nano < micro_from <= micro < mid_from ...)."""

    micro_from: int = 10_000
    mid_from: int = 100_000
    macro_from: int = 500_000
    mega_from: int = 1_000_000

    def tier_for(self, followers: int) -> Tier:
        if followers < self.micro_from:
            return "nano"
        if followers < self.mid_from:
            return "micro"
        if followers < self.macro_from:
            return "mid"
        if followers < self.mega_from:
            return "macro"
        return "mega"


def _typical_engagement() -> dict[str, float]:
    # Median engagement rates commonly reported per tier; only a prior for small cohorts.
    return {"nano": 0.05, "micro": 0.03, "mid": 0.02, "macro": 0.015, "mega": 0.01}


def _conversion_prior() -> dict[str, float]:
    # About 1% of the audience per median post's worth of extra interactions (what breakouts
    # after a viral post show); extra reach scales with the usual reach, so every tier alike.
    return {"nano": 0.01, "micro": 0.01, "mid": 0.01, "macro": 0.01, "mega": 0.01}


@dataclass(frozen=True, slots=True)
class EngineConfig:
    # --- event time and retention ------------------------------------------------------
    allowed_lateness_s: float = 6 * HOUR
    # 0 = decide at once (ordered partitions); > 0 = per-account reorder buffer of that
    # much event time: order-invariant decisions for that much alert latency.
    reorder_delay_s: float = 0.0
    max_buffered_observations: int = 256
    hourly_buckets_kept: int = 7 * 24
    daily_buckets_kept: int = 90
    max_posts_tracked: int = 40
    post_max_age_s: float = 30 * DAY

    # --- follower spikes -----------------------------------------------------------------
    short_window_s: float = 24 * HOUR  # steps and bursts
    long_window_s: float = 72 * HOUR  # drip-fed purchases
    sigma_k: float = 6.0  # robust z of excess growth (MAD-based, random-walk scaled)
    short_min_relative: float = 0.02  # excess >= 2% of followers within short_window
    long_min_relative: float = 0.03  # excess >= 3% of followers within long_window
    min_excess_followers: int = 50  # absolute floor: tiny accounts jitter by tens
    min_baseline_rates: int = 12  # fewer hourly rates -> use the prior below
    prior_sigma_relative_per_hour: float = 0.0005  # prior noise when history is short
    episode_cooldown_s: float = 48 * HOUR  # quiet time that ends an episode

    # --- spike classification ------------------------------------------------------------
    viral_multiple: float = 5.0  # a post with >= 5x the account's median interactions
    viral_min_interactions: int = 20
    viral_lookback_s: float = 24 * HOUR  # before the window start
    # Growth explained by engagement (core/src/engine/explain.rs): share of followers gained per median
    # post's worth of extra interactions, before the account's own history says otherwise.
    conversion_prior: dict[str, float] = field(default_factory=_conversion_prior)
    conversion_prior_weight: float = 2.0  # the prior counts as this many median posts of extra
    conversion_window_s: float = 48 * HOUR  # followers a post brings arrive within this
    good_post_multiple: float = 2.0  # posts at >= 2x the usual teach the account's conversion
    explained_tolerance: float = 3.0  # engagement is credited with up to 3x the point estimate
    post_maturity_s: float = 12 * HOUR  # a post collects most of its interactions by then
    classification_hold_s: float = 12 * HOUR  # longest wait for gradual growth to be explained
    unobserved_gap_s: float = 24 * HOUR  # growth across a gap this long waits for the gap's posts
    audience_hold_s: float = 72 * HOUR  # gradual unexplained growth waits this long to see if engagement follows
    # Engagement followed (or not) once the log likelihood ratio of people against bought
    # followers is this far from 0 (ln 19: odds of 19 to 1); explain.rs, maturity.rs.
    audience_log_odds: float = math.log(19)
    # People who arrive after a post was published engage with it at least this share as
    # often as its own audience did (bought followers: not at all); core/src/engine/maturity.rs.
    newcomer_engagement: float = 0.25

    # --- influencer score ----------------------------------------------------------------
    tiers: TierBounds = field(default_factory=TierBounds)
    typical_engagement: dict[str, float] = field(default_factory=_typical_engagement)
    cohort_prior_weight: float = 5.0  # pseudo-accounts at the tier's typical rate
    min_posts_for_profile: int = 3
    material_score_change: float = 0.05
    weight_engagement: float = 0.40
    weight_niche_focus: float = 0.20
    weight_consistency: float = 0.15
    weight_authenticity: float = 0.25
    suspicion_memory_s: float = 90 * DAY
