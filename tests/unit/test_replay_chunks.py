"""Replay decodes its input a chunk at a time; line numbers and results do not depend on it."""

from __future__ import annotations

from streams.core import Engine
from streams.core.replay import CHUNK_LINES, replay
from tests.unit.test_replay import LINES, NICHES


def test_bad_lines_across_chunk_boundaries_keep_their_line_numbers_and_good_lines_their_results() -> None:
    padding = [b"" if number % 2 else b"{not json" for number in range(1, 2 * CHUNK_LINES + 2)]
    lines = padding + LINES[:30] + [b"   \n", b'{"kind": "comment"}'] + LINES[30:]
    reported: list[int] = []
    result = replay(lines, Engine(niches=NICHES), on_bad_line=lambda number, _reason: reported.append(number))
    plain = replay(LINES, Engine(niches=NICHES))
    bad_comment = len(padding) + 30 + 2
    assert reported == [n for n in range(1, len(padding) + 1) if n % 2 == 0] + [bad_comment]
    assert result.lines == len(lines)
    assert result.events == len(LINES)
    assert result.bad_lines == len(reported)
    assert result.alerts == plain.alerts and result.alerts
    assert result.profiles == plain.profiles
