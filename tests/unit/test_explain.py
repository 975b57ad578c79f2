"""How much of a spike engagement explains, as the alerts' evidence shows it.

The functions behind it (the usual interactions, the learned conversion, the credit, the
audience response) are tested on the engine's own code: core/src/engine/explain.rs
(`cargo test`).
"""

from __future__ import annotations

import re

from schemas.events import FollowerSpikeAlert
from streams.core import EngineConfig
from streams.core.synthetic import AccountSpec
from tests.unit.test_engine_spikes import events_of, run

CONFIG = EngineConfig()


def _evidence(alert: FollowerSpikeAlert) -> dict[str, tuple[float, str]]:
    return {e.name: (e.value, e.detail) for e in alert.evidence}


def _converter(earlier_good_posts: int) -> list[FollowerSpikeAlert]:
    # A good post (2.5x) at day 12, then 1,200 more followers (6%) over a day and a half;
    # each earlier good post, 40 h apart, was followed by the same gain.
    spec = AccountSpec(
        "instagram:converter", followers=20_000, growth_per_day=0.0, scenario="good_post", good_multiple=2.5,
        amount=1_200, earlier_good_posts=earlier_good_posts, scenario_at_h=24 * 12,
    )
    return run(events_of(spec, days=14))


def test_an_account_without_earlier_good_posts_is_credited_at_its_tiers_prior() -> None:
    spec = AccountSpec("instagram:goodpost", followers=20_000, scenario="good_post", good_multiple=3.0, amount=900)
    alerts = run(events_of(spec))
    assert [a.classification for a in alerts] == ["organic_breakout"]
    _, detail = _evidence(alerts[0])["followers_per_interaction"]
    prior = CONFIG.conversion_prior["micro"]
    assert f"({prior:.2%} of the audience per median post of extra engagement), the micro tier's prior" in detail


def test_conversion_is_learned_from_the_growth_after_the_accounts_good_posts() -> None:
    # The earlier good posts each drew 6% more followers: well above the prior's 1% per
    # median post of extra engagement, so the account is credited with more than the prior.
    alerts = _converter(earlier_good_posts=3)
    assert [a.classification for a in alerts] == ["organic_breakout"]
    _, detail = _evidence(alerts[0])["followers_per_interaction"]
    learned = re.search(r"\(([\d.]+)% of the audience per median post of extra engagement\), learned from (\d+) "
                        r"earlier good post\(s\) of the account", detail)
    assert learned is not None, detail
    assert int(learned[2]) >= 2
    assert float(learned[1]) / 100 > 1.25 * CONFIG.conversion_prior["micro"]


def test_unexplained_growth_is_the_excess_less_the_tolerant_credit() -> None:
    specs = [
        AccountSpec("instagram:goodpost", followers=20_000, scenario="good_post", good_multiple=3.0, amount=900),
        AccountSpec("instagram:viral", followers=15_000, scenario="viral", amount=4_000),
        AccountSpec("instagram:bought", followers=20_000, scenario="purchase_step", amount=5_000),
    ]
    alerts = [a for spec in specs for a in run(events_of(spec))]
    assert sorted(a.classification for a in alerts) == ["organic_breakout", "organic_breakout", "suspected_purchase"]
    for alert in alerts:
        evidence = _evidence(alert)
        excess, explained, unexplained = (evidence[name][0] for name in
                                          ("excess_growth", "explained_growth", "unexplained_growth"))
        # Each value is rounded to 0.1 in the evidence.
        assert abs(unexplained - (excess - CONFIG.explained_tolerance * explained)) <= 0.05 * (2 + CONFIG.explained_tolerance)
    assert any(_evidence(a)["explained_growth"][0] > 0 for a in alerts)
