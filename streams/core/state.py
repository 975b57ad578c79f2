"""Per-account state: everything the engine knows about one account.

The engine never keeps account data anywhere else, so a Faust table keyed by account_id
can own it (``to_bytes``/``from_bytes`` for the changelog). Size is bounded by the
window limits in :class:`~streams.core.config.EngineConfig`: at most 168 hourly and 90
daily follower buckets and ``max_posts_tracked`` posts (measured by bench/bench_replay.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from streams.core.config import DAY, HOUR, EngineConfig
from streams.core.windows import BucketRing, PostObservation, PostWindow

STATE_FORMAT = 1


@dataclass(slots=True)
class Observation:
    """What the engine keeps of one input event (a snapshot has no post part)."""

    ts: float
    followers: int
    handle: str
    post_id: str | None = None
    posted_ts: int = 0
    interactions: int = 0
    views: int | None = None
    niches: tuple[str, ...] = ()
    comments: int = 0

    def order_key(self) -> tuple[float, str, int, int]:
        # Total order independent of arrival: event time, then content.
        return (self.ts, self.post_id or "", self.followers, self.interactions)

    def to_list(self) -> list[object]:
        return [
            self.ts, self.followers, self.handle, self.post_id, self.posted_ts,
            self.interactions, self.views, list(self.niches), self.comments,
        ]

    @classmethod
    def from_list(cls, raw: list) -> Observation:  # type: ignore[type-arg]
        ts, followers, handle, post_id, posted_ts, interactions, views, niches, comments = raw
        return cls(ts, followers, handle, post_id, posted_ts, interactions, views, tuple(niches), comments)


@dataclass(slots=True)
class Episode:
    """A follower-spike episode: one alert, extended while growth stays abnormal."""

    alert_id: str
    classification: str
    start_ts: int
    last_exceed_ts: int
    alert_ts: int = 0  # when the alert was raised (0 in state written before it was kept)

    def to_list(self) -> list[object]:
        return [self.alert_id, self.classification, self.start_ts, self.last_exceed_ts, self.alert_ts]


@dataclass(slots=True)
class Baseline:
    """Robust hourly growth statistics, refreshed daily (persisted: a restart must not change
    when they are refreshed, or the decisions that follow would differ)."""

    hour: int
    median_per_hour: float
    mad_per_hour: float
    rates: int


@dataclass(slots=True)
class LastProfile:
    score: float
    tier: str
    primary_niche: str
    engagement: float | None = None  # its engagement component (None in state written before it was kept)

    def to_list(self) -> list[object]:
        return [self.score, self.tier, self.primary_niche, self.engagement]


@dataclass(slots=True)
class AccountState:
    account_id: str
    platform: str
    handle: str
    hourly: BucketRing
    daily: BucketRing
    posts: PostWindow
    latest_ts: float = 0.0  # latest observation applied to the windows
    followers: int = 0
    seen_ts: float = 0.0  # latest observation received (ahead of latest_ts while buffered)
    buffer: list[Observation] = field(default_factory=list)
    episode: Episode | None = None
    # Event time a spike was first seen while its verdict waits for a young post.
    pending_since: int | None = None
    # Window start of the spike when first seen: explanations are looked for from there.
    pending_start: int | None = None
    # Alert times of suspected purchases (bounded) for the authenticity component.
    purchase_alerts: list[int] = field(default_factory=list)
    last_profile: LastProfile | None = None
    # (niche, tier, bin) this account currently contributes to the cohort summary.
    cohort_entry: tuple[str, str, int] | None = None
    baselines: dict[str, Baseline] = field(default_factory=dict)
    # (followers, baseline, guard, time) of the last short-window scan that found nothing;
    # a cache like ``baselines``, never persisted.
    short_clear: tuple[int, Baseline, float, float] | None = None
    # (ceiling, baseline, guard, time) of the last full short-window scan: while followers
    # stay below ``min(ceiling, low + its floor)`` no reference can pass the scan's
    # pre-check, so the scan is skipped. ``low_followers`` is the smallest follower count
    # applied since (every such observation may become a reference). Not persisted.
    short_ceiling: tuple[float, Baseline, float, float] | None = None
    low_followers: int = 0
    scored_ts: float = 0.0  # event time of the last influencer rescoring
    settled_ts: float = 0.0  # latest_ts when a settle pass last rescored it (not persisted)
    # (publish times of the posts, consistency score) of the last rescoring, not persisted
    consistency_cache: tuple[tuple[int, ...], float] | None = None
    # (niches of each post, niche counts, primary niche) of the last rescoring, not persisted
    niche_cache: tuple[tuple[tuple[str, ...], ...], dict[str, int], str] | None = None
    # (hour, ends, rates, bucket indices they came from or None), not persisted
    rate_cache: tuple[int, list[int], list[float], list[int] | None] | None = None

    @classmethod
    def new(cls, account_id: str, platform: str, handle: str, config: EngineConfig) -> AccountState:
        return cls(
            account_id=account_id,
            platform=platform,
            handle=handle,
            hourly=BucketRing(HOUR, config.hourly_buckets_kept),
            daily=BucketRing(DAY, config.daily_buckets_kept),
            posts=PostWindow(config.max_posts_tracked, config.post_max_age_s),
        )

    def observe_followers(self, ts: float, followers: int) -> None:
        # BucketRing.observe, with its common case inlined: a newer observation in a bucket
        # that already exists (always for the daily ring, often for the hourly one).
        entry = (int(ts), followers)
        for ring in (self.hourly, self.daily):
            index = int(ts // ring.width)
            current = ring.buckets.get(index)
            if current is not None and ts >= current[0]:
                ring.buckets[index] = entry
                if index < ring.mark:
                    ring.mark = index
            else:
                ring.observe(ts, followers)
        if followers < self.low_followers:
            self.low_followers = followers
        clear = self.short_clear
        if clear is not None and followers < clear[0]:
            # A count below the last empty scan's may become a reference the growth back
            # up is measured from: that scan no longer says nothing can be found.
            self.short_clear = None
        if ts >= self.latest_ts:
            self.latest_ts = ts
            self.followers = followers

    def niche_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for post in self.posts.posts.values():
            for niche in post.niches:
                counts[niche] = counts.get(niche, 0) + 1
        return counts

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        return {
            "v": STATE_FORMAT,
            "a": self.account_id,
            "p": self.platform,
            "h": self.handle,
            "t": self.latest_ts,
            "s": self.seen_ts,
            "B": [o.to_list() for o in self.buffer],
            "f": self.followers,
            "H": self.hourly.to_flat(),
            "D": self.daily.to_flat(),
            "P": {pid: post.to_list() for pid, post in self.posts.posts.items()},
            "E": self.episode.to_list() if self.episode else None,
            "W": [self.pending_since, self.pending_start] if self.pending_since is not None else None,
            "X": self.purchase_alerts,
            "L": self.last_profile.to_list() if self.last_profile else None,
            "C": list(self.cohort_entry) if self.cohort_entry else None,
            "S": self.scored_ts,
            "b": {key: [b.hour, b.median_per_hour, b.mad_per_hour, b.rates] for key, b in self.baselines.items()},
        }

    @classmethod
    def from_dict(cls, raw: dict, config: EngineConfig) -> AccountState:  # type: ignore[type-arg]
        if raw.get("v") != STATE_FORMAT:
            raise ValueError(f"unknown account state format {raw.get('v')!r}")
        posts = {pid: PostObservation.from_list(p) for pid, p in raw["P"].items()}
        return cls(
            account_id=raw["a"],
            platform=raw["p"],
            handle=raw["h"],
            hourly=BucketRing.from_flat(HOUR, config.hourly_buckets_kept, raw["H"]),
            daily=BucketRing.from_flat(DAY, config.daily_buckets_kept, raw["D"]),
            posts=PostWindow(config.max_posts_tracked, config.post_max_age_s, posts),
            latest_ts=raw["t"],
            seen_ts=raw["s"],
            buffer=[Observation.from_list(o) for o in raw["B"]],
            followers=raw["f"],
            episode=Episode(*raw["E"]) if raw["E"] else None,
            pending_since=raw["W"][0] if raw["W"] else None,
            pending_start=raw["W"][1] if raw["W"] else None,
            purchase_alerts=list(raw["X"]),
            last_profile=LastProfile(*raw["L"]) if raw["L"] else None,
            cohort_entry=tuple(raw["C"]) if raw["C"] else None,  # type: ignore[arg-type]
            scored_ts=raw.get("S", 0.0),
            baselines={key: Baseline(*b) for key, b in raw.get("b", {}).items()},
        )

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_bytes(cls, raw: bytes, config: EngineConfig) -> AccountState:
        return cls.from_dict(orjson.loads(raw), config)
