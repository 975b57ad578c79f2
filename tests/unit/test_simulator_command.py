"""`nichewatch simulate`: the files it writes and the mistakes it refuses."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.cli import main


def _simulate(tmp_path: Path, *extra: str) -> tuple[int, list[Path]]:
    paths = [tmp_path / "events.jsonl", tmp_path / "truth.jsonl", tmp_path / "niches.json"]
    argv = ["simulate", "--seed", "4", "--accounts", "40", "--days", "13",
            "--out", str(paths[0]), "--truth", str(paths[1]), "--niches-out", str(paths[2]), *extra]
    return main(argv), paths


def test_simulate_writes_events_truth_and_niches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, (events, truth, niches) = _simulate(tmp_path)
    assert status == 0
    lines = events.read_bytes().splitlines()
    assert {orjson.loads(line)["kind"] for line in lines} == {"post", "snapshot"}
    incidents = [orjson.loads(line) for line in truth.read_bytes().splitlines()]
    assert incidents and all(set(i) == {"account_id", "event_type", "expected_classification", "start", "end",
                                        "followers_before", "followers_added"} for i in incidents)
    assert all(isinstance(tags, list) and tags for tags in orjson.loads(niches.read_bytes()).values())
    assert f"{len(lines)} events" in capsys.readouterr().out


def test_simulate_with_jitter_delivers_some_events_out_of_order(tmp_path: Path) -> None:
    status, (events, _, _) = _simulate(tmp_path, "--jitter-seconds", "300")
    assert status == 0
    observed = [orjson.loads(line)["observed_at"] for line in events.read_bytes().splitlines()]
    assert observed != sorted(observed)


def test_simulate_refuses_a_run_too_short_for_the_warm_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["simulate", "--seed", "1", "--days", "6", "--out", str(tmp_path / "e"),
                   "--truth", str(tmp_path / "t"), "--niches-out", str(tmp_path / "n")])
    assert status == 2
    assert "days must be at least" in capsys.readouterr().err


def test_simulate_refuses_a_missing_output_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    status = main(["simulate", "--seed", "1", "--accounts", "40", "--days", "13", "--out", str(missing / "e"),
                   "--truth", str(tmp_path / "t"), "--niches-out", str(tmp_path / "n")])
    assert status == 2
    assert "does not exist" in capsys.readouterr().err


def test_start_without_a_timezone_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--seed", "1", "--start", "2026-03-01T00:00:00", "--out", str(tmp_path / "e"),
              "--truth", str(tmp_path / "t"), "--niches-out", str(tmp_path / "n")])


def test_simulate_insists_on_a_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["simulate", "--out", str(tmp_path / "e"), "--truth", str(tmp_path / "t"),
                   "--niches-out", str(tmp_path / "n")])
    assert status == 2
    assert "--seed N is required" in capsys.readouterr().err


def test_simulate_writes_the_second_family_in_the_same_formats(tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first_status, (first_events, _, _) = _simulate(tmp_path / "first")
    status, (events, truth, niches) = _simulate(tmp_path / "second", "--family", "second")
    assert status == 0 and first_status == 0
    lines = events.read_bytes().splitlines()
    assert {orjson.loads(line)["kind"] for line in lines} == {"post", "snapshot"}
    assert lines != first_events.read_bytes().splitlines()
    incidents = [orjson.loads(line) for line in truth.read_bytes().splitlines()]
    assert {"purchase_multistep", "press_mention"} & {i["event_type"] for i in incidents}
    assert "aquascaping" in orjson.loads(niches.read_bytes())
