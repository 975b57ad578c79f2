"""Shared fixtures: a real Kafka broker for the whole session, unique topics per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from streams.kafka_local import LocalKafka
from streams.settings import load_settings
from tests.kafka_helpers import Broker

_broker_for_report: LocalKafka | None = None


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """The cluster KAFKA_BOOTSTRAP_SERVERS names, or a local KRaft broker started for this session."""
    global _broker_for_report
    settings = load_settings()
    if "kafka_bootstrap_servers" in settings.model_fields_set:
        yield Broker(settings.kafka_bootstrap_servers, local=None)
        return
    local = LocalKafka(run_dir=tmp_path_factory.mktemp("kafka"), cache_dir=settings.cache_dir)
    local.start(bound_to_parent=True)
    print(f"\nlocal Kafka on {local.bootstrap_servers}, ready in {local.startup_seconds:.1f}s")
    _broker_for_report = local
    try:
        yield Broker(local.bootstrap_servers, local=local)
    finally:
        local.stop()
        _broker_for_report = None


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic names and consumer groups of one test."""
    return uuid.uuid4().hex[:10]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and _broker_for_report is not None and "kafka" in getattr(item, "fixturenames", ()):
        report.sections.append(("kafka broker log (tail)", _broker_for_report.log_tail(80)))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "kafka" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


