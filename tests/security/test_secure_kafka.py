"""Kafka security settings against a real broker with SCRAM-SHA-512 and TLS listeners.

One broker for this module (not the session broker): PLAINTEXT for its own readiness
check, SASL_PLAINTEXT with SCRAM-SHA-512 (the user is created when the storage is
formatted) and SSL with a certificate for 127.0.0.1 signed by a throw-away CA. The
CLI and a worker connect with NICHEWATCH_KAFKA_* settings only; the test reads and
writes with kafka-python configured by the same ``streams.kafka_config``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemas.events import NicheDefinition
from streams.kafka_local import LocalKafka, die_with_parent, free_port
from streams.follower import TopicFollower
from streams.kafka_config import faust_credentials
from streams.niche_config import write_niche
from streams.settings import load_settings
from streams.topic_admin import missing_topics
from tests.events_factory import post_bytes
from tests.kafka_helpers import Broker, WorkerProcess, http_get, wait_until
from tests.security.helpers import NICHEWATCH, consume, produce, run_cli, settings_from_env
from tests.security.tls import TlsFiles, make_tls

pytestmark = pytest.mark.integration

USER = "nichewatch-svc"
PASSWORD = f"nw-pw-{uuid.uuid4().hex}"
WRONG_PASSWORD = f"nw-wrong-{uuid.uuid4().hex}"
TOPICS = ("posts", "snapshots", "niches", "alerts", "influencers", "dlq")


@dataclass
class SecureBroker:
    local: LocalKafka
    tls: TlsFiles

    def sasl_env(self, password: str = PASSWORD) -> dict[str, str]:
        return {
            "NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS": self.local.listener_address("SASL"),
            "NICHEWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "NICHEWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "NICHEWATCH_KAFKA_SASL_USERNAME": USER,
            "NICHEWATCH_KAFKA_SASL_PASSWORD": password,
        }

    def sasl_ssl_env(self) -> dict[str, str]:
        return {
            **self.sasl_env(),
            "NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS": self.local.listener_address("SASLSSL"),
            "NICHEWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "NICHEWATCH_KAFKA_SSL_CAFILE": str(self.tls.ca_cert),
        }

    def ssl_env(self, *, trust_ca: bool = True) -> dict[str, str]:
        env = {
            "NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS": self.local.listener_address("SSL"),
            "NICHEWATCH_KAFKA_SECURITY_PROTOCOL": "SSL",
        }
        if trust_ca:
            env["NICHEWATCH_KAFKA_SSL_CAFILE"] = str(self.tls.ca_cert)
        return env


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    tls = make_tls(tmp_path_factory.mktemp("tls"))
    local = LocalKafka(
        run_dir=tmp_path_factory.mktemp("secure-kafka"),
        cache_dir=load_settings().cache_dir,
        extra_listeners={
            "SASL": (free_port(), "SASL_PLAINTEXT"),
            "SSL": (free_port(), "SSL"),
            "SASLSSL": (free_port(), "SASL_SSL"),
        },
        extra_properties={
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            **{
                f"listener.name.{name}.scram-sha-512.sasl.jaas.config":
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                for name in ("sasl", "saslssl")
            },
            **tls.listener_properties("SSL"),
            **tls.listener_properties("SASLSSL"),
        },
        scram_users={USER: ("SCRAM-SHA-512", PASSWORD)},
        heap="512m",
    )
    local.start(bound_to_parent=True)
    print(f"\nsecure Kafka: SASL {local.listener_address('SASL')}, SSL {local.listener_address('SSL')}, "
          f"ready in {local.startup_seconds:.1f}s")
    try:
        yield SecureBroker(local, tls)
    except BaseException:
        print(local.log_tail())
        raise
    finally:
        local.stop()


def start_worker(secure: SecureBroker, tmp_path: Path, env: Mapping[str, str], name: str) -> WorkerProcess:
    """Topics created with `nichewatch topics create`, one niche, then a worker; all over ``env``."""
    unique = f"{name}-{uuid.uuid4().hex[:8]}"
    env = dict(env)
    process = WorkerProcess(
        Broker(env.pop("NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS"), local=secure.local),
        app_id=f"nw-{unique}",
        workdir=tmp_path,
        topics={topic: f"{topic}-{unique}" for topic in TOPICS},
        extra_env=env,
    )
    created = run_cli(process.env(), "topics", "create")
    assert created.returncode == 0, created.stderr
    settings = settings_from_env(process.env())
    assert missing_topics(settings) == []
    write_niche(settings, NicheDefinition(name="pens", tags=["#FountainPens"]), "pens")
    process.start()
    try:
        process.wait_ready()
    except BaseException:
        process.stop()
        raise
    return process


def assert_processes_posts_end_to_end(process: WorkerProcess) -> None:
    """A malformed post lands in the DLQ (read back over the same security settings); a good one is applied."""
    settings = settings_from_env(process.env())
    account = f"instagram:secure-{process.app_id}"
    poison = b"\xff\xfe not utf-8"
    produce(settings, process.topics["posts"], [
        (account.encode(), poison),
        (account.encode(), post_bytes(account_id=account, handle="secure", post_id="s1")),
    ])
    dead = [r for r in consume(settings, process.topics["dlq"], count=1, timeout=90) if r.key == account.encode()]
    assert dead, f"nothing in the DLQ:\n{process.log_tail()}"
    assert dead[0].value == poison
    assert "UTF-8" in dict(dead[0].headers)["nichewatch-error"].decode()
    # The good post after the poison was judged against the niche the worker's follower
    # read over the same listener, so the account is tracked.
    wait_until(lambda: http_get(process.web_port, f"/accounts/{account}")[0] == 200, timeout=90,
               what="the good post applied")


# --- SASL_PLAINTEXT / SCRAM-SHA-512 -----------------------------------------------------------


@pytest.fixture(scope="class")
def worker(secure: SecureBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """A SASL worker for the tests of one class; stopped before the next class starts its own."""
    process = start_worker(secure, tmp_path_factory.mktemp("sasl-worker"), secure.sasl_env(), "sasl")
    try:
        yield process
    finally:
        process.stop()


class TestSasl:
    def test_cli_and_worker_process_a_post_end_to_end(self, worker: WorkerProcess) -> None:
        assert_processes_posts_end_to_end(worker)

    def test_password_is_not_in_logs_files_metrics_or_http(self, worker: WorkerProcess) -> None:
        import urllib.request

        # Something was processed and logged before looking (the test above, or this).
        assert worker.log_path.stat().st_size > 0
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=10) as response:
            metrics_text = response.read().decode()
        assert "nichewatch_dlq_writes_total" in metrics_text
        assert PASSWORD not in metrics_text
        for path in ("/alerts/recent", "/niches/pens/top", f"/accounts/instagram:secure-{worker.app_id}"):
            status, body = http_get(worker.web_port, path)
            assert PASSWORD not in str(body), path
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/", timeout=10) as response:
            console = response.read().decode()
        assert "nichewatch" in console and PASSWORD not in console
        assert worker.process is not None  # configured through the environment, not the command line
        assert PASSWORD.encode() not in Path(f"/proc/{worker.process.pid}/cmdline").read_bytes()
        written = [p for p in worker.workdir.rglob("*") if p.is_file()]
        assert worker.log_path in written
        leaking = [p for p in written if PASSWORD.encode() in p.read_bytes()]
        assert leaking == [], f"password written to {leaking}"

    def test_settings_repr_and_dump_mask_the_password(self, worker: WorkerProcess) -> None:
        settings = settings_from_env(worker.env())
        assert settings.kafka_sasl_password is not None
        assert settings.kafka_sasl_password.get_secret_value() == PASSWORD
        for text in (repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())):
            assert PASSWORD not in text
            assert "**********" in text
        assert PASSWORD not in repr(faust_credentials(settings))


# --- SASL_SSL (no worker: the CLI, kafka-python and the aiokafka follower) ----------------------


def test_sasl_ssl_cli_producer_and_follower(secure: SecureBroker, tmp_path: Path) -> None:
    unique = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NICHEWATCH_")}
    env.update(secure.sasl_ssl_env(), NICHEWATCH_DATA_DIR=str(tmp_path / "data"),
               **{f"NICHEWATCH_TOPIC_{topic.upper()}": f"{topic}-saslssl-{unique}" for topic in TOPICS})
    created = run_cli(env, "topics", "create", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert run_cli(env, "topics", "check", cwd=tmp_path).returncode == 0
    settings = settings_from_env(env)
    write_niche(settings, NicheDefinition(name="pens", tags=["#FountainPens"]), "pens")

    seen: list[bytes | None] = []
    follower = TopicFollower(settings, settings.topic_niches, lambda key, value: seen.append(key))

    async def follow() -> None:
        task = asyncio.create_task(follower.run())
        try:
            await asyncio.wait_for(follower.ready.wait(), timeout=60)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(follow())
    assert seen == [b"pens"]


# --- wrong credentials, untrusted certificate ---------------------------------------------------


@pytest.fixture(scope="module")
def failed_runs(secure: SecureBroker, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str]]:
    """The CLI and a worker with a wrong password, and the CLI without the CA: run side by side.

    Each waits for kafka-python's bootstrap timeout, so they share the wait.
    """
    workdir = tmp_path_factory.mktemp("failing")
    base = {k: v for k, v in os.environ.items() if not k.startswith("NICHEWATCH_")}
    base["NICHEWATCH_DATA_DIR"] = str(workdir / "data")
    runs = {
        "topics create, wrong password": (secure.sasl_env(WRONG_PASSWORD), ["topics", "create"]),
        "worker, wrong password": (
            {**secure.sasl_env(WRONG_PASSWORD), "NICHEWATCH_WEB_PORT": str(free_port()),
             "NICHEWATCH_METRICS_PORT": str(free_port())}, ["worker"]),
        "topics create, untrusted CA": (secure.ssl_env(trust_ca=False), ["topics", "create"]),
        "python -m streams.cli topics create, wrong password": (
            secure.sasl_env(WRONG_PASSWORD), ["-m", "streams.cli", "topics", "create"]),
    }
    processes = {
        name: subprocess.Popen(
            [sys.executable, *args] if args[0] == "-m" else [str(NICHEWATCH), *args],
            env={**base, **env}, cwd=workdir,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent,
        )
        for name, (env, args) in runs.items()
    }
    results = {}
    for name, process in processes.items():
        try:
            output, _ = process.communicate(timeout=150)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        results[name] = (process.returncode, output)
        print(f"--- {name}: exit {process.returncode}\n{output}")
    return results


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("nichewatch:")]


@pytest.mark.parametrize("run", ["topics create, wrong password", "worker, wrong password",
                                 "topics create, untrusted CA"])
def test_refused_connection_exits_non_zero_with_one_error_line_and_no_traceback(
    failed_runs: dict[str, tuple[int, str]], run: str
) -> None:
    returncode, output = failed_runs[run]
    assert returncode not in (0, None), output
    assert "Traceback" not in output
    assert len(_error_lines(output)) == 1 and output.rstrip().splitlines()[-1].startswith("nichewatch:"), output
    assert PASSWORD not in output and WRONG_PASSWORD not in output


@pytest.mark.parametrize("run", ["topics create, wrong password", "worker, wrong password"])
def test_wrong_password_is_reported_in_one_line_naming_authentication(
    failed_runs: dict[str, tuple[int, str]], run: str
) -> None:
    returncode, output = failed_runs[run]
    assert returncode not in (0, None)
    assert len(output.strip().splitlines()) == 1, output
    assert "authentication" in output.lower()


# --- SSL and SASL_SSL workers ------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["SSL", "SASL_SSL"])
def test_tls_cli_and_worker_process_a_post_end_to_end(secure: SecureBroker, tmp_path: Path, protocol: str) -> None:
    env = secure.ssl_env() if protocol == "SSL" else secure.sasl_ssl_env()
    process = start_worker(secure, tmp_path, env, protocol.lower().replace("_", "-"))
    try:
        assert_processes_posts_end_to_end(process)
    finally:
        process.stop()


def test_python_dash_m_cli_reports_errors_in_one_line(failed_runs: dict[str, tuple[int, str]]) -> None:
    returncode, output = failed_runs["python -m streams.cli topics create, wrong password"]
    assert returncode == 2
    assert "Traceback" not in output
