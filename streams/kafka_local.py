"""A real, single-node Apache Kafka (KRaft) for tests, the demo and local work.

The jars of one pinned Kafka release (plus a log4j2 backend) are fetched from Maven
Central with Maven, once, into a cache directory outside the repository. A broker is a
combined broker+controller JVM on free loopback ports with its own data directory:

    cache/kafka-<version>/libs/*.jar         fetched once (mvn dependency:copy-dependencies)
    <run dir>/server.properties              written per broker
    <run dir>/data/                          KRaft metadata + topic logs (kept across restarts)
    <run dir>/kafka.log                      everything the JVM prints
    <run dir>/kafka.pid                      for `nichewatch kafka stop|status`

`LocalKafka.start(bound_to_parent=True)` asks the kernel to kill the JVM when the
starting process dies (PR_SET_PDEATHSIG), so an interrupted test run leaves no JVM
behind; the CLI starts a detached broker and stops it from the pid file.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.1.1"
SCALA_VERSION = "2.13"
LOG4J_VERSION = "2.25.3"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "nichewatch"

_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>nichewatch.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j2-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
"""


class KafkaToolingError(Exception):
    """The local broker cannot be fetched or started; the message says what to do instead."""


_NO_JAVA_HINT = (
    "or run a broker another way: `docker compose up kafka`, or point "
    "KAFKA_BOOTSTRAP_SERVERS at an existing cluster"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_jars(cache_dir: Path = DEFAULT_CACHE_DIR, version: str = KAFKA_VERSION) -> Path:
    """Return the directory holding the Kafka runtime jars, fetching them on first use."""
    home = cache_dir / f"kafka-{version}"
    libs = home / "libs"
    marker = home / ".complete"
    if marker.exists():
        return libs
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            raise KafkaToolingError(f"`{tool}` is not installed: install a JDK 17+ and Maven, {_NO_JAVA_HINT}")
    home.mkdir(parents=True, exist_ok=True)
    (home / "pom.xml").write_text(_POM.format(scala=SCALA_VERSION, kafka=version, log4j=LOG4J_VERSION))
    shutil.rmtree(libs, ignore_errors=True)
    log.info("fetching Apache Kafka %s jars from Maven Central into %s", version, libs)
    started = time.monotonic()
    result = subprocess.run(
        ["mvn", "-B", "-q", "-f", str(home / "pom.xml"), "dependency:copy-dependencies",
         f"-DoutputDirectory={libs}", "-DincludeScope=runtime"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise KafkaToolingError(
            f"mvn could not fetch Kafka {version}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    marker.write_text(f"{time.monotonic() - started:.1f}s\n")
    return libs


@dataclass
class LocalKafka:
    """One combined broker+controller on loopback, data kept in ``run_dir``."""

    run_dir: Path
    cache_dir: Path = DEFAULT_CACHE_DIR
    port: int = 0
    controller_port: int = 0
    extra_properties: Mapping[str, str] = field(default_factory=dict)
    extra_listeners: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    """name -> (port, security protocol), e.g. {"SASL": (19094, "SASL_PLAINTEXT")}.

    Listener-specific settings (JAAS config, keystores) go in ``extra_properties`` under
    ``listener.name.<lower-case name>.``; inter-broker and controller traffic stay PLAINTEXT.
    """
    scram_users: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """user name -> (SCRAM mechanism, password), written into the KRaft metadata when the
    storage is formatted (first start only), e.g. {"alice": ("SCRAM-SHA-512", "secret")}."""
    heap: str = "768m"
    startup_seconds: float | None = None
    _process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def listener_address(self, name: str) -> str:
        """host:port of the extra listener ``name``."""
        return f"127.0.0.1:{self.extra_listeners[name][0]}"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "kafka.log"

    @property
    def pid_path(self) -> Path:
        return self.run_dir / "kafka.pid"

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no broker log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, *, bound_to_parent: bool = True, timeout: float = 90.0) -> LocalKafka:
        libs = ensure_jars(self.cache_dir)
        started = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._assign_ports()
        props = self._write_config()
        data = self.run_dir / "data"
        if not (data / "meta.properties").exists():
            self._format(libs, props)
        log_file = self.log_path.open("ab")
        self._process = subprocess.Popen(
            self._java(libs, "kafka.Kafka", str(props)),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=not bound_to_parent,
            preexec_fn=die_with_parent if bound_to_parent else None,
        )
        log_file.close()
        self.pid_path.write_text(str(self._process.pid))
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        log.info("Kafka %s ready on %s in %.1fs", KAFKA_VERSION, self.bootstrap_servers, self.startup_seconds)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        pid = self._pid()
        if pid is None:
            return
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid, self._process):
            time.sleep(0.2)
        if _alive(pid, self._process):
            log.warning("broker %d ignored SIGTERM for %.0fs; killing it", pid, timeout)
            _signal(pid, signal.SIGKILL)
            while _alive(pid, self._process):
                time.sleep(0.1)
        self.pid_path.unlink(missing_ok=True)
        self._process = None

    def kill(self) -> None:
        """SIGKILL the broker (fault tests); data stays for a restart."""
        pid = self._pid()
        if pid is not None:
            _signal(pid, signal.SIGKILL)
            while _alive(pid, self._process):
                time.sleep(0.1)
            self.pid_path.unlink(missing_ok=True)
            self._process = None

    def is_running(self) -> bool:
        pid = self._pid()
        return pid is not None and _alive(pid, self._process)

    # --- internals ------------------------------------------------------------------------

    def _pid(self) -> int | None:
        if self._process is not None:
            return self._process.pid
        try:
            return int(self.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _assign_ports(self) -> None:
        saved = self.run_dir / "ports"
        if not self.port and saved.exists():
            # A restart keeps its address: clients and the KRaft quorum config stay valid.
            self.port, self.controller_port = (int(p) for p in saved.read_text().split())
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()
        saved.write_text(f"{self.port} {self.controller_port}\n")

    def _write_config(self) -> Path:
        listeners = {"PLAINTEXT": (self.port, "PLAINTEXT"), **self.extra_listeners}
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listeners": ",".join(
                [f"{name}://127.0.0.1:{port}" for name, (port, _) in listeners.items()]
                + [f"CONTROLLER://127.0.0.1:{self.controller_port}"]
            ),
            "advertised.listeners": ",".join(f"{n}://127.0.0.1:{p}" for n, (p, _) in listeners.items()),
            "listener.security.protocol.map": ",".join(
                [f"{name}:{proto}" for name, (_, proto) in listeners.items()] + ["CONTROLLER:PLAINTEXT"]
            ),
            "log.dirs": str(self.run_dir / "data"),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "log.retention.check.interval.ms": "60000",
            **self.extra_properties,
        }
        path = self.run_dir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.run_dir / "log4j2.properties").write_text(_LOG4J2)
        return path

    def _java(self, libs: Path, main: str, *args: str) -> list[str]:
        return [
            shutil.which("java") or "java",
            f"-Xmx{self.heap}",
            "-Xms256m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.run_dir / 'log4j2.properties'}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def _format(self, libs: Path, props: Path) -> None:
        scram: list[str] = []
        for user, (mechanism, password) in self.scram_users.items():
            if any(c in user + password for c in ",[]="):
                raise KafkaToolingError(f"SCRAM user {user!r}: name and password must not contain , [ ] =")
            scram += ["--add-scram", f"{mechanism}=[name={user},password={password}]"]
        result = subprocess.run(
            self._java(
                libs, "kafka.tools.StorageTool", "format", f"--cluster-id={_cluster_id()}", f"--config={props}", *scram
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            output = f"{result.stdout}{result.stderr}"
            for _, password in self.scram_users.values():
                output = output.replace(password, "***")
            raise KafkaToolingError(f"formatting KRaft storage failed:\n{output}")

    def _wait_ready(self, timeout: float) -> None:
        from kafka import KafkaAdminClient  # kafka-python; only the tooling needs it
        from kafka.errors import KafkaError

        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise KafkaToolingError(f"broker exited with {self._process.returncode}:\n{self.log_tail()}")
            if not _accepts_connections(self.port):
                time.sleep(0.2)
                continue
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers, request_timeout_ms=5000)
                try:
                    admin.list_topics()
                    return
                finally:
                    admin.close()
            except (KafkaError, OSError) as exc:
                last_error = exc
                time.sleep(0.3)
        raise KafkaToolingError(f"broker not ready after {timeout:.0f}s ({last_error}):\n{self.log_tail()}")


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _cluster_id() -> str:
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def die_with_parent() -> None:
    """preexec_fn: the kernel SIGKILLs this child when the process that started it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int, process: subprocess.Popen[bytes] | None) -> bool:
    if process is not None:
        return process.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of a process we did not start still answers kill(0); check its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
