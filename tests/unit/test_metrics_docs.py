"""docs/metrics.md lists every metric streams.metrics declares, with its type."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry

from streams.metrics import CollectorMetrics, Metrics
from tests.dashboard_queries import REPO_ROOT, recording_rule_names

DOC = REPO_ROOT / "docs" / "metrics.md"
ROW = re.compile(r"^\|\s*`(?P<name>\w+)`\s*\|\s*(?P<type>\w+)\s*\|", re.MULTILINE)
RULE_ROW = re.compile(r"^\|\s*`(?P<name>\w+:\w+:\w+)`\s*\|", re.MULTILINE)


def documented() -> dict[str, str]:
    return {m["name"]: m["type"] for m in ROW.finditer(DOC.read_text())}


def declared() -> dict[str, str]:
    registry = CollectorRegistry()
    Metrics(registry)
    CollectorMetrics(registry)
    # client_python drops _total from a counter's family name; the docs use the exposed name.
    return {
        (f.name + "_total" if f.type == "counter" else f.name): f.type
        for f in registry.collect()
    }


def test_every_declared_metric_is_documented_with_its_type() -> None:
    docs = documented()
    for name, kind in declared().items():
        assert name in docs, f"{name} is missing from docs/metrics.md"
        assert docs[name] == kind, f"{name}: documented as {docs[name]}, declared as {kind}"


def test_docs_list_no_metric_that_does_not_exist() -> None:
    assert set(documented()) <= set(declared())


def test_every_recording_rule_is_documented() -> None:
    rules = {m["name"] for m in RULE_ROW.finditer(DOC.read_text())}
    assert rules == recording_rule_names()
