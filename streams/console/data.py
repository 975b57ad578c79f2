"""What the console reads, fed by the worker's topic followers.

``on_profile`` and ``on_alert`` are the record handlers of the influencers and alert
followers (streams.app): the leaderboards, the recent alerts of the JSON API, counts per
classification, and the accounts whose profile stays pinned because they were flagged.
"""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry

from streams.console.freshness import Freshness, InputWatch
from streams.console.leaderboard import LeaderboardStore
from streams.views import RecentAlerts

DEDUP_IDS_KEPT = 5_000  # alert ids remembered to count a redelivered alert once


class ConsoleData:
    def __init__(self, board: LeaderboardStore, alerts: RecentAlerts, registry: CollectorRegistry) -> None:
        self.board = board
        self.alerts = alerts
        self.watch = InputWatch(registry)
        # Alerts read from the alert topic since this worker started (the topic's retention).
        self.classification_counts: Counter[str] = Counter()
        self._counted_ids: dict[str, None] = {}

    def freshness(self) -> Freshness:
        # Sampled here as well as on the worker's timer: a page built before the timer's
        # first run still sees what was consumed.
        self.watch.sample()
        return self.watch.status()

    def on_profile(self, key: bytes | None, value: bytes | None) -> None:
        self.board.apply(key, value)

    def on_alert(self, key: bytes | None, value: bytes | None) -> None:
        self.alerts.apply(key, value)
        if value is None:
            return
        latest = self.alerts.latest(1)
        alert = latest[0] if latest else {}
        alert_id = str(alert.get("alert_id", ""))
        if alert_id not in self._counted_ids:  # a redelivered alert has the same id
            self._counted_ids[alert_id] = None
            if len(self._counted_ids) > DEDUP_IDS_KEPT:
                del self._counted_ids[next(iter(self._counted_ids))]
            self.classification_counts[str(alert.get("classification", "unknown"))] += 1
        self.board.pin(key)
