"""Bounded, event-time rolling windows of one account.

Follower observations (from posts and snapshots) land in two bucket rings; each bucket
keeps the *latest* observation that fell into it, so re-delivered or out-of-order events
never add up, they only refine::

    event time  ─────────────────────────────────────────────────────────────▶ latest
    hourly      [h-167][h-166] ...                          [h-2][h-1][ h ]   168 x 1h (7 days)
    daily       [d-89] ...                                  [d-2][d-1][ d ]    90 x 1d
                each bucket = (ts, followers) of the last observation inside it

Posts are kept by post_id (the latest observation of each post replaces the earlier
one), at most ``max_posts`` of the most recently published, none older than
``post_max_age_s``::

    posts       {post_id: (posted, observed, interactions, followers, views, niches,
                           comments, previous interactions, previous observed)}

Each post also keeps the observation before its latest one (two ints: its interactions
and when it was made), so how much a post gained between two looks can be compared with
how the account's posts normally grow with age (core/src/engine/maturity.rs: real
newcomers engage with posts already published, bought followers do not).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import attrgetter

from streams.core.config import DAY, HOUR


class BucketRing:
    """``index -> (ts, followers)`` keeping the latest observation per bucket and ``keep`` buckets.

    ``order`` holds the bucket indices sorted, so window scans touch only buckets that
    exist (observations are often hours apart) and never sort on the hot path.
    """

    __slots__ = ("width", "keep", "buckets", "order", "mark")

    def __init__(self, width: float, keep: int, buckets: dict[int, tuple[int, int]] | None = None) -> None:
        self.width = width
        self.keep = keep
        self.buckets: dict[int, tuple[int, int]] = buckets if buckets is not None else {}
        self.order: list[int] = sorted(self.buckets)
        # Lowest bucket index written since a reader last reset it (-1: everything is new),
        # so derived data over unchanged buckets can be kept (see spikes._hourly_rates).
        self.mark = -1

    def observe(self, ts: float, followers: int) -> None:
        index = int(ts // self.width)
        current = self.buckets.get(index)
        if current is None or ts >= current[0]:
            self.buckets[index] = (int(ts), followers)
            if index < self.mark:
                self.mark = index
            if current is None:
                order = self.order
                if not order or index > order[-1]:
                    order.append(index)
                else:
                    insort(order, index)
                # Pruning in batches of a day keeps the per-observation cost O(1); the
                # ring holds at most keep + 24 buckets.
                if len(order) > self.keep + 24:
                    self._prune()

    def _prune(self) -> None:
        cut = bisect_left(self.order, self.order[-1] - self.keep + 1)
        for index in self.order[:cut]:
            del self.buckets[index]
        del self.order[:cut]

    def ordered(self) -> list[tuple[int, int]]:
        """Observations oldest first."""
        buckets = self.buckets
        return [buckets[i] for i in self.order]

    def between(self, start_ts: float, end_ts: float) -> Iterator[tuple[int, int]]:
        """Observations with ``start_ts <= t <= end_ts``, oldest first."""
        order, buckets = self.order, self.buckets
        last = int(end_ts // self.width)
        for position in range(bisect_left(order, int(start_ts // self.width)), len(order)):
            index = order[position]
            if index > last:
                break
            entry = buckets[index]
            if start_ts <= entry[0] <= end_ts:
                yield entry

    def at_or_before(self, ts: float) -> tuple[int, int] | None:
        """The latest observation at or before ``ts``."""
        order, buckets = self.order, self.buckets
        position = bisect_right(order, int(ts // self.width)) - 1
        while position >= 0:
            entry = buckets[order[position]]
            if entry[0] <= ts:
                return entry
            position -= 1
        return None

    def earliest(self) -> tuple[int, int] | None:
        return self.buckets[self.order[0]] if self.order else None

    def to_flat(self) -> list[int]:
        flat: list[int] = []
        for index in self.order:
            ts, followers = self.buckets[index]
            flat += (ts, followers)
        return flat

    @classmethod
    def from_flat(cls, width: float, keep: int, flat: list[int]) -> BucketRing:
        it = iter(flat)
        return cls(width, keep, {int(ts // width): (ts, f) for ts, f in zip(it, it)})


def hourly_ring(keep: int) -> BucketRing:
    return BucketRing(HOUR, keep)


def daily_ring(keep: int) -> BucketRing:
    return BucketRing(DAY, keep)


@dataclass(slots=True)
class PostObservation:
    posted_ts: int
    observed_ts: int
    interactions: int  # likes + comments + shares at observation time
    followers: int  # the account's followers when the post was observed
    views: int | None
    niches: tuple[str, ...]
    comments: int = 0  # giveaways and shout-outs show up in comments first ("tag two friends")
    # The observation before this one (0, 0: none): what the post gained between two looks.
    prev_interactions: int = 0
    prev_observed_ts: int = 0
    # engagement_rate, computed once: every rescoring reads it for each post (not persisted)
    rate: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.rate = self.interactions / self.followers if self.followers > 0 else 0.0

    @property
    def engagement_rate(self) -> float:
        return self.interactions / self.followers if self.followers > 0 else 0.0

    def to_list(self) -> list[object]:
        # The previous look is written as seconds before this one (a short number).
        gap = self.observed_ts - self.prev_observed_ts if self.prev_observed_ts else 0
        return [
            self.posted_ts, self.observed_ts, self.interactions, self.followers, self.views, list(self.niches),
            self.comments, self.prev_interactions, gap,
        ]

    @classmethod
    def from_list(cls, raw: list) -> PostObservation:  # type: ignore[type-arg]
        posted, observed, interactions, followers, views, niches, comments = raw[:7]
        previous, gap = raw[7:9] if len(raw) >= 9 else (0, 0)  # state written before previous looks were kept
        return cls(posted, observed, interactions, followers, views, tuple(niches), comments, previous,
                   observed - gap if gap else 0)


_posted_of = attrgetter("posted_ts")


class PostWindow:
    """The latest observation of each recent post, bounded in count and age."""

    __slots__ = ("max_posts", "max_age_s", "posts")

    def __init__(self, max_posts: int, max_age_s: float, posts: dict[str, PostObservation] | None = None) -> None:
        self.max_posts = max_posts
        self.max_age_s = max_age_s
        self.posts: dict[str, PostObservation] = posts if posts is not None else {}

    def observe(self, post_id: str, observation: PostObservation, latest_ts: float) -> bool:
        """Record an observation; returns False when it is older than what is already known."""
        current = self.posts.get(post_id)
        if current is not None:
            if observation.observed_ts < current.observed_ts:
                return False
            if observation.observed_ts > current.observed_ts:
                observation.prev_interactions = current.interactions
                observation.prev_observed_ts = current.observed_ts
            else:  # the same look again (redelivered): the one before it stays the previous
                observation.prev_interactions = current.prev_interactions
                observation.prev_observed_ts = current.prev_observed_ts
        self.posts[post_id] = observation  # replaces: a re-observed post never counts twice
        if current is None:
            self._evict(latest_ts)
        return post_id in self.posts

    def _evict(self, latest_ts: float) -> None:
        horizon = latest_ts - self.max_age_s
        posts = self.posts
        if min(map(_posted_of, posts.values())) < horizon:
            stale = [pid for pid, p in posts.items() if p.posted_ts < horizon]
            for pid in stale:
                del posts[pid]
        excess = len(posts) - self.max_posts
        if excess == 1:  # the usual case: one new post over the limit
            del posts[min(posts, key=lambda pid: (posts[pid].posted_ts, pid))]
        elif excess > 0:
            oldest = sorted(self.posts, key=lambda pid: (self.posts[pid].posted_ts, pid))[:excess]
            for pid in oldest:
                del self.posts[pid]

    def __len__(self) -> int:
        return len(self.posts)

    def values(self) -> list[PostObservation]:
        return list(self.posts.values())
