"""Every command and sub-command of `nichewatch` answers --help."""

from __future__ import annotations

import argparse

import pytest

from streams.cli import build_parser, main


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix] if prefix else []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += command_paths(sub, (*prefix, name))
    return paths


PATHS = command_paths(build_parser())


def test_the_cli_has_every_command_operators_expect() -> None:
    top = {path[0] for path in PATHS}
    assert top >= {"worker", "topics", "niches", "feed", "alerts", "replay", "kafka", "demo", "simulate", "evaluate"}
    assert {("niches", "add"), ("niches", "remove"), ("niches", "list"), ("feed", "simulate"), ("feed", "replay"),
            ("alerts", "tail"), ("kafka", "start"), ("kafka", "stop"), ("kafka", "status")} <= set(PATHS)


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    assert "usage: nichewatch" in capsys.readouterr().out
