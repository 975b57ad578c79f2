"""A real Prometheus server for end-to-end tests: Debian's binary, scratch config, HTTP API.

The server runs the repository's own prometheus/prometheus.local.yml and rules.yml, copied
into a scratch directory with a targets/ directory for file-based discovery, so what is
tested is the configuration that ships.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.kafka_local import die_with_parent, free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = REPO_ROOT / "prometheus"
REQUIRE_ENV = "NICHEWATCH_REQUIRE_PROMTOOL"


def require_prometheus() -> str:
    """Path of the prometheus binary; skip without it, unless CI says it must be there."""
    binary, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if binary is None or promtool is None:
        missing = " and ".join(name for name, path in (("prometheus", binary), ("promtool", promtool)) if path is None)
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{missing} required ({REQUIRE_ENV} is set) but not on PATH; "
                        "run .ci/install-prometheus.sh")
        pytest.skip(f"{missing} not on PATH (install with .ci/install-prometheus.sh)")
    return binary


class PrometheusQueryError(AssertionError):
    pass


@dataclass
class PrometheusProcess:
    """``prometheus`` on 127.0.0.1:<free port> with a scratch copy of the shipped configuration."""

    binary: str
    workdir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        return self.workdir / "prometheus.local.yml"

    @property
    def log_path(self) -> Path:
        return self.workdir / "prometheus.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self, targets: list[str]) -> None:
        """Copy the config and rules, and point file discovery at ``targets`` (host:port)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROMETHEUS_DIR / "prometheus.local.yml", self.config_path)
        shutil.copy(PROMETHEUS_DIR / "rules.yml", self.workdir / "rules.yml")
        self.config = yaml.safe_load(self.config_path.read_text())
        (self.workdir / "targets").mkdir(exist_ok=True)
        (self.workdir / "targets" / "worker.json").write_text(json.dumps([{"targets": targets, "labels": {}}]))

    @property
    def scrape_interval_s(self) -> float:
        return parse_duration(self.config.get("global", {}).get("scrape_interval", "1m"))

    def start(self, timeout: float = 60.0) -> PrometheusProcess:
        self.port = self.port or free_port()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={self.config_path}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=1d",
                    "--log.level=warn",
                ],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=5) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"prometheus not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no prometheus log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # --- HTTP API -------------------------------------------------------------------

    def api(self, path: str, params: list[tuple[str, str]] | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """GET /api/v1/<path>; returns the JSON body whatever the HTTP status (errors are 4xx)."""
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                return json.loads(body)
            except ValueError:
                return {"status": "error", "errorType": f"http {exc.code}", "error": body.decode(errors="replace")}

    def query(self, expr: str) -> dict[str, Any]:
        """Instant query at the server's now: the whole response (status, data, error)."""
        return self.api("query", [("query", expr)])

    def result(self, expr: str) -> list[dict[str, Any]]:
        """The result vector of an instant query; raises if Prometheus reports an error."""
        body = self.query(expr)
        if body.get("status") != "success":
            raise PrometheusQueryError(f"{expr}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]["result"]  # type: ignore[no-any-return]

    def label_values(self, label: str, match: str) -> list[str]:
        body = self.api(f"label/{urllib.parse.quote(label)}/values", [("match[]", match)])
        if body.get("status") != "success":
            raise PrometheusQueryError(f"label_values({match}, {label}): {body.get('error')}")
        return body["data"]  # type: ignore[no-any-return]

    def targets(self) -> list[dict[str, Any]]:
        return self.api("targets", [("state", "active")])["data"]["activeTargets"]  # type: ignore[no-any-return]

    def rule_groups(self) -> list[dict[str, Any]]:
        return self.api("rules")["data"]["groups"]  # type: ignore[no-any-return]


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_duration(text: str) -> float:
    """A Prometheus duration such as ``2s``, ``1m30s`` or ``500ms``, in seconds."""
    import re

    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)
