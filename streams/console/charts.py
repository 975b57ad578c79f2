"""Charts drawn on the server as inline SVG: no script, no library, nothing fetched.

The follower chart of an account::

    followers
      ▲          ░░░░░                                ░ an alert's window (shaded, by class)
      │          ░░░░░_______/‾‾‾‾‾‾‾‾                ─ followers (latest per bucket)
      │   ___●__/░░░░░       ●         ●              ● a post, area ~ its interactions
      └──────────────────────────────────────▶ event time (hourly: 7 days, daily: 90 days)

Every text that reaches the SVG (titles, tooltips, labels) goes through ``esc``; CSS
classes come from fixed sets, never from data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.console.escape import esc

DAY = 86_400.0
WIDTH, HEIGHT = 880, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 12, 28
SHADE_COLOURS = {"suspected_purchase": ("purchase", "#d62728"), "organic_breakout": ("breakout", "#2ca02c")}
OTHER_SHADE = ("other", "#7f7f7f")


@dataclass(frozen=True, slots=True)
class Shade:
    """An alert's window on the time axis."""

    start_ts: float
    end_ts: float
    classification: str
    label: str


@dataclass(frozen=True, slots=True)
class PostMark:
    ts: float
    followers: int
    interactions: int
    label: str


def compact(value: float) -> str:
    """12345 -> 12.3k, 2500000 -> 2.5M (axis labels)."""
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if magnitude >= 10_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:,.0f}"


def follower_chart(
    title: str,
    points: Sequence[tuple[float, int]],
    start_ts: float,
    end_ts: float,
    shades: Sequence[Shade] = (),
    marks: Sequence[PostMark] = (),
) -> str:
    """The follower curve over [start_ts, end_ts] with alert windows shaded and posts marked."""
    shown = [(ts, f) for ts, f in points if start_ts <= ts <= end_ts]
    shown_marks = [m for m in marks if start_ts <= m.ts <= end_ts]
    span = max(end_ts - start_ts, 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [f for _, f in shown] + [m.followers for m in shown_marks]
    low, high = (min(values), max(values)) if values else (0, 1)
    pad = max((high - low) * 0.08, 1.0)
    low, high = max(0.0, low - pad), high + pad

    def x(ts: float) -> float:
        return LEFT + (ts - start_ts) / span * plot_w

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img"><title>{esc(title)}</title>',
        f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for shade in shades:
        left, right = max(shade.start_ts, start_ts), min(max(shade.end_ts, shade.start_ts + 1), end_ts)
        if right < left:
            continue
        css, colour = SHADE_COLOURS.get(shade.classification, OTHER_SHADE)
        width = max(x(right) - x(left), 3.0)
        parts.append(
            f'<rect class="alert-window {css}" x="{x(left):.1f}" y="{TOP}" width="{width:.1f}" height="{plot_h}" '
            f'fill="{colour}" fill-opacity="0.18" stroke="{colour}" stroke-opacity="0.5">'
            f"<title>{esc(shade.label)}</title></rect>"
        )
    parts += _y_axis(low, high, y) + _x_axis(start_ts, end_ts, x)
    if shown:
        path = " ".join(f"{x(ts):.1f},{y(f):.1f}" for ts, f in shown)
        parts.append(f'<polyline class="followers" points="{path}" fill="none" stroke="#1f77b4" stroke-width="1.6"/>')
    else:
        parts.append(f'<text x="{LEFT + 12}" y="{TOP + 24}" fill="#666">no follower observations in this range</text>')
    biggest = max((m.interactions for m in shown_marks), default=0)
    for mark in shown_marks:
        radius = 2.5 + 9.0 * math.sqrt(mark.interactions / biggest) if biggest else 2.5
        parts.append(
            f'<circle class="post" cx="{x(mark.ts):.1f}" cy="{y(mark.followers):.1f}" r="{radius:.1f}" '
            f'fill="#ff7f0e" fill-opacity="0.55" stroke="#b35900"><title>{esc(mark.label)}</title></circle>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _y_axis(low: float, high: float, y: Callable[[float], float]) -> list[str]:
    out = []
    for i in range(5):
        value = low + (high - low) * i / 4
        ypos = y(value)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ypos:.1f}" y2="{ypos:.1f}" stroke="#e5e5e5"/>'
                   f'<text x="{LEFT - 6}" y="{ypos + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
                   f"{esc(compact(value))}</text>")
    return out


def _x_axis(start_ts: float, end_ts: float, x: Callable[[float], float]) -> list[str]:
    step = DAY if end_ts - start_ts <= 8 * DAY else 7 * DAY
    out = []
    tick = math.ceil(start_ts / step) * step
    while tick <= end_ts:
        xpos = x(tick)
        label = datetime.fromtimestamp(tick, UTC).strftime("%b %d")
        out.append(f'<line x1="{xpos:.1f}" x2="{xpos:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="#eee"/>'
                   f'<text x="{xpos:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" '
                   f'fill="#555">{esc(label)}</text>')
        tick += step
    return out


def growth_bars(observed: float, explained: float, unexplained: float | None = None) -> str:
    """Observed follower growth against the growth engagement explains, as two bars."""
    unexplained = observed - explained if unexplained is None else unexplained
    rows = [("observed growth", observed, "#d62728"), ("explained by engagement", explained, "#2ca02c"),
            ("unexplained", unexplained, "#7f7f7f")]
    biggest = max((abs(v) for _, v, _ in rows), default=0.0) or 1.0
    width, label_w, row_h = 620, 190, 26
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="growth" viewBox="0 0 {width} {row_h * 3 + 8}" '
             f'width="{width}" height="{row_h * 3 + 8}" role="img"><title>observed against explained growth</title>']
    for i, (label, value, colour) in enumerate(rows):
        bar = max(abs(value) / biggest * (width - label_w - 90), 1.0)
        top = 4 + i * row_h
        parts.append(f'<text x="{label_w - 8}" y="{top + 16}" text-anchor="end" font-size="13">{esc(label)}</text>'
                     f'<rect class="bar" x="{label_w}" y="{top + 3}" width="{bar:.1f}" height="{row_h - 8}" fill="{colour}"/>'
                     f'<text x="{label_w + bar + 6:.1f}" y="{top + 16}" font-size="13">{esc(f"{value:+,.0f}")}</text>')
    parts.append("</svg>")
    return "".join(parts)
