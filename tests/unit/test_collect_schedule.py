"""When tracked posts and profiles are observed again."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.collectors.schedule import AccountRef, PostRef, Tracker

H = 3600.0
T0 = 1_750_000_000.0


def post(n: int, posted_at: float = T0, account: str = "mastodon:a@x") -> tuple[PostRef, AccountRef]:
    return PostRef(f"p{n}", f"https://x|{n}", account, posted_at), AccountRef(account, "https://x|1")


def test_a_post_is_observed_again_at_1_6_24_and_72_hours_then_forgotten() -> None:
    tracker = Tracker()
    assert tracker.add(*post(1), now=T0 + 60)
    seen = []
    for hour in range(0, 80):
        now = T0 + hour * H + 1
        for ref in tracker.due_posts(now):
            seen.append(hour)
            tracker.observed(ref.post_id, now)
    assert seen == [1, 6, 24, 72]
    assert len(tracker) == 0


def test_ages_passed_before_discovery_are_skipped() -> None:
    tracker = Tracker()
    tracker.add(*post(1, posted_at=T0 - 7 * H), now=T0)  # 7 h old when found
    assert tracker.due_posts(T0 + 1) == []
    assert [r.post_id for r in tracker.due_posts(T0 - 7 * H + 24 * H)] == ["p1"]


def test_a_collector_that_was_down_observes_once_not_once_per_missed_age() -> None:
    tracker = Tracker()
    tracker.add(*post(1), now=T0)
    late = T0 + 30 * H  # missed 1 h, 6 h and 24 h
    assert len(tracker.due_posts(late)) == 1
    tracker.observed("p1", late)
    assert tracker.due_posts(late + 1) == []
    assert [r.post_id for r in tracker.due_posts(T0 + 72 * H)] == ["p1"]


def test_a_known_post_is_not_new_and_a_deleted_post_is_never_due_again() -> None:
    tracker = Tracker()
    assert tracker.add(*post(1), now=T0)
    assert not tracker.add(*post(1), now=T0 + 5)
    tracker.forget("p1")
    assert tracker.due_posts(T0 + 100 * H) == []


def test_authors_are_snapshotted_at_once_then_every_interval_while_they_have_posts() -> None:
    tracker = Tracker(profile_interval_s=6 * H)
    tracker.add(*post(1), now=T0)
    assert [a.account_id for a in tracker.due_accounts(T0)] == ["mastodon:a@x"]
    tracker.snapshotted("mastodon:a@x", T0)
    assert tracker.due_accounts(T0 + 5 * H) == []
    assert len(tracker.due_accounts(T0 + 6 * H)) == 1
    tracker.forget("p1")
    tracker.snapshotted("mastodon:a@x", T0 + 6 * H)  # last snapshot once no post is tracked
    assert tracker.account_count == 0


def test_tracking_survives_a_round_trip_through_the_state_file_format() -> None:
    tracker = Tracker()
    tracker.add(*post(1), now=T0)
    tracker.add(*post(2, account="mastodon:b@x"), now=T0)
    tracker.observed("p1", T0 + 2 * H)
    restored = Tracker()
    restored.load_json(tracker.to_json())
    assert not restored.add(*post(1), now=T0 + 3 * H)
    assert [r.post_id for r in restored.due_posts(T0 + 6 * H)] == ["p1", "p2"]
    assert restored.account_count == 2


def test_tracked_posts_are_bounded_and_the_oldest_go_first() -> None:
    tracker = Tracker(max_posts=20)
    for n in range(25):
        tracker.add(*post(n, posted_at=T0 + n), now=T0 + 100)
        assert len(tracker) <= 20
    kept = {r.post_id for r in tracker.all_posts()}
    assert {"p24", "p23", "p22"} <= kept and "p0" not in kept


@given(st.lists(st.floats(min_value=0, max_value=100 * H), min_size=1, max_size=40))
def test_a_post_is_never_observed_more_often_than_there_are_ages(check_times: list[float]) -> None:
    tracker = Tracker()
    tracker.add(*post(1), now=T0)
    observations = 0
    for offset in sorted(check_times):
        now = T0 + offset
        for ref in tracker.due_posts(now):
            observations += 1
            tracker.observed(ref.post_id, now)
    assert observations <= len(tracker.ages_s)
    assert observations == 0 or len(tracker) == 0 or max(check_times) < 72 * H
