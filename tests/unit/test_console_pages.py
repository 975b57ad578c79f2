"""The console's HTML: hostile data shown as text, the policy header, staleness, evidence."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

from prometheus_client import CollectorRegistry

from streams.console.escape import security_headers
from streams.console.freshness import Freshness, InputWatch
from streams.console.pages import (
    CSS,
    AccountPage,
    Filters,
    IndexPage,
    NicheBoard,
    render_account,
    render_index,
)
from streams.metrics import Metrics

HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "' onmouseover='alert(3)",
    "<svg onload=alert(4)>",
    "javascript:alert(5)",
    "</style><script>alert(6)</script>",
)
FRESH = Freshness(lag=0, quiet_for_s=1.0, reasons=())
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "div", "span", "a",
                "table", "thead", "tbody", "tr", "th", "td", "form", "label", "select", "option", "button",
                "section", "article", "strong", "code", "svg", "rect", "line", "text", "polyline", "circle"}


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> TagCollector:
    collector = TagCollector()
    collector.feed(html)
    return collector


def profile(value: str, i: int = 0) -> dict:
    return {"account_id": f"{value}:{i}", "handle": value, "platform": value, "tier": "micro", "score": 0.5,
            "followers": 12_000, "niches": [value], "primary_niche": value, "cohort_size": 3, "posts_in_window": 5,
            "components": {"engagement": 0.5, "niche_focus": 1.0, "consistency": 0.8, "authenticity": 1.0},
            "median_engagement_rate": 0.04}


def alert(value: str) -> dict:
    return {"alert_id": value, "account_id": f"{value}:0", "handle": value, "platform": value, "niches": [value],
            "classification": value, "window_start": value, "window_end": "2026-03-09T05:00:00+00:00",
            "detected_at": value, "followers_before": 1, "followers_after": 2, "growth": 1,
            "evidence": [{"name": value, "value": 1.0, "detail": value},
                         {"name": "observed_growth", "value": 5000.0, "detail": value},
                         {"name": "explained_growth", "value": 100.0, "detail": value}]}


def hostile_index() -> str:
    boards = [NicheBoard(value, [value], [("micro", [profile(value, i)])]) for i, value in enumerate(HOSTILE)]
    return render_index(IndexPage(
        boards=boards, alerts=[alert(v) for v in HOSTILE], counts={v: 1 for v in HOSTILE}, freshness=FRESH,
        filters=Filters(HOSTILE[0], None, HOSTILE[1]), niche_options=HOSTILE, tier_options=("micro",),
        platform_options=HOSTILE, tag_health={v: [{v: v, "posts": 3}] for v in HOSTILE},
    ))


def hostile_account() -> str:
    value = HOSTILE[1]
    return render_account(AccountPage(
        account_id=value, platform=value, handle=value, followers=5, latest_at=1.0e9,
        charts=[(value, "<svg></svg>")], alerts=[alert(v) for v in HOSTILE], profile=profile(value),
        last_score=(0.5, value, value), niche_posts={v: 1 for v in HOSTILE},
        freshness=Freshness(10, None, (value,)),
    ))


def test_hostile_handles_niches_tags_and_texts_become_text_not_markup() -> None:
    for html in (hostile_index(), hostile_account()):
        parsed = parse(html)
        assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
        for tag, attrs in parsed.tags:
            for name, value in attrs:
                assert not name.startswith("on"), (tag, name)
                if name == "href":
                    assert value is not None and value.startswith(("/", "?")), value
        text = "".join(parsed.text)
        for value in HOSTILE:
            assert value in text  # shown, as text


def test_links_to_accounts_carry_the_id_percent_encoded() -> None:
    hrefs = [v for tag, attrs in parse(hostile_index()).tags if tag == "a" for n, v in attrs if n == "href"]
    assert "/console/account?id=%3Cscript%3Ealert%281%29%3C%2Fscript%3E%3A0" in hrefs


def test_the_policy_forbids_script_and_allows_only_the_pages_own_stylesheet() -> None:
    headers = security_headers(CSS)
    policy = headers["Content-Security-Policy"]
    assert "script-src 'none'" in policy and "default-src 'none'" in policy
    style = re.search(r"<style>(.*?)</style>", hostile_index(), re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_pages_refresh_themselves() -> None:
    for html in (hostile_index(), hostile_account()):
        assert re.search(r'<meta http-equiv="refresh" content="\d+">', html)


def test_stale_data_is_said_at_the_top() -> None:
    stale = Freshness(lag=50_000, quiet_for_s=300.0, reasons=("worker lagging: 50,000 input messages not processed yet",))
    html = render_index(IndexPage(boards=[], alerts=[], counts={}, freshness=stale))
    assert "Data may be stale" in html and "50,000 input messages" in html
    assert "Data may be stale" not in render_index(IndexPage(boards=[], alerts=[], counts={}, freshness=FRESH))


def test_input_watch_reports_silence_and_lag_from_the_workers_metrics() -> None:
    now = [1000.0]
    metrics = Metrics(CollectorRegistry())
    watch = InputWatch(metrics.registry, clock=lambda: now[0], lagging_from=100, quiet_after_s=60)
    watch.sample()
    assert watch.status().reasons == ("no input events since this worker started",)
    metrics.consumed("posts.raw", 5)
    watch.sample()
    assert not watch.status().stale
    now[0] += 61
    metrics.set_consumer_lag("posts.raw", 0, 250)
    watch.sample()
    reasons = watch.status().reasons
    assert any("lagging: 250" in r for r in reasons) and any("no input events for 61 s" in r for r in reasons)


def test_observed_against_explained_growth_is_shown_when_the_evidence_has_it() -> None:
    html = hostile_account()
    assert 'class="growth-summary"' in html and "+5,000" in html and "+100" in html
    plain = alert("x")
    plain["evidence"] = [{"name": "excess_growth", "value": 3.0, "detail": "followers grew"}]
    page = AccountPage(account_id="a", platform="p", handle="h", followers=1, latest_at=0, charts=[],
                       alerts=[plain], profile=None, last_score=None)
    html = render_account(page)
    assert 'class="growth-summary"' not in html and "excess_growth" in html and "followers grew" in html


def test_every_evidence_item_is_listed_in_words_and_numbers() -> None:
    evidence = [{"name": f"item_{i}", "value": i * 1.5, "detail": f"reason number {i}"} for i in range(7)]
    page = AccountPage(account_id="a", platform="p", handle="h", followers=1, latest_at=0, charts=[],
                       alerts=[{**alert("x"), "evidence": evidence}], profile=None, last_score=None)
    html = render_account(page)
    for item in evidence:
        assert f"<td>{item['name']}</td>" in html and item["detail"] in html
