"""Settings: one object from NICHEWATCH_* variables; bad values name the variable to fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streams.kafka_config import faust_credentials, kafka_python_config
from streams.settings import ConfigError, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("NICHEWATCH_") or name == "KAFKA_BOOTSTRAP_SERVERS":
            monkeypatch.delenv(name)


def test_defaults_describe_a_local_plaintext_worker() -> None:
    settings = load_settings()
    assert settings.bootstrap_list == ["localhost:9092"]
    assert settings.kafka_security_protocol == "PLAINTEXT"
    assert settings.web_host == "127.0.0.1"
    assert settings.store == "memory://"


def test_prefixed_variables_and_plain_kafka_bootstrap_servers_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092, k2:9093")
    monkeypatch.setenv("NICHEWATCH_TOPIC_PARTITIONS", "12")
    settings = load_settings()
    assert settings.bootstrap_list == ["k1:9092", "k2:9093"]
    assert settings.topic_partitions == 12
    assert "kafka_bootstrap_servers" in settings.model_fields_set


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS", "no-port", "NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS"),
        ("NICHEWATCH_STORE", "redis://", "NICHEWATCH_STORE"),
        ("NICHEWATCH_TOPIC_PARTITIONS", "0", "NICHEWATCH_TOPIC_PARTITIONS"),
        ("NICHEWATCH_WEB_PORT", "http", "NICHEWATCH_WEB_PORT"),
        ("NICHEWATCH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL", "NICHEWATCH_KAFKA_SASL_PASSWORD"),
        ("NICHEWATCH_KAFKA_SSL_CAFILE", "/nonexistent/ca.pem", "NICHEWATCH_KAFKA_SSL_CAFILE"),
    ],
)
def test_invalid_setting_fails_with_the_variable_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=named):
        load_settings()


def test_sasl_settings_reach_both_clients_and_the_password_stays_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NICHEWATCH_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("NICHEWATCH_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("NICHEWATCH_KAFKA_SASL_USERNAME", "nw")
    monkeypatch.setenv("NICHEWATCH_KAFKA_SASL_PASSWORD", "s3cret-value")
    settings = load_settings()
    assert "s3cret-value" not in repr(settings)
    config = kafka_python_config(settings)
    assert config["security_protocol"] == "SASL_PLAINTEXT"
    assert (config["sasl_mechanism"], config["sasl_plain_password"]) == ("SCRAM-SHA-512", "s3cret-value")
    credentials = faust_credentials(settings)
    assert (credentials.username, credentials.password) == ("nw", "s3cret-value")
    assert str(credentials.mechanism.value) == "SCRAM-SHA-512"


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(Exception):
        settings.web_port = 1  # type: ignore[misc]


def test_worker_with_bad_configuration_exits_with_one_line_naming_the_setting() -> None:
    env = {"PATH": "/usr/bin:/bin", "NICHEWATCH_STORE": "redis://"}
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "NICHEWATCH_STORE" in result.stderr
    assert "Traceback" not in result.stderr


def test_readme_documents_every_setting() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [f"NICHEWATCH_{name.upper()}" for name in Settings.model_fields if f"`NICHEWATCH_{name.upper()}`" not in readme]
    assert missing == []
