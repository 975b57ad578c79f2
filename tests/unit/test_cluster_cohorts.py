"""Cluster-wide cohorts: contributions are changes with versions, applied once per account."""

from __future__ import annotations

import random

from streams.core.cohorts import ClusterCohorts, CohortAggregate, Contribution
from streams.core.mentions import Mention, MentionBook
from streams.core.scoring import CohortBook
from streams.mention_reader import observed_ts


def test_an_account_counts_once_however_often_its_contribution_is_delivered() -> None:
    aggregate = CohortAggregate()
    entry = Contribution("ink", "instagram:a", "micro", 30, 100)
    assert aggregate.apply(entry)
    assert not aggregate.apply(entry)  # a redelivery
    assert aggregate.summary("ink") == (1, {"micro": [1 if i == 30 else 0 for i in range(64)]})


def test_an_older_contribution_never_undoes_a_newer_one() -> None:
    aggregate = CohortAggregate()
    aggregate.apply(Contribution("ink", "a", "mid", 12, 200))
    assert not aggregate.apply(Contribution("ink", "a", "micro", 30, 100))
    members, tiers = aggregate.summary("ink")
    assert members == 1 and tiers["mid"][12] == 1 and "micro" not in tiers


def test_moving_between_niches_leaves_the_old_niche_and_joins_the_new_one() -> None:
    cohorts = ClusterCohorts()
    cohorts.move("a", None, ("ink", "micro", 30), 100)
    cohorts.move("a", ("ink", "micro", 30), ("moss", "micro", 31), 200)
    aggregate = CohortAggregate()
    for contribution in cohorts.take_outbox():
        aggregate.apply(contribution)
    assert aggregate.summary("ink") == (0, {})
    assert aggregate.summary("moss")[0] == 1
    assert cohorts.outbox == []


def test_any_delivery_order_and_duplication_gives_the_histograms_of_the_final_entries() -> None:
    rng = random.Random(7)
    cohorts = ClusterCohorts()
    local = CohortBook()
    entries: dict[str, tuple[str, str, int] | None] = {}
    for version in range(1, 400):
        account = f"acc{rng.randrange(30)}"
        new = (rng.choice(["ink", "moss"]), rng.choice(["nano", "micro"]), rng.randrange(64))
        cohorts.move(account, entries.get(account), new, version)
        local.move(account, entries.get(account), new, version)
        entries[account] = new
    sent = cohorts.take_outbox()
    # Per niche the records keep their order (one partition); redeliveries repeat a suffix.
    by_niche: dict[str, list[Contribution]] = {}
    for c in sent:
        by_niche.setdefault(c.niche, []).append(c)
    aggregate = CohortAggregate()
    for records in by_niche.values():
        replayed = records + records[len(records) // 2:]
        for c in replayed:
            aggregate.apply(c)
    for niche in ("ink", "moss"):
        members, tiers = aggregate.summary(niche)
        expected = {tier: hist for (n, tier), hist in local.histograms.items() if n == niche and any(hist)}
        assert tiers == expected and members == sum(sum(h) for h in expected.values())


def test_a_restarted_owner_rebuilds_the_same_histograms_from_its_entries() -> None:
    aggregate = CohortAggregate()
    for i in range(20):
        aggregate.apply(Contribution("ink", f"a{i}", "micro", i % 5, i))
    restarted = CohortAggregate(dict(aggregate.members))
    restarted.rebuild(aggregate.members.items())
    assert restarted.summary("ink") == aggregate.summary("ink")


def test_a_worker_takes_percentiles_from_the_published_summary() -> None:
    cohorts = ClusterCohorts()
    cohorts.move("a", None, ("ink", "micro", 10), 1)
    assert cohorts.percentile("ink", "micro", 10) == (0.5, 0)  # its own move is not counted locally
    cohorts.set_summary("ink", {"micro": [0] * 10 + [2, 2] + [0] * 52})
    assert cohorts.percentile("ink", "micro", 11) == (0.75, 4)
    cohorts.remove_niche("ink")
    assert cohorts.percentile("ink", "micro", 11) == (0.5, 0)


def test_a_mention_counts_for_decisions_from_when_it_was_observed_whatever_order_it_arrived_in() -> None:
    early, late = MentionBook(), MentionBook()
    first = Mention(ts=1_000, by_account="instagram:big", by_followers=50_000, seen_ts=1_000)
    later = Mention(ts=1_500, by_account="tiktok:bigger", by_followers=90_000, seen_ts=5_000)
    early.add("ink", first)
    early.add("ink", later)
    late.add("ink", later)  # read ahead, then the earlier one
    late.add("ink", first)
    for book in (early, late):
        assert book.explaining("instagram:ink", 100, 0, 2_000) == first  # "later" not yet observed at 2,000
        assert book.explaining("instagram:ink", 100, 0, 6_000) == later


def test_a_post_observed_again_counts_as_first_observed() -> None:
    book = MentionBook()
    book.record("instagram:big", "go follow @ink!", 1_000, 50_000, 1_000)
    book.record("instagram:big", "go follow @ink!", 1_000, 51_000, 4_600)
    assert book.by_handle["ink"] == [Mention(1_000, "instagram:big", 50_000, 1_000)]


def test_observed_time_is_read_from_an_input_record_and_garbage_has_none() -> None:
    assert observed_ts(b'{"observed_at":"2026-03-01T00:00:00Z"}') == 1772323200.0
    assert observed_ts(b'{"observed_at":"2026-03-01T01:00:00+01:00"}') == 1772323200.0
    for bad in (None, b"", b"\xff", b"[]", b'{"observed_at": 5}', b'{"observed_at":"soon"}'):
        assert observed_ts(bad) is None
