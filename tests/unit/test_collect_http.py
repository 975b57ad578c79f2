"""The collectors' HTTP client against a local fake server: backoff, 429, rate-limit headers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from streams.collectors.http import (
    ApiClient,
    ApiError,
    Gone,
    RetriesExhausted,
    RetryPolicy,
    Unparsable,
    parse_link_header,
    parse_reset,
    parse_retry_after,
)
from streams.metrics import CollectorMetrics
from tests.collect_fakes import Sleeps, fixture


@asynccontextmanager
async def serving(handler: Callable[[web.Request], web.StreamResponse]) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def client(session: aiohttp.ClientSession, sleeps: Sleeps, now: float = 1_700_000_000.0,
           policy: RetryPolicy | None = None) -> tuple[ApiClient, CollectorMetrics]:
    metrics = CollectorMetrics(CollectorRegistry())
    api = ApiClient(session, "mastodon", metrics, policy or RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=3.0),
                    sleep=sleeps, clock=lambda: now, rng=random.Random(7))
    return api, metrics


def requests(metrics: CollectorMetrics, status: str, endpoint: str = "status") -> float:
    return metrics.registry.get_sample_value(
        "nichewatch_collector_requests_total", {"platform": "mastodon", "endpoint": endpoint, "status": status}) or 0.0


def test_server_errors_are_retried_with_capped_jittered_backoff_then_succeed() -> None:
    answers = [503, 502, 500, 200]

    async def handler(request: web.Request) -> web.Response:
        status = answers.pop(0)
        return web.json_response({"ok": status == 200}, status=status)

    async def scenario() -> None:
        async with serving(handler) as url, aiohttp.ClientSession() as session:
            sleeps = Sleeps()
            api, metrics = client(session, sleeps)
            response = await api.get_json("status", f"{url}/api/v1/statuses/1")
            assert response.body == {"ok": True}
            # base 1 s doubling, capped at 3 s, each scaled by a jitter factor in [0.5, 1].
            ceilings = [1.0, 2.0, 3.0]
            assert len(sleeps.delays) == 3
            for delay, ceiling in zip(sleeps.delays, ceilings, strict=True):
                assert ceiling * 0.5 <= delay <= ceiling
            assert requests(metrics, "503") == 1 and requests(metrics, "200") == 1

    asyncio.run(scenario())


def test_retries_stop_after_max_attempts_and_are_counted_as_an_error() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({}, status=500)

    async def scenario() -> None:
        async with serving(handler) as url, aiohttp.ClientSession() as session:
            sleeps = Sleeps()
            api, metrics = client(session, sleeps)
            with pytest.raises(RetriesExhausted):
                await api.get_json("status", f"{url}/x")
            assert requests(metrics, "500") == 4
            assert len(sleeps.delays) == 3  # no sleep after the last try
            assert metrics.registry.get_sample_value(
                "nichewatch_collector_errors_total", {"platform": "mastodon", "reason": "retries_exhausted"}) == 1

    asyncio.run(scenario())


def test_a_timeout_is_retried() -> None:
    calls = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(2)
        return web.json_response([])

    async def scenario() -> None:
        async with serving(handler) as url, aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as session:
            api, metrics = client(session, Sleeps())
            assert (await api.get_json("status", f"{url}/x")).body == []
            assert requests(metrics, "timeout") == 1

    asyncio.run(scenario())


def test_429_waits_for_retry_after_and_tries_again_without_using_up_attempts() -> None:
    answers = [429, 429, 429, 429, 200]

    async def handler(request: web.Request) -> web.Response:
        status = answers.pop(0)
        body = fixture("mastodon", "errors.json")["too_many_requests"]["body"] if status == 429 else []
        return web.json_response(body, status=status, headers={"Retry-After": "7"} if status == 429 else {})

    async def scenario() -> None:
        async with serving(handler) as url, aiohttp.ClientSession() as session:
            sleeps = Sleeps()
            api, metrics = client(session, sleeps, policy=RetryPolicy(max_attempts=6))
            assert (await api.get_json("status", f"{url}/x")).body == []
            assert sleeps.delays == [7.0, 7.0, 7.0, 7.0]
            assert metrics.registry.get_sample_value(
                "nichewatch_collector_errors_total", {"platform": "mastodon", "reason": "rate_limited"}) == 4

    asyncio.run(scenario())


def test_a_spent_mastodon_window_pauses_until_its_reset() -> None:
    recorded = fixture("mastodon", "rate_limit_headers.json")["headers"]
    reset = datetime.fromisoformat(recorded["X-RateLimit-Reset"].replace("Z", "+00:00")).timestamp()
    now = reset - 120.0

    async def handler(request: web.Request) -> web.Response:
        return web.json_response([], headers={**recorded, "X-RateLimit-Remaining": "0"})

    async def scenario() -> None:
        async with serving(handler) as url, aiohttp.ClientSession() as session:
            sleeps = Sleeps()
            api, _ = client(session, sleeps, now=now)
            await api.get_json("timeline_tag", f"{url}/a")
            assert sleeps.delays == []
            await api.get_json("timeline_tag", f"{url}/b")
            assert sleeps.delays == [pytest.approx(120.0)]

    asyncio.run(scenario())


def test_few_requests_left_in_a_bluesky_window_spaces_requests_out() -> None:
    recorded = {k: v for k, v in fixture("bluesky", "get_profiles.json")["headers"].items() if k.startswith("RateLimit")}
    now = float(recorded["RateLimit-Reset"]) - 100.0

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({}, headers={**recorded, "RateLimit-Remaining": "50"})  # 50 of 3000 left

    async def scenario() -> None:
        async with serving(handler) as url, aiohttp.ClientSession() as session:
            sleeps = Sleeps()
            api, _ = client(session, sleeps, now=now)
            await api.get_json("get_profiles", f"{url}/a")
            await api.get_json("get_profiles", f"{url}/b")
            assert sleeps.delays == [pytest.approx(100.0 / 50)]

    asyncio.run(scenario())


def test_404_and_410_are_gone_other_4xx_is_an_error_and_bad_json_is_unparsable() -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.path == "/bad":
            return web.Response(text="<html>maintenance</html>", content_type="text/html")
        status = int(request.path.strip("/"))
        return web.json_response(fixture("mastodon", "errors.json")["not_found"]["body"], status=status)

    async def scenario() -> None:
        async with serving(handler) as url, aiohttp.ClientSession() as session:
            api, _ = client(session, Sleeps())
            for status in (404, 410):
                with pytest.raises(Gone):
                    await api.get_json("status", f"{url}/{status}")
            with pytest.raises(ApiError):
                await api.get_json("status", f"{url}/403")
            with pytest.raises(Unparsable):
                await api.get_json("status", f"{url}/bad")

    asyncio.run(scenario())


def test_a_token_is_sent_only_to_the_host_it_belongs_to() -> None:
    seen: dict[str, str | None] = {}

    async def handler(request: web.Request) -> web.Response:
        seen[request.host] = request.headers.get("Authorization")
        return web.json_response([])

    async def scenario() -> None:
        async with serving(handler) as url, aiohttp.ClientSession() as session:
            host = url.removeprefix("http://")
            other = url.replace("127.0.0.1", "localhost")
            api = ApiClient(session, "mastodon", CollectorMetrics(CollectorRegistry()),
                            host_headers={host: {"Authorization": "Bearer s3cret"}})
            await api.get_json("status", f"{url}/x")
            await api.get_json("status", f"{other}/x")
            assert seen[host] == "Bearer s3cret"
            assert seen[other.removeprefix("http://")] is None

    asyncio.run(scenario())


@given(attempt=st.integers(min_value=0, max_value=40), seed=st.integers(min_value=0, max_value=2**32))
def test_backoff_never_exceeds_the_cap_and_never_drops_below_half_the_step(attempt: int, seed: int) -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=60.0)
    delay = policy.backoff(attempt, random.Random(seed))
    step = min(60.0, 0.5 * 2 ** attempt)
    assert step * 0.5 <= delay <= step <= 60.0


def test_reset_headers_of_both_platforms_and_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_reset("2022-12-01T21:00:00.609574Z", now) == pytest.approx(
        datetime(2022, 12, 1, 21, 0, 0, 609574, tzinfo=UTC).timestamp())
    assert parse_reset("1733000000", now) == 1733000000.0
    assert parse_reset("30", now) == now + 30
    assert parse_reset("soon", now) is None
    assert parse_retry_after("12", now) == 12.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:40 GMT", now) == pytest.approx(20.0)


def test_link_header_as_recorded_from_a_mastodon_tag_timeline() -> None:
    links = parse_link_header(fixture("mastodon", "tag_timeline.json")["headers"]["Link"])
    assert links == {
        "next": "http://localhost:3000/api/v1/timelines/tag/hoot?max_id=109440153064280358",
        "prev": "http://localhost:3000/api/v1/timelines/tag/hoot?min_id=109440153064280358",
    }
