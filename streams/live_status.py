"""One-line summaries of a running worker, read from its /metrics and HTTP API (for the demo)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def scrape(metrics_port: int) -> dict[str, float]:
    """Totals per metric name (labels summed) from a worker's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = sample.name
            if sample.name == "nichewatch_events_ingested_total":
                key = f"{sample.name}:{sample.labels.get('outcome')}"
            elif sample.name == "nichewatch_alerts_emitted_total":
                key = f"{sample.name}:{sample.labels.get('classification')}"
            totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def status_line(metrics_port: int, previous: tuple[float, float] | None) -> tuple[str, tuple[float, float] | None]:
    """Throughput since the previous call, lag, and alert counts."""
    try:
        totals = scrape(metrics_port)
    except (OSError, urllib.error.URLError):
        return "status: worker metrics not reachable yet", previous
    ingested = sum(v for k, v in totals.items() if k.startswith("nichewatch_events_ingested_total:"))
    now = time.monotonic()
    rate = (ingested - previous[1]) / (now - previous[0]) if previous else 0.0
    line = (
        f"status: {rate:,.0f} events/s, {ingested:,.0f} ingested "
        f"(accepted {totals.get('nichewatch_events_ingested_total:accepted', 0):,.0f}, "
        f"untracked {totals.get('nichewatch_events_ingested_total:untracked', 0):,.0f}, "
        f"invalid {totals.get('nichewatch_events_ingested_total:invalid', 0):,.0f}), "
        f"lag {totals.get('nichewatch_consumer_lag_messages', 0):,.0f}, "
        f"alerts: {totals.get('nichewatch_alerts_emitted_total:suspected_purchase', 0):,.0f} suspected purchases, "
        f"{totals.get('nichewatch_alerts_emitted_total:organic_breakout', 0):,.0f} organic breakouts, "
        f"accounts {totals.get('nichewatch_accounts_tracked', 0):,.0f}"
    )
    return line, (now, ingested)


def top_lines(web_port: int, niches: list[str], limit: int = 3) -> list[str]:
    lines = ["top micro-influencers:"]
    for niche in niches:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/niches/{niche}/top?limit={limit}", timeout=5) as r:
                board = json.loads(r.read())["influencers"]
        except (OSError, urllib.error.URLError, KeyError, ValueError):
            continue
        if board:
            names = ", ".join(f"{p['handle']} ({p['tier']}, {p['score']:.2f})" for p in board)
            lines.append(f"  {niche:20} {names}")
    return lines if len(lines) > 1 else []
