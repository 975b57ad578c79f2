"""The synthetic scenario: deterministic, schema-valid, and its labels mean what they say."""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from schemas.codec import decode_event
from schemas.events import AccountSnapshot, Post
from streams.feeds import injections
from streams.feeds.catalogue import GENERIC_TAGS
from streams.feeds.injections import (
    INSTANT_PURCHASE_TYPES, ORDINARY_LIFE_TYPES, PURCHASE_TYPES, SHARE_OF_ACCOUNTS,
)
from streams.feeds.population import draw_profiles
from streams.feeds.realism import WorldKnobs, displayed_count
from streams.feeds.simulator import DEFAULT_ACCOUNTS, DEFAULT_DAYS, DEFAULT_START, Scenario
from streams.feeds.timeline import maturity

SMALL = {"accounts": 200, "days": 14}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario(7, **SMALL)


@pytest.fixture(scope="module")
def events(scenario: Scenario) -> list[dict]:
    return list(scenario.events())


@pytest.fixture(scope="module")
def by_account(events: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        grouped[event["account_id"]].append(event)
    return grouped


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _first_likes(account_events: list[dict]) -> dict[str, tuple[str, int]]:
    """post_id -> (posted_at, likes at its first observation, about one hour old)."""
    first: dict[str, tuple[str, int]] = {}
    for event in account_events:
        if event["kind"] == "post":
            first.setdefault(event["post_id"], (event["posted_at"], event["likes"]))
    return first


def _final_likes(account_events: list[dict]) -> dict[str, tuple[str, int]]:
    """post_id -> (posted_at, likes at its last observation)."""
    final: dict[str, tuple[str, int]] = {}
    for event in account_events:
        if event["kind"] == "post":
            final[event["post_id"]] = (event["posted_at"], event["likes"])
    return final


def test_same_seed_gives_identical_events_and_truth() -> None:
    first, second = Scenario(11, accounts=60, days=13), Scenario(11, accounts=60, days=13)
    assert list(first.events()) == list(second.events())
    assert first.truth == second.truth


def test_different_seeds_give_different_scenarios() -> None:
    first, second = Scenario(11, accounts=60, days=13), Scenario(12, accounts=60, days=13)
    assert list(first.events())[:200] != list(second.events())[:200]
    assert first.truth != second.truth


def test_written_files_are_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        paths = [tmp_path / f"{run}-events.jsonl", tmp_path / f"{run}-truth.jsonl", tmp_path / f"{run}-niches.json"]
        count = Scenario(5, accounts=40, days=13).write(*paths)
        assert count == sum(1 for _ in paths[0].open("rb"))
        outputs.append([p.read_bytes() for p in paths])
    assert outputs[0] == outputs[1]
    assert set(orjson.loads(outputs[0][2])) >= {"fountainpens", "sourdough", "bouldering", "mechanicalkeyboards"}


def test_every_event_validates_against_the_schema_models(events: list[dict]) -> None:
    kinds = Counter()
    for event in events:
        decoded = decode_event(orjson.dumps(event))
        assert isinstance(decoded, Post | AccountSnapshot)
        kinds[decoded.kind] += 1
    assert kinds["post"] > 1_000 and kinds["snapshot"] > 1_000


def test_events_come_in_observed_order_without_jitter(events: list[dict]) -> None:
    times = [_ts(e["observed_at"]) for e in events]
    assert times == sorted(times)
    assert times[0] >= DEFAULT_START.timestamp()


def test_jitter_keeps_disorder_within_its_bound() -> None:
    jittered = [_ts(e["observed_at"]) for e in Scenario(3, accounts=40, days=13, max_jitter_seconds=120).events()]
    assert jittered != sorted(jittered)
    latest = float("-inf")
    for t in jittered:
        assert t >= latest - 120
        latest = max(latest, t)


def test_reobserved_posts_only_grow_and_carry_current_followers(by_account: dict[str, list[dict]]) -> None:
    observed_twice = 0
    for account_events in by_account.values():
        last: dict[str, dict] = {}
        for event in account_events:
            if event["kind"] != "post":
                continue
            previous = last.get(event["post_id"])
            if previous is not None:
                observed_twice += 1
                for counter in ("likes", "comments", "shares"):
                    assert event[counter] >= previous[counter]
                assert event["observed_at"] > previous["observed_at"]
            last[event["post_id"]] = event
    assert observed_twice > 1_000


def test_default_size_plans_enough_incidents_of_every_kind() -> None:
    rng = random.Random("count-check")
    profiles = draw_profiles(rng, DEFAULT_ACCOUNTS, round(injections.SPAM_SHARE * DEFAULT_ACCOUNTS))
    planned, mentions = injections.plan(rng, profiles, int(DEFAULT_START.timestamp()), DEFAULT_DAYS, 7.0)
    counts = Counter(i.event_type for i in planned)
    for event_type in PURCHASE_TYPES:
        assert counts[event_type] >= 40, event_type
    for event_type in SHARE_OF_ACCOUNTS:
        assert counts[event_type] >= 30, event_type
    assert sum(p.spam for p in profiles) >= 30
    assert len({i.account_index for i in planned}) == len(planned), "one incident per account"
    assert sum(len(posts) for posts in mentions.values()) == counts["shoutout"]


def test_truth_labels_every_kind_after_the_warm_up(scenario: Scenario) -> None:
    counts = Counter(t.event_type for t in scenario.truth)
    assert set(counts) == set(SHARE_OF_ACCOUNTS) | {"spam_account", *ORDINARY_LIFE_TYPES}
    warm = DEFAULT_START.timestamp() + 7 * 86_400
    for truth in scenario.truth:
        if truth.event_type == "good_post":
            assert truth.expected_classification is None
            continue
        if truth.event_type != "spam_account":
            assert _ts(truth.start) >= warm
            assert _ts(truth.end) >= _ts(truth.start)
        expected = "suspected_purchase" if truth.event_type in PURCHASE_TYPES else None
        if truth.event_type == "organic_breakout":
            expected = "organic_breakout"
        assert truth.expected_classification == expected


def test_instant_purchases_step_followers_without_engagement(
    scenario: Scenario, by_account: dict[str, list[dict]]
) -> None:
    log_like_ratios, log_follower_ratios = [], []
    for truth in scenario.truth:
        if truth.event_type not in INSTANT_PURCHASE_TYPES:
            continue
        start = _ts(truth.start)
        series = [(_ts(e["observed_at"]), e["followers"]) for e in by_account[truth.account_id]]
        before = [f for t, f in series if t < start][-1]
        after = next(f for t, f in series if t >= start)
        assert truth.followers_added >= 0.05 * truth.followers_before
        assert after - before >= 0.9 * truth.followers_added, truth
        # Same-age counters (first look, ~1h) so late posts' unfinished counters do not bias.
        posts = _first_likes(by_account[truth.account_id]).values()
        likes_before = [likes for posted, likes in posts if start - 7 * 86_400 <= _ts(posted) < start]
        likes_after = [likes for posted, likes in posts if start <= _ts(posted) < start + 5 * 86_400]
        if likes_before and likes_after and truth.followers_added >= 0.15 * truth.followers_before:
            log_like_ratios.append(math.log(statistics.median(likes_after) / max(1, statistics.median(likes_before))))
            log_follower_ratios.append(math.log(1 + truth.followers_added / truth.followers_before))
    assert len(log_like_ratios) >= 10
    # Followers jumped by 15-200%; were the new followers real, likes would rise about as much.
    assert statistics.mean(log_like_ratios) < 0.4 * statistics.mean(log_follower_ratios)


def test_drip_purchases_spread_over_days(scenario: Scenario, by_account: dict[str, list[dict]]) -> None:
    for truth in scenario.truth:
        if truth.event_type != "purchase_drip":
            continue
        start, end = _ts(truth.start), _ts(truth.end)
        assert 2 * 86_400 <= end - start <= 5 * 86_400
        series = [(_ts(e["observed_at"]), e["followers"]) for e in by_account[truth.account_id]]
        first_day = [f for t, f in series if start <= t < start + 86_400]
        assert first_day and max(first_day) - truth.followers_before < 0.6 * truth.followers_added


def test_organic_breakouts_have_a_viral_post_before_the_surge(
    scenario: Scenario, by_account: dict[str, list[dict]]
) -> None:
    breakouts = [t for t in scenario.truth if t.event_type == "organic_breakout"]
    assert breakouts
    for truth in breakouts:
        account_events = by_account[truth.account_id]
        viral_views = [e for e in account_events if e["kind"] == "post" and e["posted_at"] == truth.start]
        assert viral_views, "the viral post opens the incident"
        final = _final_likes(account_events)
        others = [likes for post_id, (_, likes) in final.items() if post_id != viral_views[0]["post_id"]]
        assert final[viral_views[0]["post_id"]][1] >= 5 * statistics.median(others)
        surge_level = truth.followers_before + 0.1 * truth.followers_added
        first_surge = next(_ts(e["observed_at"]) for e in account_events if e["followers"] >= surge_level)
        assert _ts(viral_views[0]["observed_at"]) < first_surge


def test_real_new_followers_like_recent_posts_and_bought_ones_do_not(
    scenario: Scenario, by_account: dict[str, list[dict]]
) -> None:
    # A post's counters follow the maturity curve exactly unless new real followers add likes.
    excess: dict[str, list[float]] = defaultdict(list)
    for truth in scenario.truth:
        group = "purchase" if truth.event_type in PURCHASE_TYPES else truth.event_type
        if group not in ("purchase", "organic_breakout", "shoutout"):
            continue
        start = _ts(truth.start)
        observations: dict[str, list[dict]] = defaultdict(list)
        for event in by_account[truth.account_id]:
            if event["kind"] == "post" and start - 2 * 86_400 <= _ts(event["posted_at"]) < start:
                observations[event["post_id"]].append(event)
        for views in observations.values():
            first, last = views[0], views[-1]
            if first["likes"] < 200 or _ts(last["observed_at"]) < start + 86_400:
                continue
            ages = [_ts(v["observed_at"]) - _ts(v["posted_at"]) for v in (first, last)]
            expected = first["likes"] * maturity(ages[1]) / maturity(ages[0])
            excess[group].append(last["likes"] / expected)
    genuine = excess["organic_breakout"] + excess["shoutout"]
    assert len(excess["purchase"]) >= 10 and len(genuine) >= 4
    assert max(excess["purchase"]) < 1.02
    assert min(genuine) > 1.02


def test_purges_remove_followers(scenario: Scenario, by_account: dict[str, list[dict]]) -> None:
    for truth in scenario.truth:
        if truth.event_type == "purge":
            assert truth.followers_added < 0
            after = [e["followers"] for e in by_account[truth.account_id] if _ts(e["observed_at"]) > _ts(truth.end)]
            assert after and after[0] < truth.followers_before


def test_spam_accounts_post_a_lot_with_generic_tags_and_little_engagement(
    scenario: Scenario, by_account: dict[str, list[dict]]
) -> None:
    spam = {t.account_id for t in scenario.truth if t.event_type == "spam_account"}
    assert spam
    for account_id in spam:
        final = _final_likes(by_account[account_id])
        assert len(final) / SMALL["days"] >= 5
        followers = by_account[account_id][-1]["followers"]
        assert statistics.median(likes for _, likes in final.values()) / followers < 0.005
        post = next(e for e in by_account[account_id] if e["kind"] == "post")
        generic = [t for t in post["tags"] if t.lower() in {g.lower() for g in GENERIC_TAGS}]
        assert len(generic) >= 5


def test_scenario_refuses_too_short_a_run() -> None:
    with pytest.raises(ValueError, match="days"):
        Scenario(1, accounts=50, days=8)


# --- ordinary life: good posts, outages, rounded counts, cadence, drift ---------------------------


def _follower_series(account_events: list[dict], kind: str | None = None) -> list[tuple[float, int]]:
    return [(_ts(e["observed_at"]), e["followers"]) for e in account_events if kind is None or e["kind"] == kind]


def test_displayed_counts_read_back_as_the_page_shows_them() -> None:
    assert [displayed_count(n) for n in (987, 9_999, 12_345, 99_999, 123_456, 999_999, 1_234_567)] == [
        987, 9_999, 12_300, 99_900, 123_000, 999_000, 1_200_000,
    ]


def test_good_posts_bring_a_few_percent_in_proportion_to_how_much_better_they_did(
    scenario: Scenario, by_account: dict[str, list[dict]]
) -> None:
    good = [t for t in scenario.truth if t.event_type == "good_post"]
    assert len(good) >= 20
    per_multiple = []
    for truth in good:
        first = _first_likes(by_account[truth.account_id])  # same age (~1h), whatever the post's date
        post = [likes for posted, likes in first.values() if posted == truth.start]
        others = [likes for posted, likes in first.values() if posted != truth.start]
        if not post:  # posted during a collector outage: never seen at an hour old
            assert scenario.traits[truth.account_id].in_outage(_ts(truth.start) + 3600)
            continue
        multiple = post[0] / statistics.median(others)
        share = truth.followers_added / truth.followers_before
        assert 0.0 < share <= 0.10
        assert _ts(truth.end) - _ts(truth.start) == 48 * 3600
        if post[0] >= 100 and len(others) >= 5:  # enough for the ratio to mean something
            assert 1.3 <= multiple <= 8.0, truth
            per_multiple.append(share / (multiple - 1))
    low, high = WorldKnobs().good_post_gain
    assert per_multiple and low * 0.6 <= statistics.median(per_multiple) <= high * 1.4


def test_good_post_gains_arrive_over_a_day_or_two_on_exact_snapshots() -> None:
    knobs = WorldKnobs(good_post_rate=0.3, good_post_gain=(0.02, 0.02), drift_share=0.0, growth_scale=0.0,
                       outage_rate=0.0, snapshot_hours=(1.0, 1.0))
    quiet = Scenario(3, accounts=40, days=13, knobs=knobs)
    events = defaultdict(list)
    for event in quiet.events():
        events[event["account_id"]].append(event)
    truths = {t.account_id: t for t in quiet.truth if t.event_type == "good_post"}  # one per account is enough
    checked = 0
    for account_id, truth in truths.items():
        series = _follower_series(events[account_id], "snapshot")
        start = _ts(truth.start)
        before = [f for t, f in series if t <= start]
        day_one = [f for t, f in series if start + 22 * 3600 <= t <= start + 26 * 3600]
        if not before or not day_one or truth.followers_added < 200:
            continue
        checked += 1
        # Most of the gain has arrived within a day, none of it was there at the post.
        assert day_one[0] - before[-1] >= 0.5 * truth.followers_added
    assert checked >= 5


def test_outages_leave_no_observation_and_catch_up_with_organic_growth_only(
    scenario: Scenario, by_account: dict[str, list[dict]]
) -> None:
    outages = [t for t in scenario.truth if t.event_type == "outage_catchup"]
    assert len(outages) >= 5
    incident_accounts = {t.account_id for t in scenario.truth if t.event_type not in ORDINARY_LIFE_TYPES}
    for truth in outages:
        assert truth.account_id not in incident_accounts
        start, end = _ts(truth.start), _ts(truth.end)
        assert 86_400 <= end - start <= 3 * 86_400
        series = _follower_series(by_account[truth.account_id], "snapshot")
        assert not [t for t in (_ts(e["observed_at"]) for e in by_account[truth.account_id]) if start <= t < end]
        before = [f for t, f in series if t < start][-1]
        after = next(f for t, f in series if t >= end)
        assert abs(after - before) <= 0.12 * before, "catch-up is days of organic growth, not a jump"


def test_rounded_counts_only_on_posts_of_accounts_with_the_trait(
    scenario: Scenario, by_account: dict[str, list[dict]]
) -> None:
    traits = scenario.traits
    rounded = [a for a, t in traits.items() if t.rounded_counts]
    assert 0.15 * len(traits) <= len(rounded) <= 0.45 * len(traits)
    saw_rounding = saw_exact_snapshot = 0
    for account_id, account_events in by_account.items():
        posts = [e["followers"] for e in account_events if e["kind"] == "post" and e["followers"] >= 10_000]
        snapshots = [e["followers"] for e in account_events if e["kind"] == "snapshot" and e["followers"] >= 10_000]
        if traits[account_id].rounded_counts:
            assert all(displayed_count(f) == f for f in posts)
            saw_rounding += bool(posts)
            saw_exact_snapshot += any(displayed_count(f) != f for f in snapshots)
        elif len(posts) >= 10:
            assert any(displayed_count(f) != f for f in posts)
    assert saw_rounding >= 10 and saw_exact_snapshot >= 10


def test_snapshot_cadence_differs_per_account_from_hourly_to_daily(by_account: dict[str, list[dict]]) -> None:
    gaps = []
    for account_events in by_account.values():
        times = [t for t, _ in _follower_series(account_events, "snapshot")]
        if len(times) >= 3:
            gaps.append(statistics.median(b - a for a, b in zip(times, times[1:], strict=False)) / 3600)
    assert min(gaps) < 2.0 and max(gaps) > 16.0
    assert 3.0 < statistics.median(gaps) < 10.0  # log-uniform over 1-24 h


def test_drifting_accounts_change_their_growth_rate_over_the_weeks() -> None:
    knobs = WorldKnobs(good_post_rate=0.0, outage_rate=0.0, drift_share=1.0, snapshot_hours=(6.0, 6.0))
    drifting = Scenario(8, accounts=100, days=28, knobs=knobs)
    incident = {t.account_id for t in drifting.truth}
    events = defaultdict(list)
    for event in drifting.events():
        if event["kind"] == "snapshot":
            events[event["account_id"]].append(event["followers"])
    agreed = checked = 0
    for account_id, traits in drifting.traits.items():
        change = traits.growth_end - traits.growth_start
        series = events[account_id]
        if account_id in incident or abs(change) < 0.002 or series[0] < 5_000:
            continue
        quarter = len(series) // 4
        early = math.log(series[quarter] / series[0])
        late = math.log(series[-1] / series[-1 - quarter])
        checked += 1
        agreed += (late - early > 0) == (change > 0)
    assert checked >= 10 and agreed >= 0.9 * checked


def test_each_knob_changes_only_its_own_behaviour() -> None:
    base = Scenario(4, accounts=40, days=13).traits
    more_rounding = Scenario(4, accounts=40, days=13, knobs=WorldKnobs(rounded_share=0.9)).traits
    assert [t.snapshot_hours for t in base.values()] == [t.snapshot_hours for t in more_rounding.values()]
    assert [t.outages for t in base.values()] == [t.outages for t in more_rounding.values()]
    assert sum(t.rounded_counts for t in more_rounding.values()) > sum(t.rounded_counts for t in base.values())
    assert all(t.rounded_counts for a, t in more_rounding.items() if base[a].rounded_counts)


def test_knobs_outside_their_range_are_refused() -> None:
    with pytest.raises(ValueError, match="rounded_share"):
        WorldKnobs(rounded_share=1.5)
    with pytest.raises(ValueError, match="snapshot_hours"):
        WorldKnobs(snapshot_hours=(6.0, 1.0))


def test_same_seed_and_knobs_give_identical_events() -> None:
    knobs = WorldKnobs(outage_rate=2.0, rounded_share=1.0, engagement_noise=0.6)
    first, second = Scenario(9, accounts=40, days=13, knobs=knobs), Scenario(9, accounts=40, days=13, knobs=knobs)
    assert list(first.events()) == list(second.events())
    assert first.truth == second.truth
    assert list(first.events()) != list(Scenario(9, accounts=40, days=13).events())


def test_some_accounts_tag_generically_and_one_niche_tracks_a_generic_tag(
    scenario: Scenario, by_account: dict[str, list[dict]]
) -> None:
    generic = {g.lstrip("#").lower() for g in GENERIC_TAGS}
    generic_niches = [niche for niche, tags in scenario.niches.items() if generic & set(tags)]
    assert generic_niches == ["filmphotography"]
    habitual = {"#love", "#instagood", "#fyp"}
    spam = {t.account_id for t in scenario.truth if t.event_type == "spam_account"}
    taggers = 0
    for account_id, account_events in by_account.items():
        posts = {e["post_id"]: [t.lower() for t in e["tags"]] for e in account_events if e["kind"] == "post"}
        if account_id in spam or len(posts) < 5:
            continue
        share = sum(habitual <= set(tags) for tags in posts.values()) / len(posts)
        taggers += share >= 0.3
        assert (share >= 0.3) == scenario.traits[account_id].generic_tagger or len(posts) < 10
    assert taggers >= 5


def test_good_post_rate_changes_good_posts_and_leaves_schedules_alone() -> None:
    def schedule(knobs: WorldKnobs) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        events = list(Scenario(6, accounts=40, days=13, knobs=knobs).events())
        posts = sorted({(e["post_id"], e["posted_at"]) for e in events if e["kind"] == "post"})
        polls = [(e["account_id"], e["observed_at"]) for e in events if e["kind"] == "snapshot"]
        return posts, polls

    assert schedule(WorldKnobs(good_post_rate=0.0)) == schedule(WorldKnobs(good_post_rate=0.2))
