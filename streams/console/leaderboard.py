"""Leaderboards from the influencers topic, bounded: the top of each (niche, tier, platform).

Every worker follows the whole compacted influencers topic, which holds the latest profile
of every account (a million at a million accounts). Only what a leaderboard can show is
kept here::

    influencers topic (source of truth)          this worker
    ───────────────────────────────────          ──────────────────────────────────────────────
    account_id -> latest InfluencerProfile  ──►  board (niche, tier, platform) -> best `capacity`
                                                 entries, sorted (-score, account_id)
                                                 account_id -> the boards it sits on
                                                 + latest profile of recently alerted accounts

A profile enters each board of its niches (for its tier and platform) when the board has
room or the profile beats the board's last entry, which then drops out. A profile replaces
the account's earlier entries. Boards keep ``capacity = 2 x shown`` entries: the lower half
is a reserve that refills the shown half when an account's score falls or its profile is
deleted. An account that dropped out is only seen again when its profile is re-published
(on a material score change) or when the worker restarts and reads the topic again, so the
shown ranks are exact unless more than ``shown`` accounts of one board fell since.

Memory is ``boards x capacity`` entries (raw profile bytes, parsed when a page asks),
whatever the number of accounts (bench/console_memory.py measures it).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, NamedTuple

import orjson

TIERS: tuple[str, ...] = ("nano", "micro", "mid", "macro", "mega")
SHOWN_PER_BOARD = 100
PINNED_KEPT = 500


class BoardKey(NamedTuple):
    niche: str
    tier: str
    platform: str


class _Entry(NamedTuple):
    rank_key: float  # -score: boards sort ascending, best first
    account_id: str
    key: bytes  # the record key on the influencers topic
    raw: bytes


class LeaderboardStore:
    """Top ``shown`` profiles per (niche, tier, platform), maintained one record at a time."""

    def __init__(self, shown: int = SHOWN_PER_BOARD, pinned_kept: int = PINNED_KEPT) -> None:
        self.shown = shown
        self.capacity = 2 * shown
        self._boards: dict[BoardKey, list[_Entry]] = {}
        self._placed: dict[bytes, tuple[_Entry, list[BoardKey]]] = {}
        # Accounts with a recent alert keep their latest profile even off the boards, so
        # a flagged account's page can show its score components.
        self._pinned: OrderedDict[bytes, bytes | None] = OrderedDict()
        self._pinned_kept = pinned_kept

    # --- updates (the influencers and alerts followers) ----------------------------------
    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the influencers topic: a new latest profile, or a deletion."""
        if key is None:
            return
        self._remove(key)
        if value is None:
            self._pinned.pop(key, None)
            return
        profile = orjson.loads(value)
        entry = _Entry(-float(profile.get("score", 0.0)), str(profile.get("account_id", "")), key, value)
        tier, platform = str(profile.get("tier", "")), str(profile.get("platform", ""))
        placed: list[BoardKey] = []
        for niche in dict.fromkeys(profile.get("niches") or ()):
            board_key = BoardKey(str(niche), tier, platform)
            if self._insert(board_key, entry):
                placed.append(board_key)
        if placed:
            self._placed[key] = (entry, placed)
        if key in self._pinned:
            self._pinned[key] = value

    def pin(self, key: bytes | None) -> None:
        """Keep this account's latest profile while it is among the recently alerted ones."""
        if key is None:
            return
        current = self._placed.get(key)
        self._pinned[key] = current[0].raw if current else self._pinned.get(key)
        self._pinned.move_to_end(key)
        while len(self._pinned) > self._pinned_kept:
            self._pinned.popitem(last=False)

    def _insert(self, board_key: BoardKey, entry: _Entry) -> bool:
        board = self._boards.setdefault(board_key, [])
        if len(board) >= self.capacity and entry[:2] >= board[-1][:2]:
            return False
        insort(board, entry)
        if len(board) > self.capacity:
            dropped = board.pop()
            self._forget_board(dropped.key, board_key)
        return True

    def _forget_board(self, key: bytes, board_key: BoardKey) -> None:
        placed = self._placed.get(key)
        if placed is None:
            return
        placed[1].remove(board_key)
        if not placed[1]:
            del self._placed[key]

    def _remove(self, key: bytes) -> None:
        placed = self._placed.pop(key, None)
        if placed is None:
            return
        entry, board_keys = placed
        for board_key in board_keys:
            board = self._boards[board_key]
            position = bisect_left(board, entry[:2])
            if position < len(board) and board[position].key == key:
                del board[position]
            if not board:
                del self._boards[board_key]

    # --- reads (pages and the JSON API) --------------------------------------------------
    def board(self, niche: str, tier: str | None = None, platform: str | None = None,
              limit: int | None = None) -> list[dict[str, Any]]:
        """Best first, across the boards of ``niche`` that match the tier and platform given."""
        limit = self.shown if limit is None else min(limit, self.shown)
        ranked = heapq.merge(*(board[: self.shown] for key, board in self._boards.items()
                               if key.niche == niche and tier in (None, key.tier)
                               and platform in (None, key.platform)))
        return [orjson.loads(entry.raw) for entry in islice(ranked, limit)]

    def top(self, niche: str, limit: int) -> list[dict[str, Any]]:
        return self.board(niche, limit=limit)

    def scores_by_niche(self, limit: int) -> dict[str, list[float]]:
        by_niche: dict[str, list[list[_Entry]]] = {}
        for key, board in self._boards.items():
            by_niche.setdefault(key.niche, []).append(board)
        return {niche: [-entry.rank_key for entry in islice(heapq.merge(*boards), limit)]
                for niche, boards in by_niche.items()}

    def profile(self, account_id: str) -> dict[str, Any] | None:
        """The latest profile of an account, when it is on a board or recently alerted."""
        key = account_id.encode()
        placed = self._placed.get(key)
        raw = placed[0].raw if placed else self._pinned.get(key)
        return orjson.loads(raw) if raw else None

    def niches(self) -> list[str]:
        return sorted({key.niche for key in self._boards})

    def platforms(self) -> list[str]:
        return sorted({key.platform for key in self._boards})

    def board_keys(self) -> Iterator[BoardKey]:
        return iter(self._boards)

    def entries(self) -> int:
        """Board entries held (an account on several niches' boards counts once per board)."""
        return sum(map(len, self._boards.values()))

    def __len__(self) -> int:
        """Accounts whose profile is held."""
        return len(self._placed.keys() | {k for k, v in self._pinned.items() if v is not None})


def tiers_in_order(tiers: Iterable[str]) -> list[str]:
    known = [tier for tier in TIERS if tier in set(tiers)]
    return known + sorted(set(tiers) - set(TIERS))
