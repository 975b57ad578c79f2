"""`nichewatch demo` brings up the live system: alerts and metrics appear, and Ctrl-C leaves
no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.kafka_helpers import Broker


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


GENERIC_NEWS = "TAGS niche filmphotography: generic tracked tag #photooftheday"


def test_demo_shows_alerts_and_metrics_and_ctrl_c_stops_everything(kafka: Broker, unique: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NICHEWATCH_")}
    env["NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
    env["NICHEWATCH_APP_ID"] = f"demo-{unique}"
    for name in ("posts", "snapshots", "niches", "alerts", "influencers", "dlq", "niche_tags", "cohort_contributions", "cohorts", "tag_observations"):
        env[f"NICHEWATCH_TOPIC_{name.upper()}"] = f"{name}-demo-{unique}"
    env["NICHEWATCH_TAG_REPORT_INTERVAL_S"] = "2"
    demo = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "demo", "--accounts", "150", "--days", "12", "--speed", "20000"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    seen: list[str] = []
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 150
        assert demo.stdout is not None
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            seen.append(line.rstrip())
            children |= children_of(demo.pid)
            alerts = any(s.startswith("ALERT ") for s in seen)
            metrics = any(s.startswith("status: ") and " 0 ingested" not in s and "not reachable" not in s for s in seen)
            tags = any(s.startswith(GENERIC_NEWS) for s in seen)
            if alerts and metrics and tags:
                break
        assert any(s.startswith("ALERT ") and ("suspected_purchase" in s or "organic_breakout" in s) for s in seen), seen[-30:]
        assert any(s.startswith("status: ") and "ingested" in s for s in seen), seen[-30:]
        assert any(s.startswith(GENERIC_NEWS) for s in seen), seen[-30:]  # the world's generic tracked tag
        assert any("metrics http://127.0.0.1:" in s for s in seen)
        assert seen[0].startswith("demo: console http://127.0.0.1:"), seen[:3]  # the console's address first
        with urllib.request.urlopen(seen[0].split()[2], timeout=10) as console:
            assert b"Leaderboards" in console.read()
        assert len(children) >= 2  # the worker and the feed, at least
    finally:
        demo.send_signal(signal.SIGINT)
        stopping = time.monotonic()
        output, _ = demo.communicate(timeout=120)
        print(f"demo stopped {time.monotonic() - stopping:.1f}s after Ctrl-C")
    assert "demo: stopped" in output
    assert demo.returncode in (0, 130)
    assert [pid for pid in children if alive(pid)] == []
