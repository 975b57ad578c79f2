"""Do the posts already out there gain engagement as the new followers arrive?

People who come from off the platform (press, a move from another network) look around:
they like and comment on posts published before they came. Bought followers do not.
Every post keeps the observation before its latest one (windows.py), so each
re-observed post gives a *pair* of looks: ``I1`` interactions at age ``a1`` (time ``t1``),
``I2`` at age ``a2`` (``t2``)::

    controls    pairs whose second look came before the growth began: how this account's
                posts normally grow with age, nothing else moving them
    expected    m(a1, a2) = kernel-weighted mean of the controls' log(I2 / I1), weights
                exp(-((ln a1 - ln a1')^2 + (ln a2 - ln a2')^2) / (2 h^2)), h = 0.5 (ages
                within a factor of about 1.6 count most); the account's own maturity
                curve, read off its posts, with no shape assumed
    sigma       the same weighted spread of the controls' leave-one-out residuals, and never
                less than the pair's own counting noise (the interactions between two looks
                are a count of people: Poisson, sqrt(I2 - I1) / I2), widened by 1 + 1/W for
                the uncertainty of m (W: the kernel weight behind it, about the number of
                controls of similar ages): young posts grow more, and less predictably,
                than old ones
    lift        r = log(I2 / I1) - m(a1, a2)                 0 when only age moved the post
    newcomers   x = (F(t2) - F(t1) - baseline * (t2 - t1)) / F(t1)
                the followers who arrived between the looks, beyond the account's pace,
                as a share of the audience (F from the account's hourly observations)

    r ~ beta * x over the pairs with a second look after the growth began (weighted least
    squares through the origin, weights x^2 / sigma^2; standard error 1 / sqrt(sum x^2 / sigma^2))
        beta = 0    the new followers do not touch the posts that were there (bought)
        beta = 1    each newcomer engages with a post as its own audience did
    verdict     "followed" once (beta - h1 / 2) / se >= audience_z, "not_followed" once it
                is <= -audience_z, where h1 = ``newcomer_engagement``: people who arrive after
                a post was published engage with it at least that share as often as its
                audience did. Before that there is none (each new look can settle it).

Worked example. An account at 97,400 followers; its posts normally grow by 7% between
the look at a day and the look at three days (five controls of those ages: log ratio
0.070, residual spread 0.02). A post seen at 1,569 interactions at 24 h is seen at 1,920
at 72 h, while followers rose to 111,700: x = 0.147 (pace about 0), r = log(1,920 / 1,569)
- 0.070 = 0.132, so beta = 0.90; sigma = 0.02 x sqrt(1 + 1/5) = 0.022, se = 0.022 / 0.147
= 0.15, and (0.90 - 0.125) / 0.15 = 5.2 >= 2: followed, on this one post. Had the 14,300
followers been bought, the post would have reached about 1,683 (r about 0, beta about 0):
(0 - 0.125) / 0.15 = -0.8, no verdict yet. The classifier uses "followed" only: it clears
people; bought followers are still told by the rest (classify.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from streams.core.config import HOUR, EngineConfig
from streams.core.explain import AudienceVerdict
from streams.core.windows import PostObservation

KERNEL_WIDTH = 0.5  # in log age: controls whose ages are within a factor ~1.6 weigh most
MIN_KERNEL_WEIGHT = 0.5  # a pair needs about one control of similar ages to be judged
MIN_CONTROLS = 2
MIN_AGE_S = 60.0
_SCALE = -1.0 / (2.0 * KERNEL_WIDTH * KERNEL_WIDTH)


@dataclass(frozen=True, slots=True)
class NewcomerResponse:
    """Did the posts already published gain engagement with the new followers?"""

    verdict: AudienceVerdict | None  # None: too little to tell
    pairs: int  # pairs of looks across the growth that were judged
    controls: int  # pairs of looks from before the growth
    slope: float  # beta: 1, newcomers engage as a post's audience did; 0, not at all
    standard_error: float
    newcomers: float  # the largest share of new followers between two looks of one post
    lift: float  # the mean log lift of the judged pairs over their maturity curve


_Pair = tuple[float, float, float, int, int, float]  # (ln a1, ln a2, log growth, t1, t2, counting variance)


def newcomer_response(
    posts: Iterable[PostObservation],
    since_ts: float,
    rate_per_hour: float,
    config: EngineConfig,
    followers_at: Callable[[float], int | None],
    controls_until: float | None = None,
) -> NewcomerResponse:
    """Test the pairs of looks that end after ``since_ts`` against those that end before it.

    ``controls_until`` (at most ``since_ts``): the curve is read only from pairs that end
    before then, when the growth under test continues growth that began earlier (pairs in
    between are lifted by that growth's people, neither controls nor tests).
    """
    clean = since_ts if controls_until is None else min(since_ts, controls_until)
    controls: list[_Pair] = []
    tests: list[_Pair] = []
    for post in posts:
        pair = _pair(post)
        if pair is not None:
            if pair[4] <= clean:
                controls.append(pair)
            elif pair[4] > since_ts:
                tests.append(pair)
    if len(controls) < MIN_CONTROLS or not tests:
        return NewcomerResponse(None, 0, len(controls), 0.0, math.inf, 0.0, 0.0)
    judged_pairs = []  # (pair, kernel weights, expected, total weight, newcomers)
    for pair in tests:
        weights = _weights(controls, pair)
        total = sum(weights)
        if total < MIN_KERNEL_WEIGHT:
            continue  # no controls of these ages: the account's curve is not known there
        t1, t2 = pair[3], pair[4]
        before, after = followers_at(t1), followers_at(t2)
        if before is None or after is None or before <= 0:
            continue
        x = (after - before - max(rate_per_hour, 0.0) * (t2 - t1) / HOUR) / before
        expected = sum(w * c[2] for w, c in zip(weights, controls)) / total
        judged_pairs.append((pair, weights, expected, total, x))
    residuals = _leave_one_out(controls) if judged_pairs else []
    sxx = sxy = lift_sum = most = 0.0
    judged = 0
    for pair, weights, expected, total, x in judged_pairs:
        noise = sum(w * e * e for w, e in zip(weights, residuals)) / total
        variance = max(noise, pair[5]) * (1.0 + 1.0 / total)
        r = pair[2] - expected
        sxx += x * x / variance
        sxy += x * r / variance
        lift_sum += r
        most = max(most, x)
        judged += 1
    if judged == 0 or sxx <= 0.0:
        return NewcomerResponse(None, 0, len(controls), 0.0, math.inf, most, 0.0)
    slope = sxy / sxx
    error = 1.0 / math.sqrt(sxx)
    z = (slope - config.newcomer_engagement / 2.0) / error
    verdict: AudienceVerdict | None = None
    if z >= config.audience_z:
        verdict = "followed"
    elif z <= -config.audience_z:
        verdict = "not_followed"
    return NewcomerResponse(verdict, judged, len(controls), slope, error, most, lift_sum / judged)


def _pair(post: PostObservation) -> _Pair | None:
    t1, t2 = post.prev_observed_ts, post.observed_ts
    if not t1 or post.prev_interactions <= 0 or post.interactions <= 0:
        return None
    a1, a2 = t1 - post.posted_ts, t2 - post.posted_ts
    if a1 < MIN_AGE_S or a2 <= a1:
        return None
    i1, i2 = post.prev_interactions, post.interactions
    # Poisson noise of the interactions between the looks, and each count's rounding to an integer.
    counting = max(i2 - i1, 1) / (i2 * i2) + 1.0 / (12.0 * i1 * i1) + 1.0 / (12.0 * i2 * i2)
    return (math.log(a1), math.log(a2), math.log(i2 / i1), t1, t2, counting)


def _weights(controls: list[_Pair], pair: _Pair) -> list[float]:
    """Kernel weight of each control at the pair's ages."""
    l1, l2 = pair[0], pair[1]
    return [math.exp(_SCALE * ((c[0] - l1) ** 2 + (c[1] - l2) ** 2)) for c in controls]


def _leave_one_out(controls: list[_Pair]) -> list[float]:
    """Each control's log growth less what the other controls of similar ages expect of it."""
    n = len(controls)
    sums, totals = [0.0] * n, [0.0] * n
    for i in range(n):
        a1, a2, growth_i = controls[i][0], controls[i][1], controls[i][2]
        for j in range(i + 1, n):
            other = controls[j]
            w = math.exp(_SCALE * ((other[0] - a1) ** 2 + (other[1] - a2) ** 2))
            sums[i] += w * other[2]
            totals[i] += w
            sums[j] += w * growth_i
            totals[j] += w
    return [c[2] - (sums[i] / totals[i] if totals[i] > 0.0 else 0.0) for i, c in enumerate(controls)]
