"""Follower-spike detection against the account's own robust baseline.

On every follower observation the latest count ``F`` at time ``t`` is compared with
earlier observations ``r`` of the account (hourly buckets)::

    excess(r) = F - F_r - median_rate * (t - t_r)
    spike  if  excess(r) >= max(min_excess, min_relative * F_r, k * sigma * sqrt(hours))

``median_rate`` and ``sigma`` (1.4826 * MAD) are the account's hourly growth before the
window, so a fast-growing account is judged against itself. Two windows run side by side:
a short one (24h: steps and bursts, caught at the first observation after the jump) and a
long one (72h, stricter baseline cut-off: drip-fed purchases that never jump). Drops never
count: a purge only makes ``excess`` negative.

An episode opens with one alert and stays open while growth keeps exceeding; it closes
after ``episode_cooldown_s`` without exceedance, and later windows may not reach back
before it, so one purchase is one alert.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.events import FollowerSpikeAlert
from streams.core.classify import classify
from streams.core.config import HOUR, EngineConfig
from streams.core.counts import display_unit, shown_from
from streams.core.mentions import MentionBook
from streams.core.state import AccountState, Baseline, Episode
from streams.core.stats import median

MAD_TO_SIGMA = 1.4826
MIN_SIGMA_PER_HOUR = 0.5
BASELINE_REFRESH_HOURS = 24


@dataclass(frozen=True, slots=True)
class Exceedance:
    window: str  # "short" | "long"
    ref_ts: float
    ref_followers: int
    excess: float
    threshold: float
    expected: float
    baseline: Baseline
    sigma: float


def evaluate(state: AccountState, config: EngineConfig, mentions: MentionBook | None = None) -> FollowerSpikeAlert | None:
    """Update the account's episode and return an alert when a new episode opens."""
    t = state.latest_ts
    episode = state.episode
    guard = 0.0
    if episode is not None:
        if t - episode.last_exceed_ts <= config.episode_cooldown_s:
            found = find_exceedance(state, config, 0.0)
            if found is not None:
                episode.last_exceed_ts = max(episode.last_exceed_ts, int(t))
            if episode.classification == "organic_breakout" and episode.alert_ts:
                # An organic episode must not hide a purchase made while it lasts:
                # growth beyond the alert is judged on its own.
                fresh = find_exceedance(state, config, float(episode.alert_ts)) if found is not None else None
                fresh = fresh or _held_spike(state, config)
                if fresh is not None:
                    return _open_episode(state, config, fresh, mentions, purchase_only=True)
            return None
        guard = float(episode.last_exceed_ts)  # closed: never compare across it again
    found = find_exceedance(state, config, guard) or _held_spike(state, config)
    if found is None:
        if state.pending_since is not None and t - state.pending_since > config.conversion_window_s:
            state.pending_since = state.pending_start = None  # faded before a verdict was needed
        return None
    return _open_episode(state, config, found, mentions)


def _held_spike(state: AccountState, config: EngineConfig) -> Exceedance | None:
    """A held spike whose growth has left the windows, judged from where it was first seen.

    Bought followers stay: a spike waiting for its verdict must not be forgotten because
    the windows moved past its step while it waited.
    """
    if state.pending_start is None:
        return None
    # The baseline from before the growth began: an open episode's start if earlier.
    began = float(state.pending_start)
    if state.episode is not None:
        began = min(began, float(state.episode.start_ts))
    baseline = baseline_before(state, config, "held", began)
    if baseline.rates < config.min_baseline_rates:
        # Too little history before it to know the account's own pace: its pace since.
        baseline = baseline_before(state, config, "short", state.latest_ts - config.short_window_s)
    sigma = _sigma(baseline, state.followers, config)
    seed = Exceedance("short", float(state.pending_start), 0, 0.0, 0.0, 0.0, baseline, sigma)
    held = _rebased(state, config, seed, float(state.pending_start))
    return held if held.ref_followers and held.excess >= held.threshold else None


def find_exceedance(state: AccountState, config: EngineConfig, guard_ts: float) -> Exceedance | None:
    return _short_test(state, config, guard_ts) or _long_test(state, config, guard_ts)


def _short_test(state: AccountState, config: EngineConfig, guard_ts: float) -> Exceedance | None:
    t, followers = state.latest_ts, state.followers
    baseline = state.baselines.get("short")  # baseline_before's cache check, inlined
    if baseline is None or not 0 <= int(t // HOUR) - baseline.hour < BASELINE_REFRESH_HOURS:
        baseline = baseline_before(state, config, "short", t - config.short_window_s)
    # Shortcut: if the last scan with this baseline found nothing and followers have not
    # grown since, nothing can be found now (expected growth is >= 0 and thresholds only
    # rise with the window length, so every reference's excess can only have fallen).
    clear = state.short_clear
    if clear is not None and followers <= clear[0] and clear[1] is baseline and clear[2] == guard_ts and t >= clear[3]:
        return None
    floor, relative = config.min_excess_followers, config.short_min_relative
    # Second shortcut, for growth: the last full scan (same baseline and guard) left every
    # reference r below its pre-check as long as F < F_r + rate * (t_scan - t_r) + pre_r
    # (the expected growth only rises with t), and a reference added since (follower
    # count F_i, at the latest low_followers) as long as F < F_i + pre_i. Below the
    # smallest of those ceilings the scan cannot find anything; it is skipped with the
    # same outcome as a scan that found nothing.
    ceiling = state.short_ceiling
    if ceiling is not None and ceiling[1] is baseline and ceiling[2] == guard_ts and t >= ceiling[3]:
        limit = ceiling[0]
        low = state.low_followers
        low_limit = low + max(floor, relative * low)
        if low_limit < limit:
            limit = low_limit
        if followers < limit - 1e-6 * (abs(limit) + 1.0):
            state.short_clear = (followers, baseline, guard_ts, t)
            return None
    sigma = _sigma(baseline, followers, config)
    rate = max(baseline.median_per_hour, 0.0)
    found = None
    limit = math.inf
    low = followers
    # Oldest first, keeping the latest qualifying reference: the tightest window. The
    # inline pre-check rejects most references without the full test (hot path).
    last_ref = t - 1.0
    for ref_ts, ref_followers in state.hourly.between(max(t - config.short_window_s, guard_ts), t):
        if ref_ts > last_ref:
            # Not a reference yet (within a second of now), but it will be one.
            if ref_followers < low:
                low = ref_followers
            continue
        expected = rate * (t - ref_ts) / HOUR
        excess = followers - ref_followers - expected
        pre = relative * ref_followers
        if pre < floor:
            pre = floor
        if excess < pre:
            ceiling_r = ref_followers + expected + pre
            if ceiling_r < limit:
                limit = ceiling_r
            continue
        limit = -math.inf  # a reference passed the pre-check: no shortcut from this scan
        hit = _test(config, "short", t, followers, ref_ts, ref_followers, baseline, sigma, state.platform)
        if hit is not None:
            found = hit
    if found is None:
        state.short_clear = (followers, baseline, guard_ts, t)
        state.short_ceiling = (limit, baseline, guard_ts, t) if limit > -math.inf else None
        state.low_followers = low
    else:
        state.short_clear = state.short_ceiling = None
    return found


def _long_test(state: AccountState, config: EngineConfig, guard_ts: float) -> Exceedance | None:
    t, followers = state.latest_ts, state.followers
    ref = state.hourly.at_or_before(t - config.long_window_s) or state.daily.at_or_before(t - config.long_window_s)
    if ref is None or ref[0] < guard_ts:
        ref = next(state.hourly.between(max(guard_ts, t - config.long_window_s), t), None)
        if ref is None or t - ref[0] <= config.short_window_s:
            return None  # no more than the short window can see
    baseline = state.baselines.get("long")  # baseline_before's cache check, inlined
    if baseline is None or not 0 <= int(t // HOUR) - baseline.hour < BASELINE_REFRESH_HOURS:
        baseline = baseline_before(state, config, "long", ref[0])
    if baseline.rates < config.min_baseline_rates:
        baseline = state.baselines.get("short")  # set by _short_test on this observation
        if baseline is None or not 0 <= int(t // HOUR) - baseline.hour < BASELINE_REFRESH_HOURS:
            baseline = baseline_before(state, config, "short", t - config.short_window_s)
    # Pre-check (the threshold is never below the floors), as in _test: most
    # observations stop here without the sigma.
    ref_ts, ref_followers = ref
    hours = max((t - ref_ts) / HOUR, 1.0 / 60.0)
    excess = followers - ref_followers - max(baseline.median_per_hour, 0.0) * hours
    if excess < config.min_excess_followers or excess < config.long_min_relative * ref_followers:
        return None
    sigma = _sigma(baseline, followers, config)
    return _test(config, "long", t, followers, ref_ts, ref_followers, baseline, sigma, state.platform)


def _test(
    config: EngineConfig,
    window: str,
    t: float,
    followers: int,
    ref_ts: float,
    ref_followers: int,
    baseline: Baseline,
    sigma: float,
    platform: str,
) -> Exceedance | None:
    measured = _measure(config, window, t, followers, ref_ts, ref_followers, baseline, sigma, platform)
    return measured if measured.excess >= measured.threshold else None


def _measure(
    config: EngineConfig,
    window: str,
    t: float,
    followers: int,
    ref_ts: float,
    ref_followers: int,
    baseline: Baseline,
    sigma: float,
    platform: str,
) -> Exceedance:
    """Growth from the reference to now above the baseline, and the threshold it is held to."""
    hours = max((t - ref_ts) / HOUR, 1.0 / 60.0)
    # A shrinking baseline (e.g. bought followers being removed) must not turn a flat
    # follower count into "growth above expectation".
    expected = max(baseline.median_per_hour, 0.0) * hours
    # A count that may be a display rounding is a range (counts.py): the least growth
    # the two ranges allow is what counts.
    shown = shown_from(platform)
    excess = followers - display_unit(followers, shown) - ref_followers - display_unit(ref_followers, shown) - expected
    relative = config.short_min_relative if window == "short" else config.long_min_relative
    threshold = max(config.min_excess_followers, relative * ref_followers, config.sigma_k * sigma * math.sqrt(hours))
    return Exceedance(window, ref_ts, ref_followers, excess, threshold, expected, baseline, sigma)


def baseline_before(state: AccountState, config: EngineConfig, key: str, cutoff_ts: float) -> Baseline:
    """Median/MAD of hourly growth rates observed before ``cutoff_ts``; refreshed daily."""
    hour = int(state.latest_ts // HOUR)
    cached = state.baselines.get(key)
    # The cut-off trails the window by a day or more, so a day's staleness is harmless
    # and saves a sort per observation.
    if cached is not None and 0 <= hour - cached.hour < BASELINE_REFRESH_HOURS:
        return cached
    ends, all_rates = _hourly_rates(state, hour)
    rates = all_rates[: bisect_right(ends, cutoff_ts)]
    if len(rates) >= 3:
        mid = median(rates)
        mad = median(list(map(abs, map(mid.__rsub__, rates))))  # |r - mid|, in C
    else:
        mid, mad = 0.0, 0.0
    baseline = Baseline(hour, mid, mad, len(rates))
    state.baselines[key] = baseline
    return baseline


def _hourly_rates(state: AccountState, hour: int) -> tuple[list[int], list[float]]:
    """Growth per hour between consecutive buckets, by end time; shared by both windows.

    Between refreshes the ring loses buckets at its head (pruning) and changes only at
    or after ``ring.mark`` (the lowest bucket written since), so the rates of pairs of
    buckets below the mark are kept and only the pairs from there on are computed.
    """
    cached = state.rate_cache
    if cached is not None and cached[0] == hour:
        return cached[1], cached[2]
    ring = state.hourly
    order, buckets = ring.order, ring.buckets
    dirty, ring.mark = ring.mark, 1 << 62
    ends: list[int] = []
    rates: list[float] = []
    position = 0  # first bucket (in ``order``) whose pair with the next is still to compute
    if cached is not None and cached[3] is not None and order and dirty >= 0:
        indices = cached[3]
        start = bisect_left(indices, order[0])
        clean = bisect_left(indices, dirty)  # indices[:clean] are unchanged buckets
        if start < clean and indices[start] == order[0]:
            ends, rates = cached[1][start : clean - 1], cached[2][start : clean - 1]
            position = clean - 1 - start
    contiguous = True  # one rate per pair of neighbours: what the reuse above relies on
    shown = shown_from(state.platform)
    if position < len(order):
        t0, f0 = buckets[order[position]]
        for index in order[position + 1 :]:
            t1, f1 = buckets[index]
            if f1 % 100 == 0 and display_unit(f1, shown):
                contiguous = False  # maybe rounded for display (counts.py): no rate from it
                continue
            if t1 > t0:
                ends.append(t1)
                rates.append((f1 - f0) * HOUR / (t1 - t0))
            else:
                contiguous = False
            t0, f0 = t1, f1
    state.rate_cache = (hour, ends, rates, order[:] if contiguous else None)
    return ends, rates


def _sigma(baseline: Baseline, followers: int, config: EngineConfig) -> float:
    sigma = max(MAD_TO_SIGMA * baseline.mad_per_hour, MIN_SIGMA_PER_HOUR)
    if baseline.rates < config.min_baseline_rates:
        # Too little history to know the account's noise: assume a generous prior.
        sigma = max(sigma, config.prior_sigma_relative_per_hour * followers)
    return sigma


def _open_episode(
    state: AccountState, config: EngineConfig, found: Exceedance, mentions: MentionBook | None, purchase_only: bool = False
) -> FollowerSpikeAlert | None:
    t = state.latest_ts
    if state.pending_start is not None and state.pending_start < found.ref_ts:
        # A held spike is judged, and reported, from where it was first seen.
        found = _rebased(state, config, found, state.pending_start)
    points = list(state.hourly.between(found.ref_ts, t)) or [(int(found.ref_ts), found.ref_followers), (int(t), state.followers)]
    # Within an open episode, what explained it may explain its later growth as well, as
    # far as a post's followers keep arriving.
    explain_from = None
    if purchase_only and state.episode is not None:
        explain_from = max(float(state.episode.start_ts), found.ref_ts - config.conversion_window_s)
    verdict = classify(state, config, found, points, mentions, explain_from)
    if purchase_only and verdict.classification != "suspected_purchase":
        return None
    if verdict.undecided:
        if state.pending_since is None:
            state.pending_since, state.pending_start = int(t), int(found.ref_ts)
        if t - state.pending_since < verdict.hold_s:
            return None
    state.pending_since = state.pending_start = None
    onset_ts = _largest_step_end(points)
    alert_id = hashlib.sha256(f"{state.account_id}|{onset_ts}".encode()).hexdigest()[:32]
    state.episode = Episode(alert_id, verdict.classification, int(found.ref_ts), int(t), int(t))
    if verdict.classification == "suspected_purchase":
        state.purchase_alerts = (state.purchase_alerts + [int(t)])[-5:]
    growth = state.followers - found.ref_followers
    return FollowerSpikeAlert(
        alert_id=alert_id,
        account_id=state.account_id,
        platform=state.platform,
        handle=state.handle,
        niches=sorted(state.niche_counts()),
        classification=verdict.classification,
        window_start=_utc(found.ref_ts),
        window_end=_utc(t),
        detected_at=_utc(t),
        followers_before=found.ref_followers,
        followers_after=state.followers,
        growth=growth,
        growth_relative=growth / found.ref_followers if found.ref_followers else float(growth),
        expected_growth=round(found.expected, 2),
        baseline_growth_per_hour=round(found.baseline.median_per_hour, 3),
        baseline_mad_per_hour=round(found.baseline.mad_per_hour, 3),
        evidence=verdict.evidence,
    )


def _rebased(state: AccountState, config: EngineConfig, found: Exceedance, start_ts: float) -> Exceedance:
    earlier = state.hourly.at_or_before(start_ts)
    if earlier is None:
        return found
    return _measure(
        config, found.window, state.latest_ts, state.followers, float(earlier[0]), earlier[1], found.baseline,
        found.sigma, state.platform,
    )


def _largest_step_end(points: list[tuple[int, int]]) -> int:
    """Time of the observation ending the biggest single rise: the episode's onset."""
    best_ts, best_step = points[-1][0], -math.inf
    for (_, before), (ts, after) in zip(points, points[1:]):
        if after - before > best_step:
            best_ts, best_step = ts, after - before
    return best_ts


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
