from __future__ import annotations

from schemas.events import AccountSnapshot, NicheDefinition, Post
from streams.core import Engine, EngineConfig
from streams.core.explain import Conversion, Usual, conversion_for, explain
from streams.core.windows import PostObservation
from streams.core.state import AccountState
from streams.core.synthetic import AccountSpec, account_events

CONFIG = EngineConfig()


def _state_after(spec: AccountSpec, days: float) -> AccountState:
    engine = Engine(niches=[NicheDefinition(name="pens", tags=["fountainpens"])])
    for raw in account_events(spec, days=days):
        engine.process((Post if raw["kind"] == "post" else AccountSnapshot).model_validate(raw))
    return engine.get_state(spec.account_id)


def test_an_account_without_good_posts_uses_its_tiers_prior() -> None:
    state = _state_after(AccountSpec("instagram:steady", followers=20_000), days=10)
    usual = Usual(median=800.0, spread=200.0, posts=10)
    conversion = conversion_for(state, CONFIG, usual, 2.0, state.latest_ts, "micro")
    assert (conversion.source, conversion.elasticity) == ("tier", CONFIG.conversion_prior["micro"])


def test_conversion_is_learned_from_the_growth_after_the_accounts_good_posts() -> None:
    # Three good posts (2.5x) before the last one, each followed by 3.5% more followers:
    # about 2.3% of the audience per median post of extra, more than twice the prior.
    spec = AccountSpec(
        "instagram:converter", followers=20_000, growth_per_day=0.0, scenario="good_post", good_multiple=2.5,
        amount=700, earlier_good_posts=3, scenario_at_h=24 * 12,
    )
    state = _state_after(spec, days=12.5)
    posts = state.posts.values()
    ordinary = sorted(p.interactions for p in posts)[: len(posts) // 2]
    usual = Usual(median=float(ordinary[len(ordinary) // 2]), spread=0.1 * ordinary[len(ordinary) // 2], posts=10)
    conversion = conversion_for(state, CONFIG, usual, 0.0, state.latest_ts - 24 * 3600, "micro")
    assert conversion.source == "account" and conversion.learned_from >= 3
    assert conversion.elasticity > 1.25 * CONFIG.conversion_prior["micro"]


def test_unexplained_growth_is_the_excess_less_the_tolerant_credit() -> None:
    usual = Usual(median=600.0, spread=150.0, posts=12)
    result = explain(CONFIG, Conversion(0.012, "account", 4, "micro"), usual, [_post(1_800)], 20_000, 840.0)
    assert result.extra_interactions == 1_200
    assert abs(result.explained - 480.0) < 1e-9
    assert abs(result.credited - CONFIG.explained_tolerance * 480.0) < 1e-9
    assert abs(result.unexplained - (840.0 - result.credited)) < 1e-9
    assert abs(result.followers_per_interaction - 0.4) < 1e-9


def _post(interactions: int) -> PostObservation:
    return PostObservation(0, 86_400, interactions, 20_000, None, ("pens",), 0)  # a mature post


def test_posts_within_the_usual_noise_earn_little_credit() -> None:
    usual = Usual(median=600.0, spread=150.0, posts=12)
    assert usual.extra(500) == 0.0
    assert usual.extra(660) <= 0.2 * 60
    assert usual.extra(1_500) == 900.0


def _after(followers: int, interactions: int, posted: int) -> PostObservation:
    return PostObservation(posted, posted + 86_400, interactions, followers, None, ("pens",), 0)


def test_engagement_that_grows_with_the_followers_says_they_are_people() -> None:
    from streams.core.explain import audience_response

    usual = Usual(median=600.0, spread=150.0, posts=12, log_spread=0.25)
    # Twice the followers, twice the interactions.
    posts = [_after(39_000, 1_150, 100), _after(40_000, 1_250, 200), _after(41_000, 1_180, 300)]
    response = audience_response(posts, usual, 0, 20_000, CONFIG)
    assert response.verdict == "followed" and response.posts == 3


def test_engagement_that_stays_where_it_was_says_the_followers_were_bought() -> None:
    from streams.core.explain import audience_response

    usual = Usual(median=600.0, spread=150.0, posts=12, log_spread=0.25)
    posts = [_after(39_000, 590, 100), _after(40_000, 620, 200), _after(41_000, 600, 300)]
    assert audience_response(posts, usual, 0, 20_000, CONFIG).verdict == "not_followed"


def test_one_noisy_post_after_a_small_gain_settles_nothing() -> None:
    from streams.core.explain import audience_response

    usual = Usual(median=600.0, spread=300.0, posts=12, log_spread=0.5)
    response = audience_response([_after(20_600, 700, 100)], usual, 0, 20_000, CONFIG)
    assert response.verdict is None and response.posts == 1
