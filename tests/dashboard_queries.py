"""Every PromQL expression the project ships: Grafana panel targets and Prometheus rules.

Used by the unit tests (each metric named in a query must exist in streams.metrics) and by
the end-to-end test, which runs each expression against a real Prometheus scraping a real
worker::

    from tests.dashboard_queries import all_promql_expressions
    for query in all_promql_expressions():
        result = prometheus_api_query(query.expr)   # must be "success", ideally non-empty
        assert ..., query.source

Grafana variables are substituted so the expressions are plain PromQL: every dashboard
variable ($niche, $platform, ...) becomes ``.*`` (they are all used with ``=~``), and
$__rate_interval / $__interval become ``1m``, $__range ``1h``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from prometheus_client import CollectorRegistry

REPO_ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS_DIR = REPO_ROOT / "grafana" / "dashboards"
RULES_FILE = REPO_ROOT / "prometheus" / "rules.yml"

BUILTIN_VARIABLES: dict[str, str] = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}
ALL_VALUES = ".*"
# Series Prometheus makes itself; dashboards may use them without streams.metrics declaring them.
PROMETHEUS_GENERATED: frozenset[str] = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

Origin = Literal["panel", "recording_rule", "alert_rule"]


@dataclass(frozen=True)
class PromQLQuery:
    source: str  # where it lives, for assertion messages
    origin: Origin
    raw_expr: str  # as written, Grafana variables included
    expr: str  # runnable PromQL
    instant: bool = False  # Grafana runs it as an instant query (tables)


@dataclass(frozen=True)
class TemplateVariableQuery:
    """A ``label_values(metric, label)`` variable; ask /api/v1/label/<label>/values?match[]=metric."""

    source: str
    name: str
    match: str  # series selector, e.g. up{job="nichewatch-worker"}
    label: str


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS_DIR.glob("*.json"))}


def iter_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")


def substitute_variables(expr: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        return BUILTIN_VARIABLES.get(name, ALL_VALUES)

    return _VARIABLE.sub(replace, expr)


def panel_queries() -> list[PromQLQuery]:
    queries = []
    for file_name, dashboard in dashboards().items():
        for panel in iter_panels(dashboard):
            for target in panel.get("targets", []):
                raw = target.get("expr", "")
                if raw:
                    queries.append(PromQLQuery(
                        source=f"{file_name} panel {panel['title']!r} target {target.get('refId', '?')}",
                        origin="panel", raw_expr=raw, expr=substitute_variables(raw),
                        instant=bool(target.get("instant")),
                    ))
    return queries


def _rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES_FILE.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def rule_queries() -> list[PromQLQuery]:
    queries = []
    for rule in _rules():
        expr = rule["expr"].strip()
        if "alert" in rule:
            queries.append(PromQLQuery(f"rules.yml alert {rule['alert']}", "alert_rule", expr, expr, True))
        else:
            queries.append(PromQLQuery(f"rules.yml record {rule['record']}", "recording_rule", expr, expr, True))
    return queries


def all_promql_expressions() -> list[PromQLQuery]:
    """Every dashboard panel expression and every rule expression, runnable as they are."""
    return panel_queries() + rule_queries()


def recording_rule_names() -> set[str]:
    return {rule["record"] for rule in _rules() if "record" in rule}


_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?P<match>.+?)\s*,\s*(?P<label>\w+)\s*\)\s*$")


def template_variable_queries() -> list[TemplateVariableQuery]:
    found = []
    for file_name, dashboard in dashboards().items():
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") != "query":
                continue
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            parsed = _LABEL_VALUES.match(text)
            if parsed is None:
                raise ValueError(f"{file_name} variable {variable['name']}: not label_values(...): {text}")
            found.append(TemplateVariableQuery(
                f"{file_name} variable {variable['name']}", variable["name"], parsed["match"], parsed["label"]
            ))
    return found


# --- which metric names an expression uses -----------------------------------------------

_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = frozenset({
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan", "Inf", "NaN", "NAN", "INF", "atan2",
})


def referenced_metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (functions, labels, keywords, numbers removed)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\b\d+(\.\d+)?(e[+-]?\d+)?\b", " ", text, flags=re.IGNORECASE)
    return {name for name in _IDENTIFIER.findall(text) if name not in _KEYWORDS}


def exposed_sample_names(registry: CollectorRegistry) -> set[str]:
    """The series names a registry exposes, including label-less declarations (no samples yet)."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("_sum", "_count", "_created"),
        "info": ("_info",),
    }
    return {
        family.name + suffix
        for family in registry.collect()
        for suffix in suffixes.get(family.type, ("",))
    }
