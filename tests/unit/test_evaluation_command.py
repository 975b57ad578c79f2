"""`nichewatch evaluate`: scenario through the real engine, a report, and the --check gate."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.cli import main
from streams.commands.evaluate import exit_status
from streams.evaluation import evaluate, follower_observations


def test_evaluate_replays_a_scenario_through_the_engine_and_reports_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alerts_out = tmp_path / "alerts.jsonl"
    status = main(["evaluate", "--seed", "2", "--accounts", "60", "--days", "13", "--alerts-out", str(alerts_out)])
    out = capsys.readouterr().out
    assert status == 0  # without --check the scores never fail the command
    assert "suspected_purchase (all)" in out and "targets:" in out
    assert "0 bad lines" in out
    alerts = [orjson.loads(line) for line in alerts_out.read_bytes().splitlines()]
    assert alerts, "a scenario with injected purchases produces alerts"
    assert {a["classification"] for a in alerts} <= {"suspected_purchase", "organic_breakout"}


def _incident() -> dict:
    return {"account_id": "ig:a", "event_type": "purchase_instant", "expected_classification": "suspected_purchase",
            "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:00:00Z",
            "followers_before": 1000, "followers_added": 200}


def test_check_fails_only_when_a_target_is_missed(capsys: pytest.CaptureFixture[str]) -> None:
    hit = {"alert_id": "1", "account_id": "ig:a", "classification": "suspected_purchase",
           "detected_at": "2026-03-10T01:00:00Z"}
    observations = follower_observations([{"account_id": "ig:a", "observed_at": "2026-03-10T01:00:00Z", "followers": 1200}])
    perfect = evaluate([_incident()], [hit], observations)
    missed = evaluate([_incident()], [], observations)
    assert exit_status(perfect, check=True) == 0
    assert exit_status(missed, check=False) == 0
    assert exit_status(missed, check=True) == 1
    assert "suspected_purchase recall" in capsys.readouterr().out


def test_evaluate_scores_alerts_from_a_replay_file_against_the_same_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events, truth, niches = tmp_path / "e.jsonl", tmp_path / "t.jsonl", tmp_path / "n.json"
    scenario = ["--seed", "6", "--accounts", "50", "--days", "13"]
    assert main(["simulate", *scenario, "--out", str(events), "--truth", str(truth), "--niches-out", str(niches)]) == 0
    # An oracle: one purchase alert per purchase incident, at its start.
    alerts = tmp_path / "a.jsonl"
    incidents = [orjson.loads(line) for line in truth.read_bytes().splitlines()]
    purchases = [i for i in incidents if i["expected_classification"] == "suspected_purchase"]
    alerts.write_bytes(b"".join(
        orjson.dumps({"alert_id": str(n), "account_id": i["account_id"], "classification": "suspected_purchase",
                      "detected_at": i["start"]}) + b"\n"
        for n, i in enumerate(purchases)
    ))
    capsys.readouterr()
    assert main(["evaluate", *scenario, "--alerts", str(alerts), "--check"]) == 0
    out = capsys.readouterr().out
    assert f"scoring {len(purchases)} alerts" in out and "engine:" not in out
    assert "[   met] suspected_purchase recall: 1.000" in out


def test_evaluate_refuses_an_unreadable_alerts_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["evaluate", "--seed", "1", "--accounts", "30", "--days", "13", "--alerts", str(tmp_path / "none")])
    assert status == 2
    assert "cannot read" in capsys.readouterr().err


def test_evaluate_runs_the_second_family_with_the_same_report(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["evaluate", "--family", "second", "--seed", "3", "--accounts", "60", "--days", "13", "--show-false", "3"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "false purchase alerts:" in out
    assert "family=second" in out and "suspected_purchase (all)" in out and "targets:" in out
    assert "honest accounts accused of a purchase:" in out
    assert "purchase_multistep" in out and "press_mention" in out


def test_sweep_prints_one_row_per_setting_of_the_chosen_knob(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["evaluate", "--sweep", "--family", "second", "--seed", "2", "--accounts", "40", "--days", "13",
            "--knob", "rounded_share", "--processes", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines() if line.startswith(("defaults", "rounded_share="))]
    assert rows == ["defaults", "rounded_share=0", "rounded_share=1"]
    assert "precision >= 0.95 at every setting" in out


def test_sweep_refuses_alerts_from_elsewhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["evaluate", "--sweep", "--seed", "1", "--alerts", str(tmp_path / "a.jsonl")])
    assert status == 2
    assert "--sweep runs the engine itself" in capsys.readouterr().err
