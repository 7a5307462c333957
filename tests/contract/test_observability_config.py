"""The observability config the stack provisions: alert rules, Grafana dashboards, metric names.

promtool (``make system-deps``) checks the rules and runs their unit tests
(``prometheus/alerts_test.yaml``); the dashboards' queries go through the same PromQL parser as
recording rules. Every ``switchboard_*`` metric a rule or panel reads must be one the code
defines, with the names and labels issue 10 fixed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

# Imported for the metrics they register in the process-wide registry.
from services.analytics.entrypoints import live
from services.gateway.entrypoints import call_metrics, connection, twilio_media
from services.session import handlers as session_handlers
from services.session.adapters import yaml_lines
from services.tools import executor
from shared.http import ratelimit
from shared.telemetry import metrics

REPO_ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = REPO_ROOT / "infra" / "prometheus" / "rules"
ALERT_TESTS = Path(__file__).parent / "prometheus" / "alerts_test.yaml"
DASHBOARDS_DIR = REPO_ROOT / "infra" / "grafana" / "dashboards"
PROVISIONING_DIR = REPO_ROOT / "infra" / "grafana" / "provisioning"
PROMTOOL_TIMEOUT_S = 60
ISSUE_ALERTS = {
    "SwitchboardServiceDown",
    "SwitchboardEventsDropped",
    "SwitchboardVoiceToVoiceSlow",
    "SwitchboardToolTimeouts",
    "SwitchboardConsumerLagGrowing",
}
# Issue 10's names, types and labels, exactly.
ISSUE_METRICS: dict[str, tuple[MetricWrapperBase, str, tuple[str, ...]]] = {
    "switchboard_turn_stage_seconds": (call_metrics.TURN_STAGE_SECONDS, "histogram", ("stage",)),
    "switchboard_active_sessions": (connection.ACTIVE_SESSIONS, "gauge", ()),
    "switchboard_interruptions": (call_metrics.INTERRUPTIONS, "counter", ("kind",)),
    "switchboard_tool_duration_seconds": (metrics.TOOL_DURATION, "histogram", ("tool", "status")),
    "switchboard_events_published": (metrics.EVENTS_PUBLISHED, "counter", ("topic",)),
    "switchboard_events_dropped": (metrics.EVENTS_DROPPED, "counter", ("topic", "reason")),
    "switchboard_consumer_lag": (metrics.CONSUMER_LAG, "gauge", ("group", "topic")),
    "switchboard_escalations": (session_handlers.ESCALATIONS, "counter", ("rule",)),
    "switchboard_redactions": (metrics.REDACTIONS, "counter", ("entity",)),
}
METRIC_NAME = re.compile(r"\bswitchboard_[a-z0-9_]+")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed to check the alert rules; run `make system-deps`")
    return path


def _run_promtool(*args: str, cwd: Path = REPO_ROOT) -> None:
    result = subprocess.run(
        [_promtool(), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=PROMTOOL_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}{result.stderr}"


def _rules() -> list[dict[str, Any]]:
    rules = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        rules += [rule for group in groups for rule in group["rules"]]
    return rules


def _dashboards() -> dict[str, dict[str, Any]]:
    paths = sorted(DASHBOARDS_DIR.glob("*.json"))
    assert paths, f"no dashboards under {DASHBOARDS_DIR}"
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in paths}


def _panel_queries() -> list[str]:
    return [
        target["expr"]
        for dashboard in _dashboards().values()
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def _defined_names() -> set[str]:
    """Every sample name the code's metrics may expose (``x_bucket``, ``x_total``...)."""
    names = set()
    for metric in REGISTRY.collect():
        names.add(metric.name)
        names.update(metric.name + suffix for suffix in SUFFIXES)
    return names


def test_alert_rules_pass_promtool_check() -> None:
    _run_promtool("check", "rules", *map(str, sorted(RULES_DIR.glob("*.yml"))))


def test_each_alert_fires_on_its_condition_and_not_on_a_look_alike() -> None:
    _run_promtool("test", "rules", ALERT_TESTS.name, cwd=ALERT_TESTS.parent)


def test_the_issue_alerts_exist_with_a_for_a_severity_and_annotations() -> None:
    rules = _rules()
    assert ISSUE_ALERTS <= {rule.get("alert") for rule in rules}
    for rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), f"{name} has no `for`"
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"].get("summary"), f"{name} has no summary"
        assert rule["annotations"].get("description"), f"{name} has no description"


def test_the_issue_metrics_have_their_names_types_and_labels() -> None:
    for name, (metric, kind, labels) in ISSUE_METRICS.items():
        # prometheus_client keeps these as attributes of the metric object, not in its API.
        assert metric._name == name, name
        assert metric._type == kind, name
        assert tuple(metric._labelnames) == labels, name


def test_every_metric_the_rules_and_dashboards_read_is_defined() -> None:
    used = {
        m
        for expr in [r["expr"] for r in _rules()] + _panel_queries()
        for m in METRIC_NAME.findall(expr)
    }
    assert used, "no switchboard metric is read at all"
    assert used <= _defined_names(), f"read but never defined: {sorted(used - _defined_names())}"


def test_dashboard_queries_parse_as_promql(tmp_path: Path) -> None:
    # Grafana's $__rate_interval is not PromQL; it stands for a range such as 1m.
    rules = [
        {"record": f"dashboard:query_{i}", "expr": expr.replace("$__rate_interval", "1m")}
        for i, expr in enumerate(_panel_queries())
    ]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    _run_promtool("check", "rules", str(path))


def test_dashboards_are_well_formed_for_provisioning() -> None:
    datasources = yaml.safe_load(
        (PROVISIONING_DIR / "datasources" / "datasources.yaml").read_text()
    )
    prometheus_uid = next(d["uid"] for d in datasources["datasources"] if d["type"] == "prometheus")
    dashboards = _dashboards()
    uids = [d["uid"] for d in dashboards.values()]
    assert len(uids) == len(set(uids)), "two dashboards share a uid"
    for name, dashboard in dashboards.items():
        assert dashboard["title"] and dashboard["schemaVersion"] >= 36, name
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: two panels share an id"
        for panel in dashboard["panels"]:
            where = f"{name}: {panel['title']}"
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, where
            assert panel["datasource"]["uid"] == prometheus_uid, where
            assert panel["targets"], f"{where} has no query"
            for target in panel["targets"]:
                assert target["refId"] and target["expr"], where


def test_the_dashboards_show_what_the_issue_asks_for() -> None:
    queries = "\n".join(_panel_queries())
    for metric in (
        "switchboard_turn_stage_seconds_bucket",
        "switchboard_active_sessions",
        "switchboard_interruptions_total",
        "switchboard_tool_duration_seconds_bucket",
        "switchboard_tool_duration_seconds_count",
        "switchboard_events_published_total",
        "switchboard_events_dropped_total",
        "switchboard_consumer_lag",
        "switchboard_escalations_total",
        "switchboard_redactions_total",
    ):
        assert metric in queries, f"no panel reads {metric}"
    v2v = [
        panel
        for dashboard in _dashboards().values()
        for panel in dashboard["panels"]
        if any('stage="voice_to_voice"' in t["expr"] for t in panel["targets"])
    ]
    steps = v2v[0]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert 1.5 in [step["value"] for step in steps], "voice-to-voice panel lacks the 1.5 s line"


def test_grafana_mounts_the_dashboards_its_provider_reads() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    provider = yaml.safe_load((PROVISIONING_DIR / "dashboards" / "dashboards.yaml").read_text())
    path = provider["providers"][0]["options"]["path"]
    volumes = compose["services"]["grafana"]["volumes"]
    assert f"./infra/grafana/dashboards:{path}:ro" in volumes
    assert "./infra/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes


# The modules above are imported for their metrics; name them so linters see them used.
_ = (live, twilio_media, yaml_lines, executor, ratelimit)
