"""Each post keeps its look before the latest: what the newcomer test reads (core/src/engine/maturity.rs).

How the posts already published respond to new followers is tested on the engine's own
function (core/src/engine/maturity.rs, `cargo test`) and through alerts in
tests/unit/test_engine_spikes.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from schemas.events import NicheDefinition, Post
from streams.changelog import decode_state
from streams.core import Engine, EngineConfig

CONFIG = EngineConfig()
T0 = datetime(2026, 3, 1, tzinfo=UTC)
NICHES = [NicheDefinition(name="pens", tags=["fountainpens"])]


def _post_look(age_h: float, likes: int) -> Post:
    """Post "p" of instagram:pens, published at T0, as seen ``age_h`` hours later."""
    return Post(
        kind="post", schema_version=1, post_id="p", platform="instagram", account_id="instagram:pens", handle="pens",
        posted_at=T0, observed_at=T0 + timedelta(hours=age_h), followers=20_000, likes=likes, comments=0, shares=0,
        tags=["#fountainpens"],
    )


def _looks(engine: Engine) -> tuple[int, int, int]:
    state = engine.get_state("instagram:pens")
    assert state is not None
    post = state.posts.posts["p"]
    return post.interactions, post.prev_interactions, post.prev_observed_ts


def test_a_re_observed_post_keeps_the_look_before_its_latest() -> None:
    engine = Engine(niches=NICHES)
    first_look = int((T0 + timedelta(hours=1)).timestamp())
    engine.process(_post_look(1, 100))
    engine.process(_post_look(24, 400))
    assert _looks(engine) == (400, 100, first_look)
    engine.process(_post_look(24, 400))  # the same look redelivered
    assert _looks(engine) == (400, 100, first_look)
    engine.process(_post_look(6, 250))  # older than the latest: ignored
    assert _looks(engine) == (400, 100, first_look)


def test_previous_looks_survive_the_changelog_and_older_state_still_reads() -> None:
    engine = Engine(niches=NICHES)
    engine.process(_post_look(1, 100))
    engine.process(_post_look(24, 400))
    first_look = int((T0 + timedelta(hours=1)).timestamp())
    state = engine.get_state("instagram:pens")
    assert state is not None
    written = state.to_dict()
    again = decode_state(written, "instagram:pens", CONFIG).posts.posts["p"]
    assert (again.prev_interactions, again.prev_observed_ts) == (100, first_look)
    compact = engine.compact_state("instagram:pens")
    assert compact is not None
    restored = Engine(niches=NICHES)
    restored.load_state(compact)
    assert _looks(restored) == (400, 100, first_look)
    older = {**written, "P": {"p": written["P"]["p"][:7]}}  # type: ignore[index]
    before = decode_state(older, "instagram:pens", CONFIG).posts.posts["p"]
    assert (before.interactions, before.prev_interactions, before.prev_observed_ts) == (400, 0, 0)
    from_older = Engine(niches=NICHES)
    from_older.load_state(orjson.dumps(older))
    assert _looks(from_older) == (400, 0, 0)
