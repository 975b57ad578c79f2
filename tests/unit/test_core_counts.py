"""Follower counts rounded for display ("12.3K") beside exact ones raise no alert of their own.

Which counts may be display roundings is tested on the engine's own function:
core/src/engine/counts.rs (`cargo test`).
"""

from __future__ import annotations

from streams.core.synthetic import AccountSpec, account_events
from tests.unit.test_engine_spikes import run


def _display(value: int) -> int:
    unit = {4: 100, 5: 100, 6: 1_000, 7: 100_000}.get(len(str(value)), 1)
    return value // unit * unit


def test_posts_with_display_rounded_counts_beside_exact_snapshots_raise_no_alert() -> None:
    for platform, followers in (("tiktok", 4_560), ("instagram", 12_340), ("instagram", 456_000),
                                ("youtube", 1_249_000), ("tiktok", 3_870_000)):
        spec = AccountSpec(f"{platform}:rounded{followers}", followers=followers, snapshot_every_h=6.0)
        events = [
            {**e, "followers": _display(e["followers"])} if e["kind"] == "post" else e
            for e in account_events(spec, days=14)
        ]
        assert run(events) == [], followers


def test_a_purchase_is_still_seen_through_rounded_post_counts() -> None:
    spec = AccountSpec("instagram:roundbuy", followers=40_000, snapshot_every_h=6.0, scenario="purchase_step", amount=6_000)
    events = [
        {**e, "followers": _display(e["followers"])} if e["kind"] == "post" else e
        for e in account_events(spec, days=12)
    ]
    assert [a.classification for a in run(events)] == ["suspected_purchase"]
