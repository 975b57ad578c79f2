"""Bluesky: Jetstream posts, AppView counters and profiles, to the event contract.

Discovery listens to a Jetstream websocket (``wantedCollections=app.bsky.feed.post``) and keeps
the posts whose tags hit a niche: tags come from the record's tag facets
(``app.bsky.richtext.facet#tag``), its ``tags`` field and hashtags in its text. Every event
moves the ``time_us`` cursor; a dropped socket reconnects with ``cursor=<time_us>``::

    Jetstream ──► commit create app.bsky.feed.post ──► tags ∩ niches? ──► queue of at:// URIs
                                                                             │ each pass
    getPosts (<= 25 URIs a call) ◄──────────────────────────────────────────┘
    getProfiles (<= 25 actors a call) ──► followers ──► Post (likes, replies, reposts + quotes)

A post Jetstream announced is first published once the AppView has it (counters, handle)
and the author's followers are known. URIs that getPosts leaves out are deleted posts.
account_id is ``bluesky:<did>`` (handles change, DIDs do not); handle is the current one.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from pydantic import ValidationError

from schemas.events import MAX_TAG_CHARS, MAX_TAGS, MAX_TEXT_CHARS, SCHEMA_VERSION, AccountSnapshot, Post
from streams.collectors.http import ApiClient, ApiError, Gone, RetriesExhausted, RetryPolicy, Unparsable
from streams.collectors.schedule import AccountRef, PostRef
from streams.collectors.types import Discovered, Observed
from streams.core.tags import normalise_tag
from streams.metrics import CollectorEndpoint, CollectorMetrics

log = logging.getLogger(__name__)

PLATFORM = "bluesky"
POST_COLLECTION = "app.bsky.feed.post"
TAG_FACET = "app.bsky.richtext.facet#tag"
BATCH = 25  # getPosts and getProfiles take at most 25 URIs / actors a call
MAX_QUEUED = 50_000
MAX_TRIES = 3  # the AppView indexes a post a few seconds after Jetstream announces it
_HASHTAG = re.compile(r"(?:^|\s)[#＃]([^\s#＃]+)")
_TRAILING = ".,;:!?)]}'\"…"


# --- mapping ---------------------------------------------------------------------------


def record_tags(record: dict[str, Any]) -> list[str]:
    """Tags of a post record, as posted: tag facets, then the ``tags`` field, then text hashtags."""
    found: list[str] = []
    for facet in record.get("facets") or []:
        for feature in (facet or {}).get("features") or []:
            if isinstance(feature, dict) and feature.get("$type") == TAG_FACET and feature.get("tag"):
                found.append(str(feature["tag"]))
    found.extend(str(tag) for tag in record.get("tags") or [] if tag)
    for match in _HASHTAG.finditer(record.get("text") or ""):
        tag = match.group(1).rstrip(_TRAILING)
        if tag and not tag.isdigit():  # Bluesky does not link all-digit hashtags
            found.append(tag)
    seen: set[str] = set()
    tags = []
    for tag in found:
        key = normalise_tag(tag)
        if key and key not in seen and len(tag) < MAX_TAG_CHARS:
            seen.add(key)
            tags.append(f"#{tag.lstrip('#')}")
    return tags[:MAX_TAGS]


@dataclass(frozen=True, slots=True)
class Announced:
    """A post Jetstream announced, before the AppView was asked about it."""

    uri: str
    did: str
    tags: tuple[str, ...]
    time_us: int = 0
    tries: int = 0  # passes that asked the AppView about it without an answer


def jetstream_post(event: Any) -> Announced | None:
    """The created post of a Jetstream event, or None for any other event."""
    if not isinstance(event, dict) or event.get("kind") != "commit":
        return None
    commit = event.get("commit")
    if not isinstance(commit, dict) or commit.get("collection") != POST_COLLECTION or commit.get("operation") != "create":
        return None
    did, rkey, record = event.get("did"), commit.get("rkey"), commit.get("record")
    if not isinstance(did, str) or not isinstance(rkey, str) or not isinstance(record, dict):
        raise Unparsable("commit without did, rkey or record")
    time_us = event.get("time_us")
    return Announced(f"at://{did}/{POST_COLLECTION}/{rkey}", did, tuple(record_tags(record)),
                     time_us if isinstance(time_us, int) else 0)


def _instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def post_view_to_post(view: dict[str, Any], followers: int, following: int | None, observed_at: datetime) -> Post:
    try:
        author, record = view["author"], view["record"]
        posted_at = _instant(record["createdAt"])
        if view.get("indexedAt"):
            # createdAt is set by the client; the AppView's indexedAt bounds it from above.
            posted_at = min(posted_at, _instant(view["indexedAt"]))
        return Post(
            kind="post", schema_version=SCHEMA_VERSION, post_id=view["uri"], platform=PLATFORM,
            account_id=f"{PLATFORM}:{author['did']}", handle=author["handle"], posted_at=posted_at,
            observed_at=observed_at, followers=followers, following=following,
            likes=view.get("likeCount", 0), comments=view.get("replyCount", 0),
            shares=view.get("repostCount", 0) + view.get("quoteCount", 0),
            tags=record_tags(record), text=(record.get("text") or "")[:MAX_TEXT_CHARS] or None,
        )
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise Unparsable(f"post {view.get('uri') if isinstance(view, dict) else '?'}: {exc}") from None


def profile_to_snapshot(profile: dict[str, Any], observed_at: datetime) -> AccountSnapshot:
    try:
        return AccountSnapshot(
            kind="snapshot", schema_version=SCHEMA_VERSION, platform=PLATFORM,
            account_id=f"{PLATFORM}:{profile['did']}", handle=profile["handle"], observed_at=observed_at,
            followers=profile.get("followersCount", 0), following=profile.get("followsCount"),
            posts_count=profile.get("postsCount"),
        )
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise Unparsable(f"profile {profile.get('did') if isinstance(profile, dict) else '?'}: {exc}") from None


def _batches(items: list[str], size: int = BATCH) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- the source ------------------------------------------------------------------------


class BlueskySource:
    platform = PLATFORM

    def __init__(self, client: ApiClient, session: aiohttp.ClientSession, metrics: CollectorMetrics,
                 jetstream_url: str, appview_url: str, policy: RetryPolicy | None = None,
                 rng: random.Random | None = None) -> None:
        self._client = client
        self._session = session
        self._metrics = metrics
        self._jetstream_url = jetstream_url
        self._appview = appview_url.rstrip("/")
        self._policy = policy or RetryPolicy()
        self._rng = rng or random.Random()
        self.cursor: int | None = None  # time_us of the last event read
        self._saved_cursor: int | None = None  # cursor as of the last drain: safe to persist
        self._queue: dict[str, Announced] = {}
        self._profiles: dict[str, tuple[int, int | None]] = {}  # did -> (followers, follows)
        self._task: asyncio.Task[None] | None = None
        self._tags: Callable[[], frozenset[str]] = frozenset
        self.last_message_at = 0.0
        self.connected = asyncio.Event()

    def state(self) -> dict[str, Any]:
        return {"cursor": self._saved_cursor}

    def load_state(self, state: dict[str, Any]) -> None:
        cursor = state.get("cursor")
        self.cursor = self._saved_cursor = int(cursor) if cursor is not None else None

    # --- Jetstream -----------------------------------------------------------------------

    def start(self, tags: Callable[[], frozenset[str]]) -> None:
        self._tags = tags
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._stream(), name="jetstream")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def _url(self) -> str:
        separator = "&" if "?" in self._jetstream_url else "?"
        url = f"{self._jetstream_url}{separator}wantedCollections={POST_COLLECTION}"
        return url + (f"&cursor={self.cursor}" if self.cursor is not None else "")

    async def _stream(self) -> None:
        failures = 0
        while True:
            try:
                async with self._session.ws_connect(self._url(), heartbeat=30) as ws:
                    self._metrics.request(PLATFORM, "jetstream", "101")
                    self.connected.set()
                    failures = 0
                    async for message in ws:
                        if message.type == aiohttp.WSMsgType.TEXT:
                            self._on_message(message.data)
                        elif message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                            break
                self._metrics.error(PLATFORM, "websocket_dropped")
                log.warning("Jetstream closed the connection; reconnecting from cursor %s", self.cursor)
            except aiohttp.WSServerHandshakeError as exc:
                self._metrics.request(PLATFORM, "jetstream", str(exc.status))
                self._metrics.error(PLATFORM, "websocket_dropped")
            except (aiohttp.ClientError, TimeoutError, asyncio.TimeoutError) as exc:
                self._metrics.request(PLATFORM, "jetstream", "connection")
                self._metrics.error(PLATFORM, "websocket_dropped")
                log.warning("Jetstream connection failed (%s); reconnecting from cursor %s", exc, self.cursor)
            finally:
                self.connected.clear()
            await asyncio.sleep(self._policy.backoff(failures, self._rng))
            failures += 1

    def _on_message(self, data: str) -> None:
        self.last_message_at = asyncio.get_running_loop().time()
        try:
            event = orjson.loads(data)
            announced = jetstream_post(event)
        except (orjson.JSONDecodeError, Unparsable) as exc:
            self._metrics.error(PLATFORM, "unparsable")
            log.warning("skipped an unparsable Jetstream message from %s: %s (%r)", self._jetstream_url, exc, data[:200])
            return
        time_us = event.get("time_us")
        if isinstance(time_us, int):
            self.cursor = max(self.cursor or 0, time_us)
        if announced is None or len(self._queue) >= MAX_QUEUED:
            return
        wanted = self._tags()
        if any(normalise_tag(tag) in wanted for tag in announced.tags):
            self._queue[announced.uri] = announced

    # --- AppView ------------------------------------------------------------------------

    async def discover(self, tags: frozenset[str], observed_at: datetime) -> list[Discovered]:
        # Taking the queue and the cursor together (no await in between) makes the saved
        # cursor cover exactly the events handed over here.
        announced, self._queue = list(self._queue.values()), {}
        drained_cursor = self.cursor
        if not announced:
            self._saved_cursor = drained_cursor
            return []
        views, _ = await self._get_posts([a.uri for a in announced])
        authors = {v["author"].get("did") for v in views.values() if isinstance(v.get("author"), dict)}
        await self._refresh_profiles({did for did in authors if isinstance(did, str)}, observed_at)
        found, retry = [], []
        for item in announced:
            view = views.get(item.uri)
            if view is None:
                # Not indexed yet, or no answer: ask again next pass, a few times.
                if item.tries + 1 < MAX_TRIES:
                    retry.append(replace(item, tries=item.tries + 1))
                continue
            try:
                did = view["author"]["did"]
                if did not in self._profiles:
                    # Followers unknown (no profile answer yet): a 0 would read as a jump later.
                    retry.append(replace(item, tries=item.tries + 1))
                    continue
                followers, following = self._profiles[did]
                post = post_view_to_post(view, followers, following, observed_at)
            except (KeyError, TypeError, Unparsable) as exc:
                self._unparsable(exc, "app.bsky.feed.getPosts")
                continue
            found.append(Discovered(post, PostRef(post.post_id, item.uri, post.account_id,
                                                  post.posted_at.timestamp()), AccountRef(post.account_id, did)))
        for item in retry:
            self._queue.setdefault(item.uri, item)
        # The saved cursor covers what was handed over, except posts still waiting for the
        # AppView: a restart replays Jetstream from just before the oldest of them.
        waiting = [item.time_us for item in retry if item.time_us]
        self._saved_cursor = min([drained_cursor or 0, *(t - 1 for t in waiting)]) if waiting else drained_cursor
        return found

    async def observe(self, posts: list[PostRef], observed_at: datetime) -> list[Observed]:
        views, unanswered = await self._get_posts([ref.locator for ref in posts])
        missing_profiles = {ref.account_id.removeprefix(f"{PLATFORM}:") for ref in posts} - set(self._profiles)
        await self._refresh_profiles(missing_profiles, observed_at)
        results = []
        for ref in posts:
            view = views.get(ref.locator)
            if view is None and ref.locator in unanswered:
                continue  # no answer this time (network, server): still tracked, tried next pass
            if view is None:
                self._metrics.error(PLATFORM, "gone")
                results.append(Observed(ref.post_id, None))
                continue
            profile = self._profiles.get(ref.account_id.removeprefix(f"{PLATFORM}:"))
            if profile is None:
                continue  # followers unknown this pass: observed next pass rather than with a 0
            followers, following = profile
            try:
                results.append(Observed(ref.post_id, post_view_to_post(view, followers, following, observed_at)))
            except Unparsable as exc:
                self._unparsable(exc, "app.bsky.feed.getPosts")
        return results

    async def snapshot(self, accounts: list[AccountRef], observed_at: datetime) -> list[tuple[str, AccountSnapshot | None]]:
        profiles, unanswered = await self._get_profiles([ref.locator for ref in accounts])
        results: list[tuple[str, AccountSnapshot | None]] = []
        for ref in accounts:
            profile = profiles.get(ref.locator)
            if profile is None and ref.locator in unanswered:
                continue
            if profile is None:
                self._metrics.error(PLATFORM, "gone")
                results.append((ref.account_id, None))
                continue
            try:
                snapshot = profile_to_snapshot(profile, observed_at)
            except Unparsable as exc:
                self._unparsable(exc, "app.bsky.actor.getProfiles")
                continue
            self._profiles[ref.locator] = (snapshot.followers, snapshot.following)
            results.append((ref.account_id, snapshot))
        return results

    async def _get_posts(self, uris: list[str]) -> tuple[dict[str, dict[str, Any]], set[str]]:
        """Post views by URI, and the URIs no answer was had for (not the same as deleted)."""
        url = f"{self._appview}/xrpc/app.bsky.feed.getPosts"
        views: dict[str, dict[str, Any]] = {}
        unanswered: set[str] = set()
        for batch in _batches(uris):
            body = await self._xrpc("get_posts", url, [("uris", uri) for uri in batch], "posts")
            if body is None:
                unanswered.update(batch)
                continue
            views.update((v["uri"], v) for v in body if isinstance(v, dict) and isinstance(v.get("uri"), str))
        return views, unanswered

    async def _get_profiles(self, dids: list[str]) -> tuple[dict[str, dict[str, Any]], set[str]]:
        url = f"{self._appview}/xrpc/app.bsky.actor.getProfiles"
        profiles: dict[str, dict[str, Any]] = {}
        unanswered: set[str] = set()
        for batch in _batches(dids):
            body = await self._xrpc("get_profiles", url, [("actors", did) for did in batch], "profiles")
            if body is None:
                unanswered.update(batch)
                continue
            profiles.update((p["did"], p) for p in body if isinstance(p, dict) and isinstance(p.get("did"), str))
        return profiles, unanswered

    async def _refresh_profiles(self, dids: set[str], observed_at: datetime) -> None:
        for did, profile in (await self._get_profiles(sorted(dids)))[0].items():
            followers, following = profile.get("followersCount"), profile.get("followsCount")
            if isinstance(followers, int):
                self._profiles[did] = (followers, following if isinstance(following, int) else None)

    async def _xrpc(self, endpoint: CollectorEndpoint, url: str, params: list[tuple[str, str]], field: str) -> list[Any] | None:
        """The answer's list, or None when there was no usable answer (retried next pass)."""
        try:
            response = await self._client.get_json(endpoint, url, params)
        except (RetriesExhausted, ApiError, Gone) as exc:
            log.warning("%s: %s", url, exc)
            return None
        except Unparsable as exc:
            self._unparsable(exc, url)
            return None
        body = response.body.get(field) if isinstance(response.body, dict) else None
        if not isinstance(body, list):
            self._unparsable(Unparsable(f"no {field!r} list in the answer"), url)
            return None
        return body

    def _unparsable(self, exc: Exception, source: str) -> None:
        self._metrics.error(PLATFORM, "unparsable")
        log.warning("skipped an unparsable payload from %s: %s", source, exc)
