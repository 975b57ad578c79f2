"""Why did the followers jump? suspected_purchase vs organic_breakout.

Follower counts are cheap to fake, engagement is not. Growth counts as organic when
something explains it:

    engagement      the growth left after crediting the posts' extra engagement in
                    proportion (explain.py) is no longer a spike by the test that found it
    viral post      a post near the window with >= viral_multiple x the account's median
                    interactions (the tier's typical rate when the account has no history):
                    viral reach converts far beyond any per-post estimate
    mention         a shout-out by another account whose audience, at a few percent
                    converting, can supply what engagement leaves unexplained
                    (in proportion to the mentioner's followers: see mentions.py)

Posts explain growth only as people arrive: smoothly, as the posts spread. A step inside
growth that posts explain (a purchase hidden in a real viral surge) is still a suspected
purchase when it stands out of the growth around it by more than people's arrivals can
change in that time (``hidden_step``)::

    hourly growth   ..  40  55  70  4,080  85  80  70 ..   (viral surge of a 20,000 account)
    allowed              neighbours' pace x e^(dt / 4 h) = 85 x 1.28 = 109 in that hour
    step                 4,080 - 109 = 3,971 >= 400 (2% of followers): suspected purchase

Seen once a day, the same surge falls into one or two intervals and the allowance
(e^(24 h / 4 h) = 403 x the neighbours' pace) covers it: an account observed that rarely
is never accused this way.

Otherwise it is a suspected purchase, and the tell-tales that usually come with one
(round-number jumps, spike-then-decay, engagement rate falling with the new followers)
are added as supporting evidence. Posts are judged by the interactions they are expected
to collect in all, not by what a young observation showed. Verdicts that the next hours
may overturn wait, without an alert:

    unexplained, gradual      up to audience_hold_s, until the posts show whether
                              engagement grew with the followers (people engage, bought
                              followers do not): posts published since, against the
                              followers they were shown to (explain.audience_response),
                              or posts already out, gaining between two looks beyond how
                              the account's posts of those ages grow (maturity.py), or
                              both together (their z scores combined, Stouffer)
    unexplained, unobserved   up to conversion_window_s when the growth arrived across a
                              gap without observations of unobserved_gap_s and three times
                              the account's usual interval (posts from the gap are seen
                              when next observed)
    explained                 until conversion_window_s after the explaining post: the
                              followers a post brings stop coming, a drip-fed purchase
                              does not (it is then judged on all the growth since)

An organic episode does not hide a purchase made while it lasts: growth beyond its
alert is tested on its own, and only a purchase verdict opens a new episode.

A single unexplained step is decided at the first observation that shows it, unless
the rise was already under way before it: the window may start mid-way through a surge,
and a step no bigger than smooth arrivals from the pace before it allow is part of the
surge (``_rise_before``), which is gradual growth and waits as above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from schemas.events import Classification, Evidence
from streams.core.config import HOUR, EngineConfig
from streams.core.counts import display_unit, shown_from
from streams.core.explain import (
    AudienceResponse,
    Explanation,
    Usual,
    audience_response,
    conversion_for,
    explain,
    lifetime_interactions,
    usual_interactions,
)
from streams.core.maturity import NewcomerResponse, newcomer_response
from streams.core.mentions import MentionBook
from streams.core.state import AccountState
from streams.core.stats import median
from streams.core.windows import PostObservation

if TYPE_CHECKING:
    from streams.core.spikes import Exceedance


@dataclass(frozen=True, slots=True)
class Verdict:
    classification: Classification
    evidence: list[Evidence]
    # A verdict the next observations may still overturn: held (no alert) for up to
    # ``hold_s`` after the spike was first seen, then given as it stands.
    undecided: bool = False
    hold_s: float = 0.0


def classify(
    state: AccountState,
    config: EngineConfig,
    found: Exceedance,
    points: list[tuple[int, int]],
    mentions: MentionBook | None = None,
    explain_from: float | None = None,
) -> Verdict:
    """``explain_from``: posts from before then may explain the growth too (an open episode's start)."""
    t, start = state.latest_ts, found.ref_ts
    growth = state.followers - found.ref_followers
    hours = max((t - start) / HOUR, 1.0 / 60.0)
    evidence = [
        Evidence(
            name="excess_growth",
            value=round(found.excess, 1),
            detail=(
                f"followers grew by {growth:,} ({growth / max(found.ref_followers, 1):.1%}) in {hours:.1f} h "
                f"where the account's baseline of {found.baseline.median_per_hour:.1f}/h predicts "
                f"{found.expected:,.0f}; threshold {found.threshold:,.0f} ({found.window} window)"
            ),
        ),
        Evidence(
            name="robust_z",
            value=round(found.excess / (found.sigma * math.sqrt(hours)), 1),
            detail=f"the excess is {found.excess / (found.sigma * math.sqrt(hours)):.1f} robust standard deviations "
            f"of the account's hourly growth ({found.sigma:.1f}/h)",
        ),
    ]
    posts = state.posts.values()
    since = (start if explain_from is None else min(start, explain_from)) - config.viral_lookback_s
    tier = config.tiers.tier_for(found.ref_followers)
    # No history of its own: posts are judged against what is typical for the tier.
    usual = usual_interactions(posts, since, found.ref_followers * config.typical_engagement[tier], config)
    typical = usual.median
    near = [p for p in posts if since <= p.posted_ts <= t]
    viral = _strongest(near, typical, config)
    if viral is not None:
        ratio, post = viral
        evidence.append(
            Evidence(
                name="max_post_engagement_ratio",
                value=round(ratio, 2),
                detail=f"the strongest post near the window has {post.interactions:,} interactions "
                f"(about {lifetime_interactions(post, config):,.0f} over its lifetime), {ratio:.1f}x the account's "
                f"median of {typical:,.0f}",
            )
        )
    else:
        evidence.append(
            Evidence(name="max_post_engagement_ratio", value=0.0, detail="no post near the window to explain the growth")
        )
    conversion = conversion_for(state, config, usual, found.baseline.median_per_hour, since, tier)
    explanation = explain(config, conversion, usual, near, found.ref_followers, found.excess)
    evidence.extend(_explained_evidence(found, growth, usual, explanation, config))
    chatter = _comment_ratio(posts, since, t)
    if chatter is not None and chatter[0] >= config.viral_multiple:
        evidence.append(
            Evidence(
                name="max_post_comment_ratio",
                value=round(chatter[0], 2),
                detail=f"a post near the window has {chatter[1].comments:,} comments, {chatter[0]:.1f}x the usual "
                "(giveaways and shout-outs draw comments)",
            )
        )
    explained = explanation.unexplained < found.threshold
    organic = (
        viral is not None
        and viral[0] >= config.viral_multiple
        and lifetime_interactions(viral[1], config) >= config.viral_min_interactions
    )
    # A mention explains what engagement leaves unexplained, as far as the rest is still a spike.
    needed = max(0, math.ceil(explanation.unexplained - found.threshold))
    mention = mentions.explaining(state.account_id, needed, since, t) if mentions else None
    if mention is not None:
        evidence.append(
            Evidence(
                name="mentioned_by_followers",
                value=float(mention.by_followers),
                detail=f"{mention.by_account} ({mention.by_followers:,} followers) mentioned the account "
                f"{(found.ref_ts - mention.ts) / HOUR:+.1f} h before the window",
            )
        )
    # A count that may be a display rounding says little about when the followers came:
    # steps are read from the exact counts (as the baseline rates are), when there are two.
    shown = shown_from(state.platform)
    exact = [(ts, f) for ts, f in points if not display_unit(f, shown)]
    measured = exact if len(exact) >= 2 else points
    step, _, step_end = _largest_step(measured)
    _, step_hours, _ = _largest_step(points)  # how long the biggest rise between any two looks took
    continued = _rise_after(state, found, points, step_end, config) or _rise_before(state, found, measured, config)
    gradual = step < 0.8 * (measured[-1][1] - measured[0][1]) or continued
    if mention is not None:
        return Verdict("organic_breakout", evidence)
    if organic or explained:
        # Followers that posts bring arrive as people see the posts; a bought step inside
        # that growth does not, and posts do not explain it.
        hidden = hidden_step(state, config, found)
        if hidden.evidence is not None:
            evidence.append(hidden.evidence)
            evidence.extend(_purchase_tells(state, config, found, points, posts))
            return Verdict("suspected_purchase", evidence)
        if organic:
            return Verdict("organic_breakout", evidence, hidden.pending, config.classification_hold_s)
        # Engagement explains the growth so far. Followers a post brings stop coming;
        # a drip-fed purchase keeps going: wait until the post's followers are in.
        last_credit = max((p.posted_ts for p in near if usual.extra(lifetime_interactions(p, config)) > 0), default=start)
        still_converting = t < last_credit + config.conversion_window_s
        return Verdict("organic_breakout", evidence, still_converting or hidden.pending, config.conversion_window_s)
    # Followers that came from off the platform (press, a move from another network) are
    # people: they engage, and the account's next posts show it. Bought ones do not.
    audience = audience_response(
        posts, usual, found.ref_ts, found.ref_followers, config, lambda ts: _follower_count_at(state, ts)
    )
    if audience.posts:
        evidence.append(_audience_evidence(audience))
    # ... and they engage with the posts that were already there, beyond those posts' usual growth with age.
    # Growth beyond an organic alert: the posts' curve is read from before that episode.
    began = float(state.episode.start_ts) if explain_from is not None and state.episode is not None else None
    newcomers = newcomer_response(
        posts, found.ref_ts, found.baseline.median_per_hour, config, lambda ts: _follower_count_at(state, ts), began
    )
    if newcomers.pairs:
        evidence.append(_newcomer_evidence(newcomers))
    engaged = audience.verdict == "followed" or newcomers.verdict == "followed"
    if engaged or engaged_together(audience, newcomers, config):
        return Verdict("organic_breakout", evidence)
    evidence.extend(_purchase_tells(state, config, found, points, posts))
    if gradual and audience.verdict is None:
        return Verdict("suspected_purchase", evidence, True, config.audience_hold_s)
    # Real followers arrive over hours as a post or a mention spreads, bought followers in
    # one step: gradual growth waits for an explanation (bounded by classification_hold_s).
    # Growth that arrived while the account went unobserved may come from posts published
    # in that gap, seen only when they are next observed: it waits for them.
    if step_hours * HOUR >= max(config.unobserved_gap_s, 3.0 * _usual_interval(state)):
        return Verdict("suspected_purchase", evidence, True, config.conversion_window_s)
    return Verdict("suspected_purchase", evidence, gradual, config.classification_hold_s)


def _rise_after(
    state: AccountState, found: Exceedance, points: list[tuple[int, int]], step_end: int, config: EngineConfig
) -> bool:
    """Did followers keep rising beyond the account's pace after the largest step?"""
    after = [(ts, f) for ts, f in points if ts >= step_end]
    if len(after) < 2:
        return False
    shown = shown_from(state.platform)
    (t0, f0), (t1, f1) = after[0], after[-1]
    hours = (t1 - t0) / HOUR
    rise = (f1 - display_unit(f1, shown)) - (f0 + display_unit(f0, shown)) - max(found.baseline.median_per_hour, 0.0) * hours
    return rise >= max(config.min_excess_followers, config.sigma_k * found.sigma * math.sqrt(max(hours, 1.0 / 60.0)))


def _rise_before(
    state: AccountState, found: Exceedance, measured: list[tuple[int, int]], config: EngineConfig
) -> bool:
    """Was the largest step the continuation of a rise already under way (a surge seen mid-way)?

    The window starts at the latest reference that makes it a spike, which may be inside
    the rise. When the interval before the step already rose beyond the account's noise
    (``sigma_k`` robust deviations), and the step is no more than smooth arrivals allow
    from that pace (``hidden_step``'s allowance: a factor e per ``arrival_tau``), people
    were arriving; a package delivered at once stands out of it by a spike.
    """
    best, step = 0, None
    for (t0, f0), (t1, f1) in zip(measured, measured[1:]):
        if f1 - f0 > best:
            best, step = f1 - f0, (t0, f0, t1)
    if step is None:
        return False
    t_start, f_start, t_end = step
    shown = shown_from(state.platform)
    earlier = [
        (ts, f) for ts, f in state.hourly.between(t_start - config.short_window_s, t_start - 1)
        if not display_unit(f, shown)
    ]
    if not earlier:
        return False
    t_before, f_before = earlier[-1]
    pace = max(found.baseline.median_per_hour, 0.0)
    hours_before = max((t_start - t_before) / HOUR, 1.0 / 60.0)
    rise = f_start - f_before - pace * hours_before
    if rise < config.sigma_k * found.sigma * math.sqrt(hours_before):
        return False
    hours = max((t_end - t_start) / HOUR, 1.0 / 60.0)
    tau_hours = config.post_maturity_s / 3.0 / HOUR
    allowed = hours * (f_start - f_before) / hours_before * math.exp(min((hours + hours_before) / 2.0 / tau_hours, 50.0))
    threshold = max(
        config.min_excess_followers, config.short_min_relative * f_start, config.sigma_k * found.sigma * math.sqrt(hours)
    )
    return best - allowed < threshold


@dataclass(frozen=True, slots=True)
class HiddenStep:
    evidence: Evidence | None  # a step that arrivals from posts cannot make
    pending: bool  # the latest interval may be one: the next observation tells


def hidden_step(state: AccountState, config: EngineConfig, found: Exceedance) -> HiddenStep:
    """A step inside growth that posts explain, beyond what people arriving could make.

    People who find an account through a post arrive as the post spreads: their rate of
    arrival changes smoothly, by at most a factor e per ``arrival_tau`` (the time constant
    of a post's own interactions, a third of ``post_maturity_s``). So the growth of one
    interval between observations is allowed the rate of a neighbouring interval, scaled
    by that factor over the time between them::

        allowed_k = dt_k * max_j(rate_j * exp((dt_k + dt_j) / 2 / arrival_tau)),  j = k - 1, k + 1
        rate_j   >= the account's hourly noise (sigma): rates grow from the noise, not from 0
        step_k    = growth_k - allowed_k   (display-rounded counts read as ranges)

    A step that is itself a spike by the spike test (for an interval of ``dt_k``) is not
    explained by the posts. With only the interval before it to compare against, the
    latest interval is pending: the next observation shows whether the rise went on (a
    surge) or stopped (a step). Intervals much longer than ``arrival_tau`` are allowed so
    much that a sparsely observed account is never accused this way.
    """
    t = state.latest_ts
    points = list(state.hourly.between(found.ref_ts - config.short_window_s, t))
    shown = shown_from(state.platform)
    units = [display_unit(f, shown) for _, f in points]
    intervals = []  # (end ts, hours, least growth, most growth, followers before)
    for (t0, f0), (t1, f1), u0, u1 in zip(points, points[1:], units, units[1:]):
        if t1 > t0:
            intervals.append((t1, (t1 - t0) / HOUR, (f1 - u1) - (f0 + u0), (f1 + u1) - (f0 - u0), f0))
    tau_hours = config.post_maturity_s / 3.0 / HOUR
    floor_rate = max(found.baseline.median_per_hour, 0.0)
    # A rate grows from the account's noise, never from nothing: a quiet neighbour still
    # leaves a long interval room for a whole surge.
    least_rate = max(floor_rate, found.sigma)
    best: tuple[float, float, float, float] | None = None  # (step, threshold, hours, end ts)
    pending = False
    for k, (end_ts, hours, least, _, before) in enumerate(intervals):
        if end_ts <= found.ref_ts or least <= 0:
            continue
        threshold = max(
            config.min_excess_followers, config.short_min_relative * before, config.sigma_k * found.sigma * math.sqrt(hours)
        )
        allowed = floor_rate * hours
        for j in (k - 1, k + 1):
            if 0 <= j < len(intervals):
                _, other_hours, _, most, _ = intervals[j]
                scale = math.exp(min((hours + other_hours) / 2.0 / tau_hours, 50.0))
                allowed = max(allowed, hours * max(most / other_hours, least_rate) * scale)
        jump = least - allowed
        if jump < threshold or k == 0:
            continue
        if k == len(intervals) - 1:
            pending = True  # only the interval before it to go by
        elif best is None or jump - threshold > best[0] - best[1]:
            best = (jump, threshold, hours, end_ts)
    if best is None:
        return HiddenStep(None, pending)
    jump, threshold, hours, end_ts = best
    return HiddenStep(
        Evidence(
            name="step_beyond_arrivals",
            value=round(jump, 1),
            detail=f"{jump:,.0f} followers arrived within {hours:.1f} h ({(t - end_ts) / HOUR:.1f} h ago) beyond what "
            f"the growth around it allows people finding the posts (a spike from {threshold:,.0f}): a step, not a surge",
        ),
        False,
    )


def _follower_count_at(state: AccountState, ts: float) -> int | None:
    seen = state.hourly.at_or_before(ts)
    return None if seen is None else seen[1]


def _strongest(near: list[PostObservation], typical: float, config: EngineConfig) -> tuple[float, PostObservation] | None:
    if not near:
        return None
    best = max(near, key=lambda p: lifetime_interactions(p, config))
    return lifetime_interactions(best, config) / typical, best


def _explained_evidence(
    found: Exceedance, growth: int, usual: Usual, explanation: Explanation, config: EngineConfig
) -> list[Evidence]:
    conversion = explanation.conversion
    source = (
        f"learned from {conversion.learned_from} earlier good post(s) of the account"
        if conversion.source == "account"
        else f"the {conversion.tier} tier's prior"
    )
    return [
        Evidence(
            name="observed_growth",
            value=float(growth),
            detail=f"followers grew by {growth:,}, {found.excess:,.0f} above the {found.expected:,.0f} "
            "the account's baseline predicts",
        ),
        Evidence(
            name="explained_growth",
            value=round(explanation.explained, 1),
            detail=f"posts near the window drew {explanation.extra_interactions:,.0f} interactions beyond the "
            f"account's usual {usual.median:,.0f} per post, which explain "
            f"{explanation.explained:,.0f} new followers (credited up to {config.explained_tolerance:g}x: "
            f"{explanation.credited:,.0f})",
        ),
        Evidence(
            name="unexplained_growth",
            value=round(explanation.unexplained, 1),
            detail=f"{explanation.unexplained:,.0f} followers above the baseline are not explained by engagement "
            f"(a spike from {found.threshold:,.0f})",
        ),
        Evidence(
            name="followers_per_interaction",
            value=round(explanation.followers_per_interaction, 4),
            detail=f"{explanation.followers_per_interaction:.3f} new followers per extra interaction "
            f"({conversion.elasticity:.2%} of the audience per median post of extra engagement), {source}",
        ),
    ]


def _comment_ratio(posts: list[PostObservation], since_ts: float, until_ts: float) -> tuple[float, PostObservation] | None:
    """Strongest comment count near the window against the account's usual (at least 3)."""
    near = [p for p in posts if since_ts <= p.posted_ts <= until_ts]
    earlier = [p.comments for p in posts if p.posted_ts < since_ts]
    if not near or len(earlier) < 2:
        return None
    best = max(near, key=lambda p: p.comments)
    return best.comments / max(median(earlier), 3.0), best


def _purchase_tells(
    state: AccountState,
    config: EngineConfig,
    found: Exceedance,
    points: list[tuple[int, int]],
    posts: list[PostObservation],
) -> list[Evidence]:
    tells = []
    step, step_hours, _ = _largest_step(points)
    organic_part = found.baseline.median_per_hour * step_hours
    jump = step - organic_part
    for unit in (1000, 500):
        if jump >= 5 * unit:
            off = abs(jump - round(jump / unit) * unit)
            # Organic arrivals during the step blur the round number by about this much.
            if off <= max(2.0, 3 * found.sigma * math.sqrt(step_hours)):
                tells.append(
                    Evidence(
                        name="round_number_jump",
                        value=float(round(jump / unit) * unit),
                        detail=f"a single jump of {step:,} followers is within {off:,.0f} of {round(jump / unit) * unit:,}",
                    )
                )
            break
    peak = max(f for _, f in points)
    if peak > found.ref_followers and state.followers < peak:
        decay = (peak - state.followers) / (peak - found.ref_followers)
        if decay >= 0.1:
            tells.append(
                Evidence(
                    name="spike_then_decay",
                    value=round(decay, 3),
                    detail=f"{decay:.0%} of the gained followers were lost again after the peak of {peak:,}",
                )
            )
    before = [p.engagement_rate for p in posts if p.observed_ts < found.ref_ts]
    after = [p.engagement_rate for p in posts if p.observed_ts >= found.ref_ts and p.followers > found.ref_followers]
    if before and after:
        change = median(after) / median(before) if median(before) > 0 else 0.0
        tells.append(
            Evidence(
                name="engagement_rate_change",
                value=round(change, 3),
                detail=f"engagement rate after the jump is {change:.2f}x the rate before: the new followers do not engage",
            )
        )
    return tells


def _audience_evidence(audience: AudienceResponse) -> Evidence:
    how = {
        "followed": "engagement grew with the new followers: they are people",
        "not_followed": "engagement stayed where it was: the new followers do not engage",
        None: "too few posts since to tell",
    }[audience.verdict]
    return Evidence(
        name="engagement_follows_followers",
        value=round(audience.slope, 3),
        detail=f"{audience.posts} post(s) since the growth began: interactions moved {audience.slope:.2f}x as far as "
        f"followers did (log scale, +/- {audience.standard_error:.2f}); {how}",
    )


def engaged_together(audience: AudienceResponse, newcomers: NewcomerResponse, config: EngineConfig) -> bool:
    """Do the two tests, independent (different posts), say "people" together (Stouffer's z)?"""
    if not audience.posts or not newcomers.pairs:
        return False
    z_audience = (audience.slope - 0.5) / audience.standard_error
    z_newcomers = (newcomers.slope - config.newcomer_engagement / 2.0) / newcomers.standard_error
    return (z_audience + z_newcomers) / math.sqrt(2.0) >= config.audience_z


def _newcomer_evidence(newcomers: NewcomerResponse) -> Evidence:
    how = {
        "followed": "posts already published gained with the new followers: they are people",
        "not_followed": "posts already published grew only as posts of their age do: the new followers do not engage",
        None: "too little to tell yet",
    }[newcomers.verdict]
    return Evidence(
        name="newcomers_engage_with_earlier_posts",
        value=round(newcomers.slope, 3),
        detail=f"{newcomers.pairs} post(s) seen before and after new followers arrived (up to "
        f"{newcomers.newcomers:.1%} of the audience between two looks) gained {newcomers.lift:+.3f} (log) beyond "
        f"the account's maturity curve from {newcomers.controls} earlier pairs of looks: {newcomers.slope:.2f} "
        f"+/- {newcomers.standard_error:.2f} of the engagement of the posts' own audience per newcomer; {how}",
    )


def _usual_interval(state: AccountState) -> float:
    """Median seconds between the account's hourly observations (its polling cadence)."""
    seen = [ts for ts, _ in state.hourly.ordered()]
    gaps = [b - a for a, b in zip(seen, seen[1:])]
    return median(gaps) if gaps else 0.0


def _largest_step(points: list[tuple[int, int]]) -> tuple[int, float, int]:
    """Biggest rise between consecutive observations, the hours it took and when it ended."""
    best, hours, end = 0, 1.0, points[-1][0]
    for (t0, f0), (t1, f1) in zip(points, points[1:]):
        if f1 - f0 > best:
            best, hours, end = f1 - f0, max((t1 - t0) / HOUR, 1.0 / 60.0), t1
    return best, hours, end
