"""The native engine's batch pipeline without a broker: the same results and metrics as the
Python pipeline on the same records, the table holding the compact state, table entries of
every kind read back, and the accounts of a revoked partition forgotten."""

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
from streams.core.cohorts import ClusterCohorts
from streams.core.config import EngineConfig
from streams.core.engine import Engine
from streams.core.state import AccountState
from streams.core.synthetic import AccountSpec, account_events
from streams.core.tagstats import TagBook
from streams.metrics import Metrics
from streams.native_engine import NativeEnginePanic, NativeWorkerEngine, panics_as_errors
from streams.native_pipeline import NativePipeline, state_bytes
from streams.pipeline import BatchResult, Pipeline, Record
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


def python_line() -> tuple[Pipeline, MemoryWriter, CollectorRegistry]:
    """The Python engine as a worker builds it (streams/app.py)."""
    registry, writer = CollectorRegistry(), MemoryWriter()
    metrics = Metrics(registry)
    engine = Engine(niches=[PENS], tags=TagBook(), cohorts=ClusterCohorts(), record_mentions=False, share_tags=True)
    engine.store = PartitionStore(writer, engine.config, metrics)  # type: ignore[arg-type]
    return Pipeline(engine, metrics), writer, registry


def native_line(niches: tuple[NicheDefinition, ...] = (PENS,)) -> tuple[NativePipeline, MemoryWriter, CollectorRegistry]:
    registry, writer = CollectorRegistry(), MemoryWriter()
    metrics = Metrics(registry)
    engine = NativeWorkerEngine(EngineConfig())
    for niche in niches:
        engine.set_niche(niche)
    return NativePipeline(engine, metrics, PartitionStore(writer, engine.config, metrics)), writer, registry  # type: ignore[arg-type]


def native_line_without_niches() -> tuple[NativePipeline, MemoryWriter, CollectorRegistry]:
    return native_line(niches=())


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


def test_malformed_and_wrongly_keyed_records_give_the_python_pipelines_dead_letters_rekeys_and_metrics() -> None:
    batch = records(
        (b"k", b"{oops"),
        (b"k", None),
        (b"k", b"\xff\xfe"),
        (None, post_bytes()),
        (b"wrong-key", post_bytes(account_id="instagram:other")),
        (b"k", b'{"kind": "reel", "schema_version": 1}'),
        (b"x" * 5000, b"{" * 300_000),  # an oversized key and value are cut to fit the DLQ
    )
    python, _, python_registry = python_line()
    native, _, native_registry = native_line_without_niches()
    expected, got = python.process(batch, now=NOW), native.process(batch, now=NOW)
    assert outgoing(got) == outgoing(expected)
    assert [d.reason_class for d in got.dead_letters] == ["not_json", "not_json", "invalid_utf8", "unknown_kind", "too_large"]
    assert samples(native_registry) == samples(python_registry)


def test_a_fetched_batch_gives_what_its_records_give_with_each_dead_letters_and_rekeyed_record() -> None:
    batch = records(
        (b"k", b"{oops"),
        (b"k", post_bytes()),
        (b"wrong-key", post_bytes(account_id="instagram:other")),
        (b"k", None),
        partition=3,
    )
    fetched = [SimpleNamespace(offset=100 + r.offset, key=r.key, value=r.value) for r in batch]
    by_records, _, records_registry = native_line()
    by_fetch, _, fetch_registry = native_line()
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
    assert state_bytes(state) == state.to_bytes()  # left live by the Python engine
    assert orjson.loads(state_bytes(state.to_dict())) == orjson.loads(state.to_bytes())  # JSON from the changelog
    assert state_bytes([1, 2]) == b"[1,2]"  # not a state: the engine refuses it


def snapshot_only_state(account_id: str = "instagram:inkjournal") -> AccountState:
    """An account seen in profile snapshots only (no posts, so no profile to settle)."""
    state = AccountState.new(account_id, "instagram", "inkjournal", EngineConfig())
    for hour, followers in enumerate((12_000, 12_010, 12_025)):
        state.seen_ts = 1_772_330_400.0 + hour * 3600
        state.observe_followers(state.seen_ts, followers)
    return state


@pytest.mark.parametrize("entry", ["compact", "json", "live"])
def test_settling_loads_the_table_entry_of_an_account_the_engine_does_not_hold(entry: str) -> None:
    line, writer, _ = native_line_without_niches()
    state = snapshot_only_state()
    probe = NativeEngine()
    probe.load_state(state.to_bytes())
    stored = {"compact": probe.compact_state(state.account_id), "json": state.to_dict(), "live": state}[entry]
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
    line, writer, registry = native_line_without_niches()
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


def test_simulated_accounts_give_the_python_pipelines_alerts_profiles_counts_and_metrics() -> None:
    batch = simulated(
        AccountSpec("instagram:bought", followers=20_000, scenario="purchase_step", amount=5_000),
        AccountSpec("instagram:steady", followers=15_000, scenario="organic"),
    )
    python, python_writer, python_registry = python_line()
    native, native_writer, native_registry = native_line()
    kinds: set[str] = set()
    for start in range(0, len(batch), 500):  # several fetched batches
        chunk = batch[start : start + 500]
        got = outgoing(native.process(chunk, now=NOW))
        assert got == outgoing(python.process(chunk, now=NOW))
        kinds |= {kind for kind, items in got.items() if items}
    assert {"alerts", "profiles", "contributions", "tag_observations"} <= kinds
    assert samples(native_registry) == samples(python_registry)
    assert set(native_writer.data) == set(python_writer.data)
    for key, compact in native_writer.data.items():
        assert compact[:1] == COMPACT_STATE
        assert decode_state(compact, key.decode(), EngineConfig()).to_dict() == python_writer.data[key].to_dict()


def test_a_revoked_partitions_accounts_are_read_again_from_the_table() -> None:
    line, writer, _ = native_line()
    key = b"instagram:inkjournal"
    line.process(records((key, post_bytes()), partition=2), now=NOW)
    assert line.engine.native.holds("instagram:inkjournal")
    assert line.engine.native.forget_partitions([2]) == 1
    writer.put(2, key, writer.data[key])
    line.process(records((key, post_bytes(post_id="p2")), partition=2), now=NOW)
    state = decode_state(writer.data[key], "instagram:inkjournal", EngineConfig())
    assert set(state.posts.posts) == {"p1", "p2"}  # p1 came back from the table


def test_new_posts_tag_observations_go_out_as_the_python_pipelines_records() -> None:
    python, _, _ = python_line()
    native, _, _ = native_line()
    key = b"instagram:inkjournal"
    batch = records((key, post_bytes()), (key, post_bytes(likes=950)), (key, post_bytes(post_id="p2")))
    expected, got = python.process(batch, now=NOW), native.process(batch, now=NOW)
    assert [orjson.loads(o.value) for o in got.tag_observations] == [orjson.loads(o.value) for o in expected.tag_observations]
    assert len(orjson.loads(got.tag_observations[0].value)["observations"]) == 2


@pytest.mark.parametrize("threshold", [0.0, 0.002])
def test_settling_against_the_clusters_cohort_summary_republishes_what_the_python_pipeline_does(threshold: float) -> None:
    batch = simulated(
        AccountSpec("instagram:steady", followers=15_000, scenario="organic"),
        AccountSpec("instagram:quiet", followers=40_000, scenario="organic"),
    )
    python, python_writer, _ = python_line()
    native, native_writer, _ = native_line()
    python.process(batch, now=NOW)
    native.process(batch, now=NOW)
    summary = {"micro": [0] * 20 + [5] * 10 + [0] * 34, "nano": [1] * 64}  # the cluster's, from niches.cohorts
    python.engine.cohorts.set_summary("pens", summary)
    native.engine.cohorts.set_summary("pens", summary)
    ids = ["instagram:steady", "instagram:quiet"]
    expected, got = python.settle(ids, threshold), native.settle(ids, threshold)
    assert got.profiles and outgoing(got) == outgoing(expected)
    for key, compact in native_writer.data.items():
        assert decode_state(compact, key.decode(), EngineConfig()).to_dict() == python_writer.data[key].to_dict()


def test_a_native_worker_takes_over_a_python_workers_table_and_decides_as_the_python_worker_would() -> None:
    batch = simulated(
        AccountSpec("instagram:bought", followers=20_000, scenario="purchase_step", amount=5_000),
        AccountSpec("instagram:steady", followers=15_000, scenario="organic"),
    )
    half = len(batch) // 2
    python, python_writer, _ = python_line()
    python.process(batch[:half], now=NOW)
    native, native_writer, _ = native_line()
    native_writer.data = {key: state.to_dict() for key, state in python_writer.data.items()}  # recovered from the changelog
    for start in range(half, len(batch), 300):
        chunk = batch[start : start + 300]
        assert outgoing(native.process(chunk, now=NOW)) == outgoing(python.process(chunk, now=NOW))
    for key, compact in native_writer.data.items():
        assert decode_state(compact, key.decode(), EngineConfig()).to_dict() == python_writer.data[key].to_dict()


class PanicException(BaseException):
    """What pyo3 raises for a Rust panic (pyo3_runtime.PanicException, a BaseException)."""


class PanickingEngine:
    def process_records(self, *args: object, **kwargs: object) -> None:
        raise PanicException("called `Option::unwrap()` on a `None` value")


def test_a_panic_of_the_native_engine_is_an_error_the_accounts_agent_counts_and_raises() -> None:
    line, _, _ = native_line_without_niches()
    line.engine.native = PanickingEngine()  # type: ignore[assignment]
    with pytest.raises(NativeEnginePanic, match="unwrap"):  # an Exception: the agent's error policy applies
        line.process(records((b"instagram:inkjournal", post_bytes())), now=NOW)


def test_interrupts_are_not_taken_for_panics() -> None:
    with pytest.raises(KeyboardInterrupt):
        with panics_as_errors():
            raise KeyboardInterrupt


def test_the_worker_engine_keeps_the_native_and_python_niche_sets_and_cohorts_in_step() -> None:
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
