"""The console's bounded leaderboards: the top of each (niche, tier, platform), kept incrementally."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from streams.console.data import ConsoleData
from streams.console.leaderboard import TIERS, LeaderboardStore
from streams.views import RecentAlerts

NICHES = ("pens", "bread", "ink")
PLATFORMS = ("instagram", "tiktok")


def profile(account: str, score: float, tier: str = "micro", platform: str = "instagram",
            niches: tuple[str, ...] = ("pens",)) -> dict:
    return {"account_id": account, "handle": account.split(":")[-1], "platform": platform, "tier": tier,
            "score": score, "niches": list(niches), "followers": 12_000,
            "components": {"engagement": 0.5, "niche_focus": 1.0, "consistency": 0.8, "authenticity": 1.0},
            "median_engagement_rate": 0.04}


def publish(store: LeaderboardStore, p: dict) -> None:
    store.apply(p["account_id"].encode(), orjson.dumps(p))


def handles(rows: list[dict]) -> list[str]:
    return [row["account_id"] for row in rows]


profiles = st.lists(
    st.tuples(st.floats(0, 1, allow_nan=False), st.sampled_from(TIERS), st.sampled_from(PLATFORMS),
              st.lists(st.sampled_from(NICHES), min_size=1, max_size=3, unique=True)),
    max_size=120,
)


@settings(max_examples=60, deadline=None)
@given(profiles)
def test_each_board_holds_exactly_the_best_profiles_of_its_niche_tier_and_platform(rows) -> None:  # noqa: ANN001
    store = LeaderboardStore(shown=3)
    published = [profile(f"a:{i}", score, tier, platform, tuple(niches))
                 for i, (score, tier, platform, niches) in enumerate(rows)]
    for p in published:
        publish(store, p)
    for niche in NICHES:
        for tier in TIERS:
            for platform in PLATFORMS:
                expected = sorted((p for p in published if niche in p["niches"] and p["tier"] == tier
                                   and p["platform"] == platform), key=lambda p: (-p["score"], p["account_id"]))
                assert handles(store.board(niche, tier, platform)) == handles(expected[:3])
        everyone = sorted((p for p in published if niche in p["niches"]), key=lambda p: (-p["score"], p["account_id"]))
        assert handles(store.top(niche, 3)) == handles(everyone[:3])


def test_memory_is_bounded_by_the_boards_not_by_the_accounts() -> None:
    store = LeaderboardStore(shown=5)
    for i in range(5_000):
        publish(store, profile(f"a:{i}", (i * 7919 % 1000) / 1000, TIERS[i % 5], PLATFORMS[i % 2], (NICHES[i % 3],)))
    boards = len(list(store.board_keys()))
    assert boards == 3 * 5 * 2
    assert store.entries() <= boards * store.capacity
    assert len(store) <= boards * store.capacity


def test_a_republished_profile_replaces_the_accounts_earlier_entries() -> None:
    store = LeaderboardStore(shown=3)
    publish(store, profile("a:riser", 0.9, tier="micro", niches=("pens", "ink")))
    publish(store, profile("a:riser", 0.8, tier="mid", niches=("bread",)))
    assert store.board("pens") == [] and store.board("ink") == []
    assert handles(store.board("bread", "mid")) == ["a:riser"]
    assert store.entries() == 1


def test_a_deleted_profile_leaves_every_board() -> None:
    store = LeaderboardStore(shown=3)
    publish(store, profile("a:gone", 0.9, niches=("pens", "ink")))
    store.apply(b"a:gone", None)
    assert store.entries() == 0 and store.profile("a:gone") is None and len(store) == 0


def test_a_falling_score_is_replaced_from_the_reserve() -> None:
    store = LeaderboardStore(shown=2)  # keeps 4: two shown, two in reserve
    for name, score in (("a", 0.9), ("b", 0.8), ("c", 0.7), ("d", 0.6)):
        publish(store, profile(f"x:{name}", score))
    publish(store, profile("x:a", 0.1))
    assert handles(store.board("pens")) == ["x:b", "x:c"]
    store.apply(b"x:b", None)
    assert handles(store.board("pens")) == ["x:c", "x:d"]


def test_a_profile_below_a_full_board_is_not_kept() -> None:
    store = LeaderboardStore(shown=1)
    publish(store, profile("x:a", 0.9))
    publish(store, profile("x:b", 0.8))
    publish(store, profile("x:c", 0.1))
    assert store.profile("x:c") is None and store.entries() == 2


def test_a_recently_alerted_account_keeps_its_profile_off_the_boards() -> None:
    store = LeaderboardStore(shown=1)  # keeps 2
    publish(store, profile("x:top", 0.9))
    publish(store, profile("x:second", 0.8))
    store.pin(b"x:flagged")
    publish(store, profile("x:flagged", 0.2))
    publish(store, profile("x:unflagged", 0.2))
    assert store.entries() == 2
    assert store.profile("x:flagged")["score"] == 0.2
    assert store.profile("x:unflagged") is None


def test_alerts_are_counted_once_per_alert_id_and_pin_the_account() -> None:
    data = ConsoleData(LeaderboardStore(shown=2), RecentAlerts(), CollectorRegistry())
    alert = {"alert_id": "a1", "account_id": "x:flagged", "classification": "suspected_purchase"}
    data.on_alert(b"x:flagged", orjson.dumps(alert))
    data.on_alert(b"x:flagged", orjson.dumps(alert))  # redelivered
    data.on_alert(b"x:other", orjson.dumps({**alert, "alert_id": "a2", "classification": "organic_breakout"}))
    assert dict(data.classification_counts) == {"suspected_purchase": 1, "organic_breakout": 1}
    data.on_profile(b"x:flagged", orjson.dumps(profile("x:flagged", 0.0)))
    assert data.board.profile("x:flagged") is not None
