"""The dashboard page's routes: only the named files, their types, caching and the policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.analytics.entrypoints import dashboard
from services.analytics.entrypoints.dashboard import (
    ASSETS,
    STATIC,
    VENDOR_ASSETS,
    content_security_policy,
)

MODULE_IMPORT = re.compile(r'^import .* from "\./([a-z_]+\.js)";$', re.MULTILINE)


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(dashboard.router)
    return TestClient(app)


def test_the_page_is_public_html_with_a_same_origin_policy(client: TestClient) -> None:
    response = client.get("/dashboard", headers={"Host": "wall.example:8083"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self' ws://wall.example:8083 wss://wall.example:8083"
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "Supervisor key" in response.text


def test_a_host_header_that_could_break_the_policy_is_left_out() -> None:
    for host in ("evil.example; script-src *", "a b", "x\r\ny", ""):
        assert "connect-src 'self';" in content_security_policy(host)


def test_every_asset_is_served_with_its_type_and_revalidated_with_its_etag(
    client: TestClient,
) -> None:
    for name, media_type in ASSETS.items():
        response = client.get(f"/dashboard/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == media_type
        etag = response.headers["etag"]
        again = client.get(f"/dashboard/static/{name}", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""


def test_only_named_files_are_served(client: TestClient) -> None:
    for path in (
        "/dashboard/static/../dashboard.py",
        "/dashboard/static/%2e%2e%2fdashboard.py",
        "/dashboard/static/dashboard.html",
        "/dashboard/static/vendor/uPlot.esm.js",
        "/dashboard/static/nothing.js",
    ):
        assert client.get(path).status_code == 404, path


def test_the_vendor_files_are_served_once_make_vendor_copied_them(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard, "VENDOR", tmp_path)
    assert client.get("/dashboard/static/vendor/uPlot.iife.min.js").status_code == 404
    (tmp_path / "uPlot.iife.min.js").write_text("var uPlot = function () {};")
    response = client.get("/dashboard/static/vendor/uPlot.iife.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == VENDOR_ASSETS["uPlot.iife.min.js"]


def test_every_module_the_page_imports_is_served_and_small() -> None:
    """A module added to static/ but not to ASSETS would 404 in the browser."""
    sources = {p.name: p.read_text() for p in STATIC.glob("*.js")}
    assert set(sources) == {name for name in ASSETS if name.endswith(".js")}
    for name, text in sources.items():
        assert set(MODULE_IMPORT.findall(text)) <= set(ASSETS), name
        assert len(text.splitlines()) < 400, name
        assert ".innerHTML" not in text, name  # server text goes in through textContent only
