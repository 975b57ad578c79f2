"""The batch pipeline without a broker: what happens to each kind of record and what is
counted, the table holding the compact state, table entries of every kind read back, and
the accounts of a revoked partition forgotten."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from schemas.events import NicheDefinition
from streams._native import NativeEngine
from streams.agents.accounts import PartitionStore
from streams.changelog import COMPACT_STATE, decode_state
from streams.core.config import EngineConfig
from streams.core.state import AccountState
from streams.core.synthetic import AccountSpec, account_events
from streams.metrics import Metrics
from streams.native_engine import NativeEnginePanic, NativeWorkerEngine, panics_as_errors
from streams.pipeline import BatchResult, Pipeline, Record, reason_class, state_bytes
from tests.events_factory import post_bytes

NOW = 1_780_000_000.0
PENS = NicheDefinition(name="pens", tags=["fountainpens"])
CHANGELOG = "nichewatch-accounts-changelog"


class MemoryWriter:
    """streams.faust_batch.TableWriter's reads and writes over a dict (no broker)."""

    def __init__(self) -> None:
        self.data: dict[bytes, Any] = {}
        self.table = SimpleNamespace(changelog_topic=SimpleNamespace(get_topic_name=lambda: CHANGELOG), data=self)

    def get(self, partition: int, key: bytes) -> Any:
        return self.data.get(key)

    def put(self, partition: int, key: bytes, value: Any) -> None:
        self.data[key] = value

    def keep_decoded(self, key: bytes, value: Any) -> None:
        self.data[key] = value


def pipeline(
    niches: tuple[NicheDefinition, ...] = (PENS,), config: EngineConfig | None = None
) -> tuple[Pipeline, MemoryWriter, CollectorRegistry]:
    """The pipeline as a worker builds it (streams/app.py), over an in-memory table."""
    registry, writer = CollectorRegistry(), MemoryWriter()
    metrics = Metrics(registry)
    engine = NativeWorkerEngine(config or EngineConfig())
    for niche in niches:
        engine.set_niche(niche)
    return Pipeline(engine, metrics, PartitionStore(writer, metrics)), writer, registry  # type: ignore[arg-type]


def pipeline_without_niches() -> tuple[Pipeline, MemoryWriter, CollectorRegistry]:
    return pipeline(niches=())


def records(*pairs: tuple[bytes | None, bytes | None], partition: int = 0) -> list[Record]:
    return [Record("posts.raw", partition, offset, key, value) for offset, (key, value) in enumerate(pairs)]


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the registry but creation times."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect() for s in family.samples if not s.name.endswith("_created")
    }


def outgoing(result: BatchResult) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "alerts": [(o.key, orjson.loads(o.value)) for o in result.alerts],
        "profiles": [(o.key, orjson.loads(o.value)) for o in result.profiles],
        "dead_letters": [(d.record, d.reason, d.reason_class) for d in result.dead_letters],
        "rekeyed": list(result.rekeyed),
        "contributions": [(o.key, orjson.loads(o.value)) for o in result.contributions],
        "tag_observations": [orjson.loads(o.value) for o in result.tag_observations],
        "skipped": list(result.skipped),
    }


def test_malformed_and_wrongly_keyed_records_become_dead_letters_and_rekeys_and_the_batch_goes_on() -> None:
    batch = records(
        (b"k", b"{oops"),
        (b"k", None),
        (b"k", b"\xff\xfe"),
        (None, post_bytes()),
        (b"wrong-key", post_bytes(account_id="instagram:other")),
        (b"k", b'{"kind": "reel", "schema_version": 1}'),
        (b"x" * 5000, b"{" * 300_000),  # an oversized key and value are cut to fit the DLQ
        (b"instagram:inkjournal", post_bytes()),
    )
    line, _, registry = pipeline_without_niches()
    got = line.process(batch, now=NOW)
    assert [(d.record.offset, d.reason_class) for d in got.dead_letters] == [
        (0, "not_json"), (1, "not_json"), (2, "invalid_utf8"), (5, "unknown_kind"), (6, "too_large")]
    cut_down = got.dead_letters[-1]
    assert len(cut_down.record.key) == 4096 and "key truncated to its first 4096 of 5000 bytes" in cut_down.reason
    assert [(o.key, o.value) for o in got.rekeyed] == [
        (b"instagram:inkjournal", post_bytes()), (b"instagram:other", post_bytes(account_id="instagram:other"))]
    sample = registry.get_sample_value
    assert sample("nichewatch_dlq_writes_total", {"reason": "not_json"}) == 2
    assert sample("nichewatch_events_rekeyed_total", {"topic": "posts.raw"}) == 2
    assert sample("nichewatch_events_ingested_total", {"platform": "unknown", "niche": "_none", "outcome": "invalid"}) == 5
    assert sample("nichewatch_events_ingested_total", {"platform": "instagram", "niche": "_none", "outcome": "untracked"}) == 1
    assert sample("nichewatch_messages_consumed_total", {"topic": "posts.raw"}) == 8


def test_tracked_post_is_accepted_per_niche_and_untracked_post_leaves_no_state() -> None:
    line, _, registry = pipeline()
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


def test_decode_reasons_fold_into_the_metrics_closed_set() -> None:
    assert reason_class("not valid UTF-8") == "invalid_utf8"
    assert reason_class("payload of 300000 bytes exceeds 262144 bytes") == "too_large"
    assert reason_class("unknown kind 'reel' (expected one of: post, snapshot)") == "unknown_kind"
    assert reason_class("invalid event: likes: Input should be greater than or equal to 0") == "schema"


SNAPSHOT = orjson.dumps({"kind": "snapshot", "schema_version": 1, "platform": "instagram",
                         "account_id": "instagram:inkjournal", "handle": "inkjournal",
                         "observed_at": "2026-03-01T05:00:00Z", "followers": 12_100})


def test_exact_redelivery_is_counted_as_duplicate_and_leaves_state_alone() -> None:
    line, writer, registry = pipeline()
    first, grown = post_bytes(), post_bytes(likes=950)
    key = b"instagram:inkjournal"
    line.process(records((key, first), (key, SNAPSHOT)), now=NOW)
    before = writer.data[key]
    line.process(records((key, first), (key, SNAPSHOT)), now=NOW)  # the same bytes again
    assert writer.data[key] == before
    line.process(records((key, grown)), now=NOW)  # same post, counters grew: not a duplicate
    sample = registry.get_sample_value
    assert sample("nichewatch_events_ingested_total", {"platform": "instagram", "niche": "pens", "outcome": "duplicate"}) == 1
    assert sample("nichewatch_events_ingested_total", {"platform": "instagram", "niche": "_none", "outcome": "duplicate"}) == 1
    assert sample("nichewatch_events_ingested_total", {"platform": "instagram", "niche": "pens", "outcome": "accepted"}) == 2


def test_the_kind_decides_whichever_input_topic_an_event_arrives_on() -> None:
    line, _, _ = pipeline()
    key = b"instagram:inkjournal"
    result = line.process(records((key, post_bytes()), (key, SNAPSHOT)), now=NOW)
    result2 = line.process([Record("accounts.snapshots", 0, 0, key, post_bytes(post_id="p2"))], now=NOW)
    assert result.dead_letters == result2.dead_letters == []
    state = line.engine.get_state("instagram:inkjournal")
    assert state is not None and state.followers == 12_100 and set(state.posts.posts) == {"p1", "p2"}


def test_a_fetched_batch_gives_what_its_records_give_with_each_dead_letters_and_rekeyed_record() -> None:
    batch = records(
        (b"k", b"{oops"),
        (b"k", post_bytes()),
        (b"wrong-key", post_bytes(account_id="instagram:other")),
        (b"k", None),
        partition=3,
    )
    fetched = [SimpleNamespace(offset=100 + r.offset, key=r.key, value=r.value) for r in batch]
    by_records, _, records_registry = pipeline()
    by_fetch, _, fetch_registry = pipeline()
    expected = by_records.process([r._replace(offset=100 + r.offset) for r in batch], now=NOW)
    got = by_fetch.process_fetched("posts.raw", 3, fetched, now=NOW)  # type: ignore[arg-type]
    assert outgoing(got) == outgoing(expected)
    assert [(d.record.partition, d.record.offset) for d in got.dead_letters] == [(3, 100), (3, 103)]
    assert got.rekeyed and samples(fetch_registry) == samples(records_registry)


def test_table_entries_reach_the_native_engine_as_state_bytes() -> None:
    state = AccountState.new("instagram:inkjournal", "instagram", "inkjournal", EngineConfig())
    compact = b"\x02compact"
    assert state_bytes(None) is None
    assert state_bytes(compact) is compact  # the native engine's own writes, as they are
    assert orjson.loads(state_bytes(state.to_dict())) == orjson.loads(state.to_bytes())  # JSON from the changelog
    assert state_bytes([1, 2]) == b"[1,2]"  # not a state: the engine refuses it
    assert state_bytes({"B": [-(2**63) - 1]}) == b'{"B": [-9223372036854775809]}'  # beyond what orjson writes


def snapshot_only_state(account_id: str = "instagram:inkjournal") -> AccountState:
    """An account seen in profile snapshots only (no posts, so no profile to settle)."""
    state = AccountState.new(account_id, "instagram", "inkjournal", EngineConfig())
    for hour, followers in enumerate((12_000, 12_010, 12_025)):
        state.seen_ts = 1_772_330_400.0 + hour * 3600
        state.observe_followers(state.seen_ts, followers)
    return state


@pytest.mark.parametrize("entry", ["compact", "json"])
def test_settling_loads_the_table_entry_of_an_account_the_engine_does_not_hold(entry: str) -> None:
    line, writer, _ = pipeline_without_niches()
    state = snapshot_only_state()
    probe = NativeEngine()
    probe.load_state(state.to_bytes())
    stored = {"compact": probe.compact_state(state.account_id), "json": state.to_dict()}[entry]
    writer.put(3, state.account_id.encode(), stored)
    line.table.partition = 3
    result = line.settle([state.account_id, "instagram:unknown"])
    assert result.profiles == [] and result.alerts == []
    native = line.engine.native
    assert native.holds(state.account_id) and not native.holds("instagram:unknown")
    assert orjson.loads(native.state(state.account_id)) == state.to_dict()
    native.forget_partitions([3])  # revoked: the next owner has it
    assert not native.holds(state.account_id)


def test_a_table_entry_that_is_not_a_state_is_counted_and_the_settle_pass_goes_on() -> None:
    line, writer, registry = pipeline_without_niches()
    writer.put(0, b"instagram:broken", b"\x02\x00garbage")
    writer.put(0, b"instagram:elsewhere", snapshot_only_state("instagram:someone-else").to_dict())
    writer.put(0, b"instagram:good", snapshot_only_state("instagram:good").to_dict())
    line.settle(["instagram:broken", "instagram:elsewhere", "instagram:good"])
    assert registry.get_sample_value("nichewatch_records_skipped_total", {"topic": CHANGELOG, "reason": "schema"}) == 2
    native = line.engine.native
    assert native.accounts() == ["instagram:good"]


def test_the_changelog_reader_takes_the_compact_state_of_the_native_engine() -> None:
    state = snapshot_only_state()
    probe = NativeEngine()
    probe.load_state(state.to_bytes())
    compact = probe.compact_state(state.account_id)
    assert compact[:1] == COMPACT_STATE and len(compact) < len(state.to_bytes())
    assert decode_state(compact, state.account_id, EngineConfig()).to_dict() == state.to_dict()


def test_a_corrupt_compact_state_is_a_bad_record_for_the_changelog_reader() -> None:
    from streams.dlq import BadRecord

    with pytest.raises(BadRecord) as caught:
        decode_state(b"\x02\xff\xff", "instagram:inkjournal", EngineConfig())
    assert caught.value.reason_class == "schema" and "compact account state" in caught.value.reason


def simulated(*specs: AccountSpec, days: int = 12) -> list[Record]:
    events = sorted((e for spec in specs for e in account_events(spec, days=days)), key=lambda e: e["observed_at"])
    return [Record("posts.raw", 1, i, e["account_id"].encode(), orjson.dumps(e)) for i, e in enumerate(events)]


def test_simulated_accounts_give_alerts_profiles_cohort_contributions_tag_observations_and_metrics() -> None:
    batch = simulated(
        AccountSpec("instagram:bought", followers=20_000, scenario="purchase_step", amount=5_000),
        AccountSpec("instagram:steady", followers=15_000, scenario="organic"),
    )
    line, writer, registry = pipeline()
    got: dict[str, list[tuple[Any, ...]]] = {}
    for start in range(0, len(batch), 500):  # several fetched batches
        for kind, items in outgoing(line.process(batch[start : start + 500], now=NOW)).items():
            got.setdefault(kind, []).extend(items)
    assert [(key, alert["classification"]) for key, alert in got["alerts"]] == [(b"instagram:bought", "suspected_purchase")]
    assert {key for key, _ in got["profiles"]} == {b"instagram:bought", b"instagram:steady"}
    assert got["contributions"] and got["tag_observations"] and not got["dead_letters"]
    assert registry.get_sample_value(
        "nichewatch_alerts_emitted_total",
        {"kind": "follower_spike_alert", "classification": "suspected_purchase", "niche": "pens"}) == 1
    accepted = registry.get_sample_value(
        "nichewatch_events_ingested_total", {"platform": "instagram", "niche": "pens", "outcome": "accepted"})
    assert accepted == sum(orjson.loads(r.value)["kind"] == "post" for r in batch)
    assert set(writer.data) == {b"instagram:bought", b"instagram:steady"}
    for key, compact in writer.data.items():
        assert compact[:1] == COMPACT_STATE
        state = decode_state(compact, key.decode(), EngineConfig())
        assert state.to_dict() == orjson.loads(line.engine.native.state(key.decode()))
    last = {key: profile for key, profile in got["profiles"]}
    assert decode_state(writer.data[b"instagram:steady"], "instagram:steady", EngineConfig()).last_profile.score == (
        last[b"instagram:steady"]["score"])


def test_a_revoked_partitions_accounts_are_read_again_from_the_table() -> None:
    line, writer, _ = pipeline()
    key = b"instagram:inkjournal"
    line.process(records((key, post_bytes()), partition=2), now=NOW)
    assert line.engine.native.holds("instagram:inkjournal")
    assert line.engine.native.forget_partitions([2]) == 1
    writer.put(2, key, writer.data[key])
    line.process(records((key, post_bytes(post_id="p2")), partition=2), now=NOW)
    state = decode_state(writer.data[key], "instagram:inkjournal", EngineConfig())
    assert set(state.posts.posts) == {"p1", "p2"}  # p1 came back from the table


def test_new_posts_tag_observations_go_out_in_one_record_per_batch() -> None:
    line, _, _ = pipeline()
    key = b"instagram:inkjournal"
    batch = records((key, post_bytes()), (key, post_bytes(likes=950)), (key, post_bytes(post_id="p2")))
    got = line.process(batch, now=NOW)
    assert len(got.tag_observations) == 1
    observations = orjson.loads(got.tag_observations[0].value)["observations"]
    assert [(o["post_id"], o["account_id"], o["niches"]) for o in observations] == [
        ("p1", "instagram:inkjournal", ["pens"]), ("p2", "instagram:inkjournal", ["pens"])]  # a re-observation is not new


@pytest.mark.parametrize("threshold", [0.0, 0.002])
def test_settling_against_the_clusters_cohort_summary_republishes_the_moved_scores(threshold: float) -> None:
    batch = simulated(
        AccountSpec("instagram:steady", followers=15_000, scenario="organic"),
        AccountSpec("instagram:quiet", followers=40_000, scenario="organic"),
    )
    line, writer, _ = pipeline()
    published = {key: orjson.loads(value)["score"] for key, value in line.process(batch, now=NOW).profiles}
    summary = {"micro": [0] * 20 + [5] * 10 + [0] * 34, "nano": [1] * 64}  # the cluster's, from niches.cohorts
    line.engine.cohorts.set_summary("pens", summary)
    got = line.settle(["instagram:steady", "instagram:quiet"], threshold)
    assert got.profiles
    for key, value in got.profiles:
        score = orjson.loads(value)["score"]
        assert abs(score - published[key]) >= threshold
        assert decode_state(writer.data[key], key.decode(), EngineConfig()).last_profile.score == score
    assert line.settle(["instagram:steady", "instagram:quiet"], 0.002).profiles == []  # settled


def test_a_worker_taking_over_a_json_format_changelog_decides_as_the_worker_that_wrote_it() -> None:
    batch = simulated(
        AccountSpec("instagram:bought", followers=20_000, scenario="purchase_step", amount=5_000),
        AccountSpec("instagram:steady", followers=15_000, scenario="organic"),
    )
    half = len(batch) // 2
    before, before_writer, _ = pipeline()
    before.process(batch[:half], now=NOW)
    after, after_writer, _ = pipeline()
    # recovered from a changelog written in the JSON state format
    after_writer.data = {key: decode_state(state, key.decode(), EngineConfig()).to_dict()
                         for key, state in before_writer.data.items()}
    alerts = 0
    for start in range(half, len(batch), 300):
        chunk = batch[start : start + 300]
        expected = outgoing(before.process(chunk, now=NOW))
        assert outgoing(after.process(chunk, now=NOW)) == expected
        alerts += len(expected["alerts"])
    assert alerts == 1
    assert after_writer.data == before_writer.data


class PanicException(BaseException):
    """What pyo3 raises for a Rust panic (pyo3_runtime.PanicException, a BaseException)."""


class PanickingEngine:
    def process_records(self, *args: object, **kwargs: object) -> None:
        raise PanicException("called `Option::unwrap()` on a `None` value")


def test_a_panic_of_the_native_engine_is_an_error_the_accounts_agent_counts_and_raises() -> None:
    line, _, _ = pipeline_without_niches()
    line.engine.native = PanickingEngine()  # type: ignore[assignment]
    with pytest.raises(NativeEnginePanic, match="unwrap"):  # an Exception: the agent's error policy applies
        line.process(records((b"instagram:inkjournal", post_bytes())), now=NOW)


def test_interrupts_are_not_taken_for_panics() -> None:
    with pytest.raises(KeyboardInterrupt):
        with panics_as_errors():
            raise KeyboardInterrupt


def test_the_worker_engine_keeps_its_niche_sets_cohorts_and_mentions_in_step() -> None:
    engine = NativeWorkerEngine(EngineConfig())
    engine.set_niche(NicheDefinition(name="pens", tags=["#FountainPens", "inkswatch"]))
    assert engine.niche_names == engine.native.niche_names == ["pens"]
    assert engine.tags.tracked_of("pens") == frozenset({"fountainpens", "inkswatch"})  # the tag book's "tracked"
    assert engine.remove_niche("pens") and engine.niche_names == engine.native.niche_names == []
    engine.cohorts.set_summary("pens", {"micro": [0, 3] + [0] * 62})  # a niches.cohorts summary
    assert engine.native.cohort_histograms() == [("pens", "micro", [0, 3] + [0] * 62)]
    engine.cohorts.remove_niche("pens")  # its tombstone
    assert engine.native.cohort_histograms() == []
    mention = post_bytes(account_id="instagram:fan", text="thanks to @inkjournal for the swatch")
    assert engine.mentions.record_values([None, post_bytes(text="no mention"), mention, b"{oops @"]) == 1
