from __future__ import annotations

import math

from streams.changelog import decode_state
from streams.core import EngineConfig
from streams.core.maturity import newcomer_response
from streams.core.state import AccountState
from streams.core.windows import PostObservation, PostWindow

CONFIG = EngineConfig()
HOUR = 3600
DAY = 86_400
GROWTH_AT = 20 * DAY  # when the new followers begin to arrive


def _look(posted: int, age_h: float, interactions: int) -> PostObservation:
    return PostObservation(posted, posted + int(age_h * HOUR), interactions, 20_000, None, ("pens",), 0)


def test_a_re_observed_post_keeps_the_look_before_its_latest() -> None:
    window = PostWindow(40, 30 * DAY)
    window.observe("p", _look(0, 1, 100), 3600)
    window.observe("p", _look(0, 24, 400), 24 * 3600)
    post = window.posts["p"]
    assert (post.interactions, post.prev_interactions, post.prev_observed_ts) == (400, 100, 3600)
    window.observe("p", _look(0, 24, 400), 24 * 3600)  # the same look redelivered
    assert (window.posts["p"].prev_interactions, window.posts["p"].prev_observed_ts) == (100, 3600)
    assert not window.observe("p", _look(0, 6, 250), 24 * 3600)  # older than the latest: ignored
    assert window.posts["p"].prev_interactions == 100


def test_previous_looks_survive_the_changelog_and_older_state_still_reads() -> None:
    state = AccountState.new("instagram:pens", "instagram", "pens", CONFIG)
    state.posts.observe("p", _look(0, 1, 100), 3600)
    state.posts.observe("p", _look(0, 24, 400), 24 * 3600)
    written = state.to_dict()
    again = decode_state(written, "instagram:pens", CONFIG).posts.posts["p"]
    assert (again.prev_interactions, again.prev_observed_ts) == (100, 3600)
    older = {**written, "P": {"p": written["P"]["p"][:7]}}  # type: ignore[index]
    before = decode_state(older, "instagram:pens", CONFIG).posts.posts["p"]
    assert (before.interactions, before.prev_interactions, before.prev_observed_ts) == (400, 0, 0)


def _pair(posted: int, a1_h: float, a2_h: float, i1: int, lift: float = 0.0) -> PostObservation:
    """A post seen at ``a1_h`` and ``a2_h`` hours, grown 7% between the looks (times ``1 + lift``)."""
    post = _look(posted, a2_h, round(i1 * 1.07 * (1.0 + lift)))
    post.prev_interactions, post.prev_observed_ts = i1, posted + int(a1_h * HOUR)
    return post


def _controls() -> list[PostObservation]:
    # Posts whose looks at a day and three days both came before the growth.
    return [_pair(GROWTH_AT - (4 + k) * DAY, 24, 72, 1_500 + 40 * k) for k in range(6)]


def _followers(gain: float):  # noqa: ANN202
    return lambda ts: 20_000 if ts <= GROWTH_AT else round(20_000 * (1.0 + gain))


def test_posts_already_published_gaining_with_the_new_followers_say_they_are_people() -> None:
    # 15% more followers between the looks; each post gains about half a newcomer's share.
    spanning = [
        _pair(GROWTH_AT - 30 * HOUR, 24, 72, 1_600, lift=0.07),
        _pair(GROWTH_AT - 40 * HOUR, 24, 72, 1_550, lift=0.08),
    ]
    response = newcomer_response(_controls() + spanning, GROWTH_AT, 0.0, CONFIG, _followers(0.15))
    assert response.verdict == "followed"
    assert (response.pairs, response.controls) == (2, 6)
    assert 0.3 < response.slope < 0.7


def test_published_posts_growing_only_with_age_say_the_new_followers_do_not_engage() -> None:
    spanning = [_pair(GROWTH_AT - (30 + 6 * k) * HOUR, 24, 72, 1_600 - 20 * k) for k in range(3)]
    response = newcomer_response(_controls() + spanning, GROWTH_AT, 0.0, CONFIG, _followers(0.25))
    assert response.verdict == "not_followed"
    assert abs(response.slope) < 0.05


def test_a_small_gain_in_followers_cannot_tell_a_lift_from_noise() -> None:
    spanning = [_pair(GROWTH_AT - 30 * HOUR, 24, 72, 1_600, lift=0.005)]
    response = newcomer_response(_controls() + spanning, GROWTH_AT, 0.0, CONFIG, _followers(0.01))
    assert response.verdict is None and response.pairs == 1


def test_posts_are_compared_only_with_posts_seen_at_similar_ages() -> None:
    # The account's curve is known between a day and three days; a post first seen at an
    # hour grows far more by age alone, and there is nothing to compare it with.
    young = _pair(GROWTH_AT - 2 * HOUR, 1, 6, 300, lift=1.0)
    response = newcomer_response(_controls() + [young], GROWTH_AT, 0.0, CONFIG, _followers(0.15))
    assert (response.verdict, response.pairs) == (None, 0)


def test_an_account_without_earlier_looks_gets_no_verdict() -> None:
    spanning = [_pair(GROWTH_AT - 30 * HOUR, 24, 72, 1_600, lift=0.07)]
    response = newcomer_response(spanning, GROWTH_AT, 0.0, CONFIG, _followers(0.15))
    assert response.verdict is None and response.controls == 0 and math.isinf(response.standard_error)


def test_followers_arriving_at_the_accounts_usual_pace_are_not_newcomers() -> None:
    # Followers rise 15% between the looks, all of it at the account's own pace.
    spanning = [_pair(GROWTH_AT - 30 * HOUR, 24, 72, 1_600)]
    pace = 20_000 * 0.15 / 48.0  # per hour, over the 48 h between the looks
    response = newcomer_response(_controls() + spanning, GROWTH_AT, pace, CONFIG, _followers(0.15))
    assert response.newcomers < 0.01


def test_growth_beyond_an_organic_alert_is_judged_against_posts_from_before_that_episode() -> None:
    # The episode began 3 days before the growth under test; the pairs in between are
    # lifted by its people and must not teach the account's curve.
    episode_start = GROWTH_AT - 3 * DAY
    lifted = [_pair(episode_start - 30 * HOUR + k * 3 * HOUR, 24, 72, 1_500, lift=0.08) for k in range(6)]
    controls = [_pair(episode_start - (4 + k) * DAY, 24, 72, 1_500 + 40 * k) for k in range(6)]
    spanning = [_pair(GROWTH_AT - (30 + 6 * k) * HOUR, 24, 72, 1_600, lift=0.08) for k in range(2)]
    posts = controls + lifted + spanning
    mixed = newcomer_response(posts, GROWTH_AT, 0.0, CONFIG, _followers(0.15))
    clean = newcomer_response(posts, GROWTH_AT, 0.0, CONFIG, _followers(0.15), controls_until=episode_start)
    assert mixed.verdict != "followed"
    assert (clean.verdict, clean.controls, clean.pairs) == ("followed", 6, 2)


def test_two_inconclusive_signs_that_the_newcomers_engage_are_conclusive_together() -> None:
    from streams.core.classify import engaged_together
    from streams.core.explain import AudienceResponse
    from streams.core.maturity import NewcomerResponse

    # Each 1.6 errors toward "people": not enough alone, 2.3 together (independent posts).
    audience = AudienceResponse(None, 2, 0.5 + 1.6 * 0.3, 0.3)
    newcomers = NewcomerResponse(None, 2, 8, 0.125 + 1.6 * 0.1, 0.1, 0.12, 0.03)
    assert engaged_together(audience, newcomers, CONFIG)
    against = NewcomerResponse(None, 2, 8, 0.125 - 1.6 * 0.1, 0.1, 0.12, 0.0)
    assert not engaged_together(audience, against, CONFIG)
    assert not engaged_together(AudienceResponse(None, 0, 0.0, math.inf), newcomers, CONFIG)
