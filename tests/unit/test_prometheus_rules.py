"""prometheus/: the scrape configs and rules are valid, and every alert's unit tests pass.

Runs promtool. Locally the tests skip when promtool is not installed; CI sets
NICHEWATCH_REQUIRE_PROMTOOL (and runs .ci/install-prometheus.sh), so there a missing
promtool fails instead of silently skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "prometheus"
RULES = PROMETHEUS_DIR / "rules.yml"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("NICHEWATCH_REQUIRE_PROMTOOL"):
            pytest.fail("promtool is required (NICHEWATCH_REQUIRE_PROMTOOL is set) but not on PATH; "
                        "run .ci/install-prometheus.sh")
        pytest.skip("promtool not installed (bash .ci/install-prometheus.sh installs it)")
    return path


def run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.local.yml"])
def test_scrape_config_is_valid(promtool: str, config: str) -> None:
    result = run(promtool, "check", "config", config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_are_valid(promtool: str) -> None:
    result = run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass(promtool: str) -> None:
    result = run(promtool, "test", "rules", *(str(p) for p in RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS)


def _rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_every_alert_has_firing_and_quiet_cases() -> None:
    alerts = {rule["alert"] for rule in _rules() if "alert" in rule}
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts, "rules.yml declares no alerts"
    assert alerts - firing == set(), "alerts never shown to fire"
    assert alerts - quiet == set(), "alerts never shown to stay quiet"


def test_alerts_carry_severity_and_summary() -> None:
    for rule in _rules():
        if "alert" in rule:
            assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
            assert rule["alert"].startswith("Nichewatch"), rule["alert"]


def test_recording_rules_follow_level_metric_operation_naming() -> None:
    for rule in _rules():
        if "record" in rule:
            level, metric, operation = rule["record"].split(":")
            assert level and operation, rule["record"]
            assert metric.startswith("nichewatch"), rule["record"]


def test_rule_files_point_at_the_rules_file() -> None:
    for config in ("prometheus.yml", "prometheus.local.yml"):
        loaded = yaml.safe_load((PROMETHEUS_DIR / config).read_text())
        assert loaded["rule_files"] == ["rules.yml"]
        jobs = {job["job_name"] for job in loaded["scrape_configs"]}
        assert "nichewatch-worker" in jobs, config
