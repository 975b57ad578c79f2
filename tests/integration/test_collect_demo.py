"""`nichewatch demo --source mastodon --instance URL` runs the live view on a collector's posts
(here from a local fake Mastodon server) instead of the simulator, and Ctrl-C stops it all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

from tests.collect_fakes import FakeMastodon, ServerThread, ago
from tests.integration.test_demo import alive, children_of
from tests.kafka_helpers import Broker

ACCEPTED = re.compile(r"\(accepted ([\d,]+)")


def test_demo_with_a_mastodon_source_ingests_the_collectors_posts(kafka: Broker, unique: str) -> None:
    fake = FakeMastodon()
    with ServerThread(fake.app) as server:
        fake.base_url = server.url

        def populate() -> None:
            for n in range(3):
                author = fake.add_account(f"penpal{n}", followers=2_000 + n)
                fake.add_status(author, ["fountainpens"], created_at=ago(minutes=10 + n), favourites=n)

        server.call(populate)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NICHEWATCH_")}
        env["NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
        env["NICHEWATCH_APP_ID"] = f"demo-collect-{unique}"
        for name in ("posts", "snapshots", "niches", "alerts", "influencers", "dlq"):
            env[f"NICHEWATCH_TOPIC_{name.upper()}"] = f"{name}-democ-{unique}"
        demo = subprocess.Popen([sys.executable, "-m", "streams.cli", "demo", "--source", "mastodon",
                                 "--instance", server.url], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        seen: list[str] = []
        children: set[int] = set()
        try:
            deadline = time.monotonic() + 120
            assert demo.stdout is not None
            while time.monotonic() < deadline:
                line = demo.stdout.readline()
                if not line:
                    break
                seen.append(line.rstrip())
                children |= children_of(demo.pid)
                accepted = [int(m.group(1).replace(",", "")) for s in seen if (m := ACCEPTED.search(s))]
                if accepted and accepted[-1] >= 3:
                    break
            assert any(s.startswith("demo: mastodon collector started") for s in seen), seen[-20:]
            assert not any("live feed started" in s for s in seen)
            assert accepted and accepted[-1] >= 3, seen[-20:]
        finally:
            demo.send_signal(signal.SIGINT)
            output, _ = demo.communicate(timeout=120)
        assert "demo: stopped" in output
        assert [pid for pid in children if alive(pid)] == []


def test_demo_source_mastodon_without_an_instance_is_refused() -> None:
    result = subprocess.run([sys.executable, "-m", "streams.cli", "demo", "--source", "mastodon"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--source mastodon needs --instance URL" in result.stderr
