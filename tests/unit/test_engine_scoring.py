from __future__ import annotations

from schemas.events import AccountSnapshot, InfluencerProfile, NicheDefinition, Post
from streams.core import Engine
from streams.core.synthetic import AccountSpec, account_events, merged_events

NICHES = [NicheDefinition(name="pens", tags=["fountainpens"]), NicheDefinition(name="bread", tags=["sourdough"])]


def profiles_of(specs: list[AccountSpec], days: float = 10.0) -> dict[str, list[InfluencerProfile]]:
    engine = Engine(niches=NICHES)
    found: dict[str, list[InfluencerProfile]] = {}
    for raw in merged_events(specs, days=days):
        event = (Post if raw["kind"] == "post" else AccountSnapshot).model_validate(raw)
        for output in engine.process(event):
            if isinstance(output, InfluencerProfile):
                found.setdefault(output.account_id, []).append(output)
    return found


def test_engaged_small_account_outscores_a_large_switched_off_one() -> None:
    hobbyist = AccountSpec("instagram:hobbyist", followers=12_000, engagement_rate=0.08)
    celebrity = AccountSpec("instagram:celebrity", followers=1_300_000, engagement_rate=0.002, tags=["#fountainpens", "#love"])
    found = profiles_of([hobbyist, celebrity])
    small, large = found["instagram:hobbyist"][-1], found["instagram:celebrity"][-1]
    assert (small.tier, large.tier) == ("micro", "mega")
    assert small.score > large.score
    assert small.primary_niche == "pens" and small.components.niche_focus == 1.0


def test_profile_is_republished_only_when_it_changes_materially() -> None:
    found = profiles_of([AccountSpec("instagram:steady", post_every_h=6.0)], days=20)
    steady = found["instagram:steady"]
    posts_seen = sum(1 for _ in account_events(AccountSpec("instagram:steady", post_every_h=6.0), days=20))
    assert 1 <= len(steady) < posts_seen / 10
    for before, after in zip(steady, steady[1:]):
        assert abs(after.score - before.score) >= 0.05 or after.tier != before.tier or (
            after.primary_niche != before.primary_niche
        )


def test_suspected_purchase_lowers_authenticity() -> None:
    found = profiles_of([AccountSpec("instagram:bought", scenario="purchase_step", amount=6_000)], days=12)
    last = found["instagram:bought"][-1]
    assert last.components.authenticity < 1.0


def test_posts_outside_every_niche_produce_no_profile() -> None:
    found = profiles_of([AccountSpec("instagram:generic", tags=["#love", "#instagood"])])
    assert "instagram:generic" not in found


def test_niche_added_at_runtime_applies_to_later_posts() -> None:
    engine = Engine(niches=[])
    events = [
        (Post if raw["kind"] == "post" else AccountSnapshot).model_validate(raw)
        for raw in account_events(AccountSpec("instagram:late_niche", post_every_h=4.0), days=6)
    ]
    half = len(events) // 2
    before = [o for e in events[:half] for o in engine.process(e) if isinstance(o, InfluencerProfile)]
    engine.set_niche(NicheDefinition(name="pens", tags=["#FountainPens"]))
    after = [o for e in events[half:] for o in engine.process(e) if isinstance(o, InfluencerProfile)]
    assert before == []
    assert after and after[-1].primary_niche == "pens"
    assert engine.remove_niche("pens") is True
