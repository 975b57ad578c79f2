"""`nichewatch topics create` and `nichewatch niches add|remove|list` against a real broker."""

from __future__ import annotations

import os
import subprocess
import sys

from kafka.admin import ConfigResource, ConfigResourceType

from tests.kafka_helpers import Broker


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def cli_env(kafka: Broker, unique: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NICHEWATCH_")}
    env["NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
    for name in ("posts", "snapshots", "niches", "alerts", "influencers", "dlq", "niche_tags", "cohort_contributions", "cohorts", "tag_observations"):
        env[f"NICHEWATCH_TOPIC_{name.upper()}"] = f"{name}-{unique}"
    env["NICHEWATCH_TOPIC_PARTITIONS"] = "3"
    env["NICHEWATCH_APP_ID"] = f"nw-{unique}"  # its table changelogs are topics too
    return env


def test_topics_create_is_idempotent_and_configures_cleanup(kafka: Broker, unique: str) -> None:
    env = cli_env(kafka, unique)
    assert run_cli(env, "topics", "check").returncode == 1
    first = run_cli(env, "topics", "create")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("created") == 12
    second = run_cli(env, "topics", "create")
    assert second.returncode == 0 and "created" not in second.stdout
    assert run_cli(env, "topics", "check").returncode == 0

    admin = kafka.admin()
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, f"niches-{unique}"),
             ConfigResource(ConfigResourceType.TOPIC, f"alerts-{unique}")]
        )
    finally:
        admin.close()
    text = repr(described)
    assert "compact" in text and str(30 * 24 * 3600 * 1000) in text
    assert kafka.end_offsets(f"posts-{unique}").keys() == {0, 1, 2}


def test_niches_added_and_removed_show_in_list(kafka: Broker, unique: str) -> None:
    env = cli_env(kafka, unique)
    assert run_cli(env, "topics", "create").returncode == 0
    assert run_cli(env, "niches", "list").stdout.startswith("no niches")
    added = run_cli(env, "niches", "add", "fountainpens", "#FountainPens", "inkswatch")
    assert added.returncode == 0, added.stderr
    assert run_cli(env, "niches", "add", "sourdough", "sourdough").returncode == 0
    listed = run_cli(env, "niches", "list").stdout
    assert "fountainpens" in listed and "#FountainPens inkswatch" in listed and "sourdough" in listed
    assert run_cli(env, "niches", "remove", "sourdough").returncode == 0
    listed = run_cli(env, "niches", "list").stdout
    assert "fountainpens" in listed and "sourdough" not in listed


def test_niche_without_tags_is_refused_with_usage(kafka: Broker, unique: str) -> None:
    result = run_cli(cli_env(kafka, unique), "niches", "add", "empty")
    assert result.returncode == 2
    assert "tags" in result.stderr


def test_worker_refuses_to_start_without_its_topics_and_says_how_to_create_them(kafka: Broker, unique: str) -> None:
    result = run_cli(cli_env(kafka, unique), "worker")
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("nichewatch: missing topics: ") and f"posts-{unique}" in line
    assert "nichewatch topics create" in line
