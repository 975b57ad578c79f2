"""HTTP for collectors: capped exponential backoff with jitter, and rate limits honoured.

    get_json(endpoint, url)
      ├─ wait while this host's window is spent (remaining 0 until reset), or pace requests
      │  when few are left (time to reset / remaining)
      ├─ 2xx ─────────────► JSON body (a body that is not JSON raises Unparsable)
      ├─ 404 / 410 ───────► Gone: the object was deleted; callers stop polling it
      ├─ 429 ─────────────► sleep Retry-After (or until the window resets), try again
      ├─ 5xx, timeout, ───► sleep min(cap, base * 2^attempt) * U(0.5, 1), try again,
      │  connection error    at most ``max_attempts`` tries, then RetriesExhausted
      └─ other 4xx ───────► ApiError (retrying would not help)

Rate-limit headers: Mastodon sends ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (an
ISO-8601 instant); Bluesky's AppView sends ``RateLimit-Remaining`` and ``RateLimit-Reset``
(Unix seconds). A reset value below 10^9 is read as seconds from now (the IETF draft's form).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from streams.metrics import CollectorEndpoint, CollectorMetrics, CollectorPlatform

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
PACE_BELOW_FRACTION = 0.1  # start spacing requests out when under 10% of the window is left


class Gone(Exception):
    """404 or 410: the object no longer exists (deleted post or account)."""


class ApiError(Exception):
    """A 4xx answer other than 404/410/429; retrying would not help."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status


class RetriesExhausted(Exception):
    """Timeouts, connection errors or 5xx on every try."""


class Unparsable(Exception):
    """A 2xx answer whose body is not the JSON the API documents."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 60.0
    max_rate_limit_wait_s: float = 900.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Delay before try ``attempt + 1`` (attempt counts from 0): capped, with jitter."""
        return min(self.max_delay_s, self.base_delay_s * (2 ** attempt)) * rng.uniform(0.5, 1.0)


@dataclass(frozen=True, slots=True)
class JsonResponse:
    status: int
    body: Any
    headers: Mapping[str, str]
    links: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Window:
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None


def parse_reset(value: str | None, now: float) -> float | None:
    """The Unix time a rate-limit window resets, from either platform's header."""
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return number if number >= 1e9 else now + number


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            return None


def parse_link_header(value: str | None) -> dict[str, str]:
    """``<url>; rel="next", <url>; rel="prev"`` -> {"next": url, "prev": url}."""
    links: dict[str, str] = {}
    for part in (value or "").split(","):
        section = part.strip().split(";")
        url = section[0].strip()
        if not (url.startswith("<") and url.endswith(">")):
            continue
        for attribute in section[1:]:
            name, _, rel = attribute.strip().partition("=")
            if name.strip() == "rel":
                links[rel.strip().strip('"')] = url[1:-1]
    return links


def _header_int(headers: Mapping[str, str], *names: str) -> int | None:
    for name in names:
        raw = headers.get(name)
        if raw is not None:
            try:
                return int(float(raw))
            except ValueError:
                return None
    return None


class ApiClient:
    """GETs JSON from one platform's hosts; one instance per collector, shared by its sources."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        platform: CollectorPlatform,
        metrics: CollectorMetrics,
        policy: RetryPolicy | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        host_headers: Mapping[str, Mapping[str, str]] | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._session = session
        self.platform: CollectorPlatform = platform
        self._metrics = metrics
        self._policy = policy or RetryPolicy()
        self._headers = dict(headers or {})
        # Credentials belong to one server: sent only to the host they were given for.
        self._host_headers = {host: {**self._headers, **extra} for host, extra in (host_headers or {}).items()}
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._windows: dict[str, _Window] = {}

    async def get_json(
        self, endpoint: CollectorEndpoint, url: str, params: Mapping[str, str] | list[tuple[str, str]] | None = None
    ) -> JsonResponse:
        host = urlsplit(url).netloc
        for attempt in range(self._policy.max_attempts):
            await self._respect_window(host)
            try:
                headers = self._host_headers.get(host, self._headers)
                async with self._session.get(url, params=params, headers=headers) as response:
                    status = response.status
                    self._metrics.request(self.platform, endpoint, str(status))
                    self._remember_window(host, response.headers)
                    if 200 <= status < 300:
                        body = await response.read()
                        links = parse_link_header(response.headers.get("Link"))
                        return JsonResponse(status, _parse(body, url), response.headers, links)
                    if status in (404, 410):
                        raise Gone(f"HTTP {status} from {url}")
                    if status == 429:
                        self._metrics.error(self.platform, "rate_limited")
                        await self._sleep(self._rate_limited_wait(host, response.headers))
                        continue
                    if status < 500:
                        self._metrics.error(self.platform, "http_error")
                        raise ApiError(status, url)
            except (TimeoutError, asyncio.TimeoutError):
                self._metrics.request(self.platform, endpoint, "timeout")
            except aiohttp.ClientError as exc:
                self._metrics.request(self.platform, endpoint, "connection")
                log.debug("%s: %s", url, exc)
            if attempt + 1 < self._policy.max_attempts:
                await self._sleep(self._policy.backoff(attempt, self._rng))
        self._metrics.error(self.platform, "retries_exhausted")
        raise RetriesExhausted(f"{url}: no answer after {self._policy.max_attempts} tries")

    def _remember_window(self, host: str, headers: Mapping[str, str]) -> None:
        remaining = _header_int(headers, "X-RateLimit-Remaining", "RateLimit-Remaining")
        if remaining is None:
            return
        window = self._windows.setdefault(host, _Window())
        window.remaining = remaining
        window.limit = _header_int(headers, "X-RateLimit-Limit", "RateLimit-Limit")
        window.reset_at = parse_reset(
            headers.get("X-RateLimit-Reset") or headers.get("RateLimit-Reset"), self._clock()
        )

    def _rate_limited_wait(self, host: str, headers: Mapping[str, str]) -> float:
        now = self._clock()
        wait = parse_retry_after(headers.get("Retry-After"), now)
        if wait is None:
            window = self._windows.get(host)
            wait = (window.reset_at - now) if window and window.reset_at else self._policy.max_delay_s
        return min(max(wait, 0.0), self._policy.max_rate_limit_wait_s)

    async def _respect_window(self, host: str) -> None:
        window = self._windows.get(host)
        if window is None or window.remaining is None or window.reset_at is None:
            return
        left = window.reset_at - self._clock()
        if left <= 0:
            window.remaining = None
            return
        if window.remaining <= 0:
            delay = left
        elif window.limit and window.remaining < window.limit * PACE_BELOW_FRACTION:
            delay = left / window.remaining
        else:
            return
        delay = min(delay, self._policy.max_rate_limit_wait_s)
        log.info("%s: %s requests left in this rate-limit window; waiting %.1fs", host, window.remaining, delay)
        await self._sleep(delay)
        if window.remaining <= 0:
            window.remaining = None  # the window has reset; the next answer says how much is left


def _parse(body: bytes, url: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Unparsable(f"{url}: body is not JSON ({exc})") from None
