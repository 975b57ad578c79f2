"""Bluesky collector: recorded Jetstream events and AppView views, and the source against a fake."""

from __future__ import annotations

import asyncio
import copy
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from streams.collectors.bluesky import (
    BlueskySource,
    jetstream_post,
    post_view_to_post,
    profile_to_snapshot,
    record_tags,
)
from streams.collectors.http import ApiClient, RetryPolicy
from streams.collectors.runner import Collector
from streams.collectors.schedule import Tracker
from streams.collectors.state import StateFile
from streams.metrics import CollectorMetrics
from tests.collect_fakes import FakeBluesky, ListSink, Niches, Sleeps, fixture, jetstream_lines

NOW = datetime(2025, 2, 8, 10, 0, tzinfo=UTC)
TAGGED_URI = "at://did:plc:l7mosai5i2u562b5qbosw6c7/app.bsky.feed.post/3lhnr2o6kb22h"
TAGGED_DID = "did:plc:l7mosai5i2u562b5qbosw6c7"
TAGGED_TIME_US = 1739005435725000
RECORDED_NOW = datetime(2025, 2, 8, 9, 30, tzinfo=UTC).timestamp()


def events() -> list[dict]:
    return [json.loads(line) for line in jetstream_lines()]


# --- mapping ---------------------------------------------------------------------------


def test_only_created_posts_are_taken_from_jetstream() -> None:
    like, delete, plain, tagged = events()
    assert jetstream_post(like) is None
    assert jetstream_post(delete) is None
    assert jetstream_post({"did": "did:plc:x", "time_us": 1, "kind": "identity", "identity": {}}) is None
    announced = jetstream_post(plain)
    assert announced is not None and announced.tags == ()
    assert announced.uri == "at://did:plc:lo55yba44obaih2nt5opn4z4/app.bsky.feed.post/3ldzfurmqxk23"
    tagged_post = jetstream_post(tagged)
    assert tagged_post is not None and tagged_post.uri == TAGGED_URI
    assert tagged_post.tags == ("#swiftUI", "#iOS", "#beginner", "#code", "#keeplearning")


def test_tags_come_from_facets_the_tags_field_and_hashtags_in_the_text() -> None:
    record = {
        "text": "New nib! #FountainPens and #inkswatch, also #2024 and a#notatag",
        "facets": [{"features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "FountainPens"}]},
                   {"features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://x.example"}]}],
        "tags": ["stationery"],
    }
    assert record_tags(record) == ["#FountainPens", "#stationery", "#inkswatch"]


def test_recorded_post_view_maps_to_a_post_keyed_by_did() -> None:
    view = copy.deepcopy(fixture("bluesky", "get_posts.json")["body"]["posts"][0])
    view.update(likeCount=40, replyCount=6, repostCount=3, quoteCount=2)
    post = post_view_to_post(view, followers=5400, following=210, observed_at=NOW)
    assert post.account_id == f"bluesky:{TAGGED_DID}"
    assert post.handle == "kamhoyung.bsky.social"
    assert post.post_id == TAGGED_URI
    assert post.posted_at == datetime(2025, 2, 8, 9, 3, 55, 725000, tzinfo=UTC)
    assert (post.likes, post.comments, post.shares) == (40, 6, 5)  # shares = reposts + quotes
    assert (post.followers, post.following) == (5400, 210)
    assert post.tags == ["#swiftUI", "#iOS", "#beginner", "#code", "#keeplearning"]
    assert post.text.startswith("Once the widget was setup")


def test_recorded_profile_maps_to_a_snapshot() -> None:
    profile = fixture("bluesky", "get_profiles.json")["body"]["profiles"][0]
    snapshot = profile_to_snapshot(profile, NOW)
    assert (snapshot.account_id, snapshot.handle) == (f"bluesky:{TAGGED_DID}", "kamhoyung.bsky.social")
    assert (snapshot.followers, snapshot.following, snapshot.posts_count) == (2, 3, 4)


# --- the source against a fake Jetstream + AppView -------------------------------------------


@asynccontextmanager
async def running(fake: FakeBluesky) -> AsyncIterator[str]:
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def collector(session: aiohttp.ClientSession, url: str, state: Path, tags: set[str]) -> tuple[Collector, BlueskySource, ListSink, CollectorMetrics]:
    metrics = CollectorMetrics(CollectorRegistry())
    metrics.declare("bluesky")
    policy = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05)
    api = ApiClient(session, "bluesky", metrics, policy, sleep=Sleeps(), rng=random.Random(3))
    source = BlueskySource(api, session, metrics, f"{url.replace('http', 'ws')}/subscribe", url, policy)
    sink = ListSink()
    # The recorded post is from 2025-02-08 09:03 UTC: the collector's clock is set shortly after.
    c = Collector(source, Niches(tags), sink, StateFile(state), Tracker(), metrics, clock=lambda: RECORDED_NOW)
    c.load()
    return c, source, sink, metrics


async def until(predicate, timeout: float = 10.0) -> None:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def errors(metrics: CollectorMetrics, reason: str) -> float:
    return metrics.registry.get_sample_value(
        "nichewatch_collector_errors_total", {"platform": "bluesky", "reason": reason}) or 0.0


def test_a_tagged_jetstream_post_is_published_with_appview_counters_and_followers(tmp_path: Path) -> None:
    fake = FakeBluesky(jetstream_lines()[:3] + ["{ not json"] + jetstream_lines()[3:])

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            c, source, sink, metrics = collector(session, url, tmp_path / "b.json", {"swiftui"})
            source.start(c.niches.tags)
            await until(lambda: source.cursor == TAGGED_TIME_US)
            result = await c.run_pass()
            await source.stop()
            assert result.new_posts == 1
            (post,) = sink.posts()
            assert post.account_id == f"bluesky:{TAGGED_DID}" and post.followers == 2
            assert errors(metrics, "unparsable") == 1  # the broken line, skipped
            assert fake.connections[0]["collections"] == ["app.bsky.feed.post"]
            assert json.loads((tmp_path / "b.json").read_text())["source"]["cursor"] == TAGGED_TIME_US

    asyncio.run(scenario())


def test_a_dropped_websocket_reconnects_from_the_last_cursor(tmp_path: Path) -> None:
    fake = FakeBluesky()
    fake.drop_after = 2

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            c, source, _, metrics = collector(session, url, tmp_path / "b.json", {"swiftui"})
            source.start(c.niches.tags)
            await until(lambda: source.cursor == TAGGED_TIME_US)
            await source.stop()
            assert [conn["cursor"] for conn in fake.connections] == [None, events()[1]["time_us"]]
            assert errors(metrics, "websocket_dropped") >= 1

    asyncio.run(scenario())


def test_a_restart_resumes_jetstream_from_the_saved_cursor(tmp_path: Path) -> None:
    fake = FakeBluesky()

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            c, source, _, _ = collector(session, url, tmp_path / "b.json", {"swiftui"})
            source.start(c.niches.tags)
            await until(lambda: source.cursor == TAGGED_TIME_US)
            await c.run_pass()
            await source.stop()
            c2, source2, sink2, _ = collector(session, url, tmp_path / "b.json", {"swiftui"})
            source2.start(c2.niches.tags)
            await until(lambda: len(fake.connections) == 2)
            await asyncio.sleep(0.2)
            assert (await c2.run_pass()).new_posts == 0
            await source2.stop()
            assert fake.connections[1]["cursor"] == TAGGED_TIME_US

    asyncio.run(scenario())


def test_get_posts_is_called_with_at_most_25_uris_and_missing_posts_are_gone(tmp_path: Path) -> None:
    fake = FakeBluesky()
    template = fake.posts[TAGGED_URI]
    for n in range(30):
        view = copy.deepcopy(template)
        view["uri"] = f"at://{TAGGED_DID}/app.bsky.feed.post/3lhnr2o6k{n:04d}"
        fake.posts[view["uri"]] = view
    lines = []
    for n, uri in enumerate(fake.posts):
        event = copy.deepcopy(events()[3])
        event["commit"]["rkey"] = uri.rsplit("/", 1)[-1]
        event["time_us"] = TAGGED_TIME_US + n
        lines.append(json.dumps(event))
    fake.lines = lines

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            c, source, sink, metrics = collector(session, url, tmp_path / "b.json", {"code"})
            source.start(c.niches.tags)
            await until(lambda: source.cursor == TAGGED_TIME_US + 30)
            assert (await c.run_pass()).new_posts == 31
            batches = [uris for path, uris in fake.requests if path.endswith("getPosts")]
            assert [len(b) for b in batches[:2]] == [25, 6]
            del fake.posts[TAGGED_URI]  # deleted: getPosts leaves it out
            fake.fail_next("/xrpc/app.bsky.feed.getPosts", 502)  # and one bad gateway on the way
            result = await c.run_pass(observe_everything=True)
            await source.stop()
            assert (result.observed, result.gone) == (30, 1)
            assert TAGGED_URI not in c.tracker
            assert errors(metrics, "gone") == 1

    asyncio.run(scenario())


def test_a_post_whose_authors_followers_are_unknown_waits_for_the_next_pass(tmp_path: Path) -> None:
    fake = FakeBluesky()

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            c, source, sink, _ = collector(session, url, tmp_path / "b.json", {"swiftui"})
            source.start(c.niches.tags)
            await until(lambda: source.cursor == TAGGED_TIME_US)
            fake.fail_next("/xrpc/app.bsky.actor.getProfiles", 503, times=4)  # every try of this pass
            assert (await c.run_pass()).new_posts == 0  # never published with followers = 0
            assert (await c.run_pass()).new_posts == 1
            await source.stop()
            assert [p.followers for p in sink.posts()] == [2]

    asyncio.run(scenario())


def test_a_post_the_appview_has_not_indexed_yet_is_asked_for_again(tmp_path: Path) -> None:
    fake = FakeBluesky()
    view = fake.posts.pop(TAGGED_URI)  # announced by Jetstream, not yet in the AppView

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            c, source, _, _ = collector(session, url, tmp_path / "b.json", {"swiftui"})
            source.start(c.niches.tags)
            await until(lambda: source.cursor == TAGGED_TIME_US)
            assert (await c.run_pass()).new_posts == 0
            saved = json.loads((tmp_path / "b.json").read_text())["source"]["cursor"]
            assert saved == TAGGED_TIME_US - 1  # a restart now would replay the waiting post
            fake.posts[TAGGED_URI] = view
            assert (await c.run_pass()).new_posts == 1
            assert json.loads((tmp_path / "b.json").read_text())["source"]["cursor"] == TAGGED_TIME_US
            await source.stop()

    asyncio.run(scenario())
