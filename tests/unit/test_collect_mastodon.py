"""Mastodon collector: recorded statuses to Posts, and the collector loop against a fake server."""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from schemas.events import AccountSnapshot
from streams.collectors.http import ApiClient, RetryPolicy
from streams.collectors.mastodon import (
    MastodonSource,
    account_id_for,
    account_to_snapshot,
    html_to_text,
    status_to_post,
)
from streams.collectors.runner import Collector
from streams.collectors.schedule import Tracker
from streams.collectors.state import StateFile
from streams.metrics import CollectorMetrics
from tests.collect_fakes import FakeMastodon, ListSink, Niches, Sleeps, ago, fixture

NOW = datetime(2022, 12, 1, 20, 0, tzinfo=UTC)
RECORDED_SERVER = "http://localhost:3000"


# --- mapping of recorded bodies ------------------------------------------------------------


def test_recorded_tag_timeline_status_maps_to_a_post() -> None:
    status = fixture("mastodon", "tag_timeline.json")["body"][0]
    found = status_to_post(status, RECORDED_SERVER, NOW)
    post = found.post
    assert post.account_id == "mastodon:mastodonpy_test@localhost:3000"  # local account: server's domain
    assert post.handle == "mastodonpy_test@localhost:3000"
    assert post.post_id == "http://localhost:3000/users/mastodonpy_test/statuses/109440153064280358"
    assert post.posted_at == datetime(2022, 12, 1, 19, 50, 10, 577000, tzinfo=UTC)
    assert post.observed_at == NOW
    assert (post.likes, post.comments, post.shares) == (0, 0, 0)
    assert (post.followers, post.following) == (0, 0)
    assert post.tags == ["#hoot"]
    assert post.text == "#hoot (hashtag toot)"
    assert found.ref.locator == f"{RECORDED_SERVER}|109440153064280358"
    assert found.account.locator == f"{RECORDED_SERVER}|109440137734600341"


def test_counters_map_favourites_replies_and_reblogs() -> None:
    status = copy.deepcopy(fixture("mastodon", "tag_timeline.json")["body"][0])
    status.update(favourites_count=12, replies_count=3, reblogs_count=5)
    status["account"].update(followers_count=4200, following_count=310)
    post = status_to_post(status, RECORDED_SERVER, NOW).post
    assert (post.likes, post.comments, post.shares, post.followers, post.following) == (12, 3, 5, 4200, 310)


def test_a_boost_is_attributed_to_the_boosted_posts_author_not_the_booster() -> None:
    boost = copy.deepcopy(fixture("mastodon", "status_boost.json")["body"])
    boost["account"].update(id="1", username="booster", acct="booster")
    boost["reblog"]["account"].update(acct="inkjournal@pens.example", followers_count=12_000)
    post = status_to_post(boost, RECORDED_SERVER, NOW).post
    assert post.account_id == "mastodon:inkjournal@pens.example"  # a remote acct keeps its own domain
    assert post.followers == 12_000
    assert post.post_id == boost["reblog"]["uri"]
    assert post.shares == 1 and post.text == "Toot!"


def test_recorded_account_maps_to_a_snapshot() -> None:
    snapshot = account_to_snapshot(fixture("mastodon", "account.json")["body"], RECORDED_SERVER, NOW)
    assert snapshot == AccountSnapshot(
        kind="snapshot", schema_version=1, platform="mastodon", account_id="mastodon:mastodonpy_test@localhost:3000",
        handle="mastodonpy_test@localhost:3000", observed_at=NOW, followers=0, following=0, posts_count=0)


def test_html_content_becomes_plain_text() -> None:
    html = ('<p>New ink &amp; nib <a href="https://x.example/tags/fountainpens" class="mention hashtag">'
            '#<span>fountainpens</span></a></p><p>line one<br>line two <a href="https://example.com/long">'
            '<span class="invisible">https://</span><span class="ellipsis">example.com/lo</span>'
            '<span class="invisible">ng</span></a></p>')
    assert html_to_text(html) == "New ink & nib #fountainpens\n\nline one\nline two example.com/lo"


def test_account_ids_are_qualified_with_the_server_domain_only_when_local() -> None:
    assert account_id_for("alice", "mastodon.social") == "mastodon:alice@mastodon.social"
    assert account_id_for("bob@fosstodon.org", "mastodon.social") == "mastodon:bob@fosstodon.org"


# --- the collector against a fake server --------------------------------------------------------


@asynccontextmanager
async def running(fake: FakeMastodon) -> AsyncIterator[str]:
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.base_url = f"http://127.0.0.1:{port}"
    try:
        yield fake.base_url
    finally:
        await runner.cleanup()


@dataclass
class Rig:
    collector: Collector
    sink: ListSink
    metrics: CollectorMetrics
    sleeps: Sleeps
    clock: list[float]


def rig(session: aiohttp.ClientSession, url: str, state: Path, niches: Niches, clock: list[float]) -> Rig:
    metrics = CollectorMetrics(CollectorRegistry())
    metrics.declare("mastodon")
    sleeps = Sleeps()
    api = ApiClient(session, "mastodon", metrics, RetryPolicy(max_attempts=4), sleep=sleeps, rng=random.Random(1))
    sink = ListSink()
    collector = Collector(MastodonSource(api, [url], metrics), niches, sink, StateFile(state), Tracker(),
                          metrics, clock=lambda: clock[0])
    collector.load()
    return Rig(collector, sink, metrics, sleeps, clock)


def error_count(metrics: CollectorMetrics, reason: str) -> float:
    return metrics.registry.get_sample_value(
        "nichewatch_collector_errors_total", {"platform": "mastodon", "reason": reason}) or 0.0


def test_first_pass_takes_the_newest_page_then_pages_forward_with_min_id_and_link_headers(tmp_path: Path) -> None:
    fake = FakeMastodon()

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            author = fake.add_account("inkjournal", followers=1200)
            for _ in range(45):
                fake.add_status(author, ["FountainPens"], created_at=ago(minutes=30))
            r = rig(session, url, tmp_path / "state.json", Niches({"fountainpens"}), [datetime.now(UTC).timestamp()])
            first = await r.collector.run_pass()
            assert first.new_posts == 40  # the newest page only: history is not crawled
            newer = [fake.add_status(author, ["fountainpens"]) for _ in range(50)]
            fake.requests.clear()
            second = await r.collector.run_pass()
            assert second.new_posts == 50
            timeline = [(path, query) for path, query in fake.requests if "/timelines/tag/" in path]
            assert len(timeline) == 2  # a full page of 40, then the Link rel="prev" page of 10 (short: stop)
            assert timeline[0][1]["min_id"] < timeline[1][1]["min_id"]
            assert timeline[1][1]["min_id"] == max(newer[:40], key=int)
            published = {p.post_id.rsplit("/", 1)[-1] for p in r.sink.posts()}
            assert set(newer) <= published
            assert len(r.sink.posts()) == len(published) == 90  # each post once as new

    asyncio.run(scenario())


def test_a_restarted_collector_resumes_from_its_cursor_and_publishes_nothing_twice(tmp_path: Path) -> None:
    fake = FakeMastodon()
    state = tmp_path / "state.json"

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            author = fake.add_account("inkjournal", followers=1200)
            for _ in range(5):
                fake.add_status(author, ["fountainpens"])
            clock = [datetime.now(UTC).timestamp()]
            before = rig(session, url, state, Niches({"fountainpens"}), clock)
            await before.collector.run_pass()
            assert len(before.sink.posts()) == 5
            fake.add_status(author, ["fountainpens"])
            after = rig(session, url, state, Niches({"fountainpens"}), clock)  # a new process, same state file
            result = await after.collector.run_pass()
            assert result.new_posts == 1
            assert len(after.collector.tracker) == 6

    asyncio.run(scenario())


def test_posts_are_observed_again_as_counters_grow_and_a_deleted_post_stops_being_polled(tmp_path: Path) -> None:
    fake = FakeMastodon()

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            author = fake.add_account("inkjournal", followers=1200)
            posted = ago(minutes=10)
            kept = fake.add_status(author, ["fountainpens"], created_at=posted)
            deleted = fake.add_status(author, ["fountainpens"], created_at=posted)
            clock = [datetime.now(UTC).timestamp()]
            r = rig(session, url, tmp_path / "s.json", Niches({"fountainpens"}), clock)
            await r.collector.run_pass()
            fake.bump(kept, favourites=30, replies=4, reblogs=2)
            fake.delete(deleted)
            clock[0] = posted.timestamp() + 3600 + 5  # the 1 h observation is due
            result = await r.collector.run_pass()
            assert (result.observed, result.gone) == (1, 1)
            latest = [p for p in r.sink.posts() if p.post_id.endswith(kept)][-1]
            assert (latest.likes, latest.comments, latest.shares) == (30, 4, 2)
            assert error_count(r.metrics, "gone") == 1
            fake.requests.clear()
            clock[0] = posted.timestamp() + 6 * 3600 + 5
            await r.collector.run_pass()
            polled = {path for path, _ in fake.requests if path.startswith("/api/v1/statuses/")}
            assert polled == {f"/api/v1/statuses/{kept}"}

    asyncio.run(scenario())


def test_profiles_are_snapshotted_when_first_seen_and_on_their_cadence(tmp_path: Path) -> None:
    fake = FakeMastodon()

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            author = fake.add_account("inkjournal", followers=1200)
            fake.add_status(author, ["fountainpens"])
            clock = [datetime.now(UTC).timestamp()]
            r = rig(session, url, tmp_path / "s.json", Niches({"fountainpens"}), clock)
            await r.collector.run_pass()
            fake.set_followers(author, 9000)
            clock[0] += 6 * 3600 + 1
            await r.collector.run_pass()
            snapshots = [e for e in r.sink.events if isinstance(e, AccountSnapshot)]
            assert [s.followers for s in snapshots] == [1200, 9000]
            assert snapshots[0].account_id == f"mastodon:inkjournal@{url.removeprefix('http://')}"

    asyncio.run(scenario())


def test_5xx_and_429_on_the_timeline_are_ridden_out(tmp_path: Path) -> None:
    fake = FakeMastodon()

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            author = fake.add_account("inkjournal", followers=1200)
            fake.add_status(author, ["fountainpens"])
            fake.fail_next("/api/v1/timelines/tag/", 503)
            fake.fail_next("/api/v1/timelines/tag/", 429, {"Retry-After": "3"},
                           fixture("mastodon", "errors.json")["too_many_requests"]["body"])
            r = rig(session, url, tmp_path / "s.json", Niches({"fountainpens"}), [datetime.now(UTC).timestamp()])
            result = await r.collector.run_pass()
            assert result.new_posts == 1
            assert 3.0 in r.sleeps.delays
            assert error_count(r.metrics, "rate_limited") == 1

    asyncio.run(scenario())


def test_an_unparsable_status_is_counted_logged_with_its_source_and_skipped(tmp_path: Path, caplog) -> None:  # noqa: ANN001
    fake = FakeMastodon()

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            author = fake.add_account("inkjournal", followers=1200)
            broken = fake.add_status(author, ["fountainpens"])
            fake.add_status(author, ["fountainpens"])
            del fake.statuses[broken]["favourites_count"]
            r = rig(session, url, tmp_path / "s.json", Niches({"fountainpens"}), [datetime.now(UTC).timestamp()])
            result = await r.collector.run_pass()
            assert result.new_posts == 1
            assert error_count(r.metrics, "unparsable") == 1
            assert any("unparsable" in m and "/api/v1/timelines/tag/fountainpens" in m for m in caplog.messages)

    asyncio.run(scenario())


def test_a_niche_added_at_runtime_is_collected_on_the_next_pass(tmp_path: Path) -> None:
    fake = FakeMastodon()

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            author = fake.add_account("baker", followers=800)
            fake.add_status(author, ["sourdough"])
            niches = Niches({"fountainpens"})
            r = rig(session, url, tmp_path / "s.json", niches, [datetime.now(UTC).timestamp()])
            assert (await r.collector.run_pass()).new_posts == 0
            niches.current.add("sourdough")
            assert (await r.collector.run_pass()).new_posts == 1

    asyncio.run(scenario())


def test_a_post_under_two_tracked_tags_is_published_once(tmp_path: Path) -> None:
    fake = FakeMastodon()

    async def scenario() -> None:
        async with running(fake) as url, aiohttp.ClientSession() as session:
            author = fake.add_account("inkjournal", followers=1200)
            fake.add_status(author, ["fountainpens", "inkswatch"])
            r = rig(session, url, tmp_path / "s.json", Niches({"fountainpens", "inkswatch"}),
                    [datetime.now(UTC).timestamp()])
            result = await r.collector.run_pass()
            assert (result.discovered, result.new_posts) == (2, 1)

    asyncio.run(scenario())
