"""examples/consume_alerts.py against a real broker: one line per alert however often it is delivered."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from schemas.events import SCHEMA_VERSION
from schemas.samples import REPO_ROOT, SAMPLE_DIR
from tests.kafka_helpers import Broker

EXAMPLE = REPO_ROOT / "examples" / "consume_alerts.py"


def sample(stem: str) -> dict:
    return json.loads((SAMPLE_DIR / f"{stem}.json").read_text(encoding="utf-8"))


def test_example_prints_a_redelivered_alert_once_and_the_profile(kafka: Broker, unique: str) -> None:
    alerts_topic, influencers_topic = f"example-alerts-{unique}", f"example-influencers-{unique}"
    kafka.create_topics([alerts_topic, influencers_topic], partitions=2)
    alert, profile = sample("follower_spike_alert"), sample("influencer_profile")
    alert_bytes = json.dumps(alert).encode()
    newer_major = {**alert, "alert_id": "from-the-future", "schema_version": SCHEMA_VERSION + 1}
    # A field added within the major version: readers ignore it.
    profile_bytes = json.dumps({**profile, "added_later": {"optional": True}}).encode()

    kafka.produce(alerts_topic, [
        (alert["account_id"].encode(), alert_bytes),
        (alert["account_id"].encode(), alert_bytes),  # redelivery: same alert_id
        (newer_major["account_id"].encode(), json.dumps(newer_major).encode()),
    ])
    kafka.produce(influencers_topic, [(profile["account_id"].encode(), profile_bytes)])

    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    result = subprocess.run(
        [
            sys.executable, str(EXAMPLE),
            "--bootstrap-servers", kafka.bootstrap_servers,
            "--group", f"example-{unique}",
            "--alerts-topic", alerts_topic,
            "--influencers-topic", influencers_topic,
            "--max-messages", "4",
            "--idle-timeout", "60",
        ],
        env=env, cwd=REPO_ROOT / "examples", capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()

    alert_lines = [line for line in lines if line.startswith("ALERT ")]
    assert alert_lines == [
        f"ALERT {alert['alert_id']} {alert['classification']} {alert['account_id']}: "
        f"followers {alert['followers_before']} -> {alert['followers_after']} "
        f"between {alert['window_start']} and {alert['window_end']}"
    ]
    assert [line for line in lines if line.startswith("  - ")] == [f"  - {e['detail']}" for e in alert["evidence"]]
    assert [line for line in lines if line.startswith("PROFILE ")] == [
        f"PROFILE {profile['account_id']} score={profile['score']:.2f} tier={profile['tier']} "
        f"niche={profile['primary_niche']} followers={profile['followers']}"
    ]
    assert f"duplicate alert {alert['alert_id']} ignored" in result.stderr
    assert "unsupported schema_version" in result.stderr
    assert "from-the-future" not in result.stdout
    assert "handled 4 records: 1 alerts, 1 profiles" in result.stderr
    # Offsets were committed after handling, so a restart of the group would not re-read.
    for topic in (alerts_topic, influencers_topic):
        committed = kafka.committed(f"example-{unique}", topic)
        ends = {partition: end for partition, end in kafka.end_offsets(topic).items() if end > 0}
        assert {partition: committed.get(partition) for partition in ends} == ends
