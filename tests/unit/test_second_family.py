"""The second scenario family: deterministic, in the contract, and its labels mean what they say."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from schemas.codec import decode_event
from schemas.events import AccountSnapshot, Post
from streams.evaluation import NOT_PURCHASE_TYPES, evaluate, follower_observations
from streams.feeds.realism import WorldKnobs
from streams.feeds.second_family import SecondFamilyScenario
from streams.feeds.second_family.incidents import HONEST_KINDS, PURCHASE_KINDS
from streams.feeds.second_family.world import draw_accounts, shown_followers

SMALL = {"accounts": 240, "days": 21}


@pytest.fixture(scope="module")
def scenario() -> SecondFamilyScenario:
    return SecondFamilyScenario(5, **SMALL)


@pytest.fixture(scope="module")
def events(scenario: SecondFamilyScenario) -> list[dict]:
    return list(scenario.events())


@pytest.fixture(scope="module")
def by_account(events: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        grouped[event["account_id"]].append(event)
    return grouped


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _snapshots(account_events: list[dict]) -> list[tuple[float, int]]:
    return [(_ts(e["observed_at"]), e["followers"]) for e in account_events if e["kind"] == "snapshot"]


def _labels(scenario: SecondFamilyScenario, kind: str) -> list:
    return [t for t in scenario.truth if t.event_type == kind]


def test_same_seed_gives_identical_events_and_truth_and_other_seeds_do_not() -> None:
    first, second = SecondFamilyScenario(3, accounts=40, days=13), SecondFamilyScenario(3, accounts=40, days=13)
    assert list(first.events()) == list(second.events())
    assert first.truth == second.truth
    other = SecondFamilyScenario(4, accounts=40, days=13)
    assert list(other.events())[:100] != list(first.events())[:100]


def test_written_files_are_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        paths = [tmp_path / f"{run}-e.jsonl", tmp_path / f"{run}-t.jsonl", tmp_path / f"{run}-n.json"]
        assert SecondFamilyScenario(2, accounts=30, days=13).write(*paths) > 0
        outputs.append([p.read_bytes() for p in paths])
    assert outputs[0] == outputs[1]


def test_every_event_decodes_and_arrives_in_observed_order(events: list[dict]) -> None:
    kinds: Counter[str] = Counter()
    for event in events:
        decoded = decode_event(orjson.dumps(event))
        assert isinstance(decoded, Post | AccountSnapshot)
        kinds[decoded.kind] += 1
        if decoded.kind == "post":
            assert decoded.observed_at >= decoded.posted_at
    assert kinds["post"] > 2_000 and kinds["snapshot"] > 2_000
    times = [_ts(e["observed_at"]) for e in events]
    assert times == sorted(times)


def test_truth_has_the_first_familys_format_and_every_kind(scenario: SecondFamilyScenario) -> None:
    fields = {"account_id", "event_type", "expected_classification", "start", "end", "followers_before",
              "followers_added"}
    assert all(set(t.as_dict()) == fields for t in scenario.truth)
    counts = Counter(t.event_type for t in scenario.truth)
    assert set(counts) == {*PURCHASE_KINDS, *HONEST_KINDS, "good_post", "outage_catchup"}
    assert set(HONEST_KINDS) | {"good_post", "outage_catchup"} <= set(NOT_PURCHASE_TYPES)
    incident_accounts = [t.account_id for t in scenario.truth if t.event_type not in ("good_post", "outage_catchup")]
    assert len(incident_accounts) == len(set(incident_accounts)), "one incident per account"
    for truth in scenario.truth:
        expected = "suspected_purchase" if truth.event_type in PURCHASE_KINDS else None
        expected = "organic_breakout" if truth.event_type == "organic_breakout" else expected
        assert truth.expected_classification == expected
        assert _ts(truth.end) >= _ts(truth.start)


def test_evaluation_scores_the_second_family_with_an_oracle(
    scenario: SecondFamilyScenario, events: list[dict]
) -> None:
    truth = [t.as_dict() for t in scenario.truth]
    oracle = [{"alert_id": str(n), "account_id": t["account_id"], "classification": "suspected_purchase",
               "detected_at": t["end"]} for n, t in enumerate(truth) if t["expected_classification"]
              == "suspected_purchase"]
    result = evaluate(truth, oracle, follower_observations(events))
    assert result.overall.precision == 1.0 and result.overall.recall == 1.0
    assert result.honest.accused == 0 and result.honest.accounts > 100


def test_bought_followers_step_up_the_counter_and_leave_likes_flat(
    scenario: SecondFamilyScenario, by_account: dict[str, list[dict]]
) -> None:
    for truth in _labels(scenario, "purchase_instant") + _labels(scenario, "purchase_round"):
        start = _ts(truth.start)
        series = _snapshots(by_account[truth.account_id])
        before = [f for t, f in series if t < start][-1]
        after = [f for t, f in series if start <= t < start + 2 * 86_400]
        assert after and max(after) - before >= 0.8 * truth.followers_added, truth
    round_accounts = {t.account_id for t in _labels(scenario, "purchase_round")}
    assert all(t.followers_added in (1_000, 2_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000)
               for t in _labels(scenario, "purchase_round"))
    posts = [e for a in round_accounts for e in by_account[a] if e["kind"] == "post" and e["followers"] >= 10_000]
    assert posts and all(e["followers"] % 10 == 0 for e in posts), "round buys go to rounded-count accounts"


def test_multistep_purchases_arrive_in_separate_steps(
    scenario: SecondFamilyScenario, by_account: dict[str, list[dict]]
) -> None:
    for truth in _labels(scenario, "purchase_multistep"):
        start, end = _ts(truth.start), _ts(truth.end)
        assert end - start >= 6 * 3600
        series = _snapshots(by_account[truth.account_id])
        before = [f for t, f in series if t < start][-1]
        middle = [f for t, f in series if start <= t < end]
        if middle:
            assert max(middle) - before < 0.95 * truth.followers_added


def test_a_purchase_can_hide_inside_a_real_viral_moment(
    scenario: SecondFamilyScenario, by_account: dict[str, list[dict]]
) -> None:
    hidden = _labels(scenario, "purchase_in_viral")
    assert hidden
    for truth in hidden:
        posts = [e for e in by_account[truth.account_id] if e["kind"] == "post"]
        viral = [e for e in posts if 0 < _ts(truth.start) - _ts(e["posted_at"]) <= 12 * 3600
                 and e["text"] and "took off" in e["text"]]
        assert viral, "a viral post comes a few hours before the bought step"


def test_press_mentions_and_migrations_bring_real_followers_who_engage(
    scenario: SecondFamilyScenario, by_account: dict[str, list[dict]]
) -> None:
    ratios = []
    for truth in _labels(scenario, "press_mention") + _labels(scenario, "migration"):
        assert truth.followers_added > 0
        start, end = _ts(truth.start), _ts(truth.end)
        final: dict[str, tuple[float, int]] = {}
        for e in by_account[truth.account_id]:
            if e["kind"] == "post":
                final[e["post_id"]] = (_ts(e["posted_at"]), e["likes"])
        before = [likes for posted, likes in final.values() if start - 7 * 86_400 <= posted < start - 86_400]
        after = [likes for posted, likes in final.values() if end <= posted < end + 5 * 86_400]
        if len(before) >= 2 and len(after) >= 2 and truth.followers_added >= 0.15 * truth.followers_before:
            ratios.append(math.log(statistics.median(after) / max(1, statistics.median(before))))
    assert len(ratios) >= 3
    assert statistics.median(ratios) > 0.05


def test_good_posts_gain_in_proportion_to_what_they_did(
    scenario: SecondFamilyScenario, by_account: dict[str, list[dict]]
) -> None:
    good = _labels(scenario, "good_post")
    assert len(good) >= 30
    low, high = WorldKnobs().good_post_gain
    multiples, per_multiple = [], []
    for truth in good:
        share = truth.followers_added / truth.followers_before
        assert 0.0 <= share <= 0.08
        # Interactions once counters have (nearly) settled: last look at least two days after posting.
        settled: dict[str, tuple[str, int]] = {}
        for e in by_account[truth.account_id]:
            if e["kind"] == "post" and _ts(e["observed_at"]) - _ts(e["posted_at"]) >= 2 * 86_400:
                settled[e["post_id"]] = (e["posted_at"], e["likes"] + e["comments"] + e["shares"])
        post = [n for posted, n in settled.values() if posted == truth.start]
        others = [n for posted, n in settled.values() if posted != truth.start]
        if post and len(others) >= 5 and post[0] >= 50:
            multiple = post[0] / statistics.median(others)
            multiples.append(multiple)
            if multiple > 1.3:
                per_multiple.append(share / (multiple - 1))
    assert len(multiples) >= 10
    assert statistics.median(multiples) >= 1.6
    assert low * 0.5 <= statistics.median(per_multiple) <= high * 1.5


def test_outages_leave_gaps_and_catch_up_with_organic_growth(
    scenario: SecondFamilyScenario, by_account: dict[str, list[dict]]
) -> None:
    outages = _labels(scenario, "outage_catchup")
    assert len(outages) >= 5
    for truth in outages:
        start, end = _ts(truth.start), _ts(truth.end)
        assert 86_400 <= end - start <= 3 * 86_400
        assert not [e for e in by_account[truth.account_id] if start <= _ts(e["observed_at"]) < end]
        series = _snapshots(by_account[truth.account_id])
        before = [f for t, f in series if t < start][-1]
        after = next(f for t, f in series if t >= end)
        assert abs(after - before) <= 0.15 * before


def test_rounded_counts_appear_on_posts_only() -> None:
    rounded = SecondFamilyScenario(6, accounts=60, days=13, knobs=WorldKnobs(rounded_share=1.0))
    exact_snapshots = 0
    for event in rounded.events():
        if event["followers"] < 10_000:
            continue
        if event["kind"] == "post":
            assert event["followers"] % 100 == 0
        else:
            exact_snapshots += event["followers"] % 100 != 0
    assert exact_snapshots > 100


def test_page_counts_follow_each_platforms_display() -> None:
    account = draw_accounts(1, 1, WorldKnobs())[0]
    youtube = dataclasses.replace(account, rounded=True, platform="youtube")
    tiktok = dataclasses.replace(account, rounded=True, platform="tiktok")
    assert shown_followers(dataclasses.replace(youtube, rounded=False), 12_345) == 12_345
    assert [shown_followers(youtube, n) for n in (999, 1_234, 12_345, 123_456, 1_234_567)] == [
        999, 1_230, 12_300, 123_000, 1_230_000]
    assert [shown_followers(tiktok, n) for n in (1_234, 12_351, 1_250_000)] == [1_200, 12_400, 1_200_000]
    instagram = dataclasses.replace(tiktok, platform="instagram")
    assert [shown_followers(instagram, n) for n in (9_876, 12_351)] == [9_876, 12_400]


def test_snapshot_cadence_spans_hourly_to_daily(by_account: dict[str, list[dict]]) -> None:
    gaps = []
    for account_events in by_account.values():
        times = [t for t, _ in _snapshots(account_events)]
        if len(times) >= 5:
            gaps.append(statistics.median(b - a for a, b in zip(times, times[1:], strict=False)) / 3600)
    assert min(gaps) < 1.5 and max(gaps) > 20


def test_some_accounts_tag_generically_and_one_niche_tracks_a_generic_tag(
    scenario: SecondFamilyScenario, by_account: dict[str, list[dict]]
) -> None:
    generic = {"love", "instagood", "fyp", "viral", "reels", "trending", "foryou"}
    assert [n for n, tags in scenario.niches.items() if generic & set(tags)] == ["urbansketching"]
    heavy = 0
    for account_events in by_account.values():
        posts = {e["post_id"]: {t.lstrip("#").lower() for t in e["tags"]}
                 for e in account_events if e["kind"] == "post"}
        if len(posts) >= 5:
            heavy += sum(len(generic & tags) >= 2 for tags in posts.values()) / len(posts) >= 0.5
    assert heavy >= 10


def test_one_knob_changed_leaves_the_rest_of_the_world_alone() -> None:
    def world(knobs: WorldKnobs) -> tuple[list, list]:
        events = list(SecondFamilyScenario(6, accounts=40, days=13, knobs=knobs).events())
        posts = sorted({(e["post_id"], e["posted_at"]) for e in events if e["kind"] == "post"})
        return posts, [t for t in SecondFamilyScenario(6, accounts=40, days=13, knobs=knobs).truth
                       if t.event_type not in ("good_post", "outage_catchup")]

    default = world(WorldKnobs())
    for knobs in (WorldKnobs(outage_rate=3.0), WorldKnobs(good_post_rate=0.2), WorldKnobs(engagement_noise=0.6)):
        posts, incidents = world(knobs)
        if knobs.outage_rate == WorldKnobs().outage_rate:  # outages hide posts published during them
            assert posts == default[0]
        assert [(t.account_id, t.event_type, t.start) for t in incidents] == [
            (t.account_id, t.event_type, t.start) for t in default[1]]
