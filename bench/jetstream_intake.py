"""Jetstream intake of `nichewatch collect bluesky`: messages handled per CPU-second.

Each message is parsed, its tags (facets, ``tags``, text hashtags) normalised and matched
against the niches, and the cursor moved: the work the collector does for every post on
the network before any request. Baseline in the same run: ``orjson.loads`` alone.
The recorded fixtures (tests/fixtures/bluesky/jetstream_events.jsonl) are cycled with
fresh ``time_us`` values.

    .venv/bin/python bench/jetstream_intake.py [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import sys
import time
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.collectors.bluesky import BlueskySource  # noqa: E402
from streams.collectors.http import ApiClient  # noqa: E402
from streams.metrics import CollectorMetrics  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "bluesky" / "jetstream_events.jsonl"


def messages(count: int) -> list[str]:
    base = [orjson.loads(line) for line in FIXTURE.read_text().splitlines()]
    out = []
    for i in range(count):
        event = copy.deepcopy(base[i % len(base)])
        event["time_us"] = 1_739_005_435_725_000 + i
        out.append(orjson.dumps(event).decode())
    return out


async def main(count: int) -> None:
    lines = messages(count)
    started = time.process_time()
    for line in lines:
        orjson.loads(line)
    baseline = time.process_time() - started

    metrics = CollectorMetrics(CollectorRegistry())
    source = BlueskySource(ApiClient(None, "bluesky", metrics), None, metrics, "ws://unused", "http://unused")  # type: ignore[arg-type]
    source.start(lambda: frozenset({"fountainpens", "sourdough", "code"}))
    await source.stop()  # no socket: only the per-message handling is measured
    started = time.process_time()
    for line in lines:
        source._on_message(line)
    handled = time.process_time() - started
    print(f"orjson.loads alone:        {count / baseline:>12,.0f} messages/CPU-s")
    print(f"collector message handling: {count / handled:>10,.0f} messages/CPU-s "
          f"({handled / baseline:.1f}x the parse alone); {len(source._queue)} posts queued")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().messages))
