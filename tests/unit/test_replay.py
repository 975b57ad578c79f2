from __future__ import annotations

import argparse
from pathlib import Path

import orjson
import pytest

from schemas.events import NicheDefinition
from streams.cli import CliError
from streams.commands import replay as replay_command
from streams.core import Engine
from streams.core.replay import replay
from streams.core.synthetic import AccountSpec, merged_events

NICHES = [NicheDefinition(name="pens", tags=["fountainpens"])]
SPECS = [
    AccountSpec("instagram:bought", followers=20_000, scenario="purchase_step", amount=5_000),
    AccountSpec("instagram:calm", followers=9_000),
]
LINES = [orjson.dumps(e) for e in merged_events(SPECS, days=11)]


def test_bad_lines_are_reported_counted_and_skipped() -> None:
    lines = [LINES[0], b"{not json", b"", b'{"kind": "comment"}', *LINES[1:]]
    reported: list[tuple[int, str]] = []
    result = replay(lines, Engine(niches=NICHES), on_bad_line=lambda n, r: reported.append((n, r)))
    assert [n for n, _ in reported] == [2, 4]
    assert "unknown kind" in reported[1][1]
    assert result.bad_lines == 2
    assert result.events == len(LINES)
    assert result.accounts == 2
    assert result.alerts_by_classification == {"suspected_purchase": 1, "organic_breakout": 0}


def test_replay_outputs_go_to_the_callback_in_order() -> None:
    seen = []
    result = replay(LINES, Engine(niches=NICHES), on_output=seen.append)
    assert [o for o in seen if o.kind == "follower_spike_alert"] == result.alerts
    assert result.profiles_emitted == sum(1 for o in seen if o.kind == "influencer_profile")
    assert set(result.profiles) <= {"instagram:bought", "instagram:calm"}


def args_for(tmp_path: Path, **overrides: object) -> argparse.Namespace:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(LINES[:50] + [b"garbage"] + LINES[50:]) + b"\n")
    niches = tmp_path / "niches.json"
    niches.write_bytes(orjson.dumps({"pens": ["#FountainPens", "ink"]}))
    values = {
        "input": events,
        "niches": niches,
        "alerts_out": tmp_path / "alerts.jsonl",
        "influencers_out": tmp_path / "influencers.jsonl",
        "reorder_delay_hours": 0.0,
        "tags_out": None,
    }
    values.update(overrides)
    return argparse.Namespace(**values)


def test_replay_command_writes_alerts_and_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = args_for(tmp_path)
    assert replay_command.run(args) == 0
    alerts = [orjson.loads(line) for line in args.alerts_out.read_bytes().splitlines()]
    assert [a["account_id"] for a in alerts] == ["instagram:bought"]
    assert {"alert_id", "classification", "window_start", "window_end", "detected_at", "evidence"} <= set(alerts[0])
    assert args.influencers_out.read_bytes().strip()
    out, err = capsys.readouterr()
    assert f"{args.input}:51: not valid JSON" in err
    assert "bad lines 1" in out and "suspected_purchase 1" in out and "events/s" in out


def test_replay_command_rejects_missing_input_and_bad_niches(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="does not exist"):
        replay_command.run(args_for(tmp_path, input=tmp_path / "missing.jsonl"))
    bad = tmp_path / "bad_niches.json"
    bad.write_bytes(b'["pens"]')
    with pytest.raises(CliError, match="JSON object"):
        replay_command.run(args_for(tmp_path, niches=bad))


def test_replay_command_registers_with_the_cli() -> None:
    parser = argparse.ArgumentParser()
    replay_command.register(parser.add_subparsers())
    args = parser.parse_args(["replay", "in.jsonl", "--niches", "n.json", "--alerts-out", "a.jsonl"])
    assert args.func is replay_command.run and args.alerts_out == Path("a.jsonl")


def test_replay_command_writes_profiles_and_each_niches_tag_report(tmp_path: Path) -> None:
    args = args_for(tmp_path, tags_out=tmp_path / "tags.json")
    assert replay_command.run(args) == 0
    profiles = [orjson.loads(line) for line in (tmp_path / "influencers.jsonl").read_bytes().splitlines()]
    assert profiles and {p["kind"] for p in profiles} == {"influencer_profile"}
    assert {p["primary_niche"] for p in profiles} == {"pens"}
    report = orjson.loads((tmp_path / "tags.json").read_bytes())
    assert set(report) == {"pens"} and {row["tag"] for row in report["pens"]["tags"] if row["tracked"]} >= {"fountainpens"}
