"""The architecture stays visible: no service imports another, domains do no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "session", "tools", "analytics")
IO_MODULES = {
    "aiokafka", "asyncpg", "sqlalchemy", "redis", "fastapi", "starlette", "uvicorn", "httpx",
    "websockets", "celery", "socket", "subprocess", "requests", "alembic",
}  # fmt: skip


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another_service(service: str) -> None:
    others = {f"services.{s}" for s in SERVICES if s != service}
    for path in (REPO / "services" / service).rglob("*.py"):
        bad = {m for m in imports_of(path) if any(m == o or m.startswith(o + ".") for o in others)}
        assert not bad, f"{path.relative_to(REPO)} imports {bad}: talk over Kafka or HTTP"


def test_shared_imports_no_service() -> None:
    for path in (REPO / "shared").rglob("*.py"):
        bad = {m for m in imports_of(path) if m.startswith("services")}
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"


@pytest.mark.parametrize("service", SERVICES)
def test_domain_modules_do_no_io(service: str) -> None:
    for path in (REPO / "services" / service / "domain").rglob("*.py"):
        bad = {m for m in imports_of(path) if m.split(".")[0] in IO_MODULES}
        assert not bad, f"{path.relative_to(REPO)} imports I/O modules {bad}"


def test_modules_stay_small() -> None:
    # House style: split modules before 500 lines.
    for root in ("shared", "services", "infra"):
        for path in (REPO / root).rglob("*.py"):
            lines = len(path.read_text().splitlines())
            assert lines < 500, f"{path.relative_to(REPO)} has {lines} lines"
