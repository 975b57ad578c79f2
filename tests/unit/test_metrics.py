"""The metrics module: helpers feed the right series, names follow the conventions."""

from __future__ import annotations

import re
import socket
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from streams.metrics import NO_NICHE, OTHER, TOP_RANKS, Metrics, new_registry, serve


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> Metrics:
    return Metrics(registry)


def families(registry: CollectorRegistry) -> list:
    return [f for f in registry.collect() if f.name.startswith("nichewatch_")]


def test_ingested_counts_per_platform_niche_and_outcome(metrics: Metrics, registry: CollectorRegistry) -> None:
    metrics.ingested("instagram", "knitting", "accepted")
    metrics.ingested("instagram", "knitting", "accepted", n=2)
    metrics.ingested("tiktok", NO_NICHE, "untracked")
    value = registry.get_sample_value
    labels = {"platform": "instagram", "niche": "knitting", "outcome": "accepted"}
    assert value("nichewatch_events_ingested_total", labels) == 3
    assert value("nichewatch_events_ingested_total",
                 {"platform": "tiktok", "niche": "_none", "outcome": "untracked"}) == 1


def test_unknown_outcome_is_rejected_rather_than_minting_a_series(metrics: Metrics) -> None:
    with pytest.raises(ValueError):
        metrics.ingested("instagram", "knitting", "acepted")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        metrics.dlq_written("bad_json")  # type: ignore[arg-type]


def test_alerts_influencers_dlq_and_rekey_counters(metrics: Metrics, registry: CollectorRegistry) -> None:
    metrics.alert_emitted("suspected_purchase", "sourdough")
    metrics.influencer_updated("sourdough")
    metrics.dlq_written("not_json")
    metrics.dlq_written("not_json")
    metrics.rekeyed("posts.raw", n=4)
    metrics.consumed("posts.raw", n=7)
    metrics.agent_error("posts")
    value = registry.get_sample_value
    assert value("nichewatch_alerts_emitted_total", {
        "kind": "follower_spike_alert", "classification": "suspected_purchase", "niche": "sourdough"}) == 1
    assert value("nichewatch_influencer_updates_total", {"niche": "sourdough"}) == 1
    assert value("nichewatch_dlq_writes_total", {"reason": "not_json"}) == 2
    assert value("nichewatch_events_rekeyed_total", {"topic": "posts.raw"}) == 4
    assert value("nichewatch_messages_consumed_total", {"topic": "posts.raw"}) == 7
    assert value("nichewatch_agent_errors_total", {"agent": "posts"}) == 1


def test_latency_histograms_bucket_observations_and_clamp_clock_skew(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.observe_latencies("post", [0.004, 0.0025, 7200.0])
    metrics.observe_latencies("snapshot", [-2.0])
    metrics.observe_post_to_alert(90.0)
    value = registry.get_sample_value
    assert value("nichewatch_processing_latency_seconds_bucket", {"kind": "post", "le": "0.005"}) == 2  # cumulative
    assert value("nichewatch_processing_latency_seconds_bucket", {"kind": "post", "le": "0.0025"}) == 1  # "le": on the bound
    assert value("nichewatch_processing_latency_seconds_bucket", {"kind": "post", "le": "0.001"}) == 0
    assert value("nichewatch_processing_latency_seconds_bucket", {"kind": "post", "le": "3600.0"}) == 2
    assert value("nichewatch_processing_latency_seconds_bucket", {"kind": "post", "le": "+Inf"}) == 3
    assert value("nichewatch_processing_latency_seconds_count", {"kind": "post"}) == 3
    assert value("nichewatch_processing_latency_seconds_sum", {"kind": "post"}) == 0.004 + 0.0025 + 7200.0
    assert value("nichewatch_processing_latency_seconds_sum", {"kind": "snapshot"}) == 0
    assert value("nichewatch_processing_latency_seconds_bucket", {"kind": "snapshot", "le": "0.001"}) == 1
    assert value("nichewatch_post_to_alert_latency_seconds_bucket", {"le": "120.0"}) == 1
    assert value("nichewatch_post_to_alert_latency_seconds_bucket", {"le": "60.0"}) == 0


def test_latency_buckets_span_one_millisecond_to_one_hour(metrics: Metrics) -> None:
    buckets = metrics.processing_latency.upper_bounds  # the declared buckets, +Inf last
    assert buckets[0] == 0.001
    assert buckets[-2] == 3600.0


def test_engagement_histogram_by_niche_and_tier_ignores_nonsense(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.observe_engagement("birding", "micro", 0.04)
    metrics.observe_engagement("birding", "micro", float("nan"))
    labels = {"niche": "birding", "tier": "micro"}
    assert registry.get_sample_value("nichewatch_engagement_ratio_count", labels) == 1
    assert registry.get_sample_value("nichewatch_engagement_ratio_bucket", {**labels, "le": "0.05"}) == 1


def test_top_scores_are_bounded_by_rank_and_shrink(metrics: Metrics, registry: CollectorRegistry) -> None:
    metrics.set_top_scores("knitting", [float(i) for i in range(25)])
    ranks = {s.labels["rank"] for f in families(registry) for s in f.samples
             if s.name == "nichewatch_top_influencer_score"}
    assert ranks == {str(r) for r in range(1, TOP_RANKS + 1)}
    assert registry.get_sample_value("nichewatch_top_influencer_score", {"niche": "knitting", "rank": "1"}) == 24
    metrics.set_top_scores("knitting", [0.5, 0.7])
    assert registry.get_sample_value("nichewatch_top_influencer_score", {"niche": "knitting", "rank": "1"}) == 0.7
    assert registry.get_sample_value("nichewatch_top_influencer_score", {"niche": "knitting", "rank": "3"}) is None


def test_rebalance_drops_lag_of_partitions_owned_elsewhere(metrics: Metrics, registry: CollectorRegistry) -> None:
    metrics.set_consumer_lag("posts.raw", 0, 10)
    metrics.set_consumer_lag("posts.raw", 1, 20)
    metrics.rebalanced([("posts.raw", 1), ("posts.raw", 2)])
    value = registry.get_sample_value
    assert value("nichewatch_consumer_lag_messages", {"topic": "posts.raw", "partition": "0"}) is None
    assert value("nichewatch_consumer_lag_messages", {"topic": "posts.raw", "partition": "1"}) == 20
    assert value("nichewatch_rebalances_total") == 1
    assert value("nichewatch_partitions_assigned") == 2


def test_state_gauges_and_lifecycle(metrics: Metrics, registry: CollectorRegistry) -> None:
    metrics.set_accounts_tracked(1200)
    metrics.set_state_size(4096)
    metrics.mark_started("1.2.3", now=1_700_000_000.0)
    value = registry.get_sample_value
    assert value("nichewatch_accounts_tracked") == 1200
    assert value("nichewatch_state_size_bytes") == 4096
    assert value("nichewatch_worker_start_time_seconds") == 1_700_000_000.0
    assert value("nichewatch_worker_running") == 1
    build = [s for f in families(registry) for s in f.samples if s.name == "nichewatch_build_info"]
    assert [s.labels["version"] for s in build] == ["1.2.3"]
    metrics.mark_stopped()
    assert value("nichewatch_worker_running") == 0


def test_tables_recovered_says_when(metrics: Metrics, registry: CollectorRegistry) -> None:
    value = registry.get_sample_value
    assert value("nichewatch_tables_recovered_time_seconds") == 0
    metrics.tables_recovered(now=1_700_000_123.5)
    assert value("nichewatch_tables_recovered_time_seconds") == 1_700_000_123.5


def test_label_values_past_the_cap_fold_into_other(registry: CollectorRegistry) -> None:
    metrics = Metrics(registry, max_label_values=2)
    for niche in ("a", "b", "c", "d"):
        metrics.influencer_updated(niche)
    value = registry.get_sample_value
    assert value("nichewatch_influencer_updates_total", {"niche": "b"}) == 1
    assert value("nichewatch_influencer_updates_total", {"niche": OTHER}) == 2


def test_two_metrics_objects_on_separate_registries_do_not_clash() -> None:
    Metrics(CollectorRegistry())
    Metrics(CollectorRegistry())  # would raise "Duplicated timeseries" on a shared registry


def test_new_registry_includes_process_metrics() -> None:
    registry = new_registry()
    Metrics(registry)
    names = {f.name for f in registry.collect()}
    assert "process_cpu_seconds" in names or "python_info" in names


FORBIDDEN_LABEL = re.compile(r"(account|post|user|handle)(_?id)?$|_id$", re.IGNORECASE)


def test_no_metric_is_labelled_by_an_identifier(metrics: Metrics) -> None:
    for metric in vars(metrics).values():
        for label in getattr(metric, "_labelnames", ()):
            assert not FORBIDDEN_LABEL.search(label), f"{metric._name} has label {label}"


def test_names_follow_prometheus_conventions(registry: CollectorRegistry, metrics: Metrics) -> None:
    declared = families(registry)
    assert len(declared) >= 19
    for family in declared:
        assert re.fullmatch(r"nichewatch_[a-z][a-z0-9_]*", family.name), family.name
        if family.type == "counter":
            # client_python strips _total from the family name and adds it to the sample.
            assert not family.name.endswith("_total")
        if family.type == "histogram" and "latency" in family.name:
            assert family.name.endswith("_seconds"), family.name
        if "size" in family.name:
            assert family.name.endswith("_bytes"), family.name
        assert not re.search(r"_(milliseconds|ms|kb|mb|minutes)(_|$)", family.name), family.name
    counter_samples = {s.name for f in declared if f.type == "counter" for s in f.samples}
    assert all(n.endswith(("_total", "_created")) for n in counter_samples)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_exposes_the_registry_over_http(metrics: Metrics) -> None:
    metrics.ingested("youtube", "birding", "late")
    server = serve(metrics, "127.0.0.1", _free_port())
    assert server is not None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as response:
            body = response.read().decode()
    finally:
        server.close()
    assert 'nichewatch_events_ingested_total{niche="birding",outcome="late",platform="youtube"} 1.0' in body


def test_serve_on_port_zero_is_disabled(metrics: Metrics) -> None:
    assert serve(metrics, "127.0.0.1", 0) is None


def test_closed_sets_match_the_event_schemas() -> None:
    events = pytest.importorskip("schemas.events")
    from typing import get_args

    from streams import metrics as m

    assert set(get_args(m.Tier)) == set(get_args(events.Tier))
    assert set(get_args(m.Classification)) == set(get_args(events.Classification))


def test_seconds_since_measures_from_an_aware_timestamp() -> None:
    from datetime import UTC, datetime, timedelta

    from streams.metrics import seconds_since

    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert seconds_since(now - timedelta(milliseconds=1500), now=now) == 1.5
