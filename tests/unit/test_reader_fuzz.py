"""Every reader a worker runs, fuzzed through the worker's own code: any key, value, headers
or tombstone is applied, dead-lettered or skipped; nothing escapes to crash the worker.

    posts.raw, accounts.snapshots   AccountsAgent (pipeline, DLQ, re-key)   -> DLQ
    niches.config                   TopicFollower + EngineNiches             -> skipped, counted
    influencers, alerts             TopicFollower + only_valid + console     -> skipped, counted
    accounts changelog              PartitionStore (decode_state)            -> skipped, counted

A crash on any of them repeats at every restart: the input offset is not committed, and
the compacted topics and changelogs are re-read from the start.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord
from faust.serializers.registry import Registry
from faust.types import TP
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from schemas.codec import decode_event, encode
from schemas.events import FollowerSpikeAlert, InfluencerProfile, NicheDefinition
from schemas.samples import sample_models
from streams.agents.accounts import AccountsAgent, PartitionStore
from streams.changelog import StateValue, decode_state
from streams.console.data import ConsoleData
from streams.console.leaderboard import LeaderboardStore
from streams.core.config import EngineConfig
from streams.core.engine import Engine
from streams.native_engine import NativeWorkerEngine
from streams.core.state import AccountState
from streams.dlq import BadRecord
from streams.follower import TopicFollower, only_valid
from streams.metrics import Metrics
from streams.niche_config import EngineNiches
from streams.pipeline import Pipeline
from streams.settings import Settings
from streams.views import RecentAlerts
from tests.events_factory import BASE_TIME, post_dict

FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
ACCOUNT = "instagram:inkjournal"
SETTINGS = Settings.model_construct(topic_posts="posts.raw", topic_snapshots="accounts.snapshots",
                                    topic_alerts="alerts", topic_influencers="influencers", topic_dlq="posts.dlq")

json_trees = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
blobs = st.none() | st.binary(max_size=60) | json_trees.map(lambda t: json.dumps(t).encode())
headers = st.lists(st.tuples(st.text(max_size=10), st.binary(max_size=20)), max_size=3)


def record(topic: str, offset: int, key: bytes | None, value: bytes | None, hdrs: list) -> ConsumerRecord:
    return ConsumerRecord(topic, 0, offset, 0, 0, key, value, None, len(key or b""), len(value or b""), hdrs)


def mutated(base: dict[str, Any], changes: dict[str, Any]) -> bytes:
    return json.dumps({**base, **changes}).encode()


# --- posts.raw / accounts.snapshots through the accounts agent ----------------------------


class FakeChangelog:
    def get_topic_name(self) -> str:
        return "nichewatch-accounts-changelog"


class FakeTable:
    def __init__(self) -> None:
        self.data: dict[bytes, Any] = {}
        self.changelog_topic = FakeChangelog()


class FakeTableWriter:
    """The part of streams.faust_batch.TableWriter the agent uses, over a dict."""

    def __init__(self) -> None:
        self.table = FakeTable()

    def check_source(self, topic: str) -> None:
        pass

    def get(self, partition: int, key: bytes) -> Any:
        return self.table.data.get(key)

    def put(self, partition: int, key: bytes, value: Any) -> None:
        self.table.data[key] = value

    def keep_decoded(self, key: bytes, value: Any) -> None:
        self.table.data[key] = value


class FakeOutputs:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, list | None]] = []

    def send(self, topic: str, key: bytes | None, value: bytes | None, headers: list | None = None) -> None:
        self.sent.append((topic, key, value, headers))


def accounts_agent() -> tuple[AccountsAgent, FakeTableWriter, FakeOutputs, CollectorRegistry]:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    engine = NativeWorkerEngine(EngineConfig())
    engine.set_niche(NicheDefinition(name="pens", tags=["#FountainPens"]))
    writer, outputs = FakeTableWriter(), FakeOutputs()
    store = PartitionStore(writer, metrics)  # type: ignore[arg-type]
    pipeline = Pipeline(engine, metrics, store)  # type: ignore[arg-type]
    return AccountsAgent(SETTINGS, pipeline, store, outputs), writer, outputs, registry  # type: ignore[arg-type]


@FUZZ
@given(batch=st.lists(st.tuples(st.sampled_from(["posts.raw", "accounts.snapshots"]), blobs, blobs, headers), max_size=8),
       changes=st.dictionaries(st.sampled_from(["likes", "followers", "observed_at", "posted_at", "kind", "tags",
                                                "schema_version", "extra"]), json_trees, max_size=2))
def test_accounts_agent_applies_dead_letters_or_rekeys_any_record(batch: list, changes: dict[str, Any]) -> None:
    agent, writer, outputs, registry = accounts_agent()
    good = json.dumps(post_dict()).encode()
    records = [("posts.raw", ACCOUNT.encode(), good, []), *batch, ("posts.raw", ACCOUNT.encode(), mutated(post_dict(), changes), [])]
    by_topic: dict[str, list[ConsumerRecord]] = {}
    for offset, (topic, key, value, hdrs) in enumerate(records):
        by_topic.setdefault(topic, []).append(record(topic, offset, key, value, hdrs))
    for topic, consumed in by_topic.items():
        agent(TP(topic, 0), consumed)
    for key, state in writer.table.data.items():  # what the changelog holds reads back
        assert decode_state(state, key.decode(), EngineConfig()).account_id == key.decode()
    dead = [s for s in outputs.sent if s[0] == "posts.dlq"]
    assert registry.get_sample_value("nichewatch_agent_errors_total", {"agent": "accounts"}) in (None, 0.0)
    assert len(dead) == sum(v for k, v in _samples(registry, "nichewatch_dlq_writes_total").items())


def _samples(registry: CollectorRegistry, name: str) -> dict[tuple, float]:
    return {tuple(sorted(s.labels.items())): s.value for m in registry.collect() for s in m.samples if s.name == name}


# --- niches.config -----------------------------------------------------------------------


def niche_follower() -> tuple[TopicFollower, EngineNiches, CollectorRegistry]:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    niches = EngineNiches(Engine(), on_added=metrics.declare_niche)
    return TopicFollower(SETTINGS, "niches.config", niches.apply, metrics), niches, registry


niche_values = st.one_of(
    blobs,
    st.builds(lambda name, tags, extra: json.dumps({"name": name, "tags": tags, **extra}).encode(),
              st.text(max_size=10), st.lists(st.text(max_size=10) | st.integers(), max_size=3) | json_trees,
              st.dictionaries(st.sampled_from(["description", "x"]), json_trees, max_size=1)),
)
niche_keys = st.none() | st.binary(max_size=12) | st.text(max_size=10).map(str.encode)


@FUZZ
@given(st.lists(st.tuples(niche_keys, st.none() | niche_values, headers), max_size=10))
def test_niche_follower_applies_or_skips_any_record_and_the_engine_matches_what_was_applied(records: list) -> None:
    follower, niches, registry = niche_follower()
    follower.apply(record("niches.config", 0, b"\xff\xfe", None, []))  # the tombstone that crash-looped workers
    for offset, (key, value, hdrs) in enumerate(records, start=1):
        follower.apply(record("niches.config", offset, key, value, hdrs))
    assert sorted(niches.engine.niche_names) == sorted(niches.niches)
    skipped = _samples(registry, "nichewatch_records_skipped_total")
    assert skipped.get((("reason", "invalid_key"), ("topic", "niches.config")), 0) >= 1
    assert (("reason", "error"), ("topic", "niches.config")) not in skipped  # no handler bug found


def test_niche_records_the_contract_refuses_leave_the_niche_set_unchanged() -> None:
    follower, niches, registry = niche_follower()
    follower.apply(record("niches.config", 0, b"pens", orjson.dumps({"name": "pens", "tags": ["#FountainPens"]}), []))
    for offset, (key, value) in enumerate([
        (b"\xff\xfe", None), (b"pens", b'{"name":"pens","tags":["#x"],"w":NaN}'), (b"pens", b'{"name":"pens","tags":"#x"}'),
        (b"pens", b'{"name":"other","tags":["#x"]}'), (b"pens", b"\xef\xbb\xbf{}"), (None, b"{}"),
    ], start=1):
        follower.apply(record("niches.config", offset, key, value, []))
    assert niches.niches["pens"].tags == ["#FountainPens"] and niches.engine.niche_names == ["pens"]
    assert sum(_samples(registry, "nichewatch_records_skipped_total").values()) == 6


# --- influencers and alerts --------------------------------------------------------------


def console_followers() -> tuple[TopicFollower, TopicFollower, ConsoleData, CollectorRegistry]:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    console = ConsoleData(LeaderboardStore(), RecentAlerts(), registry)
    return (TopicFollower(SETTINGS, "influencers", only_valid(InfluencerProfile, console.on_profile), metrics),
            TopicFollower(SETTINGS, "alerts", only_valid(FollowerSpikeAlert, console.on_alert), metrics), console, registry)


def sample(stem: str) -> dict[str, Any]:
    return orjson.loads(encode(sample_models()[stem]))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["influencers", "alerts"]), st.none() | st.binary(max_size=12),
                          st.one_of(blobs, st.dictionaries(st.sampled_from(sorted(sample("influencer_profile"))
                                                                            + sorted(sample("follower_spike_alert"))),
                                                           json_trees, max_size=3)), headers), max_size=10),
       st.booleans())
def test_profile_and_alert_followers_apply_or_skip_any_record(records: list, mutate_samples: bool) -> None:
    profiles, alerts, console, registry = console_followers()
    for offset, (topic, key, value, hdrs) in enumerate(records):
        if isinstance(value, dict):  # a valid sample with a few fields replaced
            stem = "influencer_profile" if topic == "influencers" else "follower_spike_alert"
            value = json.dumps({**sample(stem), **(value if mutate_samples else {})}).encode()
        (profiles if topic == "influencers" else alerts).apply(record(topic, offset, key, value, hdrs))
    console.alerts.latest(10)  # what the HTTP API and the console read back
    skipped = _samples(registry, "nichewatch_records_skipped_total")
    assert not [k for k in skipped if ("reason", "error") in k], skipped


# --- the accounts changelog --------------------------------------------------------------


def valid_state() -> dict[str, Any]:
    engine = Engine(niches=[NicheDefinition(name="pens", tags=["#FountainPens"])])
    for i in range(3):
        engine.process(decode_event(orjson.dumps(post_dict(post_id=f"p{i}", observed_at=BASE_TIME + timedelta(hours=i + 1)))))
    state = engine.get_state(ACCOUNT)
    assert state is not None
    return orjson.loads(state.to_bytes())


STATE = valid_state()


@FUZZ
@given(st.one_of(json_trees, st.dictionaries(st.sampled_from(sorted(STATE)), json_trees, min_size=1, max_size=3)),
       st.sampled_from(["bytes", "decoded", "raw"]))
def test_changelog_entries_are_decoded_or_skipped_and_a_decoded_state_takes_events(entry: Any, form: str) -> None:
    if isinstance(entry, dict) and set(entry) <= set(STATE):
        entry = {**STATE, **entry}  # a valid state with a few fields replaced
    agent, writer, outputs, registry = accounts_agent()
    # As Faust's recovery leaves it: the record's bytes (the worker's table), JSON decoded
    # (older tables), or arbitrary bytes.
    value = json.dumps(entry).encode() if form == "bytes" else entry if form == "decoded" else repr(entry).encode()
    writer.table.data[ACCOUNT.encode()] = value
    later = orjson.dumps(post_dict(post_id="later", observed_at=BASE_TIME + timedelta(hours=5)))
    agent(TP("posts.raw", 0), [record("posts.raw", 0, ACCOUNT.encode(), later, [])])
    assert registry.get_sample_value("nichewatch_agent_errors_total", {"agent": "accounts"}) in (None, 0.0)
    late = registry.get_sample_value("nichewatch_events_ingested_total",
                                     {"platform": "instagram", "niche": "pens", "outcome": "late"})
    if late:  # the state had seen events hours after this one: it is counted late and dropped
        assert isinstance(entry, dict) and entry["s"] > (BASE_TIME + timedelta(hours=5)).timestamp()
        return
    state = decode_state(writer.table.data[ACCOUNT.encode()], ACCOUNT, EngineConfig())  # the engine's write
    assert "later" in state.posts.posts


def test_a_valid_changelog_entry_round_trips_and_a_foreign_one_is_refused() -> None:
    assert decode_state(STATE, ACCOUNT, EngineConfig()).to_dict() == STATE
    assert decode_state(orjson.dumps(STATE), ACCOUNT, EngineConfig()).to_dict() == STATE
    agent, writer, _, registry = accounts_agent()
    writer.table.data[ACCOUNT.encode()] = {**STATE, "a": "instagram:someone-else"}
    later = orjson.dumps(post_dict(post_id="later", observed_at=BASE_TIME + timedelta(hours=5)))
    agent(TP("posts.raw", 0), [record("posts.raw", 0, ACCOUNT.encode(), later, [])])
    assert set(decode_state(writer.table.data[ACCOUNT.encode()], ACCOUNT, EngineConfig()).posts.posts) == {"later"}
    assert registry.get_sample_value("nichewatch_records_skipped_total",
                                     {"topic": "nichewatch-accounts-changelog", "reason": "schema"}) == 1


@FUZZ
@given(st.binary(max_size=80) | json_trees.map(lambda t: json.dumps(t).encode()))
def test_the_tables_codec_never_raises_so_faust_recovery_cannot_stop_on_a_record(raw: bytes) -> None:
    # What Faust's recovery calls for every changelog record (serializers.loads_value).
    value = Registry().loads_value(StateValue, raw, serializer=StateValue._options.serializer)
    try:
        decode_state(value, ACCOUNT, EngineConfig())
    except BadRecord:
        pass
    assert Registry().loads_value(StateValue, orjson.dumps(STATE), serializer=StateValue._options.serializer) == STATE


def test_the_workers_own_profiles_and_alerts_pass_the_strict_read_back() -> None:
    profiles, alerts, console, registry = console_followers()
    profiles.apply(record("influencers", 0, b"instagram:inkjournal", encode(sample_models()["influencer_profile"]), []))
    alerts.apply(record("alerts", 0, b"instagram:nibsandnotes", encode(sample_models()["follower_spike_alert"]), []))
    assert [a["alert_id"] for a in console.alerts.latest(5)] == [sample("follower_spike_alert")["alert_id"]]
    assert _samples(registry, "nichewatch_records_skipped_total") == {}
