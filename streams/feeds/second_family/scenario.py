"""The second scenario family: same interface and ground-truth format as the first.

    SecondFamilyScenario(seed)         the world (streams/feeds/second_family/world.py)
      .events()  -> Iterator[dict]     posts and snapshots in the event contract, by arrival
      .truth     -> list[Label]        incidents, then good posts and outages (ordinary life)
      .niches    -> {niche: [tag]}     its own niches; one of them tracks a generic tag
      .write(events, truth, niches)

Written independently of streams/feeds/simulator.py and used only to evaluate, never to
tune: a detector that holds on both has not learned one generator's habits.
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from streams.feeds.realism import WorldKnobs
from streams.feeds.second_family import incidents
from streams.feeds.second_family.incidents import Label
from streams.feeds.second_family.life import Life, Record, live
from streams.feeds.second_family.world import NICHES, draw_accounts

DEFAULT_START = datetime(2026, 5, 4, tzinfo=UTC)  # a Monday, so weekends fall where they fall
SCHEMA_VERSION = 1


class SecondFamilyScenario:
    family = "second"

    def __init__(
        self,
        seed: int,
        accounts: int = 1_500,
        days: int = 30,
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
        self.seed, self.accounts, self.days, self.start = seed, accounts, days, start
        self.warmup_days, self.max_jitter_seconds = warmup_days, max_jitter_seconds
        self.knobs = knobs if knobs is not None else WorldKnobs()

    @cached_property
    def _lives(self) -> list[Life]:
        people = draw_accounts(self.seed, self.accounts, self.knobs)
        kinds = incidents.assign(random.Random(f"second-family:{self.seed}:incidents"), len(people),
                                 [a.rounded for a in people])
        start = self.start.timestamp()
        return [live(self.seed, a, kinds.get(a.index), self.knobs, start, self.days, self.warmup_days,
                     self.max_jitter_seconds) for a in people]

    @property
    def truth(self) -> list[Label]:
        labels = [label for life in self._lives for label in life.labels]
        return sorted(labels, key=lambda label: label.event_type in ("good_post", "outage_catchup"))

    @property
    def niches(self) -> dict[str, list[str]]:
        return {niche: [tag.lstrip("#").lower() for tag in tags] for niche, tags in NICHES.items()}

    def events(self) -> Iterator[dict[str, Any]]:
        lives = self._lives
        for record in heapq.merge(*(life.records for life in lives)):
            yield _render(lives[record[1]], record)

    def write(self, events_path: Path, truth_path: Path, niches_path: Path) -> int:
        count = 0
        with events_path.open("wb") as out:
            for event in self.events():
                out.write(orjson.dumps(event) + b"\n")
                count += 1
        truth_path.write_bytes(b"".join(orjson.dumps(label.as_dict()) + b"\n" for label in self.truth))
        niches_path.write_bytes(orjson.dumps(self.niches, option=orjson.OPT_INDENT_2) + b"\n")
        return count


def _render(life: Life, record: Record) -> dict[str, Any]:
    _, _, _, observed, post, likes, comments, shares, views, followers, posts_count = record
    account = life.account
    common = {"schema_version": SCHEMA_VERSION, "platform": account.platform, "account_id": account.account_id,
              "handle": account.handle, "observed_at": _iso(observed), "followers": followers,
              "following": account.following}
    if post < 0:
        return {"kind": "snapshot", **common, "posts_count": posts_count}
    info = life.posts[post]
    return {"kind": "post", **common, "post_id": info.post_id, "posted_at": _iso(info.posted), "likes": likes,
            "comments": comments, "shares": shares, "views": views, "tags": list(info.tags), "text": info.text}


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
