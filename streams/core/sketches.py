"""Bounded sketches for the tag statistics: space-saving heavy hitters and a KMV account sample.

Why these two:

* **Space-saving** (Metwally et al.) keeps the ``capacity`` most frequent keys with a count
  that is exact while a key has never been evicted and otherwise over-estimates by at most
  the recorded ``error``. Tags follow a long tail, and the questions asked (is this tracked
  tag generic? which frequent untracked tag goes with the niche?) are about the heavy
  hitters, which space-saving keeps exactly; each kept key can carry its own small record
  (accounts, co-occurrence), which a count-min sketch cannot. Eviction uses a lazy min-heap,
  so an increment is a dict update and an eviction is amortised O(log capacity).
* **KMV** (k minimum hash values) over account ids: the ``k`` accounts with the smallest
  64-bit hashes are a uniform sample of the *distinct* accounts, whatever their posting
  rate. It gives the distinct count (exact below ``k``, ``(k-1)/max_hash`` above) and,
  because each sampled account keeps its latest followers and engagement rate, the medians
  over accounts (not over posts, which prolific posters would dominate). Hash-based, so it
  is deterministic and two samples merge by taking the ``k`` smallest of their union.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Generic, Protocol, TypeVar

HASH_SPACE = float(1 << 64)


@lru_cache(maxsize=65_536)  # account ids repeat on every post
def account_hash(account_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(account_id.encode(), digest_size=8).digest(), "big")


class AccountSample:
    """KMV sample of distinct accounts with each one's latest (followers, engagement rate)."""

    __slots__ = ("k", "values", "threshold")

    def __init__(self, k: int) -> None:
        self.k = k
        self.values: dict[int, tuple[int, float]] = {}
        self.threshold = 1 << 64  # largest kept hash once full; nothing at or above it enters

    def observe(self, account_id: str, followers: int, rate: float) -> None:
        h = account_hash(account_id)
        values = self.values
        if h in values:
            values[h] = (followers, rate)
            return
        if h >= self.threshold:
            return
        values[h] = (followers, rate)
        if len(values) > self.k:
            del values[max(values)]
        if len(values) == self.k:
            self.threshold = max(values)

    def merge(self, other: AccountSample) -> None:
        """Union with another sample of the same ``k`` (an account seen by both keeps ``other``'s values)."""
        values = self.values
        values.update(other.values)
        if len(values) > self.k:
            for h in sorted(values)[self.k:]:
                del values[h]
        # The k smallest of the union are the union's sample: each side held every hash of
        # its own below its k-th, and the union's k-th is at most either side's.
        self.threshold = max(values) if len(values) == self.k else 1 << 64

    def distinct(self) -> int:
        """Distinct accounts seen: exact below ``k``, the KMV estimate above."""
        if len(self.values) < self.k:
            return len(self.values)
        return round((self.k - 1) / (self.threshold / HASH_SPACE))

    def median_followers(self) -> float:
        return _median([f for f, _ in self.values.values()])

    def median_rate(self) -> float:
        return _median([r for _, r in self.values.values()])


class Counted(Protocol):
    count: int
    error: int


E = TypeVar("E", bound=Counted)


class SpaceSaving(Generic[E]):
    """At most ``capacity`` keys; a new key beyond it replaces the least counted one."""

    __slots__ = ("capacity", "entries", "_heap", "_new")

    def __init__(self, capacity: int, new: Callable[[int], E]) -> None:
        self.capacity = capacity
        self.entries: dict[str, E] = {}
        self._heap: list[tuple[int, str]] = []  # one record per key; its count may be stale (lower)
        self._new = new  # builds an entry whose count and error are the given floor

    def entry(self, key: str) -> E:
        """The key's entry (created, evicting the minimum when full); the caller increments it."""
        entry = self.entries.get(key)
        if entry is not None:
            return entry
        floor = 0
        if len(self.entries) >= self.capacity:
            floor = self._evict_min()
        entry = self._new(floor)
        self.entries[key] = entry
        heapq.heappush(self._heap, (floor, key))
        return entry

    def get(self, key: str) -> E | None:
        return self.entries.get(key)

    def items(self) -> Iterator[tuple[str, E]]:
        return iter(self.entries.items())

    def __len__(self) -> int:
        return len(self.entries)

    def merge(self, other: SpaceSaving[E], combine: Callable[[E, E], None], copy: Callable[[E], E]) -> None:
        """Fold another sketch in (Agarwal et al.'s mergeable summaries): counts add up; a key
        missing from a full side may have had up to that side's minimum there, which is added
        to its count and error; then the least counted keys beyond ``capacity`` are dropped."""
        mine_min = self._min_count() if len(self.entries) >= self.capacity else 0
        theirs_min = other._min_count() if len(other.entries) >= other.capacity else 0
        entries = self.entries
        for key, entry in entries.items():
            if key not in other.entries and theirs_min:
                entry.count += theirs_min
                entry.error += theirs_min
        for key, theirs in other.entries.items():
            mine = entries.get(key)
            if mine is None:
                added = copy(theirs)
                added.count += mine_min
                added.error += mine_min
                entries[key] = added
            else:
                combine(mine, theirs)
        if len(entries) > self.capacity:
            ranked = sorted(entries, key=lambda k: (-entries[k].count, k))
            for key in ranked[self.capacity:]:
                del entries[key]
        self._heap = [(entry.count, key) for key, entry in entries.items()]
        heapq.heapify(self._heap)

    def _min_count(self) -> int:
        return min((entry.count for entry in self.entries.values()), default=0)

    def _evict_min(self) -> int:
        heap, entries = self._heap, self.entries
        while True:
            count, key = heapq.heappop(heap)
            current = entries[key].count
            if current == count:
                del entries[key]
                return count
            heapq.heappush(heap, (current, key))  # stale: re-file at its real count


def _median(values: list[float] | list[int]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    mid = len(ordered) // 2
    return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0
