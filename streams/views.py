"""Read models and the read-only HTTP API.

    GET /accounts/{account_id}        windows, score and recent alerts of one account
                                      (answered by the worker that owns the account)
    GET /niches/{niche}/top?limit=N   top micro-influencers of a niche
    GET /alerts/recent?limit=N        the latest follower-spike alerts
    GET /  and  /console/account?id=  the console's HTML pages (streams.console)

Influencer profiles and alerts are read from their own topics by every worker
(streams.follower; profiles kept bounded by streams.console.leaderboard), so any worker
answers the niche and alert queries for the whole cluster; account state lives in the
partitioned table, so account queries are routed to the key's owner with Faust's table
router.
"""

from __future__ import annotations

import logging
from collections import deque
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp.http_exceptions import HttpProcessingError

from streams.core.state import AccountState

MAX_LIMIT = 100
RECENT_ALERTS_KEPT = 500


class RecentAlerts:
    """The newest alerts (bounded), from the alert topic."""

    def __init__(self, kept: int = RECENT_ALERTS_KEPT) -> None:
        self._alerts: deque[dict[str, Any]] = deque(maxlen=kept)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if value is not None:
            self._alerts.append(orjson.loads(value))

    def latest(self, limit: int, account_id: str | None = None) -> list[dict[str, Any]]:
        found = [a for a in reversed(self._alerts) if account_id is None or a.get("account_id") == account_id]
        return found[:limit]


def account_summary(state: AccountState) -> dict[str, Any]:
    def iso(ts: float) -> str:
        return datetime.fromtimestamp(ts, UTC).isoformat()

    posts = sorted(state.posts.values(), key=lambda p: p.posted_ts, reverse=True)
    return {
        "account_id": state.account_id,
        "platform": state.platform,
        "handle": state.handle,
        "followers": state.followers,
        "latest_observation": iso(state.latest_ts) if state.latest_ts else None,
        "followers_hourly": [{"at": iso(ts), "followers": f} for ts, f in state.hourly.ordered()],
        "followers_daily": [{"at": iso(ts), "followers": f} for ts, f in state.daily.ordered()],
        "posts": [
            {"posted_at": iso(p.posted_ts), "interactions": p.interactions, "engagement_rate": round(p.engagement_rate, 5),
             "niches": list(p.niches)}
            for p in posts
        ],
        "niche_post_counts": state.niche_counts(),
        "score": (
            {"score": state.last_profile.score, "tier": state.last_profile.tier,
             "primary_niche": state.last_profile.primary_niche}
            if state.last_profile else None
        ),
        "open_episode": (
            {"alert_id": state.episode.alert_id, "classification": state.episode.classification,
             "started_at": iso(state.episode.start_ts)}
            if state.episode else None
        ),
    }


def parse_limit(raw: str | None, default: int = 10) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


class ClientErrorLogFilter(logging.Filter):
    """One WARNING line, no traceback, for a request the HTTP server refused with a 4xx.

    aiohttp logs a request it cannot parse (a 70 KB URL, raw 0xFF bytes in the path) at
    ERROR with a traceback, after answering it 400 itself: the client's mistake, not ours.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= exc.code < 500:
            detail = " ".join(str(exc.message).split())[:200]
            record.msg, record.args = "%s: answered %d: %s", (record.getMessage(), exc.code, detail)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


def quiet_client_errors(logger_name: str = "aiohttp.server") -> None:
    """Install :class:`ClientErrorLogFilter` on the HTTP server's logger (once)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, ClientErrorLogFilter) for f in logger.filters):
        logger.addFilter(ClientErrorLogFilter())
