"""Why did the followers jump? suspected_purchase vs organic_breakout.

Follower counts are cheap to fake, engagement is not. Growth counts as organic when
something explains it:

    viral post      a post near the window with >= viral_multiple x the account's median
                    interactions (the tier's typical rate when the account has no history)
    comment burst   a post with >= viral_multiple x the usual comments (giveaways, "tag a friend")
    surge           two or more posts in the window at >= surge_multiple x the median
    mention         another account with at least as many followers as were gained
                    mentioned this one (see mentions.py)

Otherwise it is a suspected purchase, and the tell-tales that usually come with one
(round-number jumps, spike-then-decay, engagement rate falling with the new followers)
are added as evidence. Gradual growth and young promising posts are held for up to
classification_hold_s so the explanation has time to show up; single steps are decided
at once (or after one more observation when the step spans a long gap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from schemas.events import Classification, Evidence
from streams.core.config import HOUR, EngineConfig
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
    # A purchase verdict that a still-young, promising post may overturn once it matures.
    undecided: bool = False


def classify(
    state: AccountState,
    config: EngineConfig,
    found: Exceedance,
    points: list[tuple[int, int]],
    mentions: MentionBook | None = None,
    explain_from: float | None = None,
) -> Verdict:
    """``explain_from``: where the growth began, if earlier than ``found``'s window (a held spike)."""
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
    began = start if explain_from is None else min(start, explain_from)
    since = began - config.viral_lookback_s
    typical = _typical_interactions(posts, since)
    if typical is None:
        # No history of its own: judge posts against what is typical for the account's tier.
        tier = config.tiers.tier_for(found.ref_followers)
        typical = max(found.ref_followers * config.typical_engagement[tier], 1.0)
    viral = _viral_ratio(posts, typical, since, t) if typical is not None else None
    surge = _surge_ratio(posts, typical, began, t) if typical is not None else None
    if viral is not None:
        ratio, post = viral
        evidence.append(
            Evidence(
                name="max_post_engagement_ratio",
                value=round(ratio, 2),
                detail=f"the strongest post near the window has {post.interactions:,} interactions, "
                f"{ratio:.1f}x the account's median of {typical or 0:,.0f}",
            )
        )
    else:
        evidence.append(
            Evidence(
                name="max_post_engagement_ratio",
                value=0.0,
                detail="no post near the window to explain the growth"
                if typical is not None
                else "too few earlier posts to judge whether a post explains the growth",
            )
        )
    if surge is not None:
        evidence.append(
            Evidence(
                name="window_engagement_ratio",
                value=round(surge[0], 2),
                detail=f"{surge[1]} posts during the window have a median of {surge[0]:.1f}x the usual interactions",
            )
        )
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
    organic = (
        (viral is not None and viral[0] >= config.viral_multiple and viral[1].interactions >= config.viral_min_interactions)
        or (surge is not None and surge[1] >= 2 and surge[0] >= config.surge_multiple)
        or (chatter is not None and chatter[0] >= config.viral_multiple and chatter[1].comments >= config.viral_min_interactions)
    )
    mention = mentions.explaining(state.account_id, growth, since, t) if mentions else None
    if mention is not None:
        evidence.append(
            Evidence(
                name="mentioned_by_followers",
                value=float(mention.by_followers),
                detail=f"{mention.by_account} ({mention.by_followers:,} followers) mentioned the account "
                f"{(found.ref_ts - mention.ts) / HOUR:+.1f} h before the window",
            )
        )
    if organic or mention is not None:
        return Verdict("organic_breakout", evidence)
    evidence.extend(_purchase_tells(state, config, found, points, posts))
    # Real followers arrive over hours as a post or a mention spreads, and the post that
    # explains them may still be young or not yet published; bought followers arrive in
    # one step. So gradual growth, and a young promising post, wait for an explanation
    # (bounded by classification_hold_s). A step seen across a long gap between
    # observations may be either: it waits for one more observation to show its shape.
    step, step_hours, step_end = _largest_step(points)
    gradual = step < 0.8 * growth
    shape_unknown = step_hours > 1.5 and step_end == points[-1][0]
    young_promising = (
        viral is not None
        and viral[0] >= config.hold_multiple
        and viral[1].observed_ts - viral[1].posted_ts < config.post_maturity_s
    )
    return Verdict("suspected_purchase", evidence, undecided=gradual or shape_unknown or young_promising)


def _typical_interactions(posts: list[PostObservation], before_ts: float) -> float | None:
    """Median interactions of the posts published before the candidates for an explanation.

    Candidates are kept out so a viral post cannot raise its own yardstick; with too few
    older posts, all but the strongest post are used.
    """
    earlier = [p.interactions for p in posts if p.posted_ts < before_ts]
    if len(earlier) < 3:
        earlier = sorted(p.interactions for p in posts)[:-1]
    # Without a yardstick no post can be called exceptional.
    return max(median(earlier), 1.0) if len(earlier) >= 2 else None


def _viral_ratio(
    posts: list[PostObservation], typical: float, since_ts: float, until_ts: float
) -> tuple[float, PostObservation] | None:
    near = [p for p in posts if since_ts <= p.posted_ts <= until_ts]
    if not near:
        return None
    best = max(near, key=lambda p: p.interactions)
    return best.interactions / typical, best


def _comment_ratio(posts: list[PostObservation], since_ts: float, until_ts: float) -> tuple[float, PostObservation] | None:
    """Strongest comment count near the window against the account's usual (at least 3)."""
    near = [p for p in posts if since_ts <= p.posted_ts <= until_ts]
    earlier = [p.comments for p in posts if p.posted_ts < since_ts]
    if not near or len(earlier) < 2:
        return None
    best = max(near, key=lambda p: p.comments)
    return best.comments / max(median(earlier), 3.0), best


def _surge_ratio(posts: list[PostObservation], typical: float, since_ts: float, until_ts: float) -> tuple[float, int] | None:
    during = [p.interactions / typical for p in posts if since_ts <= p.posted_ts <= until_ts]
    return (median(during), len(during)) if during else None


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


def _largest_step(points: list[tuple[int, int]]) -> tuple[int, float, int]:
    """Biggest rise between consecutive observations, the hours it took and when it ended."""
    best, hours, end = 0, 1.0, points[-1][0]
    for (t0, f0), (t1, f1) in zip(points, points[1:]):
        if f1 - f0 > best:
            best, hours, end = f1 - f0, max((t1 - t0) / HOUR, 1.0 / 60.0), t1
    return best, hours, end
