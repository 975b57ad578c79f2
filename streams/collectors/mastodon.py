"""Mastodon (and every server speaking its API): statuses and accounts to the event contract.

Discovery reads the public tag timeline ``GET /api/v1/timelines/tag/:tag`` of each server.
The first pass for a (server, tag) takes the newest page only; after that each pass asks for
what is newer than the cursor with ``min_id`` and follows the ``Link: <...>; rel="prev"``
header while pages come back full, so nothing older than the cursor is read twice::

    pass 1:  GET /timelines/tag/pens?limit=40             -> newest 40, cursor = newest id
    pass n:  GET /timelines/tag/pens?min_id=<cursor>      -> up to 40 newer, cursor = Link prev
             GET <Link rel="prev">                         -> ... while the page was full

Re-observation: ``GET /api/v1/statuses/:id``; profile snapshots: ``GET /api/v1/accounts/:id``
(ids local to the server the post was found on). Mapping rules:

- account_id ``mastodon:<user>@<domain>``: ``acct`` is ``user@domain`` for remote accounts and
  a bare ``user`` for the server's own, which gets the server's domain;
- a boost is mapped to the boosted status and its author, never to the booster;
- post_id is the status' ActivityPub ``uri``, the same on every server that shows it, so a
  post found on two servers is one post;
- likes = favourites_count, comments = replies_count, shares = reblogs_count; tags from the
  status' ``tags`` list; text is the HTML content as plain text.
"""

from __future__ import annotations

import logging
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import ValidationError

from schemas.events import MAX_TAGS, MAX_TEXT_CHARS, SCHEMA_VERSION, AccountSnapshot, Post
from streams.collectors.http import ApiClient, ApiError, Gone, RetriesExhausted, Unparsable
from streams.collectors.schedule import AccountRef, PostRef
from streams.collectors.types import Discovered, Observed
from streams.metrics import CollectorMetrics

log = logging.getLogger(__name__)

PLATFORM = "mastodon"
PAGE_LIMIT = 40  # the API's maximum for tag timelines
MAX_PAGES_PER_PASS = 10
PUBLIC = frozenset({"public", "unlisted"})


# --- mapping ---------------------------------------------------------------------------


class _Text(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "li", "blockquote", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        classes = (dict(attrs).get("class") or "").split()
        # Mastodon wraps the elided parts of long links in <span class="invisible">.
        if tag == "span" and (self._hidden or "invisible" in classes):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n\n")
        elif tag == "span" and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Mastodon's HTML content as plain text: paragraphs and line breaks kept, tags dropped."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = "".join(parser.parts).split("\n")
    return "\n".join(line.strip() for line in lines).strip()[:MAX_TEXT_CHARS]


def server_domain(instance_url: str) -> str:
    """The domain local accounts of a server belong to (its host, and port when not default)."""
    return urlsplit(instance_url).netloc.lower()


def account_id_for(acct: str, domain: str) -> str:
    qualified = acct if "@" in acct else f"{acct}@{domain}"
    return f"{PLATFORM}:{qualified}"


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def status_to_post(status: dict[str, Any], instance_url: str, observed_at: datetime) -> Discovered:
    """One Post (plus what tracking it needs) from a status; boosts become the boosted status."""
    try:
        original = status["reblog"] or status
        account = original["account"]
        domain = server_domain(instance_url)
        account_id = account_id_for(account["acct"], domain)
        tags = [f"#{tag['name']}" for tag in original.get("tags") or [] if tag.get("name")][:MAX_TAGS]
        post = Post(
            kind="post", schema_version=SCHEMA_VERSION, post_id=original["uri"] or f"{domain}/{original['id']}",
            platform=PLATFORM, account_id=account_id, handle=account_id.removeprefix(f"{PLATFORM}:"),
            posted_at=_instant(original["created_at"]), observed_at=observed_at,
            followers=account["followers_count"], following=account.get("following_count"),
            likes=original["favourites_count"], comments=original["replies_count"],
            shares=original["reblogs_count"], tags=tags, text=html_to_text(original.get("content") or ""),
        )
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise Unparsable(f"status {status.get('id') if isinstance(status, dict) else '?'}: {exc}") from None
    return Discovered(
        post=post,
        ref=PostRef(post.post_id, f"{instance_url}|{original['id']}", account_id, post.posted_at.timestamp()),
        account=AccountRef(account_id, f"{instance_url}|{account['id']}"),
    )


def account_to_snapshot(account: dict[str, Any], instance_url: str, observed_at: datetime) -> AccountSnapshot:
    try:
        account_id = account_id_for(account["acct"], server_domain(instance_url))
        return AccountSnapshot(
            kind="snapshot", schema_version=SCHEMA_VERSION, platform=PLATFORM, account_id=account_id,
            handle=account_id.removeprefix(f"{PLATFORM}:"), observed_at=observed_at,
            followers=account["followers_count"], following=account.get("following_count"),
            posts_count=account.get("statuses_count"),
        )
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise Unparsable(f"account {account.get('id') if isinstance(account, dict) else '?'}: {exc}") from None


def _newest_id(ids: list[str]) -> str:
    # Snowflake ids are decimal strings: longer is newer, then lexical order.
    return max(ids, key=lambda i: (len(i), i))


def _min_id_of(url: str | None) -> str | None:
    if not url:
        return None
    for part in urlsplit(url).query.split("&"):
        name, _, value = part.partition("=")
        if name == "min_id" and value:
            return value
    return None


def _with_limit(url: str) -> str:
    """Mastodon's Link URLs carry the request's ``limit``; add it where a server leaves it out."""
    if "limit=" in urlsplit(url).query:
        return url
    return f"{url}{'&' if urlsplit(url).query else '?'}limit={PAGE_LIMIT}"


# --- the source ------------------------------------------------------------------------


class MastodonSource:
    platform = PLATFORM

    def __init__(self, client: ApiClient, instances: list[str], metrics: CollectorMetrics,
                 max_pages: int = MAX_PAGES_PER_PASS) -> None:
        self._client = client
        self.instances = [url.rstrip("/") for url in instances]
        self._metrics = metrics
        self._max_pages = max_pages
        self.cursors: dict[str, str] = {}  # "instance|tag" -> newest status id seen

    def state(self) -> dict[str, Any]:
        return {"cursors": dict(self.cursors)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.cursors.update(state.get("cursors", {}))

    async def discover(self, tags: frozenset[str], observed_at: datetime) -> list[Discovered]:
        found: list[Discovered] = []
        for instance in self.instances:
            for tag in sorted(tags):
                found.extend(await self._discover_tag(instance, tag, observed_at))
        return found

    async def _discover_tag(self, instance: str, tag: str, observed_at: datetime) -> list[Discovered]:
        key = f"{instance}|{tag}"
        url = f"{instance}/api/v1/timelines/tag/{quote(tag, safe='')}"
        cursor = self.cursors.get(key)
        params: dict[str, str] | None = {"limit": str(PAGE_LIMIT), **({"min_id": cursor} if cursor else {})}
        found: list[Discovered] = []
        for _ in range(self._max_pages):
            try:
                page = await self._client.get_json("timeline_tag", url, params)
            except (Gone, Unparsable) as exc:
                self._unparsable_or_gone(exc, url)
                break
            except (RetriesExhausted, ApiError) as exc:
                log.warning("%s: %s; trying again next pass", url, exc)
                break
            statuses = page.body if isinstance(page.body, list) else None
            if statuses is None:
                self._unparsable_or_gone(Unparsable(f"{url}: expected a list of statuses"), url)
                break
            if not statuses:
                break
            for status in statuses:
                if isinstance(status, dict) and status.get("visibility", "public") not in PUBLIC:
                    continue
                try:
                    found.append(status_to_post(status, instance, observed_at))
                except Unparsable as exc:
                    self._unparsable_or_gone(exc, url)
            ids = [s["id"] for s in statuses if isinstance(s, dict) and isinstance(s.get("id"), str)]
            newest = _min_id_of(page.links.get("prev")) or (_newest_id(ids) if ids else None)
            if newest is None:
                break
            self.cursors[key] = newest
            # First pass: the newest page only. Later passes: page forward while pages are full.
            if cursor is None or len(statuses) < PAGE_LIMIT:
                break
            if "prev" in page.links:
                url, params = _with_limit(page.links["prev"]), None
            else:
                params = {"limit": str(PAGE_LIMIT), "min_id": newest}
        return found

    async def observe(self, posts: list[PostRef], observed_at: datetime) -> list[Observed]:
        results: list[Observed] = []
        for ref in posts:
            instance, _, status_id = ref.locator.rpartition("|")
            url = f"{instance}/api/v1/statuses/{status_id}"
            try:
                page = await self._client.get_json("status", url)
                results.append(Observed(ref.post_id, status_to_post(page.body, instance, observed_at).post))
            except Gone:
                self._metrics.error(PLATFORM, "gone")
                log.info("%s: deleted (%s); no longer polled", ref.post_id, url)
                results.append(Observed(ref.post_id, None))
            except Unparsable as exc:
                self._unparsable_or_gone(exc, url)
            except (RetriesExhausted, ApiError) as exc:
                log.warning("%s: %s; trying again next pass", url, exc)
        return results

    async def snapshot(self, accounts: list[AccountRef], observed_at: datetime) -> list[tuple[str, AccountSnapshot | None]]:
        results: list[tuple[str, AccountSnapshot | None]] = []
        for ref in accounts:
            instance, _, account_id = ref.locator.rpartition("|")
            url = f"{instance}/api/v1/accounts/{account_id}"
            try:
                page = await self._client.get_json("account", url)
                results.append((ref.account_id, account_to_snapshot(page.body, instance, observed_at)))
            except Gone:
                self._metrics.error(PLATFORM, "gone")
                results.append((ref.account_id, None))
            except Unparsable as exc:
                self._unparsable_or_gone(exc, url)
            except (RetriesExhausted, ApiError) as exc:
                log.warning("%s: %s; trying again next pass", url, exc)
        return results

    def _unparsable_or_gone(self, exc: Exception, source: str) -> None:
        if isinstance(exc, Gone):
            self._metrics.error(PLATFORM, "gone")
            log.warning("%s: %s", source, exc)
        else:
            self._metrics.error(PLATFORM, "unparsable")
            log.warning("skipped an unparsable payload from %s: %s", source, exc)
