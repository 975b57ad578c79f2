"""The collector loop: discover, publish new posts once, re-observe on schedule, snapshot
authors, flush, save the state file; then wait for the next pass.

Posts a source returns that the tracker already knows (seen under another tag or server,
or before a restart) are not published again as new. A post that is gone (404/410, or left
out of a getPosts answer) is forgotten; a post with no answer this pass stays tracked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from schemas.events import AccountSnapshot
from streams.collectors.niches import NicheSource
from streams.collectors.schedule import AccountRef, PostRef, Tracker
from streams.collectors.sink import Sink
from streams.collectors.state import StateFile
from streams.collectors.types import Discovered, Observed
from streams.metrics import CollectorMetrics, CollectorPlatform

log = logging.getLogger(__name__)


class Source(Protocol):
    platform: CollectorPlatform

    def state(self) -> dict[str, Any]: ...

    def load_state(self, state: dict[str, Any]) -> None: ...

    async def discover(self, tags: frozenset[str], observed_at: datetime) -> list[Discovered]: ...

    async def observe(self, posts: list[PostRef], observed_at: datetime) -> list[Observed]: ...

    async def snapshot(
        self, accounts: list[AccountRef], observed_at: datetime
    ) -> list[tuple[str, AccountSnapshot | None]]: ...


@dataclass
class PassResult:
    discovered: int = 0
    new_posts: int = 0
    observed: int = 0
    gone: int = 0
    snapshots: int = 0


@dataclass
class Collector:
    source: Source
    niches: NicheSource
    sink: Sink
    state_file: StateFile
    tracker: Tracker
    metrics: CollectorMetrics
    clock: Callable[[], float] = field(default=time.time)

    def load(self) -> None:
        saved = self.state_file.load()
        self.source.load_state(saved.get("source", {}))
        self.tracker.load_json(saved.get("tracker", {}))
        self.metrics.set_posts_tracked(self.source.platform, len(self.tracker))
        if saved:
            log.info("resumed from %s: %d posts tracked", self.state_file.path, len(self.tracker))

    def save(self) -> None:
        self.sink.flush()  # events first, then the cursors that say they were sent
        self.state_file.save({"source": self.source.state(), "tracker": self.tracker.to_json()})

    async def run_pass(self, *, observe_everything: bool = False) -> PassResult:
        """One discovery pass, then the observations and snapshots that are due (or all of them)."""
        result = PassResult()
        tags = self.niches.tags()
        if not tags:
            log.info("no niches to collect yet")
        found = await self.source.discover(tags, self._now()) if tags else []
        result.discovered = len(found)
        now = self.clock()
        for item in found:
            if self.tracker.add(item.ref, item.account, now):
                self._publish(item.post)
                self.metrics.saw_post_published_at(self.source.platform, item.post.posted_at.timestamp())
                result.new_posts += 1

        now = self.clock()
        due = self.tracker.all_posts() if observe_everything else self.tracker.due_posts(now)
        if due:
            for observed in await self.source.observe(due, self._now()):
                if observed.post is None:
                    self.tracker.forget(observed.post_id)
                    result.gone += 1
                else:
                    self._publish(observed.post)
                    self.tracker.observed(observed.post_id, self.clock())
                    result.observed += 1

        now = self.clock()
        accounts = self.tracker.all_accounts() if observe_everything else self.tracker.due_accounts(now)
        if accounts:
            for account_id, snapshot in await self.source.snapshot(accounts, self._now()):
                if snapshot is None:
                    self.tracker.forget_account(account_id)
                else:
                    self._publish(snapshot)
                    self.tracker.snapshotted(account_id, self.clock())
                    result.snapshots += 1

        self.metrics.set_posts_tracked(self.source.platform, len(self.tracker))
        self.save()
        return result

    async def run(self, poll_interval_s: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            result = await self.run_pass()
            log.info("pass: %d found, %d new, %d observed, %d gone, %d snapshots; %d posts tracked",
                     result.discovered, result.new_posts, result.observed, result.gone, result.snapshots,
                     len(self.tracker))
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll_interval_s)
            except TimeoutError:
                pass

    def _publish(self, event: Any) -> None:
        self.sink.publish(event)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)
