"""Local fake Mastodon and Bluesky servers (aiohttp) answering with recorded bodies.

The bodies come from tests/fixtures/mastodon/ and tests/fixtures/bluesky/ (see SOURCES.md
there). A fake keeps a little state so paging, deletions and counter growth behave like the
real API, and lets a test script faults: ``fail_next(path, status, headers)`` answers the
next request to a path with that status (5xx, 429), ``drop_after`` closes the Jetstream
socket after that many messages.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from schemas.events import AccountSnapshot, Post

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(platform: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / platform / name).read_text())


def jetstream_lines() -> list[str]:
    return (FIXTURES / "bluesky" / "jetstream_events.jsonl").read_text().splitlines()


@dataclass
class Fault:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class _Faults:
    def __init__(self) -> None:
        self._queued: dict[str, deque[Fault]] = defaultdict(deque)

    def fail_next(self, path_prefix: str, status: int, headers: dict[str, str] | None = None,
                  body: Any = None, times: int = 1) -> None:
        for _ in range(times):
            self._queued[path_prefix].append(Fault(status, headers or {}, body))

    def take(self, path: str) -> Fault | None:
        for prefix, queue in self._queued.items():
            if path.startswith(prefix) and queue:
                return queue.popleft()
        return None


# --- Mastodon ---------------------------------------------------------------------------


class FakeMastodon(_Faults):
    """A Mastodon server: tag timelines with min_id paging, statuses, accounts."""

    def __init__(self) -> None:
        super().__init__()
        self.status_template = fixture("mastodon", "tag_timeline.json")["body"][0]
        self.account_template = fixture("mastodon", "account.json")["body"]
        self.statuses: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.rate_limit: dict[str, str] = {}
        self.base_url = ""
        self._next_id = 109440153064280358

    # --- building the server's content ----------------------------------------------------

    def add_account(self, username: str, followers: int, *, acct: str | None = None, following: int = 10) -> str:
        account = copy.deepcopy(self.account_template)
        account_id = str(109440137734600341 + len(self.accounts))
        account.update(id=account_id, username=username, acct=acct or username, followers_count=followers,
                       following_count=following, statuses_count=0)
        self.accounts[account_id] = account
        return account_id

    def set_followers(self, account_id: str, followers: int) -> None:
        self.accounts[account_id]["followers_count"] = followers

    def add_status(self, account_id: str, tags: list[str], *, created_at: datetime | None = None,
                   favourites: int = 0, replies: int = 0, reblogs: int = 0, text: str = "a post") -> str:
        self._next_id += 1000
        status_id = str(self._next_id)
        status = copy.deepcopy(self.status_template)
        created = (created_at or datetime.now(UTC)).astimezone(UTC)
        links = " ".join(f'<a href="{self.base_url}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
                         for t in tags)
        status.update(
            id=status_id, uri=f"{self.base_url}/users/{self.accounts[account_id]['username']}/statuses/{status_id}",
            created_at=created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            favourites_count=favourites, replies_count=replies, reblogs_count=reblogs,
            content=f"<p>{text} {links}</p>", tags=[{"name": t, "url": f"{self.base_url}/tags/{t}"} for t in tags],
        )
        status["account_id"] = account_id  # resolved to the account object when served
        self.statuses[status_id] = status
        self.accounts[account_id]["statuses_count"] += 1
        return status_id

    def bump(self, status_id: str, favourites: int = 0, replies: int = 0, reblogs: int = 0) -> None:
        status = self.statuses[status_id]
        status["favourites_count"] += favourites
        status["replies_count"] += replies
        status["reblogs_count"] += reblogs

    def delete(self, status_id: str) -> None:
        self.deleted.add(status_id)

    def served(self, status_id: str) -> dict[str, Any]:
        status = {k: v for k, v in self.statuses[status_id].items() if k != "account_id"}
        status["account"] = copy.deepcopy(self.accounts[self.statuses[status_id]["account_id"]])
        return status

    # --- the HTTP face --------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1/timelines/tag/{tag}", self._timeline)
        app.router.add_get("/api/v1/statuses/{id}", self._status)
        app.router.add_get("/api/v1/accounts/{id}", self._account)
        return app

    def _answer(self, request: web.Request, body: Any, headers: dict[str, str] | None = None) -> web.Response:
        self.requests.append((request.path, dict(request.query)))
        fault = self.take(request.path)
        if fault is not None:
            return web.json_response(fault.body or {"error": "fault"}, status=fault.status, headers=fault.headers)
        return web.json_response(body, headers={**self.rate_limit, **(headers or {})})

    async def _timeline(self, request: web.Request) -> web.Response:
        tag = request.match_info["tag"].lower()
        limit = min(int(request.query.get("limit", "20")), 40)
        visible = sorted((int(i) for i, s in self.statuses.items()
                          if i not in self.deleted and tag in {t["name"].lower() for t in s["tags"]}), reverse=True)
        if "min_id" in request.query:
            floor = int(request.query["min_id"])
            page = sorted(i for i in visible if i > floor)[:limit][::-1]  # the oldest newer ones, newest first
        else:
            page = visible[:limit]
        headers = {}
        if page:
            base = f"{self.base_url}/api/v1/timelines/tag/{tag}"
            # As Mastodon does, the links keep the request's limit.
            keep = f"limit={limit}&" if "limit" in request.query else ""
            headers["Link"] = (f'<{base}?{keep}max_id={page[-1]}>; rel="next", '
                               f'<{base}?{keep}min_id={page[0]}>; rel="prev"')
        return self._answer(request, [self.served(str(i)) for i in page], headers)

    async def _status(self, request: web.Request) -> web.Response:
        status_id = request.match_info["id"]
        if status_id in self.deleted or status_id not in self.statuses:
            self.requests.append((request.path, dict(request.query)))
            return web.json_response(fixture("mastodon", "errors.json")["not_found"]["body"], status=404)
        return self._answer(request, self.served(status_id))

    async def _account(self, request: web.Request) -> web.Response:
        account = self.accounts.get(request.match_info["id"])
        if account is None:
            self.requests.append((request.path, dict(request.query)))
            return web.json_response(fixture("mastodon", "errors.json")["not_found"]["body"], status=404)
        return self._answer(request, account)


# --- Bluesky ----------------------------------------------------------------------------


class FakeBluesky(_Faults):
    """Jetstream (websocket) plus the AppView's getPosts and getProfiles."""

    def __init__(self, lines: list[str] | None = None) -> None:
        super().__init__()
        self.lines = list(lines if lines is not None else jetstream_lines())
        self.drop_after: int | None = None  # close the first connection after this many messages
        self.connections: list[dict[str, Any]] = []
        self.posts = {v["uri"]: v for v in fixture("bluesky", "get_posts.json")["body"]["posts"]}
        self.profiles = {p["did"]: p for p in fixture("bluesky", "get_profiles.json")["body"]["profiles"]}
        self.profile_headers = {k: v for k, v in fixture("bluesky", "get_profiles.json")["headers"].items()
                                if k.startswith("RateLimit")}
        self.requests: list[tuple[str, list[str]]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/subscribe", self._subscribe)
        app.router.add_get("/xrpc/app.bsky.feed.getPosts", self._get_posts)
        app.router.add_get("/xrpc/app.bsky.actor.getProfiles", self._get_profiles)
        return app

    async def _subscribe(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        cursor = int(request.query["cursor"]) if "cursor" in request.query else None
        self.connections.append({"cursor": cursor, "collections": request.query.getall("wantedCollections", [])})
        sent = 0
        for line in self.lines:
            try:
                time_us = json.loads(line).get("time_us", 0)
            except ValueError:
                time_us = None
            if cursor is not None and time_us is not None and time_us <= cursor:
                continue
            if self.drop_after is not None and len(self.connections) == 1 and sent >= self.drop_after:
                await ws.close()
                return ws
            await ws.send_str(line)
            sent += 1
        async for message in ws:  # hold the socket open until the client leaves
            if message.type == WSMsgType.CLOSE:
                break
        return ws

    async def _get_posts(self, request: web.Request) -> web.Response:
        uris = request.query.getall("uris", [])
        self.requests.append((request.path, uris))
        fault = self.take(request.path)
        if fault is not None:
            return web.json_response(fault.body or {"error": "InternalServerError"}, status=fault.status,
                                     headers=fault.headers)
        return web.json_response({"posts": [self.posts[u] for u in uris if u in self.posts]})

    async def _get_profiles(self, request: web.Request) -> web.Response:
        actors = request.query.getall("actors", [])
        self.requests.append((request.path, actors))
        fault = self.take(request.path)
        if fault is not None:
            return web.json_response(fault.body or {"error": "InternalServerError"}, status=fault.status,
                                     headers=fault.headers)
        return web.json_response({"profiles": [self.profiles[a] for a in actors if a in self.profiles]},
                                 headers=self.profile_headers)


# --- in-process stand-ins for the collector's sink and niches ------------------------------


@dataclass
class ListSink:
    events: list[Post | AccountSnapshot] = field(default_factory=list)
    flushes: int = 0

    def publish(self, event: Post | AccountSnapshot) -> None:
        self.events.append(event)

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        pass

    def posts(self) -> list[Post]:
        return [e for e in self.events if isinstance(e, Post)]


@dataclass
class Niches:
    current: set[str]

    def tags(self) -> frozenset[str]:
        return frozenset(self.current)

    def close(self) -> None:
        pass


class Sleeps:
    """Records requested sleeps instead of sleeping (the client's waits are what is tested)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


# --- running a fake in a thread (for subprocess tests) -------------------------------------


class ServerThread:
    """Runs an aiohttp app on 127.0.0.1 in a background thread; ``url`` once started."""

    def __init__(self, app_factory: Any) -> None:
        self._app_factory = app_factory
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._runner = web.AppRunner(self._app_factory())
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}"
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        assert self._ready.wait(10), "fake server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the server's loop (mutating fake state safely)."""
        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)


def ago(**kwargs: float) -> datetime:
    return datetime.now(UTC) - timedelta(**kwargs)


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text().splitlines():
        if line.strip():
            yield json.loads(line)
