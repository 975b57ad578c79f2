from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import AccountSnapshot, NicheDefinition, Post
from streams.core import AccountState, Engine, EngineConfig
from streams.core.synthetic import AccountSpec, account_events

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NICHES = [NicheDefinition(name="pens", tags=["fountainpens"])]


def post(post_id: str, observed_h: float, likes: int, followers: int = 10_000, posted_h: float = 0.0) -> Post:
    return Post(
        kind="post",
        schema_version=1,
        post_id=post_id,
        platform="instagram",
        account_id="instagram:a",
        handle="a",
        posted_at=T0 + timedelta(hours=posted_h),
        observed_at=T0 + timedelta(hours=observed_h),
        followers=followers,
        likes=likes,
        comments=0,
        shares=0,
        tags=["#FountainPens"],
    )


def snapshot(observed_h: float, followers: int) -> AccountSnapshot:
    return AccountSnapshot(
        kind="snapshot",
        schema_version=1,
        platform="instagram",
        account_id="instagram:a",
        handle="a",
        observed_at=T0 + timedelta(hours=observed_h),
        followers=followers,
    )


def test_re_observed_post_replaces_its_earlier_observation() -> None:
    engine = Engine(niches=NICHES)
    for hours, likes in ((1, 10), (6, 40), (24, 90)):
        engine.process(post("p1", hours, likes))
    state = engine.get_state("instagram:a")
    assert state is not None
    assert len(state.posts) == 1
    assert state.posts.posts["p1"].interactions == 90


def test_older_observation_of_a_post_arriving_late_is_ignored() -> None:
    engine = Engine(niches=NICHES)
    engine.process(post("p1", 6, 40))
    engine.process(post("p1", 2, 15))  # within lateness, but older than what is known
    state = engine.get_state("instagram:a")
    assert state is not None and state.posts.posts["p1"].interactions == 40


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 300), st.integers(0, 10_000)), min_size=1, max_size=40))
def test_re_observed_posts_never_double_count(observations: list[tuple[int, int, int]]) -> None:
    engine = Engine(niches=NICHES)
    latest: dict[str, tuple[int, int]] = {}
    for number, minutes, likes in observations:
        post_id = f"p{number}"
        engine.process(post(post_id, 1 + minutes / 60, likes))
        # The newest observation wins; of two at the same time, the one that came last.
        if post_id not in latest or minutes >= latest[post_id][0]:
            latest[post_id] = (minutes, likes)
    state = engine.get_state("instagram:a")
    assert state is not None
    assert sorted(state.posts.posts) == sorted(latest)
    assert {pid: p.interactions for pid, p in state.posts.posts.items()} == {
        pid: likes for pid, (_, likes) in latest.items()
    }


@settings(max_examples=5, deadline=None)
@given(days=st.integers(min_value=20, max_value=120), post_every_h=st.sampled_from([0.5, 4.0, 24.0]))
def test_state_size_stays_bounded_however_many_events(days: int, post_every_h: float) -> None:
    config = EngineConfig()
    engine = Engine(config, NICHES)
    spec = AccountSpec("instagram:busy", post_every_h=post_every_h, snapshot_every_h=0.25)
    for raw in account_events(spec, days=days):
        engine.process((Post if raw["kind"] == "post" else AccountSnapshot).model_validate(raw))
    state = engine.get_state("instagram:busy")
    assert state is not None
    assert len(state.hourly.buckets) <= config.hourly_buckets_kept + 24
    assert len(state.daily.buckets) <= config.daily_buckets_kept + 24
    assert len(state.posts) <= config.max_posts_tracked
    assert len(state.to_bytes()) < 16_000


class BytesStateStore(MutableMapping[str, AccountState]):
    """Keeps every account only as bytes, re-encoded after each event: the engine must decide
    exactly as with live objects, as it does after restoring state from a changelog.
    """

    def __init__(self, table: MutableMapping[str, bytes], config: EngineConfig) -> None:
        self.table = table
        self.config = config

    def __getitem__(self, account_id: str) -> AccountState:
        return AccountState.from_bytes(self.table[account_id], self.config)

    def __setitem__(self, account_id: str, state: AccountState) -> None:
        self.table[account_id] = state.to_bytes()

    def __delitem__(self, account_id: str) -> None:
        del self.table[account_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)

    def get(self, account_id: str, default: AccountState | None = None) -> AccountState | None:  # type: ignore[override]
        raw = self.table.get(account_id)
        return AccountState.from_bytes(raw, self.config) if raw is not None else default


@pytest.mark.parametrize("reorder_delay_s", [0.0, 4 * 3600.0])
def test_state_round_trips_through_bytes_and_keeps_deciding_the_same(reorder_delay_s: float) -> None:
    config = EngineConfig(reorder_delay_s=reorder_delay_s)
    events = [
        (Post if raw["kind"] == "post" else AccountSnapshot).model_validate(raw)
        for raw in account_events(AccountSpec("instagram:rt", scenario="purchase_step", amount=3_000), days=12)
    ]
    half = len(events) // 2
    in_memory = Engine(config, NICHES)
    table: dict[str, bytes] = {}
    through_table = Engine(config, NICHES, store=BytesStateStore(table, config))
    outputs_memory, outputs_table = [], []
    for event in events[:half]:
        outputs_memory += in_memory.process(event)
        outputs_table += through_table.process(event)
    restored = AccountState.from_bytes(table["instagram:rt"], config)
    assert restored.to_bytes() == table["instagram:rt"]
    for event in events[half:]:
        outputs_memory += in_memory.process(event)
        outputs_table += through_table.process(event)
    outputs_memory += in_memory.flush()
    outputs_table += through_table.flush()
    alerts = [o for o in outputs_memory if o.kind == "follower_spike_alert"]
    assert len(alerts) == 1
    assert [o.model_dump() for o in outputs_table if o.kind == "follower_spike_alert"] == [a.model_dump() for a in alerts]


def test_follower_buckets_keep_the_latest_observation_per_hour() -> None:
    engine = Engine(niches=NICHES)
    engine.process(snapshot(1.5, 1_000))
    engine.process(snapshot(1.2, 990))  # earlier in the same hour, arrives second
    engine.process(snapshot(1.8, 1_010))
    state = engine.get_state("instagram:a")
    assert state is not None
    assert list(state.hourly.buckets.values()) == [(int((T0 + timedelta(hours=1.8)).timestamp()), 1_010)]
    assert state.followers == 1_010


def test_state_written_before_episodes_kept_their_alert_time_still_reads() -> None:
    from streams.changelog import decode_state

    engine = Engine(EngineConfig(), NICHES)
    for raw in account_events(AccountSpec("instagram:old", scenario="purchase_step", amount=3_000), days=12):
        engine.process((Post if raw["kind"] == "post" else AccountSnapshot).model_validate(raw))
    written = engine.get_state("instagram:old").to_dict()
    assert written["E"] is not None and len(written["E"]) == 5
    older = {**written, "E": written["E"][:4]}
    state = decode_state(older, "instagram:old", EngineConfig())
    assert state.episode is not None and state.episode.alert_ts == 0
    assert state.episode.alert_id == written["E"][0]
