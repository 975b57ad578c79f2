"""docker-compose.yml: mounts exist, services agree on ports and names, docker accepts it."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from streams.settings import Settings
from tests.dashboard_queries import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
WORKERS = ("worker-1", "worker-2")
METRICS_PORT = 9108


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _bind_sources(service: dict[str, Any]) -> list[str]:
    sources = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                sources.append(volume["source"])
        elif volume.startswith((".", "/")):
            sources.append(volume.split(":", 1)[0])
    return sources


def test_every_bind_mount_exists_in_the_repository(services: dict[str, Any]) -> None:
    checked = 0
    for name, service in services.items():
        for source in _bind_sources(service):
            assert not source.startswith("/"), f"{name} mounts an absolute host path {source}"
            assert (REPO_ROOT / source).exists(), f"{name} mounts missing {source}"
            checked += 1
    assert checked >= 3  # prometheus config, grafana provisioning, grafana dashboards


def test_built_services_use_the_repository_dockerfile(services: dict[str, Any]) -> None:
    for name in ("init", "feed", *WORKERS):
        build = services[name]["build"]
        assert (REPO_ROOT / build["context"] / build["dockerfile"]).is_file(), name


def test_kafka_is_a_single_kraft_node_reachable_in_network(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert kafka["image"] == "apache/kafka:4.1.1"
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "healthcheck" in kafka


def test_workers_consume_from_kafka_and_expose_metrics(services: dict[str, Any]) -> None:
    for name in WORKERS:
        worker = services[name]
        assert worker["command"] == ["worker"]
        env = worker["environment"]
        assert env["NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert int(env["NICHEWATCH_METRICS_PORT"]) == METRICS_PORT
        assert env["NICHEWATCH_WEB_HOST"] == "0.0.0.0"  # reachable by Prometheus in the network
        assert str(METRICS_PORT) in [str(p) for p in worker["expose"]]
        assert worker["depends_on"]["init"]["condition"] == "service_completed_successfully"


def test_nichewatch_environment_names_real_settings(services: dict[str, Any]) -> None:
    known = {name.upper() for name in Settings.model_fields}
    for name in ("init", "feed", *WORKERS):
        for variable in services[name]["environment"]:
            assert variable.removeprefix("NICHEWATCH_") in known, f"{name}: {variable} is not a setting"


def test_init_creates_topics_and_niches_then_feed_runs_in_real_time(services: dict[str, Any]) -> None:
    script = " ".join(services["init"]["command"])
    assert "nichewatch topics create" in script
    assert "nichewatch niches add" in script
    assert services["init"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["feed"]["command"] == ["feed", "simulate", "--realtime"]


def test_prometheus_scrapes_each_worker_on_its_metrics_port(services: dict[str, Any]) -> None:
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    config = yaml.safe_load((REPO_ROOT / "prometheus" / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "nichewatch-worker"]
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    assert targets == {f"{name}:{METRICS_PORT}" for name in WORKERS}
    assert "127.0.0.1:9090:9090" in services["prometheus"]["ports"]


def test_grafana_reaches_prometheus_and_requires_a_password(services: dict[str, Any]) -> None:
    grafana = services["grafana"]
    env = grafana["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "127.0.0.1:3000:3000" in grafana["ports"]
    datasource = yaml.safe_load((REPO_ROOT / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    assert "prometheus" in services


def test_published_ports_bind_to_localhost_only(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def _compose_plugin_works() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    result = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30, check=False)
    return result.returncode == 0


@pytest.mark.skipif(not _compose_plugin_works(), reason="docker compose plugin not installed (`docker compose version` fails)")
def test_docker_compose_accepts_the_file() -> None:
    env = {**os.environ, "GRAFANA_ADMIN_PASSWORD": "only-for-config-check"}
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
                            capture_output=True, text=True, timeout=60, env=env, check=False)
    assert result.returncode == 0, result.stderr
    env.pop("GRAFANA_ADMIN_PASSWORD")
    missing = subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
                             capture_output=True, text=True, timeout=60, env=env, check=False)
    assert missing.returncode != 0 and "GRAFANA_ADMIN_PASSWORD" in missing.stderr
