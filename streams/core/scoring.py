"""Micro-influencer score: small audiences that really engage.

    score = 0.40 engagement    percentile of the account's median engagement rate within its
                               niche's tier cohort (nano/micro/... in that niche), shrunk
                               towards a typical-rate prior while the cohort is small
          + 0.20 niche_focus   share of the account's recent posts in its primary niche
          + 0.15 consistency   1 / (1 + coefficient of variation of the gaps between posts)
          + 0.25 authenticity  1, or 0.2 after a suspected purchase in the last 90 days

The cohort summary is a fixed log-scale histogram per (niche, tier), counting each
account once (its current bin is remembered in its state and moved when it changes), so
it is bounded, deterministic and mergeable across workers.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from itertools import chain
from operator import attrgetter
from datetime import UTC, datetime

from schemas.events import InfluencerProfile, ScoreComponents
from streams.core.config import EngineConfig
from streams.core.state import AccountState, LastProfile
from streams.core.stats import clamp01, median

BINS = 64
_niches_of = attrgetter("niches")
_posted_of = attrgetter("posted_ts")
_rate_of = attrgetter("rate")
LOG_MIN, LOG_MAX = math.log10(1e-5), math.log10(10.0)  # engagement rate 0.001% .. 1000%


def rate_bin(rate: float) -> int:
    if rate <= 0.0:
        return 0
    position = (math.log10(rate) - LOG_MIN) / (LOG_MAX - LOG_MIN)
    return min(BINS - 1, max(0, int(position * BINS)))


class CohortBook:
    """Per (niche, tier) histogram of accounts' median engagement rates."""

    def __init__(self, histograms: dict[tuple[str, str], list[int]] | None = None) -> None:
        self.histograms: dict[tuple[str, str], list[int]] = histograms or {}

    def move(self, account_id: str, old: tuple[str, str, int] | None, new: tuple[str, str, int], version: int) -> None:
        """Count the account in ``new`` instead of ``old`` (``version``: event time of the rescoring)."""
        if old == new:
            return
        if old is not None:
            hist = self.histograms.get((old[0], old[1]))
            if hist is not None and hist[old[2]] > 0:
                hist[old[2]] -= 1
        self.histograms.setdefault((new[0], new[1]), [0] * BINS)[new[2]] += 1

    def percentile(self, niche: str, tier: str, bin_index: int) -> tuple[float, int]:
        """Mid-rank percentile of a bin among the cohort (excluding nobody) and cohort size."""
        hist = self.histograms.get((niche, tier))
        if not hist:
            return 0.5, 0
        total = sum(hist)
        if total == 0:
            return 0.5, 0
        below = sum(hist[:bin_index])
        return (below + 0.5 * hist[bin_index]) / total, total

    def to_dict(self) -> dict[str, list[int]]:
        return {f"{niche}\x1f{tier}": hist for (niche, tier), hist in self.histograms.items()}

    @classmethod
    def from_dict(cls, raw: dict[str, list[int]]) -> CohortBook:
        return cls({tuple(key.split("\x1f", 1)): list(hist) for key, hist in raw.items()})  # type: ignore[misc]


def profile_if_changed(
    state: AccountState, config: EngineConfig, cohorts: CohortBook, threshold: float | None = None
) -> InfluencerProfile | None:
    """Recompute the account's score; return a profile only when it changed by ``threshold``
    (``config.material_score_change`` unless given)."""
    posts = state.posts.values()
    if len(posts) < config.min_posts_for_profile:
        return None
    # Niches and publish times change only when posts come and go (re-observations of
    # known posts are most rescorings), so what depends on them alone is cached.
    niches = tuple(map(_niches_of, posts))
    cached_niches = state.niche_cache
    if cached_niches is not None and cached_niches[0] == niches:
        counts, primary = cached_niches[1], cached_niches[2]
    else:
        counts = Counter(chain.from_iterable(niches))
        primary = min(counts, key=lambda n: (-counts[n], n)) if counts else ""
        state.niche_cache = (niches, counts, primary)
    if not counts:
        return None
    tier = config.tiers.tier_for(state.followers)
    rate = median(list(map(_rate_of, posts)))  # each post's engagement_rate
    entry = (primary, tier, rate_bin(rate))
    cohorts.move(state.account_id, state.cohort_entry, entry, int(state.latest_ts))
    state.cohort_entry = entry
    percentile, cohort_size = cohorts.percentile(primary, tier, entry[2])

    engagement = _engagement(percentile, cohort_size, rate, tier, config)
    focus = counts[primary] / len(posts)
    posted = tuple(map(_posted_of, posts))
    cached = state.consistency_cache
    if cached is not None and cached[0] == posted:
        consistency = cached[1]
    else:
        consistency = _consistency(list(posted))
        state.consistency_cache = (posted, consistency)
    recent_purchase = bool(state.purchase_alerts) and any(
        state.latest_ts - ts <= config.suspicion_memory_s for ts in state.purchase_alerts
    )
    authenticity = 0.2 if recent_purchase else 1.0
    score = clamp01(
        config.weight_engagement * engagement
        + config.weight_niche_focus * focus
        + config.weight_consistency * consistency
        + config.weight_authenticity * authenticity
    )

    last = state.last_profile
    if (
        last is not None
        and abs(score - last.score) < (config.material_score_change if threshold is None else threshold)
        and last.tier == tier
        and last.primary_niche == primary
    ):
        return None
    state.last_profile = LastProfile(round(score, 4), tier, primary, round(engagement, 4))
    updated_at = datetime.fromtimestamp(state.latest_ts, UTC)
    return InfluencerProfile(
        profile_id=hashlib.sha256(f"{state.account_id}|{updated_at.isoformat()}|{score:.4f}".encode()).hexdigest()[:32],
        account_id=state.account_id,
        platform=state.platform,
        handle=state.handle,
        tier=tier,
        followers=state.followers,
        niches=sorted(counts),
        primary_niche=primary,
        score=round(score, 4),
        components=ScoreComponents(
            engagement=round(engagement, 4),
            niche_focus=round(focus, 4),
            consistency=round(consistency, 4),
            authenticity=authenticity,
        ),
        median_engagement_rate=round(rate, 6),
        cohort_size=cohort_size,
        posts_in_window=len(posts),
        window_start=datetime.fromtimestamp(min(posted), UTC),
        window_end=updated_at,
        updated_at=updated_at,
    )


def engagement_drift(state: AccountState, config: EngineConfig, cohorts: CohortBook) -> float:
    """How far the published score is from one with the cohorts as they are now (0 if unknown).

    Only the engagement component depends on other accounts, so the drift is its change
    times its weight; it costs a histogram lookup, not a rescoring.
    """
    last, entry = state.last_profile, state.cohort_entry
    if last is None or last.engagement is None or entry is None:
        return 0.0
    percentile, cohort_size = cohorts.percentile(entry[0], entry[1], entry[2])
    rates = [p.rate for p in state.posts.values()]
    if not rates or entry[1] not in config.typical_engagement:
        return 0.0
    engagement = _engagement(percentile, cohort_size, median(rates), entry[1], config)
    return abs(engagement - last.engagement) * config.weight_engagement


def _engagement(percentile: float, cohort_size: int, rate: float, tier: str, config: EngineConfig) -> float:
    """The cohort percentile, shrunk towards a typical-rate prior while the cohort is small."""
    prior = clamp01(0.5 * rate / config.typical_engagement[tier])  # typical rate -> 0.5
    weight = config.cohort_prior_weight
    return (percentile * cohort_size + prior * weight) / (cohort_size + weight)


def _consistency(posted: list[int]) -> float:
    if len(posted) < 3:
        return 0.5  # unknown cadence: neither rewarded nor punished
    ordered = sorted(posted)
    gaps = [b - a for a, b in zip(ordered, ordered[1:])]
    mean = sum(gaps) / len(gaps)
    if mean <= 0:
        return 0.0
    std = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps))
    return 1.0 / (1.0 + std / mean)
