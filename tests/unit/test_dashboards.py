"""grafana/: dashboards are well formed and only query metrics that streams.metrics declares."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from streams.metrics import CollectorMetrics, Metrics
from tests.dashboard_queries import (
    PROMETHEUS_GENERATED,
    REPO_ROOT,
    all_promql_expressions,
    dashboards,
    exposed_sample_names,
    iter_panels,
    panel_queries,
    recording_rule_names,
    referenced_metric_names,
    rule_queries,
    substitute_variables,
    template_variable_queries,
)

DATASOURCE_UID = "nichewatch-prometheus"
GRAFANA = REPO_ROOT / "grafana"


@pytest.fixture(scope="module")
def declared_names() -> set[str]:
    registry = CollectorRegistry()
    Metrics(registry)
    CollectorMetrics(registry)
    return exposed_sample_names(registry)


def test_both_dashboards_exist_with_stable_uids() -> None:
    loaded = dashboards()
    assert set(loaded) == {"operations.json", "niches.json"}
    assert loaded["operations.json"]["uid"] == "nichewatch-operations"
    assert loaded["niches.json"]["uid"] == "nichewatch-niches"
    for dashboard in loaded.values():
        assert dashboard["title"].startswith("nichewatch / ")
        assert len(dashboard["uid"]) <= 40  # Grafana's limit


@pytest.mark.parametrize("file_name", ["operations.json", "niches.json"])
def test_every_panel_has_targets_on_the_provisioned_datasource(file_name: str) -> None:
    dashboard = dashboards()[file_name]
    panels = list(iter_panels(dashboard))
    assert len(panels) >= 8
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["title"], panel
        assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24, panel["title"]


def test_niches_dashboard_filters_by_niche_and_platform() -> None:
    variables = {v["name"]: v for v in dashboards()["niches.json"]["templating"]["list"]}
    assert {"niche", "platform"} <= set(variables)
    for name in ("niche", "platform"):
        assert "label_values(" in variables[name]["definition"]
        assert variables[name]["allValue"] == ".*"  # matches the e2e substitution
    uses = " ".join(query.raw_expr for query in panel_queries() if query.source.startswith("niches.json"))
    assert '"$niche"' in uses and '"$platform"' in uses


def test_variables_are_only_used_with_regex_matchers() -> None:
    # "All" expands to .*, which only means "everything" behind =~ (and multi-select needs it too).
    for query in panel_queries():
        for marker in ('="$', '!="$'):
            assert marker not in query.raw_expr, query.source


def test_every_metric_in_dashboards_and_rules_is_declared(declared_names: set[str]) -> None:
    known = declared_names | recording_rule_names() | PROMETHEUS_GENERATED
    for query in all_promql_expressions():
        names = referenced_metric_names(query.expr)
        assert names, f"{query.source}: no metric found in {query.expr!r}"
        assert names <= known, f"{query.source}: undeclared {sorted(names - known)}"


def test_template_variables_query_declared_metrics(declared_names: set[str]) -> None:
    variables = template_variable_queries()
    assert {v.name for v in variables} >= {"niche", "platform"}
    for variable in variables:
        names = referenced_metric_names(variable.match)
        assert names <= declared_names | PROMETHEUS_GENERATED, variable.source


def test_every_declared_metric_is_on_a_dashboard_or_in_a_rule(declared_names: set[str]) -> None:
    used = set().union(*(referenced_metric_names(q.expr) for q in all_promql_expressions()))
    families = {n.removesuffix("_total").removesuffix("_bucket") for n in declared_names
                if not n.endswith(("_created", "_sum", "_count"))}
    shown = {n.removesuffix("_total").removesuffix("_bucket") for n in used}
    # Families that no panel or rule reads are metrics nobody would ever look at.
    assert families - shown == set()


def test_substitution_yields_plain_promql() -> None:
    assert substitute_variables('rate(x{niche=~"$niche", p=~"${platform}"}[$__rate_interval])') == (
        'rate(x{niche=~".*", p=~".*"}[1m])'
    )
    for query in all_promql_expressions():
        assert "$" not in query.expr and "[[" not in query.expr, query.source


def test_metric_name_extraction_ignores_functions_labels_and_keywords() -> None:
    expr = ('histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{x="b_total"}[5m]))) '
            '> 5 * on (niche) group_left b:c:d and time() - e offset 1h unless topk by (n) (10, f)')
    assert referenced_metric_names(expr) == {"a_bucket", "b:c:d", "e", "f"}


def test_rule_queries_cover_every_rule() -> None:
    loaded = yaml.safe_load((REPO_ROOT / "prometheus" / "rules.yml").read_text())
    count = sum(len(group["rules"]) for group in loaded["groups"])
    assert len(rule_queries()) == count


def test_provisioning_points_at_prometheus_and_the_dashboard_folder() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = datasources["datasources"]
    assert source["uid"] == DATASOURCE_UID
    assert source["url"] == "http://prometheus:9090"
    assert source["type"] == "prometheus"
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "provider.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_every_expression_parses_as_promql(tmp_path: Path) -> None:
    """promtool parses PromQL when checking rules, so wrap each panel query in a recording rule."""
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("NICHEWATCH_REQUIRE_PROMTOOL"):
            pytest.fail("promtool is required (NICHEWATCH_REQUIRE_PROMTOOL is set) but not on PATH")
        pytest.skip("promtool not installed (bash .ci/install-prometheus.sh installs it)")
    rules = [{"record": f"dashboard:query:n{i}", "expr": q.expr} for i, q in enumerate(panel_queries())]
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
