"""The console in a real browser: Debian's headless Chromium against a real worker on a real broker.

A scenario goes through a ``nichewatch worker`` subprocess: bought followers, an organic
breakout, engaged accounts of several tiers, and accounts whose handle, niche name and tags
carry HTML and script. Chromium (``/usr/bin/chromium`` driven by the system's
``/usr/bin/chromedriver``; nothing is downloaded) then loads the pages. Screenshots go to
``test-results/console/``.

Without Chromium the module is skipped, unless NICHEWATCH_REQUIRE_BROWSER is set (CI),
where it fails.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import orjson
import pytest

from schemas.events import NicheDefinition
from streams.core.synthetic import AccountSpec, merged_events
from streams.niche_config import write_niche
from streams.settings import load_settings
from tests.kafka_helpers import Broker, WorkerProcess, wait_until

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
REQUIRE_ENV = "NICHEWATCH_REQUIRE_BROWSER"
RESULTS = Path(__file__).resolve().parents[2] / "test-results" / "console"
TOPICS = ("posts", "snapshots", "niches", "alerts", "influencers", "dlq")

SCRIPT_HANDLE = "<script>window.__pwned='handle'</script>"
IMG_HANDLE = "\"><img src=x onerror=\"window.__pwned='attribute'\">"
HOSTILE_NICHE = "<svg onload=\"window.__pwned='niche'\">"
HOSTILE_TAG = "#<iframe src=javascript:window.__pwned='tag'>"
NICHES = (
    NicheDefinition(name="pens", tags=["#FountainPens"]),
    NicheDefinition(name="bread", tags=["#sourdough"]),
    NicheDefinition(name=HOSTILE_NICHE, tags=[HOSTILE_TAG]),
)
FLAGGED = "instagram:bought-pens"
ACCOUNTS = (
    AccountSpec(FLAGGED, followers=20_000, scenario="purchase_step", amount=5_000, tags=["#FountainPens"]),
    AccountSpec("instagram:ink-hobbyist", followers=12_000, engagement_rate=0.06, tags=["#FountainPens"]),
    AccountSpec("instagram:nib-grinder", followers=3_000, engagement_rate=0.05, tags=["#FountainPens"]),
    AccountSpec("tiktok:crumb-shots", followers=40_000, scenario="viral", amount=20_000, tags=["#sourdough"]),
    AccountSpec("youtube:loaf-lab", followers=150_000, engagement_rate=0.03, tags=["#sourdough"]),
    AccountSpec(f"instagram:{SCRIPT_HANDLE}", followers=15_000, scenario="purchase_step", amount=4_000,
                tags=["#FountainPens", HOSTILE_TAG]),
    AccountSpec(f"instagram:{IMG_HANDLE}", followers=8_000, engagement_rate=0.05, tags=[HOSTILE_TAG]),
)
HANDLES = ("bought-pens", "ink-hobbyist", "nib-grinder", "crumb-shots", "loaf-lab", SCRIPT_HANDLE, IMG_HANDLE)


def _chromium_or_skip() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} required ({REQUIRE_ENV} is set): "
                    "apt-get install chromium chromium-driver")
    pytest.skip("no Chromium here (apt-get install chromium chromium-driver)")


def fetch(port: int, path: str) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.status, dict(response.headers), response.read().decode()


def account_path(account_id: str) -> str:
    return f"/console/account?id={quote(account_id, safe='')}"


@pytest.fixture(scope="module")
def worker(kafka: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    _chromium_or_skip()
    unique = tmp_path_factory.mktemp("console").name.replace("_", "-")
    topics = {name: f"{name}-{unique}" for name in TOPICS}
    process = WorkerProcess(kafka, app_id=f"nw-console-{unique}", workdir=tmp_path_factory.mktemp("worker"),
                            topics=topics)
    process.create_topics()
    settings = load_settings(kafka_bootstrap_servers=kafka.bootstrap_servers,
                             **{f"topic_{name}": topic for name, topic in topics.items()})
    for niche in NICHES:
        write_niche(settings, niche, niche.name)
    process.start()
    try:
        process.wait_ready()
        by_kind: dict[str, list[tuple[bytes, bytes]]] = {"post": [], "snapshot": []}
        for event in merged_events(list(ACCOUNTS), days=12):
            by_kind[event["kind"]].append((event["account_id"].encode(), orjson.dumps(event)))
        kafka.produce(topics["posts"], by_kind["post"])
        kafka.produce(topics["snapshots"], by_kind["snapshot"])

        def console_shows_everyone() -> bool:
            _, _, body = fetch(process.web_port, "/?limit=100")
            index, flagged = body.find('id="alerts"'), body.find("bought-pens", body.find('id="alerts"'))
            return all(h in body for h in ("bought-pens", "ink-hobbyist", "crumb-shots")) and index > 0 and flagged > 0

        wait_until(console_shows_everyone, timeout=150, what="leaderboards and the flagged account on the console")
        yield process
    except BaseException:
        print(process.log_tail())
        raise
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _chromium_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1800", "--disable-extensions", "--no-first-run"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def test_leaderboard_lists_the_scenario_accounts_ranked_within_tier(worker: WorkerProcess, browser) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    browser.get(f"http://127.0.0.1:{worker.web_port}/?limit=100")
    browser.save_screenshot(str(RESULTS / "index.png"))
    handles = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "table.leaderboard td.handle")]
    for handle in ("bought-pens", "ink-hobbyist", "nib-grinder", "crumb-shots", "loaf-lab"):
        assert handle in handles, handles
    tiers = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#leaderboards h3")]
    assert {"nano", "micro", "mid"} <= set(tiers), tiers
    alert_accounts = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#alerts td.handle")]
    assert "bought-pens" in alert_accounts, alert_accounts

    browser.get(f"http://127.0.0.1:{worker.web_port}/?niche=pens&tier=nano")
    browser.save_screenshot(str(RESULTS / "index-pens-nano.png"))
    handles = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "table.leaderboard td.handle")]
    assert handles == ["nib-grinder"], handles


def test_flagged_account_page_shows_its_curve_with_the_alert_window_shaded(worker: WorkerProcess, browser) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    browser.get(f"http://127.0.0.1:{worker.web_port}{account_path(FLAGGED)}")
    browser.save_screenshot(str(RESULTS / "flagged-account.png"))
    assert browser.find_element(By.CSS_SELECTOR, ".status").text.startswith("Live: input flowing")
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 2  # hourly for the week, daily for the quarter
    hourly = charts[0]
    assert hourly.find_elements(By.CSS_SELECTOR, "polyline.followers")
    shaded = hourly.find_elements(By.CSS_SELECTOR, "rect.alert-window.purchase")
    assert shaded, "no shaded alert window on the hourly curve"
    assert shaded[0].size["width"] > 0 and shaded[0].size["height"] > 50
    assert hourly.find_elements(By.CSS_SELECTOR, "circle.post")
    evidence = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "table.evidence tbody tr")]
    assert evidence, "alert evidence missing"
    assert "suspected_purchase" in browser.find_element(By.ID, "account-alerts").text


def test_hostile_handles_niches_and_tags_are_shown_as_text_and_nothing_runs(worker: WorkerProcess, browser) -> None:  # noqa: ANN001
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    pages = {"index-hostile.png": "/?limit=100",
             "hostile-account.png": account_path(f"instagram:{SCRIPT_HANDLE}"),
             "hostile-attribute-account.png": account_path(f"instagram:{IMG_HANDLE}")}
    for screenshot, path in pages.items():
        status, headers, _ = fetch(worker.web_port, path)
        assert status == 200
        assert "script-src 'none'" in headers["Content-Security-Policy"]
        browser.get(f"http://127.0.0.1:{worker.web_port}{path}")
        browser.save_screenshot(str(RESULTS / screenshot))
        assert browser.execute_script("return window.__pwned === undefined"), f"script ran on {path}"
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert  # noqa: B018
        assert browser.find_elements(By.TAG_NAME, "script") == []
        assert browser.find_elements(By.TAG_NAME, "iframe") == []
        assert browser.find_elements(By.CSS_SELECTOR, "img, svg [onload], [onerror]") == []
        text = browser.find_element(By.TAG_NAME, "body").text
        if path.startswith("/?"):
            assert SCRIPT_HANDLE in text and IMG_HANDLE in text, "hostile handles not shown as text"
            assert HOSTILE_NICHE in text and HOSTILE_TAG.lstrip("#").casefold() in text.casefold()
        else:
            assert SCRIPT_HANDLE in text or IMG_HANDLE in text


def test_either_of_two_workers_serves_an_accounts_page_with_the_policy(
    kafka: Broker, worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Runs last: a second worker in the group takes half the partitions, so one of the two
    # relays the page from the account's owner (Faust's table router drops the headers).
    second = WorkerProcess(kafka, app_id=worker.app_id, workdir=tmp_path_factory.mktemp("second"),
                           topics=worker.topics)
    second.start()
    try:
        second.wait_ready()

        last: dict[int, str] = {}

        def both_answer() -> bool:
            for port in (worker.web_port, second.web_port):
                try:
                    status, headers, body = fetch(port, account_path(FLAGGED))
                except OSError as exc:  # HTTPError included: state still moving between the workers
                    last[port] = repr(exc)
                    return False
                last[port] = f"{status}, {len(body)} characters"
                if status != 200 or "alert-window purchase" not in body:
                    return False
                assert "script-src 'none'" in headers.get("Content-Security-Policy", ""), port
            return True

        try:
            wait_until(both_answer, timeout=180, what="both workers serving the flagged account's page")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last answers {last}\n{worker.log_tail(40)}\n{second.log_tail(40)}") from None
    finally:
        second.stop()
