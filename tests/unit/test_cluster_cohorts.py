"""Cluster-wide cohorts: contributions are changes with versions, applied once per account."""

from __future__ import annotations

from datetime import datetime

from schemas.cluster import CohortContribution
from schemas.codec import decode_model, encode
from schemas.events import AccountSnapshot, NicheDefinition, Post
from streams.core import Engine
from streams.core.cohorts import CohortAggregate, Contribution
from streams.core.synthetic import HOUR, START, AccountSpec, merged_events
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


NICHES = [NicheDefinition(name="ink", tags=["fountainpens"]), NicheDefinition(name="moss", tags=["terrarium"])]
MOVED_AT = START + 3 * 24 * HOUR  # two accounts post in the other niche from then on
MOVERS = {"instagram:acc1": "#terrarium", "instagram:acc4": "#fountainpens"}


def _events() -> list[Post | AccountSnapshot]:
    """Twelve accounts of three tiers in two niches over twelve days; two of them change niche."""
    specs = [
        AccountSpec(
            f"instagram:acc{i}", followers=(3_000, 20_000, 150_000)[i % 3] + 137 * i,
            engagement_rate=0.01 + 0.012 * (i % 5), post_every_h=8 + 3 * (i % 4),
            tags=["#fountainpens"] if i % 2 else ["#terrarium"],
        )
        for i in range(12)
    ]

    def moved(raw: dict) -> dict:
        if raw["kind"] == "post" and raw["account_id"] in MOVERS:
            if datetime.fromisoformat(raw["posted_at"].replace("Z", "+00:00")).timestamp() >= MOVED_AT:
                return {**raw, "tags": [MOVERS[raw["account_id"]]]}
        return raw

    return [(Post if r["kind"] == "post" else AccountSnapshot).model_validate(moved(r)) for r in merged_events(specs, days=12)]


def _engines() -> tuple[Engine, Engine]:
    """(one engine that sees every account, a cluster worker's engine), fed the same events."""
    single, worker = Engine(niches=NICHES), Engine(niches=NICHES)
    worker.native.cluster_cohorts()
    for event in _events():
        single.process(event)
        worker.process(event)
    return single, worker


def _contributions(worker: Engine) -> list[Contribution]:
    return [Contribution(*c) for c in worker.native.take_cohort_contributions()]


def test_an_account_whose_posts_move_to_another_niche_leaves_the_old_cohort_and_joins_the_new_one() -> None:
    _, worker = _engines()
    sent = _contributions(worker)
    aggregate = CohortAggregate()
    for contribution in sent:
        aggregate.apply(contribution)
    for account_id, (old, new) in {"instagram:acc1": ("ink", "moss"), "instagram:acc4": ("moss", "ink")}.items():
        mine = [c for c in sent if c.account_id == account_id]
        left = next(i for i, c in enumerate(mine) if c.tier is None)
        assert mine[left].niche == old and mine[left + 1].niche == new and mine[left + 1].version == mine[left].version
        assert aggregate.members[(old, account_id)][0] is None
        assert aggregate.members[(new, account_id)][0] is not None
    assert _contributions(worker) == []  # taken once


def test_contributions_delivered_in_order_per_niche_and_redelivered_give_the_histograms_one_engine_keeps() -> None:
    single, worker = _engines()
    # Per niche the records keep their order (one partition); redeliveries repeat a suffix.
    by_niche: dict[str, list[Contribution]] = {}
    for c in _contributions(worker):
        by_niche.setdefault(c.niche, []).append(c)
    assert any(c.tier is None for records in by_niche.values() for c in records)
    aggregate = CohortAggregate()
    for records in by_niche.values():
        for c in records + records[len(records) // 2:] + records[-3:]:
            aggregate.apply(c)
    kept = single.native.cohort_histograms()
    assert worker.native.cohort_histograms() == []  # a worker's own moves are not counted locally
    for niche in ("ink", "moss"):
        members, tiers = aggregate.summary(niche)
        expected = {tier: hist for n, tier, hist in kept if n == niche and any(hist)}
        assert tiers == expected and members == sum(sum(h) for h in expected.values()) == 6


def test_a_restarted_owner_rebuilds_the_same_histograms_from_its_entries() -> None:
    aggregate = CohortAggregate()
    for i in range(20):
        aggregate.apply(Contribution("ink", f"a{i}", "micro", i % 5, i))
    restarted = CohortAggregate(dict(aggregate.members))
    restarted.rebuild(aggregate.members.items())
    assert restarted.summary("ink") == aggregate.summary("ink")


def test_a_worker_scores_against_the_published_summary_of_its_cohort() -> None:
    _, worker = _engines()
    state = worker.get_state("instagram:acc3")
    assert state is not None and state.cohort_entry is not None
    niche, tier, own_bin = state.cohort_entry
    alone = worker.settle("instagram:acc3", 0.0)
    assert alone is not None and alone.cohort_size == 0  # nothing published yet
    # Two accounts in its bin and two above: mid-rank percentile 0.25 among four.
    worker.native.set_cohort_summary(niche, {tier: [2 if i in (own_bin, own_bin + 1) else 0 for i in range(64)]})
    ranked = worker.settle("instagram:acc3", 0.0)
    assert ranked is not None and ranked.cohort_size == 4
    assert ranked.components.engagement < alone.components.engagement
    worker.native.remove_cohort_niche(niche)
    removed = worker.settle("instagram:acc3", 0.0)
    assert removed is not None and removed.cohort_size == 0
    assert removed.components.engagement == alone.components.engagement


def test_observed_time_is_read_from_an_input_record_and_garbage_has_none() -> None:
    assert observed_ts(b'{"observed_at":"2026-03-01T00:00:00Z"}') == 1772323200.0
    assert observed_ts(b'{"observed_at":"2026-03-01T01:00:00+01:00"}') == 1772323200.0
    for bad in (None, b"", b"\xff", b"[]", b'{"observed_at": 5}', b'{"observed_at":"soon"}'):
        assert observed_ts(bad) is None


def test_contribution_records_encoded_by_the_engine_are_the_contract_models_bytes_keyed_by_niche() -> None:
    _, described = _engines()
    _, encoded = _engines()  # the same events: the same contributions, taken encoded
    expected = [
        (c.niche.encode(), encode(CohortContribution(niche=c.niche, account_id=c.account_id, tier=c.tier, bin=c.bin,
                                                      version=c.version)))  # type: ignore[arg-type]
        for c in _contributions(described)
    ]
    records = encoded.native.take_cohort_contribution_records()
    assert records == expected and any(b'"tier":null' in value for _key, value in records)
    assert all(decode_model(value, CohortContribution).niche.encode() == key for key, value in records)
    assert encoded.native.take_cohort_contribution_records() == []  # taken once
