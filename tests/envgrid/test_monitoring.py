"""deploy/prometheus/ and deploy/grafana/: the scrape config, the alert rules and the
Grafana dashboard name only metrics the processes export, the dashboard shows every
family, and — with promtool installed (Debian's ``prometheus`` package) — Prometheus
itself accepts the config, the rules (and their unit tests) and every dashboard query.

No maintained JSON schema of Grafana dashboards is installable from PyPI or npm
(``@grafana/schema`` ships TypeScript types), so the dashboard gets structural checks."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest.settings import IngestSettings
from tests.conftest import REPO_ROOT

from .metric_catalogue import families, family_of, sample_names

PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"
GRAFANA = REPO_ROOT / "deploy" / "grafana"
METRIC = re.compile(r"\benvgrid_[a-z0-9_]+\b")
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed")
#: What Grafana substitutes in a query before Prometheus sees it.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$instance": ".*"}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((GRAFANA / "envgrid.json").read_text(encoding="utf-8"))
    return document


def _queries(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def _rule_exprs() -> list[str]:
    groups = _yaml(PROMETHEUS / "envgrid-alerts.yml")["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )


def test_the_scrape_config_targets_the_supervisor_metrics_endpoint() -> None:
    config = _yaml(PROMETHEUS / "prometheus.yml")
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "envgrid" and job["metrics_path"] == "/metrics"
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    assert targets == [f"127.0.0.1:{IngestSettings().metrics_port}"]
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS / rule_file).is_file()


def test_alert_rules_use_exported_metrics_and_say_what_fired() -> None:
    known = sample_names()
    for expr in _rule_exprs():
        assert set(METRIC.findall(expr)) <= known, expr
    groups = _yaml(PROMETHEUS / "envgrid-alerts.yml")["groups"]
    names = [rule["alert"] for group in groups for rule in group["rules"]]
    assert len(names) == len(set(names))
    for rule in (r for g in groups for r in g["rules"]):
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


def test_the_dashboard_is_a_well_formed_grafana_dashboard() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "envgrid-overview" and dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        assert panel["type"] in ("row", "timeseries", "stat"), panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
            assert 'instance=~"$instance"' in target["expr"], target["expr"]
    # Panels do not overlap: no two claim the same grid cell.
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        mine = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & mine, panel["title"]
        cells |= mine


def test_the_dashboard_queries_exported_metrics_and_shows_every_family() -> None:
    known = sample_names()
    used: set[str] = set()
    for expr in _queries(_dashboard()):
        names = set(METRIC.findall(expr))
        assert names and names <= known, (expr, names - known)
        used |= names
    shown = {family_of(name) for name in used}
    assert shown == set(families()), f"not on the dashboard: {set(families()) - shown}"


def test_grafana_provisioning_example_loads_the_dashboard() -> None:
    provider = _yaml(GRAFANA / "provisioning" / "dashboards" / "envgrid.yaml")
    (entry,) = provider["providers"]
    assert entry["type"] == "file" and entry["options"]["path"].startswith("/")
    source = _yaml(GRAFANA / "provisioning" / "datasources" / "envgrid-prometheus.yaml")
    assert [d["type"] for d in source["datasources"]] == ["prometheus"]


@needs_promtool
def test_promtool_accepts_the_config_and_the_rules_pass_their_tests() -> None:
    checked = _promtool("check", "config", "prometheus.yml", cwd=PROMETHEUS)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = _promtool("test", "rules", "envgrid-alerts.test.yml", cwd=PROMETHEUS)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@needs_promtool
def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    rules = []
    for n, query in enumerate(_queries(_dashboard())):
        expr = query
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        rules.append({"record": f"envgrid:dashboard_query_{n}", "expr": expr})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = _promtool("check", "rules", path.name, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
