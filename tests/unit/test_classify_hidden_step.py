from __future__ import annotations

from datetime import datetime

from schemas.events import AccountSnapshot, FollowerSpikeAlert, NicheDefinition, Post
from streams.core import Engine
from streams.core.synthetic import HOUR, START, AccountSpec, account_events

VIRAL_AT_H = 24 * 8


def _alerts(events: list[dict]) -> list[FollowerSpikeAlert]:
    engine = Engine(niches=[NicheDefinition(name="pens", tags=["fountainpens"])])
    alerts = []
    for raw in events:
        event = (Post if raw["kind"] == "post" else AccountSnapshot).model_validate(raw)
        alerts += [out for out in engine.process(event) if isinstance(out, FollowerSpikeAlert)]
    return alerts


def _with_bought_step(events: list[dict], at_ts: float, amount: int) -> list[dict]:
    """The same history with ``amount`` bought followers on every count from ``at_ts`` on."""
    def ts(event: dict) -> float:
        return datetime.fromisoformat(event["observed_at"].replace("Z", "+00:00")).timestamp()

    return [{**e, "followers": e["followers"] + amount} if ts(e) >= at_ts else e for e in events]


def _viral(snapshot_every_h: float = 1.0, growth_per_day: float = 0.003) -> list[dict]:
    # A 15x post, then 6,000 real followers (30%) over the next day and a half.
    spec = AccountSpec(
        "instagram:surging", followers=20_123, scenario="viral", amount=6_000, scenario_at_h=VIRAL_AT_H,
        snapshot_every_h=snapshot_every_h, growth_per_day=growth_per_day,
    )
    return list(account_events(spec, days=12))


def test_a_bought_step_inside_a_viral_surge_is_a_suspected_purchase() -> None:
    events = _with_bought_step(_viral(), START + (VIRAL_AT_H + 12) * HOUR, 4_000)
    purchases = [a for a in _alerts(events) if a.classification == "suspected_purchase"]
    assert len(purchases) == 1
    step = next(e for e in purchases[0].evidence if e.name == "step_beyond_arrivals")
    assert 3_000 <= step.value <= 4_200


def test_a_viral_surge_without_a_step_stays_organic() -> None:
    alerts = _alerts(_viral())
    assert [a.classification for a in alerts] == ["organic_breakout"]


def test_a_surge_seen_once_a_day_is_not_read_as_a_step() -> None:
    # Observed daily (and by the posts' own looks), the surge lands in one or two intervals:
    # the growth around it allows that much, so the viral post still explains it.
    alerts = _alerts(_viral(snapshot_every_h=24.0))
    assert "suspected_purchase" not in {a.classification for a in alerts}


def test_growth_that_arrived_while_the_account_went_unobserved_is_not_read_as_a_step() -> None:
    # Two days without a look from just before the viral post: the whole surge lands in one
    # interval between two flat ones (an account not growing otherwise). Rates grow from the
    # account's noise, not from nothing, so that long interval has room for a whole surge.
    def observed_h(event: dict) -> float:
        ts = datetime.fromisoformat(event["observed_at"].replace("Z", "+00:00")).timestamp()
        return (ts - START) / HOUR

    events = [e for e in _viral(growth_per_day=0.0) if not VIRAL_AT_H - 3 <= observed_h(e) < VIRAL_AT_H + 50]
    assert "suspected_purchase" not in {a.classification for a in _alerts(events)}
