"""One-line summaries of a running worker, read from its /metrics and HTTP API (for the demo)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
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


SMALL_TIERS = ("nano", "micro")
LARGER_TIERS = ("mid", "macro", "mega")
BOARD_FETCHED = 100  # the most /niches/{niche}/top returns


def top_lines(web_port: int, niches: list[str], limit: int = 3) -> list[str]:
    boards: dict[str, list[dict]] = {}
    for niche in niches:
        try:
            url = f"http://127.0.0.1:{web_port}/niches/{urllib.parse.quote(niche, safe='')}/top?limit={BOARD_FETCHED}"
            with urllib.request.urlopen(url, timeout=5) as r:
                boards[niche] = json.loads(r.read())["influencers"]
        except (OSError, urllib.error.URLError, KeyError, ValueError):
            continue
    return tier_lines(boards, limit)


def tier_lines(boards: dict[str, list[dict]], limit: int = 3) -> list[str]:
    """Micro-influencers are nano and micro accounts (mid where a niche has none smaller);
    larger accounts are listed under their own tier, never as micro-influencers."""

    def names(profiles: list[dict]) -> str:
        return ", ".join(f"{p['handle']} ({p['tier']}, {p['score']:.2f})" for p in profiles[:limit])

    small, larger = [], []
    for niche, board in boards.items():
        micro = [p for p in board if p.get("tier") in SMALL_TIERS]
        stand_in = "mid" if not micro else None
        if stand_in:
            micro = [p for p in board if p.get("tier") == stand_in]
        if micro:
            small.append(f"  {niche:20} {names(micro)}" + ("  (no nano or micro accounts yet)" if stand_in else ""))
        for tier in LARGER_TIERS:
            if tier != stand_in and (ranked := [p for p in board if p.get("tier") == tier]):
                larger.append(f"  {niche:20} {tier:5} {names(ranked)}")
    lines = ["top micro-influencers (nano and micro accounts):", *small] if small else []
    return lines + (["larger accounts, by tier:", *larger] if larger else [])
