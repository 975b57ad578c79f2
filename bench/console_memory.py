"""Memory a worker spends on the influencers topic: bounded leaderboards against every profile.

Every worker follows the whole compacted influencers topic. Before the console it kept the
latest profile of every account (a dict per account, the baseline below, as it was in
streams/views.py); the console keeps only the top of each (niche, tier, platform) board
(streams/console/leaderboard.py). Both are fed the same N synthetic profiles, each variant
in a fresh interpreter, and the growth of resident memory (RSS, after a gc) is printed
with the ratio.

    .venv/bin/python bench/console_memory.py                  # 1,000,000 profiles
    .venv/bin/python bench/console_memory.py --profiles 100000

Profiles: 8 niches (one or two per account), 3 platforms, tiers 60/30/7/2/1 % from nano to
mega, scores uniform; JSON the shape of schemas.events.InfluencerProfile (~560 bytes).
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.console.leaderboard import LeaderboardStore  # noqa: E402

NICHES = ("fountainpens", "sourdough", "powerlifting", "mechanicalkeyboards", "bonsai", "birding", "knitting", "climbing")
PLATFORMS = ("instagram", "tiktok", "youtube")
TIERS = (("nano", 0.60), ("micro", 0.30), ("mid", 0.07), ("macro", 0.02), ("mega", 0.01))


class _Ranked(NamedTuple):
    score: float
    niches: tuple[str, ...]
    profile: dict[str, Any]


class UnboundedBoard:
    """The baseline: latest profile per account, as streams/views.py kept it before the console."""

    def __init__(self) -> None:
        self._latest: dict[bytes, _Ranked] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        if value is None:
            self._latest.pop(key, None)
            return
        profile = orjson.loads(value)
        self._latest[key] = _Ranked(float(profile.get("score", 0.0)), tuple(profile.get("niches", ())), profile)

    def top(self, niche: str, limit: int) -> list[dict[str, Any]]:
        ranked = heapq.nlargest(limit, (e for e in self._latest.values() if niche in e.niches), key=lambda e: e.score)
        return [entry.profile for entry in ranked]

    def __len__(self) -> int:
        return len(self._latest)


def profiles(n: int, seed: int = 1) -> Iterator[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    tiers, weights = zip(*TIERS)
    for i in range(n):
        platform = PLATFORMS[i % len(PLATFORMS)]
        account_id = f"{platform}:account-{i:07d}"
        niches = sorted(set(rng.sample(NICHES, rng.choice((1, 1, 2)))))
        tier = rng.choices(tiers, weights)[0]
        # bytes(memoryview(...)): an exact-size copy, as a consumer record's value is (orjson
        # returns its output in a larger allocation, which would inflate what is kept).
        yield account_id.encode(), bytes(memoryview(orjson.dumps({
            "kind": "influencer_profile", "schema_version": 1, "profile_id": f"{i:032x}",
            "account_id": account_id, "platform": platform, "handle": f"account-{i:07d}", "tier": tier,
            "followers": rng.randint(1_000, 2_000_000), "niches": niches, "primary_niche": niches[0],
            "score": round(rng.random(), 4),
            "components": {"engagement": round(rng.random(), 4), "niche_focus": round(rng.random(), 4),
                           "consistency": round(rng.random(), 4), "authenticity": 1.0},
            "median_engagement_rate": round(rng.random() * 0.1, 6), "cohort_size": rng.randint(1, 5000),
            "posts_in_window": rng.randint(3, 40), "window_start": "2026-02-01T00:00:00+00:00",
            "window_end": "2026-03-01T00:00:00+00:00", "updated_at": "2026-03-01T00:00:00+00:00",
        })))


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(variant: str, n: int) -> dict[str, float]:
    board = UnboundedBoard() if variant == "unbounded" else LeaderboardStore()
    for key, value in profiles(1_000):  # warm the allocator and the code paths, then start counting
        board.apply(key, value)
        board.apply(key, None)
    gc.collect()
    before = rss_bytes()
    began = time.perf_counter()
    for key, value in profiles(n):
        board.apply(key, value)
    seconds = time.perf_counter() - began
    gc.collect()
    top = board.top("fountainpens", 10)
    return {"rss_bytes": rss_bytes() - before, "seconds": seconds, "accounts_kept": len(board),
            "best_score": top[0]["score"] if top else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--variant", choices=("unbounded", "bounded"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(measure(args.variant, args.profiles)))
        return 0
    results = {}
    for variant in ("unbounded", "bounded"):  # one fresh interpreter each: no memory shared between them
        out = subprocess.run([sys.executable, __file__, "--profiles", str(args.profiles), "--variant", variant],
                             check=True, capture_output=True, text=True).stdout
        results[variant] = json.loads(out)
    base, ours = results["unbounded"], results["bounded"]
    assert base["best_score"] == ours["best_score"], "the two boards disagree on the best profile"
    print(f"{args.profiles:,} influencer profiles ({len(NICHES)} niches, {len(PLATFORMS)} platforms, 5 tiers)")
    for name, label in (("unbounded", "every profile (before)"), ("bounded", "top-K boards (console)")):
        r = results[name]
        print(f"  {label:24} {r['rss_bytes'] / 2**20:9,.1f} MiB RSS growth  {r['accounts_kept']:>9,} accounts kept"
              f"  {r['seconds'] / args.profiles * 1e6:5.1f} us/profile")
    print(f"  ratio: the console's boards use {ours['rss_bytes'] / base['rss_bytes']:.2%} of the baseline's memory "
          f"({base['rss_bytes'] / max(ours['rss_bytes'], 1):,.0f}x less)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
