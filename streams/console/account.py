"""An account's page from the worker that owns it: its state, its alerts, its profile."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from streams.console.charts import DAY, PostMark, Shade, follower_chart
from streams.console.freshness import Freshness
from streams.console.pages import AccountPage
from streams.core.state import AccountState
from streams.core.windows import BucketRing

WEEK_S = 7 * DAY
QUARTER_S = 90 * DAY


def _ts(value: object) -> float | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def alert_shades(alerts: Sequence[Mapping[str, Any]]) -> list[Shade]:
    shades = []
    for alert in alerts:
        start, end = _ts(alert.get("window_start")), _ts(alert.get("window_end"))
        if start is None or end is None:
            continue
        label = f"{alert.get('classification', '')}: {alert.get('growth', '?')} followers"
        shades.append(Shade(start, end, str(alert.get("classification", "")), label))
    return shades


def post_marks(state: AccountState, ring: BucketRing) -> list[PostMark]:
    """Each post on the curve where it was published (the ring's latest observation before it)."""
    marks = []
    for post in state.posts.values():
        known = ring.at_or_before(post.posted_ts)
        label = (f"post {datetime.fromtimestamp(post.posted_ts, UTC).strftime('%Y-%m-%d %H:%M')}: "
                 f"{post.interactions:,} interactions ({post.engagement_rate:.2%})")
        marks.append(PostMark(post.posted_ts, known[1] if known else post.followers, post.interactions, label))
    return marks


def account_page(state: AccountState, alerts: Sequence[Mapping[str, Any]], profile: Mapping[str, Any] | None,
                 freshness: Freshness | None = None) -> AccountPage:
    end = state.latest_ts
    shades = alert_shades(alerts)
    charts = [
        ("Followers, hourly, last 7 days",
         follower_chart(f"{state.handle}: followers per hour", state.hourly.ordered(), end - WEEK_S, end, shades,
                        post_marks(state, state.hourly))),
        ("Followers, daily, last 90 days",
         follower_chart(f"{state.handle}: followers per day", state.daily.ordered(), end - QUARTER_S, end, shades,
                        post_marks(state, state.daily))),
    ]
    last = state.last_profile
    return AccountPage(
        account_id=state.account_id,
        platform=state.platform,
        handle=state.handle,
        followers=state.followers,
        latest_at=state.latest_ts,
        charts=charts,
        alerts=alerts,
        profile=profile,
        last_score=(last.score, last.tier, last.primary_niche) if last else None,
        niche_posts=state.niche_counts(),
        freshness=freshness,
    )
