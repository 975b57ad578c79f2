"""`nichewatch collect ... --once --out FILE --niches FILE` against local fake servers, no broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.codec import decode_event
from schemas.events import AccountSnapshot, Post
from streams.cli import main
from tests.collect_fakes import FakeBluesky, FakeMastodon, ServerThread, ago, iter_jsonl


@pytest.fixture
def collector_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NICHEWATCH_COLLECTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("NICHEWATCH_COLLECTOR_METRICS_PORT", "0")
    monkeypatch.setenv("NICHEWATCH_COLLECTOR_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("NICHEWATCH_COLLECTOR_BACKOFF_CAP_S", "0.1")
    niches = tmp_path / "niches.json"
    niches.write_text(json.dumps({"pens": ["#FountainPens"], "ios": ["#swiftui"]}))
    return niches


def test_mastodon_once_writes_posts_and_snapshots_that_replay_reads(
    collector_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeMastodon()
    with ServerThread(fake.app) as server:
        fake.base_url = server.url

        def populate() -> None:
            author = fake.add_account("inkjournal", followers=12_000)
            other = fake.add_account("nibgrinder", followers=3_000, acct="nibgrinder@pens.example")
            fake.add_status(author, ["fountainpens"], created_at=ago(minutes=20), favourites=40)
            fake.add_status(other, ["FountainPens", "ink"], created_at=ago(minutes=5))
            fake.add_status(author, ["cats"])  # no niche of ours

        server.call(populate)
        out = tmp_path / "events.jsonl"
        code = main(["collect", "mastodon", "--instance", server.url, "--once", "--out", str(out),
                     "--niches", str(collector_env)])
    assert code == 0
    events = [decode_event(json.dumps(e).encode()) for e in iter_jsonl(out)]
    posts = [e for e in events if isinstance(e, Post)]
    snapshots = [e for e in events if isinstance(e, AccountSnapshot)]
    # discovery publishes each post once, --once observes each again once, and snapshots both authors
    assert len(posts) == 4 and len({p.post_id for p in posts}) == 2
    host = server.url.removeprefix("http://")
    assert {s.account_id for s in snapshots} == {f"mastodon:inkjournal@{host}", "mastodon:nibgrinder@pens.example"}
    assert "2 found, 2 new, 2 observed, 0 gone, 2 snapshots" in capsys.readouterr().out
    assert main(["replay", str(out), "--niches", str(collector_env)]) == 0
    assert "events 6 (bad lines 0" in capsys.readouterr().out


def test_mastodon_once_twice_publishes_nothing_new_the_second_time(collector_env: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeMastodon()
    with ServerThread(fake.app) as server:
        fake.base_url = server.url
        server.call(lambda: fake.add_status(fake.add_account("inkjournal", followers=100), ["fountainpens"]))
        args = ["collect", "mastodon", "--instance", server.url, "--once", "--out", str(tmp_path / "e.jsonl"),
                "--niches", str(collector_env)]
        assert main(args) == 0
        assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "1 found, 1 new" in lines[0] and "0 found, 0 new" in lines[1]


def test_bluesky_once_reads_jetstream_then_observes_through_the_appview(
    collector_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeBluesky()
    with ServerThread(fake.app) as server:
        out = tmp_path / "bsky.jsonl"
        code = main(["collect", "bluesky", "--jetstream", server.url.replace("http", "ws") + "/subscribe",
                     "--appview", server.url, "--once", "--listen-seconds", "8", "--out", str(out),
                     "--niches", str(collector_env)])
    assert code == 0
    events = list(iter_jsonl(out))
    assert {e["kind"] for e in events} == {"post", "snapshot"}
    assert {e["account_id"] for e in events} == {"bluesky:did:plc:l7mosai5i2u562b5qbosw6c7"}
    assert "1 found, 1 new" in capsys.readouterr().out


def test_an_instance_that_is_not_a_url_is_refused_in_one_line(collector_env: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "mastodon", "--instance", "mastodon.social", "--once", "--niches", str(collector_env)]) == 2
    assert "is not an http(s) URL" in capsys.readouterr().err


def test_reobservation_ages_come_from_settings_and_bad_ones_are_refused_in_one_line(
    collector_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from streams.settings import load_settings

    monkeypatch.setenv("NICHEWATCH_COLLECTOR_REOBSERVE_AFTER_S", "600,7200")
    assert load_settings().reobserve_ages_s == (600.0, 7200.0)
    monkeypatch.setenv("NICHEWATCH_COLLECTOR_REOBSERVE_AFTER_S", "7200,600")
    assert main(["collect", "mastodon", "--instance", "http://127.0.0.1:9", "--once",
                 "--niches", str(collector_env)]) == 2
    assert "NICHEWATCH_COLLECTOR_REOBSERVE_AFTER_S: must be increasing positive numbers" in capsys.readouterr().err
