from __future__ import annotations


from streams.core.counts import display_unit
from streams.core.synthetic import AccountSpec, account_events
from tests.unit.test_engine_spikes import run


def test_counts_shown_with_one_decimal_of_k_or_m_have_a_display_unit() -> None:
    assert display_unit(12_300) == 100
    assert display_unit(12_000) == 100
    assert display_unit(123_000) == 1_000
    assert display_unit(1_200_000) == 100_000
    assert display_unit(12_300_000) == 100_000
    assert display_unit(1_230_000) == 0
    assert display_unit(12_345) == 0
    assert display_unit(1_200) == 100
    assert display_unit(1_230) == 0


def test_instagram_shows_every_digit_below_ten_thousand() -> None:
    from streams.core.counts import shown_from

    assert display_unit(9_000, shown_from("instagram")) == 0
    assert display_unit(9_000, shown_from("tiktok")) == 100


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
