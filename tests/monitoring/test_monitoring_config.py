"""monitoring/ is checked by the tools that will run it, plus the structure they cannot see.

promtool (Debian's `prometheus`, 2.42) checks the Prometheus configs, the alert rules and
their unit tests, and parses every PromQL query in the dashboards and the Grafana alert
rules; amtool and a real Alertmanager (Debian's `prometheus-alertmanager`, 0.25) check
the routing and the inhibitions. Grafana is not packaged in Debian, so its provisioning
files are linted here: pinned datasource uids, unique ids, links that resolve.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from core import metrics
from core.exporter import EXPORTER_METRIC_NAMES
from tests.support import ROOT, free_port, wait_until

pytestmark = pytest.mark.integration

MONITORING = ROOT / "monitoring"
RULES = MONITORING / "rules"
RULE_FILES = sorted(RULES.glob("*.yml"))
RULE_TESTS = sorted((RULES / "tests").glob("*.yml"))
ALERTMANAGER = MONITORING / "alertmanager.yml"
GRAFANA = MONITORING / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
GRAFANA_ALERTS = GRAFANA / "provisioning" / "alerting" / "veogen-alerts.yml"
GRAFANA_NOTIFICATIONS = GRAFANA / "provisioning" / "alerting" / "notifications.yml"

PROMETHEUS_DS = {"type": "prometheus", "uid": "veogen-prometheus"}
LOKI_DS = {"type": "loki", "uid": "veogen-loki"}

# The metric names the code defines: what processes serve, and the exporter's gauges read at scrape time
# (alerts on those are blind while the exporter is down).
PROCESS_METRICS = frozenset(metrics.PROCESS_METRIC_NAMES)
EXPORTER_GAUGES = frozenset(EXPORTER_METRIC_NAMES) - {
    "veogen_exporter_scrape_errors_total",
    "veogen_exporter_scrape_duration_seconds",
}
CONTRACT_METRICS = PROCESS_METRICS | frozenset(EXPORTER_METRIC_NAMES)
HISTOGRAMS = frozenset({"veogen_media_processing_seconds", "veogen_job_duration_seconds"})
# Reads an exporter gauge only to stay quiet when the exporter sees live workers; it must
# keep firing while the exporter is down, so it is not muted by VeoGenExporterDown.
INDEPENDENT_OF_EXPORTER = frozenset({"VeoGenWorkersUnreachable"})
SEVERITIES = ("critical", "warning", "info")
METRIC_NAME = re.compile(r"\bveogen_[a-z_]+")
GRAFANA_VARIABLE = re.compile(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}")


def tool(name: str, package: str) -> str:
    exe = shutil.which(name)
    assert exe, f"{name} is installed by `make test` (scripts/system-deps.sh: Debian's {package})"
    return exe


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run(tool("promtool", "prometheus"), *args)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alerting_rules() -> list[dict[str, Any]]:
    return [
        rule for path in RULE_FILES for group in load_yaml(path)["groups"] for rule in group["rules"] if "alert" in rule
    ]


def dashboards() -> dict[Path, dict[str, Any]]:
    return {path: json.loads(path.read_text(encoding="utf-8")) for path in DASHBOARDS}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those folded inside collapsed rows."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def prometheus_queries() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every dashboard target and Grafana alert query on Prometheus."""
    for path, dashboard in dashboards().items():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                if target.get("datasource", panel.get("datasource")) == PROMETHEUS_DS:
                    yield f"{path.name} panel {panel['id']} ({panel['title']}) {target['refId']}", target["expr"]
    for group in load_yaml(GRAFANA_ALERTS)["groups"]:
        for rule in group["rules"]:
            for query in rule["data"]:
                if query["datasourceUid"] == PROMETHEUS_DS["uid"]:
                    yield f"Grafana rule {rule['uid']} {query['refId']}", query["model"]["expr"]


def metric_names(expr: str) -> set[str]:
    names = set()
    for name in METRIC_NAME.findall(expr):
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name.removesuffix(suffix) in HISTOGRAMS:
                name = name.removesuffix(suffix)
        names.add(name)
    return names


# ---------------------------------------------------------------- Prometheus


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.local.yml"])
def test_prometheus_config_is_valid_and_loads_every_rule_file(config: str):
    result = promtool("check", "config", f"monitoring/{config}")
    assert result.returncode == 0, result.stdout + result.stderr
    # rule_files is relative to the config: this proves the glob finds the rules, not nothing
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in result.stdout, result.stdout
    for path in RULE_FILES:
        assert f"Checking monitoring/rules/{path.name}" in result.stdout


def scrape_targets(config: dict[str, Any]) -> dict[str, list[str]]:
    targets: dict[str, list[str]] = {}
    for job in config["scrape_configs"]:
        found = targets.setdefault(job["job_name"], [])
        for static in job.get("static_configs", []):
            found.extend(static["targets"])
        for dns in job.get("dns_sd_configs", []):
            found.extend(f"{name}:{dns['port']}" for name in dns["names"])
    return targets


def test_compose_prometheus_scrapes_the_contract_jobs():
    config = load_yaml(MONITORING / "prometheus.yml")
    assert config["rule_files"] == ["rules/*.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    targets = scrape_targets(config)
    assert targets["veogen-exporter"] == ["exporter:9630"]
    assert targets["veogen-web"] == ["web:9631"]
    assert targets["veogen-scheduler"] == ["scheduler:9632"]
    assert targets["veogen-webhooks"] == ["webhooks:9633"]
    assert targets["node-exporter"] == ["node-exporter:9100"]
    assert targets["cadvisor"] == ["cadvisor:8080"]
    assert "prometheus" in targets
    # every worker replica: an A-record lookup of the compose service, not one static target
    (worker,) = next(j for j in config["scrape_configs"] if j["job_name"] == "veogen-worker")["dns_sd_configs"]
    assert worker == {**worker, "names": ["worker"], "type": "A", "port": 9640}


def test_local_prometheus_scrapes_loopback_only():
    config = load_yaml(MONITORING / "prometheus.local.yml")
    assert config["rule_files"] == ["rules/*.yml"]
    targets = scrape_targets(config)
    assert targets["veogen-exporter"] == ["127.0.0.1:9630"]
    assert targets["veogen-web"] == ["127.0.0.1:9631"]
    assert targets["veogen-scheduler"] == ["127.0.0.1:9632"]
    assert targets["veogen-webhooks"] == ["127.0.0.1:9633"]
    workers = targets["veogen-worker"]
    assert workers and all(t.startswith("127.0.0.1:") and 9640 <= int(t.split(":")[1]) <= 9655 for t in workers)
    assert "127.0.0.1:9640" in workers
    for job, found in targets.items():
        assert all(t.startswith("127.0.0.1:") for t in found), job
    # the compose config and the local one scrape the same VeoGen jobs
    assert {j for j in targets if j.startswith("veogen-")} == {
        j for j in scrape_targets(load_yaml(MONITORING / "prometheus.yml")) if j.startswith("veogen-")
    }


def test_rules_are_valid():
    result = promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass():
    assert RULE_TESTS, "no promtool tests in monitoring/rules/tests/"
    result = promtool("test", "rules", *RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_labelled_and_explained():
    rules = alerting_rules()
    assert rules
    for rule in rules:
        name = rule["alert"]
        assert name.startswith("VeoGen"), name
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert rule["annotations"]["summary"].strip(), name
        assert len(rule["annotations"]["description"]) > 60, f"{name}: say what it means and what to do"
        reads_exporter = bool(metric_names(rule["expr"]) & EXPORTER_GAUGES)
        muted = rule["labels"].get("requires") == "exporter"
        if name in INDEPENDENT_OF_EXPORTER:
            assert not muted, name
        else:
            assert muted == reads_exporter, f"{name}: requires=exporter iff it reads exporter gauges"


def rule_test_cases() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    for path in RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                yield check["alertname"], check.get("exp_alerts") or []


def test_every_alert_has_a_test_where_it_fires_and_one_where_it_does_not():
    in_rules = {(r["alert"], r["labels"]["severity"]) for r in alerting_rules()}
    fired: set[tuple[str, str]] = set()
    quiet: set[str] = set()
    for name, expected in rule_test_cases():
        if not expected:
            quiet.add(name)
        for alert in expected:
            assert alert.get("exp_annotations"), f"{name}: a firing case checks the annotations too"
            fired.add((name, alert["exp_labels"]["severity"]))
    assert in_rules - fired == set(), "alerts (name, severity) that no promtool test fires"
    assert {name for name, _ in in_rules} - quiet == set(), "alerts with no case where they must stay quiet"
    assert fired <= in_rules, "promtool tests expect alerts that the rules do not define"


def test_every_alert_is_documented_in_the_readme():
    readme = (MONITORING / "README.md").read_text(encoding="utf-8")
    missing = {r["alert"] for r in alerting_rules()} - set(re.findall(r"VeoGen[A-Za-z]+", readme))
    assert missing == set()


# ---------------------------------------------------------------- metric names and queries


def test_every_metric_name_is_one_from_the_contract():
    used: dict[str, set[str]] = {}
    for rule in alerting_rules():
        for name in metric_names(rule["expr"]):
            used.setdefault(name, set()).add(f"rule {rule['alert']}")
    for where, expr in prometheus_queries():
        for name in metric_names(expr):
            used.setdefault(name, set()).add(where)
    assert used, "no veogen_ metric found: the collection is broken"
    unknown = {name: sorted(places) for name, places in used.items() if name not in CONTRACT_METRICS}
    assert unknown == {}


def test_every_dashboard_and_grafana_alert_query_parses(tmp_path: Path):
    rules = []
    for n, (where, expr) in enumerate(prometheus_queries()):
        expr = GRAFANA_VARIABLE.sub("5m", expr)
        assert "$" not in expr, f"{where}: unreplaced Grafana variable in {expr!r}"
        rules.append({"record": f"veogen_panel_{n}", "expr": expr})
    assert len(rules) > 30
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}), encoding="utf-8")
    result = promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


# ---------------------------------------------------------------- Grafana


def test_provisioned_datasources_pin_the_uids():
    sources = {
        d["uid"]: d for d in load_yaml(GRAFANA / "provisioning" / "datasources" / "datasources.yml")["datasources"]
    }
    assert sources.keys() == {PROMETHEUS_DS["uid"], LOKI_DS["uid"]}
    assert sources["veogen-prometheus"]["type"] == "prometheus"
    assert sources["veogen-prometheus"]["url"] == "http://prometheus:9090"
    assert sources["veogen-loki"]["type"] == "loki"
    assert sources["veogen-loki"]["url"] == "http://loki:3100"


def test_dashboard_provider_reads_the_mounted_directory():
    (provider,) = load_yaml(GRAFANA / "provisioning" / "dashboards" / "dashboards.yml")["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_dashboards_have_a_uid_a_title_and_unique_panel_ids():
    boards = dashboards()
    assert {d["uid"] for d in boards.values()} == {"veogen-overview", "veogen-spend"}
    for path, dashboard in boards.items():
        assert dashboard["title"].strip(), path.name
        ids = [p["id"] for p in panels(dashboard)]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for panel in panels(dashboard):
            assert panel.get("title", "").strip(), f"{path.name} panel {panel['id']} has no title"


def test_dashboard_panels_do_not_overlap():
    for path, dashboard in dashboards().items():
        cells: dict[tuple[int, int], int] = {}
        for panel in dashboard["panels"]:
            g = panel["gridPos"]
            assert g["x"] + g["w"] <= 24, f"{path.name} panel {panel['id']} is wider than the grid"
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, f"{path.name}: panels {cells[(x, y)]} and {panel['id']} overlap"
                    cells[(x, y)] = panel["id"]


def test_every_panel_pins_its_datasource():
    loki_targets = 0
    for path, dashboard in dashboards().items():
        for panel in panels(dashboard):
            if panel["type"] == "row":
                continue
            where = f"{path.name} panel {panel['id']} ({panel['title']})"
            assert panel.get("datasource") in (PROMETHEUS_DS, LOKI_DS), where
            assert panel["targets"], where
            for target in panel["targets"]:
                assert target["datasource"] == panel["datasource"], where
                assert target["expr"].strip(), where
                if target["datasource"] == LOKI_DS:
                    loki_targets += 1
                    # `service` and `level` are promtail labels; generation_id is a JSON field
                    assert target["expr"].startswith("{service"), where
                    assert "generation_id=" not in target["expr"].split("}")[0], where
    assert loki_targets, "the overview has a logs panel"


def test_grafana_alert_rules_mirror_prometheus_alerts():
    severity_of = {(r["alert"], r["labels"]["severity"]) for r in alerting_rules()}
    panel_ids = {d["uid"]: {p["id"] for p in panels(d)} for d in dashboards().values()}
    provisioning = load_yaml(GRAFANA_ALERTS)
    assert provisioning["apiVersion"] == 1
    uids = []
    for group in provisioning["groups"]:
        for rule in group["rules"]:
            uids.append(rule["uid"])
            where = f"Grafana rule {rule['uid']}"
            # the same name and severity as a promtool-tested Prometheus alert, so Alertmanager
            # can mute the copy while Prometheus reports it (inhibit rule on source="grafana")
            assert (rule["title"], rule["labels"]["severity"]) in severity_of, where
            assert rule["labels"]["source"] == "grafana", where
            refs = {q["refId"] for q in rule["data"]}
            assert rule["condition"] in refs, where
            for query in rule["data"]:
                assert query["datasourceUid"] in (PROMETHEUS_DS["uid"], "__expr__"), where
                assert query["model"]["refId"] == query["refId"], where
                if query["datasourceUid"] == "__expr__":
                    assert query["model"]["expression"] in refs, where
            assert rule["noDataState"] in ("NoData", "Alerting", "OK"), where
            assert rule["execErrState"] in ("Error", "Alerting", "OK"), where
            assert rule["panelId"] in panel_ids[rule["dashboardUid"]], where
            assert rule["annotations"]["summary"].strip(), where
    assert len(uids) == len(set(uids)), "duplicate Grafana rule uids"
    titles = {r["title"] for g in provisioning["groups"] for r in g["rules"]}
    assert {"VeoGenStuckGenerations", "VeoGenHighFailureRate", "VeoGenSpendNearBudget"} <= titles


def test_grafana_notifies_through_alertmanager():
    notifications = load_yaml(GRAFANA_NOTIFICATIONS)
    receivers = {r["name"]: r for r in notifications["contactPoints"]}
    (policy,) = notifications["policies"]
    (receiver,) = receivers[policy["receiver"]]["receivers"]
    assert receiver["type"] == "prometheus-alertmanager"
    assert receiver["settings"]["url"] == "http://alertmanager:9093"


# ---------------------------------------------------------------- Alertmanager


def test_alertmanager_config_is_valid():
    result = run(tool("amtool", "prometheus-alertmanager"), "check-config", ALERTMANAGER)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ("severity=critical", "veogen-critical"),
        ("severity=warning", "veogen-warning"),
        ("severity=info", "veogen-info"),
        ("alertname=Unlabelled", "veogen-warning"),
    ],
)
def test_alertmanager_routes_by_severity(labels: str, receiver: str):
    amtool = tool("amtool", "prometheus-alertmanager")
    result = run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}", "alertname=X", labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_every_alert_severity_has_a_route():
    routes = load_yaml(ALERTMANAGER)["route"]["routes"]
    routed = {m for route in routes for m in route["matchers"]}
    for severity in {r["labels"]["severity"] for r in alerting_rules()} - {"warning"}:
        assert f'severity="{severity}"' in routed, severity


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager on loopback with monitoring/alertmanager.yml; yields its API URL."""
    exe = tool("prometheus-alertmanager", "prometheus-alertmanager")
    port = free_port()
    log = (tmp_path / "alertmanager.log").open("w")
    proc = subprocess.Popen(
        [
            exe,
            f"--config.file={ALERTMANAGER}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    try:
        assert wait_until(ready, timeout=20), (tmp_path / "alertmanager.log").read_text()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def post_alerts(url: str, alerts: list[dict[str, str]]) -> None:
    body = json.dumps([{"labels": labels} for labels in alerts]).encode()
    request = urllib.request.Request(f"{url}/api/v2/alerts", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as r:
        assert r.status == 200


def alert_states(url: str) -> dict[tuple[str, str], str]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=5) as r:
        alerts = json.load(r)
    return {(a["labels"]["alertname"], a["labels"].get("source", "")): a["status"]["state"] for a in alerts}


def test_alertmanager_inhibitions(alertmanager: str):
    post_alerts(
        alertmanager,
        [
            {"alertname": "VeoGenExporterDown", "severity": "critical", "job": "veogen-exporter"},
            {"alertname": "VeoGenStuckGenerations", "severity": "warning", "requires": "exporter"},
            {"alertname": "VeoGenProviderQuotaErrors", "severity": "warning", "provider": "veo"},
            {"alertname": "VeoGenNoWorkersAlive", "severity": "critical", "requires": "exporter"},
            {"alertname": "VeoGenWorkersUnreachable", "severity": "critical"},
            {"alertname": "VeoGenWorkerTargetDown", "severity": "warning", "instance": "10.0.0.5:9640"},
            # a Grafana copy of an alert Prometheus reports, and one it does not
            {"alertname": "VeoGenSpendNearBudget", "severity": "warning", "requires": "x"},
            {"alertname": "VeoGenSpendNearBudget", "severity": "warning", "requires": "x", "source": "grafana"},
            {"alertname": "VeoGenHighFailureRate", "severity": "warning", "source": "grafana"},
        ],
    )
    expected = {
        ("VeoGenExporterDown", ""): "active",
        ("VeoGenStuckGenerations", ""): "suppressed",  # its gauge is missing, not healthy
        ("VeoGenProviderQuotaErrors", ""): "active",  # from the workers, not the exporter
        ("VeoGenNoWorkersAlive", ""): "suppressed",
        ("VeoGenWorkersUnreachable", ""): "active",  # the signal that survives the exporter
        ("VeoGenWorkerTargetDown", ""): "suppressed",  # no workers at all says it already
        ("VeoGenSpendNearBudget", ""): "active",
        ("VeoGenSpendNearBudget", "grafana"): "suppressed",
        ("VeoGenHighFailureRate", "grafana"): "active",
    }
    assert wait_until(lambda: alert_states(alertmanager) == expected, timeout=10), alert_states(alertmanager)


def test_critical_inhibits_the_warning_of_the_same_alert(alertmanager: str):
    post_alerts(
        alertmanager,
        [
            {"alertname": "VeoGenHighFailureRate", "severity": "critical", "instance": "exporter:9630"},
            {"alertname": "VeoGenHighFailureRate", "severity": "warning", "instance": "exporter:9630"},
            {"alertname": "VeoGenSafetyFilterSpike", "severity": "warning", "instance": "exporter:9630"},
        ],
    )

    def states() -> dict[str, str]:
        with urllib.request.urlopen(f"{alertmanager}/api/v2/alerts", timeout=5) as r:
            return {f"{a['labels']['alertname']} {a['labels']['severity']}": a["status"]["state"] for a in json.load(r)}

    expected = {
        "VeoGenHighFailureRate critical": "active",
        "VeoGenHighFailureRate warning": "suppressed",
        "VeoGenSafetyFilterSpike warning": "active",
    }
    assert wait_until(lambda: states() == expected, timeout=10), states()
