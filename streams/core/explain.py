"""How much of a follower spike does the account's engagement explain?

A post that does better than usual reaches people who do not follow the account yet, and
some of them follow: growth arrives *in proportion* to how much better the post did. So
a spike is judged by the part of it that engagement does not explain, not by whether a
post crossed a "viral" line.

Extra engagement of a post is what it gets beyond the account's usual range::

    extra(p) = e                 e = lifetime(p) - median >= 2 * spread
               e * e / (2 * spread)     0 < e < 2 * spread (noise is not reach)

with median and spread (1.4826 x MAD) over the account's earlier posts, where ``lifetime`` is the interactions a post is expected
to collect in all (a young post seen once an hour after publication has only a quarter of
them: judging it by what it showed then is how honest creators get accused). Conversion is expressed as an *elasticity*: the share of
the audience gained per median post's worth of extra interactions. It is the natural unit
(extra reach scales with the usual reach, and so with followers), so one prior serves every
tier::

    explained = eta * followers_before * sum(extra(p)) / median
              = c * sum(extra(p))                c = eta * followers_before / median
                                                 (followers per extra interaction)

``eta`` is learned from the account's own history: for each earlier post at least
``good_post_multiple`` x its usual, the growth above the baseline in the ``conversion_window_s``
after it (or until the next such post) against its extra, summed (a regression through
the origin), shrunk toward the prior with ``conversion_prior_weight`` median posts' worth
of pseudo-observations, and never below the prior (the credit is a floor: an accusation
costs more than a missed purchase). Growth in windows that ended in a purchase alert is
never learned from. With no such posts the prior of the account's tier is used as it is.

Because conversions vary a lot from post to post, engagement is given generous credit:
``explained_tolerance`` x the point estimate. The spike is a suspected purchase only when
what is left is still a spike by the same test that found it::

    unexplained = excess - tolerance * explained  >=  threshold

Worked example. An account with 20,000 followers, usual posts at a median of 600
interactions (spread 150), learned eta 0.012. One post gets 1,800 interactions, then followers rise by
900 in a day where the baseline predicts 60: excess 840, threshold 400. extra = 1,800 -
600 = 1,200 = 2.0 median posts, so explained = 0.012 x 20,000 x 2.0 = 480 followers
(c = 0.4 per interaction); credited 3 x 480 = 1,440, unexplained 840 - 1,440 < 400: organic. Had
the 900 followers come with posts at their usual level (extra 0), the unexplained 840
would exceed the threshold: suspected purchase.

Growth nothing explains may still be people, from off the platform (press, a move from
another network): they engage, bought followers do not. ``audience_response`` regresses
the log interactions of the posts published since the growth began on the log of the
followers each was *published to* (its reach is set then; the count at its last look,
days later, would credit it with followers it was never shown to).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from streams.core.config import HOUR, EngineConfig
from streams.core.state import AccountState
from streams.core.stats import median
from streams.core.windows import PostObservation

MIN_LEARNING_WINDOW_S = 12 * HOUR
MAD_TO_SIGMA = 1.4826
DEFAULT_SPREAD = 1.0 / 3.0
DEFAULT_LOG_SPREAD = 0.5
MIN_LOG_SPREAD = 0.1
ConversionSource = Literal["account", "tier"]


@dataclass(frozen=True, slots=True)
class Usual:
    """The account's usual interactions per post: the yardstick for "extra"."""

    median: float
    spread: float  # 1.4826 x MAD: the post-to-post noise
    posts: int  # 0: no history of its own, judged against the tier's typical rate
    log_spread: float = DEFAULT_LOG_SPREAD  # the same noise, of log interactions

    def extra(self, interactions: float) -> float:
        excess = interactions - self.median
        if excess <= 0.0:
            return 0.0
        # Noise is not reach: a post within the usual spread earns little credit, one
        # standing two spreads out earns all of it.
        band = 2.0 * self.spread
        return excess if excess >= band else excess * excess / band


@dataclass(frozen=True, slots=True)
class Conversion:
    """Followers gained per median post's worth of extra interactions, as a share of followers."""

    elasticity: float
    source: ConversionSource
    learned_from: int  # earlier good posts of the account behind the estimate
    tier: str


@dataclass(frozen=True, slots=True)
class Explanation:
    extra_interactions: float
    followers_per_interaction: float
    explained: float  # followers the extra engagement accounts for (point estimate)
    credited: float  # explained x tolerance: what the verdict gives engagement
    unexplained: float  # excess growth minus the credit (what decides)
    conversion: Conversion


def usual_interactions(
    posts: list[PostObservation], before_ts: float, fallback_median: float, config: EngineConfig
) -> Usual:
    """Median and spread of the posts published before ``before_ts`` (candidates kept out).

    With fewer than three older posts, all but the strongest are used; with fewer than two
    the tier's typical rate (``fallback_median``) stands in, with a spread of a third of it.
    """
    earlier = [lifetime_interactions(p, config) for p in posts if p.posted_ts < before_ts]
    if len(earlier) < 3:
        earlier = sorted(lifetime_interactions(p, config) for p in posts)[:-1]
    if len(earlier) < 2:
        typical = max(fallback_median, 1.0)
        return Usual(typical, DEFAULT_SPREAD * typical, 0)
    mid = max(median(earlier), 1.0)
    spread = MAD_TO_SIGMA * median([abs(x - mid) for x in earlier])
    logs = [math.log(max(x, 1.0)) for x in earlier]
    log_mid = median(logs)
    log_spread = max(MAD_TO_SIGMA * median([abs(x - log_mid) for x in logs]), MIN_LOG_SPREAD)
    return Usual(mid, spread, len(earlier), log_spread)


def conversion_for(
    state: AccountState, config: EngineConfig, usual: Usual, rate_per_hour: float, until_ts: float, tier: str
) -> Conversion:
    """The account's elasticity, learned from its good posts before ``until_ts``."""
    prior = config.conversion_prior[tier]
    if usual.posts == 0:
        return Conversion(prior, "tier", 0, tier)
    good_line = config.good_post_multiple * usual.median
    good = sorted(
        (p for p in state.posts.values() if p.posted_ts < until_ts and lifetime_interactions(p, config) >= good_line),
        key=lambda p: p.posted_ts,
    )
    gains = extras = 0.0
    learned = 0
    for i, post in enumerate(good):
        end = min(post.posted_ts + config.conversion_window_s, until_ts)
        if i + 1 < len(good):
            end = min(end, good[i + 1].posted_ts)
        if end - post.posted_ts < MIN_LEARNING_WINDOW_S or _near_purchase(state, post.posted_ts, end, config):
            continue
        before, after = _followers_at(state, post.posted_ts), _followers_at(state, end)
        if before is None or after is None or after[0] - before[0] < MIN_LEARNING_WINDOW_S or before[1] <= 0:
            continue
        hours = (after[0] - before[0]) / HOUR
        gains += (after[1] - before[1] - max(rate_per_hour, 0.0) * hours) / before[1]
        extras += usual.extra(lifetime_interactions(post, config)) / usual.median
        learned += 1
    if learned == 0:
        return Conversion(prior, "tier", 0, tier)
    weight = config.conversion_prior_weight
    # The account's history may show it converts better than the prior, never worse: noisy
    # posts that drew no one would otherwise talk the credit down, and an accusation costs
    # more than a missed purchase.
    elasticity = max((gains + weight * prior) / (extras + weight), prior)
    return Conversion(elasticity, "account", learned, tier)


def explain(
    config: EngineConfig,
    conversion: Conversion,
    usual: Usual,
    candidates: list[PostObservation],
    followers_before: int,
    excess: float,
) -> Explanation:
    extra = sum(usual.extra(lifetime_interactions(p, config)) for p in candidates)
    per_interaction = conversion.elasticity * followers_before / usual.median
    explained = per_interaction * extra
    credited = config.explained_tolerance * explained
    return Explanation(extra, per_interaction, explained, credited, excess - credited, conversion)


def lifetime_interactions(post: PostObservation, config: EngineConfig) -> float:
    """What a post is expected to collect in all, from its latest observation.

    A post collects its interactions fast and then slowly: taken as 1 - exp(-age / tau),
    95% at ``post_maturity_s`` (tau a third of it), so a post last seen an hour after
    publication, and not since, is expected to do about four times what it showed. Never
    more than ten times: an observation seconds after publication says little.
    """
    age = post.observed_ts - post.posted_ts
    if age >= config.post_maturity_s:
        return float(post.interactions)
    return post.interactions / max(1.0 - math.exp(-3.0 * age / config.post_maturity_s), 0.1)


def _followers_at(state: AccountState, ts: float) -> tuple[int, int] | None:
    return state.hourly.at_or_before(ts) or state.daily.at_or_before(ts)


def _near_purchase(state: AccountState, start: float, end: float, config: EngineConfig) -> bool:
    # Growth that ended in a purchase alert was bought, not earned: never learn from it.
    return any(start <= alert_ts <= end + config.short_window_s for alert_ts in state.purchase_alerts)


AudienceVerdict = Literal["followed", "not_followed"]


@dataclass(frozen=True, slots=True)
class AudienceResponse:
    """Did engagement grow with the new followers? (Real people engage, bought ones do not.)"""

    verdict: AudienceVerdict | None  # None: too little to tell yet
    posts: int
    slope: float  # 1: interactions grew in step with followers; 0: they stayed where they were
    standard_error: float


def audience_response(
    posts: list[PostObservation],
    usual: Usual,
    since_ts: float,
    followers_before: int,
    config: EngineConfig,
    followers_at: Callable[[float], int | None] | None = None,
) -> AudienceResponse:
    """Regress the log of posts' interactions (over the usual) on the log of their followers
    (over ``followers_before``) for posts published since ``since_ts``, through the origin.

    A post's followers are those it was published to (``followers_at(posted_ts)``, the
    latest count at or before publication): its reach is set then. The count at its last
    observation, days later, would credit a post published early in the growth with
    followers it was never shown to, and make real newcomers look as if they did not engage.

    If the new followers are people, engagement scales with them and the slope is about 1;
    if they were bought, it stays flat and the slope is about 0. The verdict is the nearer
    of the two once the slope is ``audience_z`` standard errors (the usual log spread over
    the followers' spread) from their midpoint, 0.5; before that there is none (a
    sequential test: every new post can settle it).
    """
    sxx = sxy = 0.0
    n = 0
    for post in posts:
        if post.posted_ts < since_ts or followers_before <= 0:
            continue
        if post.observed_ts - post.posted_ts < config.post_maturity_s / 2:
            continue  # too young for its lifetime estimate to carry weight
        shown_to = followers_at(post.posted_ts) if followers_at is not None else None
        audience = shown_to if shown_to is not None else post.followers
        if audience <= followers_before:
            continue
        g = math.log(audience / followers_before)
        d = math.log(max(lifetime_interactions(post, config), 1.0) / usual.median)
        sxx += g * g
        sxy += g * d
        n += 1
    if n == 0 or sxx <= 0.0:
        return AudienceResponse(None, 0, 0.0, math.inf)
    slope = sxy / sxx
    error = usual.log_spread / math.sqrt(sxx)
    z = (slope - 0.5) / error  # how far the slope is from the midpoint of the two answers
    if z >= config.audience_z:
        return AudienceResponse("followed", n, slope, error)
    if z <= -config.audience_z:
        return AudienceResponse("not_followed", n, slope, error)
    return AudienceResponse(None, n, slope, error)
