from __future__ import annotations

import orjson
import pytest
from prometheus_client import CollectorRegistry

from schemas.niche_tags import NicheTagReport
from streams.core.tagstats import TagBook, TagStatsConfig
from streams.dlq import BadRecord
from streams.metrics import Metrics
from schemas.codec import encode
from streams.console.freshness import Freshness
from streams.console.pages import IndexPage, render_index
from streams.niche_tags import TagNewsFeed, TagReportPublisher, TagReports, format_report, tag_health_rows, tag_news

TRACKED = {"pens": frozenset({"pen", "love"}), "bread": frozenset({"loaf"}), "quiet": frozenset({"shh"})}


def _book() -> TagBook:
    book = TagBook(TagStatsConfig(min_posts_to_flag=5, min_posts_to_suggest=3, min_accounts_to_suggest=2))
    book.tracked_of = lambda name: TRACKED.get(name, frozenset())
    for i in range(30):
        book.observe(["pen", "nib"], ("pens",), f"instagram:p{i % 5}", 8_000, 0.05, 0.9, float(i))
        book.observe(["loaf", "love"], ("bread", "pens"), f"instagram:b{i % 5}", 8_000, 0.05, 0.5, float(i))
        book.observe(["love"], ("pens",), f"instagram:g{i % 5}", 8_000, 0.05, 0.5, float(i))
        book.observe(["loaf", "love"], ("bread",), f"instagram:c{i % 5}", 8_000, 0.05, 0.5, float(i))
    return book


def test_publisher_sends_changed_reports_only_and_sets_the_generic_only_gauge() -> None:
    registry = CollectorRegistry()
    book = _book()
    publisher = TagReportPublisher(book, lambda: sorted(TRACKED), Metrics(registry))
    first = publisher.changed()
    assert [key for key, _ in first] == [b"bread", b"pens"]  # "quiet" has no posts here: nothing sent
    report = NicheTagReport.model_validate_json(dict(first)[b"pens"])
    assert [row.tag for row in report.tags if row.tracked and row.generic] == ["love"]
    assert registry.get_sample_value("nichewatch_niche_generic_only_posts_ratio", {"niche": "pens"}) == 0.6667  # 60 of 90
    assert registry.get_sample_value("nichewatch_niche_generic_only_posts_ratio", {"niche": "bread"}) == 0.0
    assert publisher.changed() == []
    book.observe(["pen"], ("pens",), "instagram:new", 9_000, 0.05, 0.9, 99.0)
    assert b"pens" in [key for key, _ in publisher.changed()]  # (every niche's lift moves with the total)


def test_followed_reports_keep_the_latest_per_niche_and_refuse_a_mismatched_key() -> None:
    reports = TagReports()
    value = orjson.dumps(_book().report("pens").model_dump(mode="json"))
    reports.apply(b"pens", value)
    assert reports.latest["pens"].posts == 90
    with pytest.raises(BadRecord, match="does not match"):
        reports.apply(b"bread", value)
    with pytest.raises(BadRecord):
        reports.apply(b"pens", b'{"niche": "pens"}')
    reports.apply(b"pens", None)
    assert "pens" not in reports.latest


def test_terminal_report_shows_the_flag_its_numbers_and_the_suggestions() -> None:
    text = format_report(_book().report("pens"))
    love = next(line for line in text.splitlines() if line.strip().startswith("#love"))
    assert love.rstrip().endswith("GENERIC")
    assert "spread: only 33% of the 90 posts carrying it belong to this niche alone" in text
    assert "#nib" in text.split("suggested tags")[1]


def test_demo_line_names_generic_tracked_tags_and_strong_suggestions_or_nothing() -> None:
    book = _book()
    assert tag_news(book.report("pens"), strong=0.05) == "niche pens: generic tracked tag #love; suggested #nib (1.00)"  # on every #pen post
    assert tag_news(book.report("bread"), strong=0.05) is None


def test_demo_feed_says_a_niche_news_once_and_again_only_when_it_changes() -> None:
    book = _book()
    feed = TagNewsFeed(strong=0.05)
    value = encode(book.report("pens"))
    assert feed.line(b"pens", value) == "niche pens: generic tracked tag #love; suggested #nib (1.00)"
    assert feed.line(b"pens", value) is None
    assert feed.line(b"bread", encode(book.report("bread"))) is None
    assert feed.line(b"pens", b"not json") is None
    for i in range(200):  # #nib drowns in posts without it: its suggestion weakens
        book.observe(["pen"], ("pens",), f"instagram:q{i}", 8_000, 0.05, 0.9, float(100 + i))
    assert feed.line(b"pens", encode(book.report("pens"))) == "niche pens: generic tracked tag #love; suggested #nib (0.13)"


def test_console_tag_health_lists_tracked_tags_with_verdicts_then_suggestions() -> None:
    book = _book()
    reports = {name: book.report(name) for name in ("pens", "bread")}
    health = tag_health_rows(reports)
    assert health is not None and set(health) == {"pens", "bread"}
    verdicts = {row["tag"]: row["verdict"] for row in health["pens"]}
    assert verdicts["#pen"] == "specific" and str(verdicts["#love"]).startswith("generic: spread: only 33%")
    assert verdicts["#nib"] == "suggested (score 1.00)"
    assert set(tag_health_rows(reports, "bread") or {}) == {"bread"}
    assert tag_health_rows({}) is None
    page = render_index(IndexPage(boards=[], alerts=[], counts={}, freshness=Freshness(0, None, ()), tag_health=health))
    assert 'id="tag-health"' in page and "generic: spread" in page
