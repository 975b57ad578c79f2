"""The worker's HTTP surface: read-only, no Faust table or debug views, loopback by default."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from tests.kafka_helpers import Broker, WorkerProcess

TOPICS = ("posts", "snapshots", "niches", "alerts", "influencers", "dlq")
OUR_VIEWS = ("/accounts/instagram:someone", "/niches/pens/top", "/alerts/recent", "/", "/console/account?id=instagram:someone")


@pytest.fixture(scope="module")
def worker(kafka: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """A worker with default web settings (WorkerProcess sets only the ports)."""
    unique = uuid.uuid4().hex[:8]
    process = WorkerProcess(kafka, app_id=f"nw-http-{unique}", workdir=tmp_path_factory.mktemp("http-worker"),
                            topics={name: f"{name}-http-{unique}" for name in TOPICS})
    assert "NICHEWATCH_WEB_HOST" not in process.env()
    process.start()
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def request(port: int, method: str, path: str) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=b"{}" if method != "DELETE" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_api_is_read_only(worker: WorkerProcess, method: str) -> None:
    for path in OUR_VIEWS:
        assert request(worker.web_port, "GET", path) in (200, 404), path  # the route exists
        assert request(worker.web_port, method, path) == 405, f"{method} {path}"


@pytest.mark.parametrize("path", [
    "/table/", "/table/accounts/", "/table/accounts/instagram:someone/",
    "/router/", "/router/topics", "/router/accounts/",
    "/graph/", "/stats/", "/assignment/", "/performance/", "/metrics", "/metrics/",
])
def test_faust_table_and_debug_views_are_not_served(worker: WorkerProcess, path: str) -> None:
    assert request(worker.web_port, "GET", path) == 404


def test_root_is_the_console_with_a_policy_forbidding_script(worker: WorkerProcess) -> None:
    # The console's index replaces Faust's production index ({"status": "OK"}) at "/".
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/html")
        assert "script-src 'none'" in response.headers["Content-Security-Policy"]
        assert b"Leaderboards" in response.read()


def _listening_sockets(pid: int) -> dict[int, set[str]]:
    """port -> local addresses of the TCP sockets in LISTEN state that process ``pid`` holds."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    listening: dict[int, set[str]] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A = TCP_LISTEN
                continue
            address_hex, port_hex = local.split(":")
            listening.setdefault(int(port_hex, 16), set()).add(_address(address_hex))
    return listening


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return ".".join(str(b) for b in reversed(raw))
    # /proc/net/tcp6 prints the address as four host-order 32-bit words.
    words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
    import ipaddress

    return str(ipaddress.IPv6Address(b"".join(words)))


def test_http_and_metrics_listen_on_loopback_only_by_default(worker: WorkerProcess) -> None:
    assert worker.process is not None
    listening = _listening_sockets(worker.process.pid)
    assert worker.web_port in listening and worker.metrics_port in listening, listening
    for port, addresses in listening.items():
        assert addresses == {"127.0.0.1"}, f"port {port} listens on {addresses}"
