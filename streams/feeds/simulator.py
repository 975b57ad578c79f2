"""A deterministic, labelled synthetic feed of niche-community posts and profile snapshots.

    Scenario(seed)                      the world: accounts, incidents, ground truth
      .events()  -> Iterator[dict]      posts and snapshots, ordered by arrival
      .truth     -> list[TruthEvent]    one line per injected incident or labelled ordinary-life event
      .niches    -> {niche: [tag]}      the niche definitions to load into the engine
      .write(events, truth, niches)     the three files

Same seed, same bytes: no global ``random``, no wall clock. Simulated time starts at
``DEFAULT_START`` unless told otherwise. Incidents start after ``warmup_days`` so that a
detector has a baseline to compare against. With ``max_jitter_seconds`` > 0 events arrive
up to that much after they were observed, so ``observed_at`` is only mostly in order, as
in a real feed. ``knobs`` (streams/feeds/realism.py) set the ordinary-life parameters a
robustness sweep varies; each account's traits come from their own random stream, so one
knob changed leaves the rest of the world as it was.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from streams.feeds import injections
from streams.feeds.catalogue import canonical_niches
from streams.feeds.injections import TruthEvent
from streams.feeds.population import draw_profiles
from streams.feeds.realism import DAY, Traits, WorldKnobs, draw_traits
from streams.feeds.timeline import AccountTimeline, Record, iso, simulate_account

DEFAULT_START = datetime(2026, 3, 1, tzinfo=UTC)
DEFAULT_ACCOUNTS = 1_500
DEFAULT_DAYS = 30
SCHEMA_VERSION = 1


class Scenario:
    def __init__(
        self,
        seed: int,
        accounts: int = DEFAULT_ACCOUNTS,
        days: int = DEFAULT_DAYS,
        start: datetime = DEFAULT_START,
        *,
        warmup_days: float = 7.0,
        max_jitter_seconds: float = 0.0,
        knobs: WorldKnobs | None = None,
    ) -> None:
        if accounts < 20:
            raise ValueError("a scenario needs at least 20 accounts")
        if days < warmup_days + 5:
            raise ValueError(f"days must be at least warm-up + 5 ({warmup_days + 5:g}) to leave room for incidents")
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if max_jitter_seconds < 0:
            raise ValueError("max_jitter_seconds must not be negative")
        self.seed = seed
        self.accounts = accounts
        self.days = days
        self.start = start
        self.warmup_days = warmup_days
        self.max_jitter_seconds = max_jitter_seconds
        self.knobs = knobs if knobs is not None else WorldKnobs()

    @cached_property
    def _timelines(self) -> list[AccountTimeline]:
        rng = random.Random(f"nichewatch:{self.seed}:world")
        spam = max(1, round(injections.SPAM_SHARE * self.accounts))
        profiles = draw_profiles(rng, self.accounts, spam)
        start = int(self.start.timestamp())
        planned, mentions = injections.plan(rng, profiles, start, self.days, self.warmup_days)
        by_account = {injection.account_index: injection for injection in planned}
        # Outages fall on clean accounts after the warm-up, and end a day before the scenario does.
        outage_window = (start + int(self.warmup_days * DAY), start + (self.days - 1) * DAY)
        timelines = []
        for profile in profiles:
            injection = by_account.get(profile.index)
            clean = injection is None and not profile.spam
            traits = draw_traits(self.seed, profile.index, self.knobs, profile.daily_growth, self.days,
                                 outage_window if clean else None)
            timelines.append(simulate_account(self.seed, profile, injection, mentions.get(profile.index, ()),
                                              start, self.days, self.max_jitter_seconds, self.knobs, traits))
        return timelines

    @property
    def truth(self) -> list[TruthEvent]:
        """Injected incidents first (at most one per account), then labelled ordinary life."""
        incidents = [t.truth for t in self._timelines if t.truth is not None]
        return incidents + [life for t in self._timelines for life in t.life]

    @property
    def traits(self) -> dict[str, Traits]:
        """account_id -> its ordinary-life traits (cadence, rounding, drift, outages)."""
        return {t.profile.account_id: t.traits for t in self._timelines}

    @property
    def niches(self) -> dict[str, list[str]]:
        return canonical_niches()

    def events(self) -> Iterator[dict[str, Any]]:
        """Every observation, in arrival order (ties broken by account and sequence)."""
        timelines = self._timelines
        for record in heapq.merge(*(t.records for t in timelines)):
            yield _render(timelines[record[1]], record)

    def write(self, events_path: Path, truth_path: Path, niches_path: Path) -> int:
        """Write the three files; returns the number of events written."""
        count = 0
        with events_path.open("wb") as out:
            for event in self.events():
                out.write(orjson.dumps(event) + b"\n")
                count += 1
        with truth_path.open("wb") as out:
            for truth in self.truth:
                out.write(orjson.dumps(truth.as_dict()) + b"\n")
        niches_path.write_bytes(orjson.dumps(self.niches, option=orjson.OPT_INDENT_2) + b"\n")
        return count


def _render(timeline: AccountTimeline, record: Record) -> dict[str, Any]:
    _, _, _, observed, post, likes, comments, shares, views, followers, following, posts_count = record
    profile = timeline.profile
    if post < 0:
        return {
            "kind": "snapshot",
            "schema_version": SCHEMA_VERSION,
            "platform": profile.platform,
            "account_id": profile.account_id,
            "handle": profile.handle,
            "observed_at": iso(observed),
            "followers": followers,
            "following": following,
            "posts_count": posts_count,
        }
    info = timeline.posts[post]
    return {
        "kind": "post",
        "schema_version": SCHEMA_VERSION,
        "post_id": info.post_id,
        "platform": profile.platform,
        "account_id": profile.account_id,
        "handle": profile.handle,
        "posted_at": info.posted_at,
        "observed_at": iso(observed),
        "followers": followers,
        "following": following,
        "likes": likes,
        "comments": comments,
        "shares": shares,
        "views": views,
        "tags": list(info.tags),
        "text": info.text,
    }
