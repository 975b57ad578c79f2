"""Every Prometheus metric of nichewatch, declared in one place against one registry.

The composition root builds one :class:`Metrics` on a registry (``new_registry()`` adds the
process collectors) and passes it to the agents; tests build their own on a fresh
``CollectorRegistry`` and read values back with ``registry.get_sample_value``. Agents call
the small typed helpers below rather than touching metric objects, so label sets stay
consistent and the docs table (docs/metrics.md) stays the single list of what exists.

Label policy: niche, platform, kind, outcome, topic, partition, classification, tier, rank,
reason and agent only. Never an account id or post id: one series per account would grow
without bound. Niche and platform values arrive from data, so they go through a small
cardinality guard that folds anything past a cap into ``"_other"``.

No Faust or Kafka import here: the worker adapts its callbacks onto these helpers.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from itertools import accumulate
import platform as _platform
import threading
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal, get_args
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.utils import floatToGoString
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

class BatchHistogram:
    """A histogram with one label, fed a batch of observations at a time.

    ``prometheus_client.Histogram`` takes one observation per call (about 6 us with its
    label lookup, 1.4 us without: a large share of an event's budget on the hot path).
    Here a batch is counted into buckets locally and added under one lock; the registry
    collects it as an ordinary histogram family (``_bucket``, ``_count``, ``_sum``).
    """

    def __init__(self, name: str, documentation: str, label: str, buckets: Iterable[float],
                 registry: CollectorRegistry) -> None:
        self.name, self.documentation, self.label = name, documentation, label
        bounds = [float(b) for b in buckets]
        self.upper_bounds = (*bounds, math.inf) if bounds[-1] != math.inf else tuple(bounds)
        self._series: dict[str, tuple[list[int], list[float]]] = {}  # label value -> (counts, [sum])
        self._lock = threading.Lock()
        registry.register(self)

    def observe_many(self, label_value: str, values: Iterable[float]) -> None:
        bounds = self.upper_bounds
        counts, total = [0] * len(bounds), 0.0
        for value in values:
            value = max(0.0, value)
            counts[bisect_left(bounds, value)] += 1  # the first bound >= value ("le")
            total += value
        with self._lock:
            series, added = self._series.setdefault(label_value, ([0] * len(bounds), [0.0]))
            for i, n in enumerate(counts):
                series[i] += n
            added[0] += total

    def describe(self) -> Iterable[Metric]:
        return [HistogramMetricFamily(self.name, self.documentation, labels=[self.label])]

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=[self.label])
        with self._lock:
            series = {value: (list(counts), added[0]) for value, (counts, added) in self._series.items()}
        for value, (counts, total) in sorted(series.items()):
            buckets = [(floatToGoString(bound), n) for bound, n in zip(self.upper_bounds, accumulate(counts), strict=True)]
            family.add_metric([value], buckets, total)
        return [family]


IngestOutcome = Literal["accepted", "untracked", "invalid", "late", "duplicate"]
# Mirrors schemas.events (kept literal here so this module imports nothing of the domain).
AlertKind = Literal["follower_spike_alert"]
Classification = Literal["suspected_purchase", "organic_breakout"]
Tier = Literal["nano", "micro", "mid", "macro", "mega"]
EventKind = Literal["post", "snapshot", "niche"]
DlqReason = Literal[
    "not_json", "invalid_utf8", "schema", "unknown_kind", "too_large", "too_deep", "late"
]
# Why a record of a followed topic (niches.config, influencers, alerts) or of a changelog
# was skipped; "error" is an exception applying a record that passed validation (a bug).
SkipReason = Literal["no_key", "invalid_key", "not_json", "invalid_utf8", "too_large", "too_deep", "schema", "error"]

NO_NICHE: Final = "_none"
"""Niche label for events that matched no niche (untracked) or could not be read (invalid)."""
UNKNOWN_PLATFORM: Final = "unknown"
"""Platform label for events whose platform could not be read."""
OTHER: Final = "_other"
"""Label value that absorbs niches/platforms past the cardinality cap."""
TOP_RANKS: Final = 10
"""How many ranks ``nichewatch_top_influencer_score`` publishes per niche."""
MAX_LABEL_VALUES: Final = 500

# 1 ms .. 1 h: in-process handling is milliseconds, a lagging consumer is minutes,
# a replayed backlog is up to an hour; beyond that +Inf says enough.
LATENCY_BUCKETS: Final[tuple[float, ...]] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
)
# Engagement rate = interactions per post / followers. Genuine niche accounts sit around
# 1-10 %; bought audiences fall well below 0.5 %; above 30 % is rare and worth seeing.
ENGAGEMENT_BUCKETS: Final[tuple[float, ...]] = (
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0,
)


class _LabelGuard:
    """Caps the distinct values one label may take in this process.

    Niche names come from operators and platforms from validated events, so the cap is
    never reached in normal running; it is the seatbelt that keeps a bad producer or a
    runaway niche config from turning one label into thousands of series.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(value)
            return value


@dataclass(frozen=True)
class MetricsServer:
    """A running /metrics endpoint; ``close()`` stops it (tests, clean shutdown)."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def new_registry(*, process_collectors: bool = True) -> CollectorRegistry:
    """A fresh registry, with process/platform/GC metrics unless told otherwise."""
    registry = CollectorRegistry(auto_describe=True)
    if process_collectors:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry


class Metrics:
    """The metrics one worker exposes, and the helpers the agents call."""

    def __init__(self, registry: CollectorRegistry, *, max_label_values: int = MAX_LABEL_VALUES) -> None:
        self.registry = registry
        self._niche = _LabelGuard(max_label_values)
        self._platform = _LabelGuard(max_label_values)
        self._lag_partitions: set[tuple[str, int]] = set()
        self._top_ranks: dict[str, int] = {}
        self._lock = threading.Lock()
        r = registry

        # --- input --------------------------------------------------------------------
        self.messages_consumed = Counter(
            "nichewatch_messages_consumed", "Messages read from input topics, once per message.",
            ["topic"], registry=r)
        self.events_ingested = Counter(
            "nichewatch_events_ingested",
            "Input events by outcome; an accepted post counts once per niche it matched.",
            ["platform", "niche", "outcome"], registry=r)
        self.events_rekeyed = Counter(
            "nichewatch_events_rekeyed",
            "Events whose producer did not key them by account_id and were re-keyed (slow path).",
            ["topic"], registry=r)
        self.dlq_writes = Counter(
            "nichewatch_dlq_writes", "Messages sent to the dead-letter topic, by reason.",
            ["reason"], registry=r)
        self.records_skipped = Counter(
            "nichewatch_records_skipped",
            "Records of followed topics and changelogs that could not be applied; logged and skipped.",
            ["topic", "reason"], registry=r)
        self.agent_errors = Counter(
            "nichewatch_agent_errors",
            "Unexpected exceptions in an agent (infrastructure failures; the worker restarts).",
            ["agent"], registry=r)

        # --- output -------------------------------------------------------------------
        self.alerts_emitted = Counter(
            "nichewatch_alerts_emitted", "Alerts published, one per episode.",
            ["kind", "classification", "niche"], registry=r)
        self.influencer_updates = Counter(
            "nichewatch_influencer_updates", "Influencer profiles published after a material change.",
            ["niche"], registry=r)
        self.engagement = Histogram(
            "nichewatch_engagement_ratio",
            "Engagement rate (interactions per post / followers) of scored accounts.",
            ["niche", "tier"], buckets=ENGAGEMENT_BUCKETS, registry=r)
        self.top_influencer_score = Gauge(
            "nichewatch_top_influencer_score",
            f"Score of this worker's rank 1..{TOP_RANKS} influencers per niche (merge with topk).",
            ["niche", "rank"], registry=r)
        self.generic_only_posts = Gauge(
            "nichewatch_niche_generic_only_posts_ratio",
            "Share of the niche's posts (on this worker) whose only tracked tags are generic ones.",
            ["niche"], registry=r)

        # --- latency ------------------------------------------------------------------
        self.processing_latency = BatchHistogram(
            "nichewatch_processing_latency_seconds",
            "From an event's observed_at to the end of its processing.",
            "kind", LATENCY_BUCKETS, registry=r)
        self.post_to_alert_latency = Histogram(
            "nichewatch_post_to_alert_latency_seconds",
            "From the observed_at of the event that triggered an alert to the alert being sent.",
            buckets=LATENCY_BUCKETS, registry=r)

        # --- consumer and state -------------------------------------------------------
        self.consumer_lag = Gauge(
            "nichewatch_consumer_lag_messages",
            "Messages between the committed offset and the high watermark, per owned partition.",
            ["topic", "partition"], registry=r)
        self.rebalances = Counter(
            "nichewatch_rebalances", "Consumer group rebalances this worker took part in.", registry=r)
        self.partitions_assigned = Gauge(
            "nichewatch_partitions_assigned", "Partitions currently assigned to this worker.", registry=r)
        self.accounts_tracked = Gauge(
            "nichewatch_accounts_tracked", "Accounts with state on this worker.", registry=r)
        self.state_size = Gauge(
            "nichewatch_state_size_bytes", "Estimated size of this worker's per-account state.", registry=r)
        self.tables_recovered_time = Gauge(
            "nichewatch_tables_recovered_time_seconds",
            "Unix time this worker's tables last finished restoring their partitions from the changelogs.",
            registry=r)

        # --- process ------------------------------------------------------------------
        self.build_info = Gauge(
            "nichewatch_build_info", "Always 1; labels say which build is running.",
            ["version", "python_version"], registry=r)
        self.worker_start_time = Gauge(
            "nichewatch_worker_start_time_seconds", "Unix time the worker started.", registry=r)
        self.worker_running = Gauge(
            "nichewatch_worker_running", "1 while the worker is started and consuming, 0 otherwise.",
            registry=r)

    # --- helpers the agents call -------------------------------------------------------

    def declare_niche(self, niche: str) -> None:
        """Create a niche's alert and profile series at 0, so the first alert shows in rate()/increase()."""
        niche = self._niche(niche)
        for classification in get_args(Classification):
            self.alerts_emitted.labels("follower_spike_alert", classification, niche)
        self.influencer_updates.labels(niche)

    def declare_agent(self, agent: str) -> None:
        """Create an agent's error series at 0 (an empty error panel then means no errors)."""
        self.agent_errors.labels(agent)

    def consumed(self, topic: str, n: int = 1) -> None:
        self.messages_consumed.labels(topic=topic).inc(n)

    def ingested(self, platform: str, niche: str, outcome: IngestOutcome, n: int = 1) -> None:
        """Count ``n`` events; use ``NO_NICHE`` / ``UNKNOWN_PLATFORM`` when there is none."""
        _check(outcome, IngestOutcome)
        self.events_ingested.labels(
            platform=self._platform(platform), niche=self._niche(niche), outcome=outcome
        ).inc(n)

    def rekeyed(self, topic: str, n: int = 1) -> None:
        self.events_rekeyed.labels(topic=topic).inc(n)

    def dlq_written(self, reason: DlqReason) -> None:
        _check(reason, DlqReason)
        self.dlq_writes.labels(reason=reason).inc()

    def record_skipped(self, topic: str, reason: SkipReason) -> None:
        if reason not in get_args(SkipReason):  # as _check: a typo would mint a new series
            raise ValueError(f"{reason!r} is not one of {get_args(SkipReason)}")
        self.records_skipped.labels(topic=topic, reason=reason).inc()

    def agent_error(self, agent: str) -> None:
        self.agent_errors.labels(agent=agent).inc()

    def alert_emitted(self, classification: Classification, niche: str,
                      kind: AlertKind = "follower_spike_alert") -> None:
        _check(classification, Classification)
        _check(kind, AlertKind)
        self.alerts_emitted.labels(kind=kind, classification=classification, niche=self._niche(niche)).inc()

    def influencer_updated(self, niche: str) -> None:
        self.influencer_updates.labels(niche=self._niche(niche)).inc()

    def observe_engagement(self, niche: str, tier: Tier, rate: float) -> None:
        _check(tier, Tier)
        if math.isfinite(rate) and rate >= 0:
            self.engagement.labels(niche=self._niche(niche), tier=tier).observe(rate)

    def set_top_scores(self, niche: str, scores: Iterable[float]) -> None:
        """Publish the best ``TOP_RANKS`` scores of a niche; ranks no longer filled disappear."""
        best = sorted(scores, reverse=True)[:TOP_RANKS]
        label = self._niche(niche)
        with self._lock:
            for rank, score in enumerate(best, start=1):
                self.top_influencer_score.labels(niche=label, rank=str(rank)).set(score)
            for rank in range(len(best) + 1, self._top_ranks.get(label, 0) + 1):
                self.top_influencer_score.remove(label, str(rank))
            self._top_ranks[label] = len(best)

    def set_generic_only_share(self, niche: str, share: float) -> None:
        """Share of a niche's posts found only through tracked tags flagged generic (0..1)."""
        if math.isfinite(share):
            self.generic_only_posts.labels(niche=self._niche(niche)).set(min(1.0, max(0.0, share)))

    def observe_latencies(self, kind: EventKind, seconds: Iterable[float]) -> None:
        """Processing latencies of a batch; negative values (clock skew between hosts) count as 0."""
        _check(kind, EventKind)
        self.processing_latency.observe_many(kind, seconds)

    def observe_post_to_alert(self, seconds: float) -> None:
        self.post_to_alert_latency.observe(max(0.0, seconds))

    def set_consumer_lag(self, topic: str, partition: int, lag: int) -> None:
        with self._lock:
            self._lag_partitions.add((topic, partition))
        self.consumer_lag.labels(topic=topic, partition=str(partition)).set(max(0, lag))

    def rebalanced(self, assigned: Collection[tuple[str, int]]) -> None:
        """After a rebalance: count it, and drop lag series of partitions now owned elsewhere.

        Otherwise two workers would report lag for the same partition and sums double.
        """
        self.rebalances.inc()
        self.partitions_assigned.set(len(assigned))
        keep = set(assigned)
        with self._lock:
            for topic, partition in self._lag_partitions - keep:
                self.consumer_lag.remove(topic, str(partition))
            self._lag_partitions &= keep

    def set_accounts_tracked(self, count: int) -> None:
        self.accounts_tracked.set(count)

    def set_state_size(self, nbytes: int) -> None:
        self.state_size.set(nbytes)

    def tables_recovered(self, *, now: float | None = None) -> None:
        """The tables hold everything their changelogs had for this assignment (now)."""
        self.tables_recovered_time.set(time.time() if now is None else now)

    def mark_started(self, version: str, *, now: float | None = None) -> None:
        self.build_info.labels(version=version, python_version=_platform.python_version()).set(1)
        self.worker_start_time.set(time.time() if now is None else now)
        self.worker_running.set(1)

    def mark_stopped(self) -> None:
        self.worker_running.set(0)


CollectorPlatform = Literal["mastodon", "bluesky"]
CollectorEndpoint = Literal[
    "timeline_tag", "status", "account", "get_posts", "get_profiles", "jetstream"
]
CollectorError = Literal[
    "unparsable", "gone", "rate_limited", "retries_exhausted", "http_error", "websocket_dropped"
]


class CollectorMetrics:
    """The metrics a collector process (`nichewatch collect ...`) exposes.

    ``status`` is the HTTP status code as text, or ``timeout`` / ``connection`` when no
    answer came; endpoints and error reasons are closed sets, so series stay bounded.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._newest: dict[str, float] = {}
        self._lock = threading.Lock()
        r = registry
        self.requests = Counter(
            "nichewatch_collector_requests", "HTTP requests and websocket connects to a platform, by answer.",
            ["platform", "endpoint", "status"], registry=r)
        self.events_published = Counter(
            "nichewatch_collector_events_published", "Posts and snapshots a collector published.",
            ["platform", "kind"], registry=r)
        self.posts_tracked = Gauge(
            "nichewatch_collector_posts_tracked", "Posts a collector is re-observing on its schedule.",
            ["platform"], registry=r)
        self.errors = Counter(
            "nichewatch_collector_errors", "Collector errors by reason (the collector goes on).",
            ["platform", "reason"], registry=r)
        self.newest_event_age = Gauge(
            "nichewatch_collector_newest_event_age_seconds",
            "Seconds since the publication time of the newest post a collector discovered.",
            ["platform"], registry=r)

    def declare(self, platform: CollectorPlatform) -> None:
        """Create a platform's error and event series at 0 (an empty panel then means none)."""
        _check(platform, CollectorPlatform)
        for reason in get_args(CollectorError):
            self.errors.labels(platform, reason)
        for kind in ("post", "snapshot"):
            self.events_published.labels(platform, kind)
        self.posts_tracked.labels(platform).set(0)

    def request(self, platform: CollectorPlatform, endpoint: CollectorEndpoint, status: str) -> None:
        _check(endpoint, CollectorEndpoint)
        self.requests.labels(platform=platform, endpoint=endpoint, status=status).inc()

    def published(self, platform: CollectorPlatform, kind: Literal["post", "snapshot"]) -> None:
        self.events_published.labels(platform=platform, kind=kind).inc()

    def error(self, platform: CollectorPlatform, reason: CollectorError) -> None:
        _check(reason, CollectorError)
        self.errors.labels(platform=platform, reason=reason).inc()

    def set_posts_tracked(self, platform: CollectorPlatform, count: int) -> None:
        self.posts_tracked.labels(platform=platform).set(count)

    def saw_post_published_at(self, platform: CollectorPlatform, timestamp: float) -> None:
        """Remember the newest publication time; the gauge reports its age at scrape time."""
        with self._lock:
            if timestamp <= self._newest.get(platform, float("-inf")):
                return
            first = platform not in self._newest
            self._newest[platform] = timestamp
        if first:
            self.newest_event_age.labels(platform=platform).set_function(
                lambda: max(0.0, time.time() - self._newest[platform]))


def serve(metrics: Metrics | CollectorMetrics, host: str, port: int) -> MetricsServer | None:
    """Expose ``metrics`` on http://host:port/metrics in a daemon thread; port 0 disables it."""
    if port == 0:
        return None
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    return MetricsServer(host=host, port=server.server_port, _server=server, _thread=thread)


def seconds_since(instant: datetime, now: datetime | None = None) -> float:
    """Seconds from an event timestamp (timezone-aware, UTC) to now, for the latency helpers."""
    return ((now or datetime.now(UTC)) - instant).total_seconds()


# Keyed by identity: hashing a Literal hashes its arguments again on every lookup.
_ALLOWED: dict[int, frozenset[str]] = {
    id(literal): frozenset(get_args(literal))
    for literal in (IngestOutcome, AlertKind, Classification, Tier, EventKind, DlqReason,
                    CollectorPlatform, CollectorEndpoint, CollectorError)
}


def _check(value: str, allowed: object) -> None:
    # Literal types are not enforced at run time; a typo would otherwise mint a new series.
    if value not in _ALLOWED[id(allowed)]:
        raise ValueError(f"{value!r} is not one of {sorted(_ALLOWED[id(allowed)])}")


__all__ = (
    "AlertKind", "Classification", "CollectorEndpoint", "CollectorError", "CollectorMetrics",
    "CollectorPlatform", "DlqReason", "EventKind", "IngestOutcome", "Metrics",
    "MetricsServer", "NO_NICHE", "OTHER", "TOP_RANKS", "Tier", "UNKNOWN_PLATFORM",
    "new_registry", "seconds_since", "serve",
)
