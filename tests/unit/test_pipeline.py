"""The batch pipeline without a broker: what happens to each kind of record, and what is counted."""

from __future__ import annotations

import orjson
from prometheus_client import CollectorRegistry

from schemas.events import NicheDefinition
from streams.core.engine import Engine
from streams.core.synthetic import AccountSpec, account_events
from streams.metrics import Metrics
from streams.pipeline import Pipeline, Record, reason_class
from tests.events_factory import post_bytes

NOW = 1_780_000_000.0  # a fixed wall clock after the events' 2026-03 timestamps


def pipeline() -> tuple[Pipeline, CollectorRegistry]:
    registry = CollectorRegistry()
    return Pipeline(Engine(niches=[NicheDefinition(name="pens", tags=["fountainpens"])]), Metrics(registry)), registry


def records(*pairs: tuple[bytes | None, bytes | None]) -> list[Record]:
    return [Record("posts.raw", 0, offset, key, value) for offset, (key, value) in enumerate(pairs)]


def test_tracked_post_is_accepted_per_niche_and_untracked_post_leaves_no_state() -> None:
    line, registry = pipeline()
    result = line.process(records(
        (b"instagram:inkjournal", post_bytes()),
        (b"instagram:cats", post_bytes(account_id="instagram:cats", tags=["#cats"])),
    ), now=NOW)
    assert result.dead_letters == [] and result.rekeyed == []
    assert line.engine.get_state("instagram:inkjournal") is not None
    assert line.engine.get_state("instagram:cats") is None
    sample = registry.get_sample_value
    assert sample("nichewatch_events_ingested_total", {"platform": "instagram", "niche": "pens", "outcome": "accepted"}) == 1
    assert sample("nichewatch_events_ingested_total", {"platform": "instagram", "niche": "_none", "outcome": "untracked"}) == 1
    assert sample("nichewatch_messages_consumed_total", {"topic": "posts.raw"}) == 2


def test_malformed_records_become_dead_letters_with_reasons_and_the_batch_goes_on() -> None:
    line, registry = pipeline()
    result = line.process(records((b"k", b"{oops"), (b"k", None), (b"instagram:inkjournal", post_bytes())), now=NOW)
    assert [(d.record.offset, d.reason_class) for d in result.dead_letters] == [(0, "not_json"), (1, "not_json")]
    assert line.engine.get_state("instagram:inkjournal") is not None
    assert registry.get_sample_value("nichewatch_dlq_writes_total", {"reason": "not_json"}) == 2


def test_record_keyed_by_something_else_is_republished_under_its_account_id() -> None:
    line, registry = pipeline()
    value = post_bytes()
    result = line.process(records((None, value), (b"wrong-key", value)), now=NOW)
    assert [(o.key, o.value) for o in result.rekeyed] == [(b"instagram:inkjournal", value)] * 2
    assert line.engine.get_state("instagram:inkjournal") is None  # judged when it arrives under its key
    assert registry.get_sample_value("nichewatch_events_rekeyed_total", {"topic": "posts.raw"}) == 2


def test_purchase_spike_comes_out_as_an_encoded_alert_keyed_by_account() -> None:
    line, registry = pipeline()
    spec = AccountSpec("instagram:bought", followers=20_000, scenario="purchase_step", amount=5_000)
    batch = [Record("posts.raw", 0, i, e["account_id"].encode(), orjson.dumps(e))
             for i, e in enumerate(account_events(spec, days=12))]
    result = line.process(batch, now=NOW)
    assert [orjson.loads(a.value)["classification"] for a in result.alerts] == ["suspected_purchase"]
    assert {a.key for a in result.alerts} == {b"instagram:bought"}
    assert registry.get_sample_value(
        "nichewatch_alerts_emitted_total",
        {"kind": "follower_spike_alert", "classification": "suspected_purchase", "niche": "pens"}) == 1


def test_decode_reasons_fold_into_the_metrics_closed_set() -> None:
    assert reason_class("not valid UTF-8") == "invalid_utf8"
    assert reason_class("payload of 300000 bytes exceeds 262144 bytes") == "too_large"
    assert reason_class("unknown kind 'reel' (expected one of: post, snapshot)") == "unknown_kind"
    assert reason_class("invalid event: likes: Input should be greater than or equal to 0") == "schema"


def test_exact_redelivery_is_counted_as_duplicate_and_leaves_state_alone() -> None:
    line, registry = pipeline()
    first, grown = post_bytes(), post_bytes(likes=950)
    snapshot = orjson.dumps({"kind": "snapshot", "schema_version": 1, "platform": "instagram",
                             "account_id": "instagram:inkjournal", "handle": "inkjournal",
                             "observed_at": "2026-03-01T05:00:00Z", "followers": 12_100})
    key = b"instagram:inkjournal"
    line.process(records((key, first), (key, snapshot)), now=NOW)
    before = line.engine.get_state("instagram:inkjournal").to_bytes()
    line.process(records((key, first), (key, snapshot)), now=NOW)  # the same bytes again
    assert line.engine.get_state("instagram:inkjournal").to_bytes() == before
    line.process(records((key, grown)), now=NOW)  # same post, counters grew: not a duplicate
    sample = registry.get_sample_value
    assert sample("nichewatch_events_ingested_total", {"platform": "instagram", "niche": "pens", "outcome": "duplicate"}) == 1
    assert sample("nichewatch_events_ingested_total", {"platform": "instagram", "niche": "_none", "outcome": "duplicate"}) == 1
    assert sample("nichewatch_events_ingested_total", {"platform": "instagram", "niche": "pens", "outcome": "accepted"}) == 2


def test_the_kind_decides_whichever_input_topic_an_event_arrives_on() -> None:
    line, registry = pipeline()
    snapshot = orjson.dumps({"kind": "snapshot", "schema_version": 1, "platform": "instagram",
                             "account_id": "instagram:inkjournal", "handle": "inkjournal",
                             "observed_at": "2026-03-01T05:00:00Z", "followers": 12_100})
    key = b"instagram:inkjournal"
    result = line.process(records((key, post_bytes()), (key, snapshot)), now=NOW)
    result2 = line.process([Record("accounts.snapshots", 0, 0, key, post_bytes(post_id="p2"))], now=NOW)
    assert result.dead_letters == result2.dead_letters == []
    state = line.engine.get_state("instagram:inkjournal")
    assert state is not None and state.followers == 12_100 and set(state.posts.posts) == {"p1", "p2"}
