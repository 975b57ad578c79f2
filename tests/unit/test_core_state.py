from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import AccountSnapshot, NicheDefinition, Post
from streams.core import Engine, EngineConfig
from streams.core.synthetic import AccountSpec, account_events, merged_events

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


def restarted(engine: Engine, config: EngineConfig) -> Engine:
    """A fresh engine holding ``engine``'s accounts as their changelog bytes (format 2) restore them."""
    saved = {account_id: engine.compact_state(account_id) for account_id in engine.accounts()}
    fresh = Engine(config, NICHES)
    for raw in saved.values():
        assert raw is not None
        fresh.load_state(raw)
    assert {account_id: fresh.compact_state(account_id) for account_id in fresh.accounts()} == saved
    return fresh


@pytest.mark.parametrize("reorder_delay_s", [0.0, 4 * 3600.0])
def test_an_engine_restarted_from_its_saved_states_every_few_events_decides_as_one_that_never_restarts(
    reorder_delay_s: float,
) -> None:
    config = EngineConfig(reorder_delay_s=reorder_delay_s)
    specs = [
        AccountSpec("instagram:rt", scenario="purchase_step", amount=3_000),
        AccountSpec("instagram:rtviral", followers=15_000, scenario="viral", amount=4_000),
    ]
    events = [
        (Post if raw["kind"] == "post" else AccountSnapshot).model_validate(raw)
        for raw in merged_events(specs, days=12)
    ]
    steady, restarting = Engine(config, NICHES), Engine(config, NICHES)
    outputs_steady, outputs_restarting = [], []
    for number, event in enumerate(events, 1):
        outputs_steady += steady.process(event)
        outputs_restarting += restarting.process(event)
        if number % 5 == 0:  # buffered observations, episodes, baselines: all in the saved state
            restarting = restarted(restarting, config)
    outputs_steady += steady.flush()
    outputs_restarting += restarting.flush()
    alerts = [o.model_dump() for o in outputs_steady if o.kind == "follower_spike_alert"]
    assert sorted(a["classification"] for a in alerts) == ["organic_breakout", "suspected_purchase"]
    assert [o.model_dump() for o in outputs_restarting if o.kind == "follower_spike_alert"] == alerts
    # Scores read the engine's cohort book, which is not account state (a cluster restores it
    # from the published summaries): the last published profile is all that may differ.
    for account_id in steady.accounts():
        kept, restored = steady.get_state(account_id), restarting.get_state(account_id)
        assert kept is not None and restored is not None
        assert {**kept.to_dict(), "L": None} == {**restored.to_dict(), "L": None}


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
