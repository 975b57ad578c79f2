"""Server-side SVG charts: the follower curve, alert windows shaded, posts sized by engagement."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from streams.console.charts import PostMark, Shade, follower_chart, growth_bars

SVG = "{http://www.w3.org/2000/svg}"
DAY = 86_400
START = 1_772_323_200  # 2026-03-01


def chart(shades=(), marks=(), points=None) -> ET.Element:  # noqa: ANN001
    points = points if points is not None else [(START + h * 3600, 10_000 + h) for h in range(7 * 24)]
    return ET.fromstring(follower_chart("pens <b>", points, START, START + 7 * DAY, shades, marks))


def test_the_curve_has_one_point_per_observation_in_range() -> None:
    inside = [(START + h * 3600, 10_000 + h) for h in range(24)]
    root = chart(points=[(START - DAY, 1)] + inside)
    polyline = root.find(f"{SVG}polyline")
    assert polyline is not None and len(polyline.get("points", "").split()) == 24


def test_an_alert_window_is_shaded_over_its_time_span_only() -> None:
    purchase = Shade(START + 2 * DAY, START + 3 * DAY, "suspected_purchase", "bought")
    before = Shade(START - 9 * DAY, START - 8 * DAY, "organic_breakout", "long ago")
    root = chart(shades=[purchase, before])
    rects = [r for r in root.iter(f"{SVG}rect") if "alert-window" in r.get("class", "")]
    assert len(rects) == 1 and rects[0].get("class") == "alert-window purchase"
    plot = next(r for r in root.iter(f"{SVG}rect") if r.get("class") == "plot")
    plot_x, plot_w = float(plot.get("x")), float(plot.get("width"))
    x, width = float(rects[0].get("x")), float(rects[0].get("width"))
    assert abs((x - plot_x) / plot_w - 2 / 7) < 0.01 and abs(width / plot_w - 1 / 7) < 0.01


def test_posts_are_marked_with_area_growing_with_interactions() -> None:
    marks = [PostMark(START + DAY, 10_020, 100, "small"), PostMark(START + 2 * DAY, 10_040, 10_000, "big"),
             PostMark(START - DAY, 10_000, 50, "outside")]
    circles = list(chart(marks=marks).iter(f"{SVG}circle"))
    assert len(circles) == 2
    small, big = (float(c.get("r")) for c in circles)
    assert big > 3 * small


def test_texts_inside_the_svg_are_escaped() -> None:
    svg = follower_chart("<script>x</script>", [], START, START + DAY,
                         [Shade(START, START + 10, "<b>", "<img src=x onerror=y>")],
                         [PostMark(START, 1, 1, "</title><script>z</script>")])
    assert "<script" not in svg and "<img" not in svg and "<b>" not in svg
    assert 'class="alert-window other"' in svg  # unknown classes map to a fixed one
    ET.fromstring(svg)  # still well-formed


def test_growth_bars_compare_observed_and_explained_growth() -> None:
    root = ET.fromstring(growth_bars(5_000, 1_000))
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert len(widths) == 3 and abs(widths[0] / widths[1] - 5) < 0.01
    labels = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert re.search(r"\+5,000.*\+1,000.*\+4,000", labels)
