"""Small deterministic account histories for tests and benchmarks (not the simulator).

Each account grows organically with noise, posts on a cadence and is polled by snapshots;
posts are re-observed as their counters grow. Scenarios bend the follower curve:
a bought step (engagement unchanged: the new followers are not real), a drip-fed purchase,
a viral post followed by real growth, a good (not viral) post followed by a proportional
gain (``earlier_good_posts`` more of them, every 40 h before it, teach the account's
conversion), real followers arriving from off the platform over a day and a half with no post
to explain them (press), and a purge.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

HOUR = 3600
START = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())

Scenario = Literal["none", "purchase_step", "purchase_drip", "viral", "good_post", "press", "purge"]
PRESS_HOURS = 36.0
GOOD_POST_SPACING_H = 40.0
GAIN_HOURS = 36.0


@dataclass
class AccountSpec:
    account_id: str
    followers: int = 12_000
    growth_per_day: float = 0.003
    engagement_rate: float = 0.04
    engagement_noise: float = 0.35  # log-normal sigma of a post's interactions
    post_every_h: float = 20.0
    snapshot_every_h: float = 1.0
    scenario: Scenario = "none"
    scenario_at_h: float = 24 * 8
    amount: int = 2_000
    good_multiple: float = 3.0  # interactions of a good post, x the usual
    earlier_good_posts: int = 0
    tags: list[str] = field(default_factory=lambda: ["#fountainpens", "#ink"])


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def account_events(spec: AccountSpec, days: float = 12.0, seed: int = 0) -> Iterator[dict]:
    """Events of one account in event-time order."""
    rng = random.Random(f"{spec.account_id}:{seed}")
    platform, _, handle = spec.account_id.partition(":")
    real, bought = float(spec.followers), 0
    post_id = 0
    pending_observations: list[tuple[float, dict]] = []
    viral_post_at: float | None = None
    good_at = [spec.scenario_at_h - GOOD_POST_SPACING_H * k for k in range(spec.earlier_good_posts, -1, -1)]
    gains: list[float] = []  # start hours of the gains good posts bring
    step = 0.25  # hours per simulation tick
    next_snapshot, next_post = 0.0, rng.uniform(0, spec.post_every_h)
    hours = 0.0
    while hours < days * 24:
        ts = START + hours * HOUR
        real += real * spec.growth_per_day / 24 * step * rng.uniform(0.2, 1.8)
        at = spec.scenario_at_h
        if spec.scenario == "purchase_step" and at <= hours < at + step:
            bought += spec.amount
        elif spec.scenario == "purchase_drip" and at <= hours < at + 24 * 5:
            bought += spec.amount / (24 * 5 / step)
        elif spec.scenario == "press" and at <= hours < at + PRESS_HOURS:
            real += spec.amount / (PRESS_HOURS / step)  # people who read about the account: they engage
        elif spec.scenario == "purge" and at <= hours < at + step:
            real -= spec.amount
        elif spec.scenario == "viral" and viral_post_at is not None and hours - viral_post_at < 36:
            real += spec.amount / (36 / step)
        for began in gains:
            if hours - began < GAIN_HOURS:
                real += spec.amount * (1 - math.exp(-step / 8)) * math.exp(-(hours - began) / 8) / (1 - math.exp(-GAIN_HOURS / 8))
        followers = int(real + bought)

        if spec.scenario == "viral" and viral_post_at is None and hours >= at - 2:
            next_post = hours
        good_now = spec.scenario == "good_post" and bool(good_at) and hours >= good_at[0]
        if good_now:
            next_post = hours
        if hours >= next_post:
            post_id += 1
            multiple = 15.0 if spec.scenario == "viral" and viral_post_at is None and hours >= at - 2 else 1.0
            if multiple > 1:
                viral_post_at = hours
            if good_now:
                multiple = spec.good_multiple
                gains.append(good_at.pop(0))
            final = real * spec.engagement_rate * math.exp(rng.gauss(0, spec.engagement_noise)) * multiple
            template = {
                "kind": "post",
                "schema_version": 1,
                "post_id": f"{spec.account_id}/{post_id}",
                "platform": platform,
                "account_id": spec.account_id,
                "handle": handle,
                "posted_at": iso(ts),
                "following": 300,
                "views": None,
                "tags": spec.tags,
                "text": None,
            }
            for age_h in (1.0, 6.0, 24.0, 72.0):  # a collector's re-observation schedule
                pending_observations.append((hours + age_h, {**template, "_final": final, "_age": age_h}))
            next_post = hours + spec.post_every_h * rng.uniform(0.7, 1.3)
        due = [p for p in pending_observations if p[0] <= hours]
        pending_observations = [p for p in pending_observations if p[0] > hours]
        for _, obs in due:
            got = obs.pop("_final") * (1 - math.exp(-obs.pop("_age") / 4.0))
            yield {
                **obs,
                "observed_at": iso(ts),
                "followers": followers,
                "likes": int(got * 0.9),
                "comments": int(got * 0.08),
                "shares": int(got * 0.02),
            }
        if hours >= next_snapshot:
            yield {
                "kind": "snapshot",
                "schema_version": 1,
                "platform": platform,
                "account_id": spec.account_id,
                "handle": handle,
                "observed_at": iso(ts),
                "followers": followers,
                "following": 300,
                "posts_count": post_id,
            }
            next_snapshot = hours + spec.snapshot_every_h
        hours += step


def merged_events(specs: list[AccountSpec], days: float = 12.0, seed: int = 0) -> list[dict]:
    """All accounts' events in one event-time-ordered list."""
    events = [e for spec in specs for e in account_events(spec, days, seed)]
    events.sort(key=lambda e: e["observed_at"])
    return events
