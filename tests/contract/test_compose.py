"""The production-like stack: docker-compose.yml and the infra config it mounts.

These checks need no Docker engine: compose validates the file offline, and the rest is parsing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DASHBOARDS_DIR = REPO_ROOT / "infra" / "grafana" / "dashboards"
RULES_DIR = REPO_ROOT / "infra" / "prometheus" / "rules"

# The local stack as ARCHITECTURE.md lists it.
EXPECTED_SERVICES = frozenset(
    {
        "kafka",
        "postgres",
        "redis",
        "otel-collector",
        "jaeger",
        "prometheus",
        "grafana",
        "gateway",
        "session",
        "tools",
        "analytics",
        "celery-worker",
        "celery-beat",
    }
)
SWITCHBOARD_PORTS = {"gateway": 8080, "session": 8081, "tools": 8082, "analytics": 8083}

# Bound on each compose invocation; validation is offline and takes about a second.
COMPOSE_TIMEOUT_S = 60


def _compose_command() -> list[str] | None:
    """The compose CLI available here: the Docker plugin if it works, else docker-compose."""
    if shutil.which("docker"):
        try:
            probe = subprocess.run(
                ["docker", "compose", "version"],
                capture_output=True,
                timeout=COMPOSE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            probe = None
        if probe is not None and probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = _load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


def test_compose_file_validates() -> None:
    command = _compose_command()
    if command is None:
        pytest.fail(
            "neither `docker compose` nor `docker-compose` is available to validate "
            "docker-compose.yml; run `make system-deps`"
        )
    # A dummy value: the stack needs AUTH_KEY_HASHES at run time, validation does not.
    env = {**os.environ, "AUTH_KEY_HASHES": "admin=sha256:" + "0" * 64}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMPOSE_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(command)} config -q failed:\n{result.stderr}"


def test_compose_has_the_architecture_services(compose: dict[str, Any]) -> None:
    services = set(compose.get("services", {}))
    missing = EXPECTED_SERVICES - services
    assert not missing, f"docker-compose.yml lacks services: {sorted(missing)}"


@pytest.mark.parametrize(("service", "port"), sorted(SWITCHBOARD_PORTS.items()))
def test_switchboard_service_has_healthcheck(
    compose: dict[str, Any], service: str, port: int
) -> None:
    healthcheck = compose["services"][service].get("healthcheck")
    assert healthcheck, f"{service} has no healthcheck"
    probe = " ".join(healthcheck["test"]) if isinstance(healthcheck["test"], list) else ""
    assert f"127.0.0.1:{port}/healthz" in probe, f"{service} healthcheck must probe /healthz"


def test_mounted_files_exist(compose: dict[str, Any]) -> None:
    missing: list[str] = []
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            # Short syntax "source:target[:mode]" or long syntax {type, source, target}.
            source = volume.get("source", "") if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith("./") and not (REPO_ROOT / source).exists():
                missing.append(f"{name}: {source}")
    assert not missing, f"mounted paths that do not exist: {missing}"


def test_grafana_dashboards_are_valid_json() -> None:
    dashboards = sorted(DASHBOARDS_DIR.glob("*.json"))
    assert dashboards, f"no dashboards under {DASHBOARDS_DIR}"
    for path in dashboards:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        assert dashboard.get("title"), f"{path.name} has no title"
        assert dashboard.get("panels"), f"{path.name} has no panels"


def test_prometheus_rules_are_complete() -> None:
    rule_files = sorted(RULES_DIR.glob("*.yml"))
    assert rule_files, f"no rule files under {RULES_DIR}"
    for path in rule_files:
        groups = _load_yaml(path)["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        assert rules, f"{path.name} has no rules"
        for rule in rules:
            name = rule.get("alert", "<unnamed>")
            assert rule.get("alert"), f"{path.name}: a rule has no alert name"
            assert rule.get("expr"), f"{path.name}: {name} has no expr"
            assert rule.get("labels", {}).get("severity"), f"{path.name}: {name} has no severity"
            assert rule.get("annotations", {}).get("summary"), f"{path.name}: {name} no summary"
