"""Every route of every service refuses a caller without the right key or token.

Each service's app is built as in production (``create_app``) with keys for every role; its
routes are enumerated, HTTP and WebSocket alike. A route must be either in ``PUBLIC`` (with the
reason it is public) or in ``PROTECTED`` (with the roles it admits): a new route in neither
fails ``test_every_route_is_protected_or_deliberately_public``. The lifespan does not run:
refusals happen before a route touches Kafka or Postgres (a refused WebSocket that presents a
token does ask the real Redis, which the test infrastructure provides).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocketDisconnect

from shared.auth import ROLES, Role
from tests.security.conftest import Services

WS = "WS"
MOUNT = "MOUNT"  # a mounted app or static directory; none today, and a new one must be listed
# (service, method or WS, path): why it needs no key. Nothing here returns call data.
PUBLIC: dict[tuple[str, str, str], str] = {}
for _service in ("gateway", "session", "tools", "analytics"):
    PUBLIC |= {
        # Liveness and readiness: orchestrators probe them without credentials; they answer
        # only up/down per dependency.
        (_service, "GET", "/healthz"): "liveness probe",
        (_service, "GET", "/readyz"): "readiness probe",
        # Prometheus scrapes without credentials; counts and latencies, no call content (the
        # port is meant for the internal network: docs/security.md, known gaps).
        (_service, "GET", "/metrics"): "Prometheus scrape",
        # The API's shape is not a secret (schemathesis and integrators read it); every
        # operation it lists is itself protected.
        (_service, "GET", "/openapi.json"): "API description",
        (_service, "GET", "/docs"): "API description (Swagger UI)",
        (_service, "GET", "/docs/oauth2-redirect"): "Swagger UI helper page",
        (_service, "GET", "/redoc"): "API description (ReDoc)",
    }
PUBLIC |= {
    # Static pages: the person using them types a key (or is given a token) in the page, and
    # every call the page then makes is checked like any other.
    ("gateway", "GET", "/"): "softphone page; it fetches a token with a gateway key",
    ("session", "GET", "/desk"): "agent desk page; the desk socket checks the agent's key",
    ("session", "GET", "/desk/{name}"): "agent desk assets (an allow-list of file names)",
    ("analytics", "GET", "/dashboard"): "dashboard page; its API calls carry the key",
    ("analytics", "GET", "/dashboard/static/{name}"): "dashboard assets (allow-listed names)",
    ("analytics", "GET", "/dashboard/static/vendor/{name}"): "dashboard's vendored libraries",
    # Twilio cannot hold an API key: the webhook is checked by Twilio's request signature (403
    # without a valid one), the media stream by the single-use per-call secret the webhook
    # issued (close 1008 without it). Both refusals are asserted below.
    ("gateway", "POST", "/twilio/voice"): "Twilio webhook, signature-checked",
    ("gateway", WS, "/twilio/media"): "Twilio media stream, per-call secret",
}
# (service, method, path): the roles ``require_role`` admits (a role that implies one passes).
PROTECTED: dict[tuple[str, str, str], frozenset[Role]] = {
    ("gateway", "GET", "/v1/token"): frozenset({"gateway"}),
    ("session", "GET", "/v1/sessions"): frozenset({"supervisor"}),
    ("session", "GET", "/v1/sessions/{call_id}"): frozenset({"supervisor"}),
    ("session", "GET", "/v1/rules"): frozenset({"supervisor"}),
    ("session", "POST", "/v1/rules/backtest"): frozenset({"supervisor"}),
    ("tools", "GET", "/v1/tools"): frozenset({"admin"}),
    ("tools", "GET", "/v1/tools/stats"): frozenset({"admin"}),
    ("tools", "POST", "/v1/tools/{name}/invoke"): frozenset({"admin"}),
    ("tools", "GET", "/v1/crm/orders"): frozenset({"admin"}),
    ("tools", "GET", "/v1/crm/customers"): frozenset({"admin"}),
    ("analytics", "GET", "/v1/calls"): frozenset({"analyst"}),
    ("analytics", "GET", "/v1/calls/{call_id}"): frozenset({"analyst"}),
    ("analytics", "GET", "/v1/stats"): frozenset({"analyst"}),
    ("analytics", "GET", "/v1/export/calls"): frozenset({"analyst"}),
    ("analytics", "GET", "/v1/export/turns"): frozenset({"analyst"}),
    ("analytics", "POST", "/v1/redact"): frozenset({"analyst"}),
    # Any configured key may ask which roles it holds (the dashboard does, to pick its view).
    ("analytics", "GET", "/v1/live/whoami"): frozenset(ROLES),
    ("analytics", "POST", "/v1/live/calls/{call_id}/whisper"): frozenset({"supervisor"}),
    ("analytics", "POST", "/v1/live/calls/{call_id}/takeover"): frozenset({"supervisor"}),
    ("analytics", "POST", "/v1/live/calls/{call_id}/end"): frozenset({"supervisor"}),
}
# WebSocket routes and the check each makes (asserted one by one below).
PROTECTED_SOCKETS = {
    ("gateway", WS, "/v1/ws"): "gateway key (Authorization) or single-use token",
    ("gateway", WS, "/v1/voice"): "gateway key (Authorization) or single-use token",
    ("gateway", WS, "/v1/realtime"): "gateway key (Authorization) or single-use token",
    ("gateway", WS, "/v1/bridge"): "single-use bridge token from the session service",
    ("session", WS, "/v1/desk/ws"): "a desk agent's own key, first message",
    ("analytics", WS, "/v1/live/ws"): "a supervisor key, first message",
}


def _routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        original = route.original_route
        if isinstance(original, WebSocketRoute) or "websocket" in type(original).__name__.lower():
            yield WS, path
            continue
        if not route.methods:  # a Mount (static files, a sub-app): everything under its path
            yield MOUNT, path
        for method in sorted((route.methods or set()) - {"HEAD"}):
            yield method, path


def test_a_mount_would_be_enumerated() -> None:
    app = FastAPI()
    app.router.routes.append(Mount("/files", app=StaticFiles(directory=".")))

    assert (MOUNT, "/files") in set(_routes(app))


def test_every_route_is_protected_or_deliberately_public(services: Services) -> None:
    found = {
        (name, method, path) for name, app in services.apps.items() for method, path in _routes(app)
    }
    known = set(PUBLIC) | set(PROTECTED) | set(PROTECTED_SOCKETS)

    assert found - known == set(), "routes neither protected nor on the public allow-list"
    assert known - found == set(), "listed routes that no longer exist"
    assert len(found) > 40


def _concrete(path: str) -> str:
    return path.replace("{call_id}", "call_sec_1").replace("{name}", "lookup_order")


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    body = {"json": {}} if method == "POST" else {}
    return client.request(method, _concrete(path), headers=headers, **body).status_code


@pytest.mark.parametrize(("service", "method", "path"), sorted(PROTECTED))
def test_a_protected_route_refuses_no_key_a_wrong_key_and_each_other_role(
    services: Services, service: str, method: str, path: str
) -> None:
    client = services.client(service)
    admitted = PROTECTED[(service, method, path)]

    assert _call(client, method, path, {}) == 401
    assert _call(client, method, path, {"Authorization": "Bearer sb_admin_forged"}) == 401
    refused = [r for r in ROLES if not services.keyring.allows(services.keys[r], *admitted)]
    for role in refused:
        bearer = {"Authorization": f"Bearer {services.keys[role]}"}
        assert _call(client, method, path, bearer) == 403, role
    # Which roles are refused is the role model itself: spelled out so a change shows here.
    expected_refused = {
        frozenset({"gateway"}): {"analyst", "supervisor"},
        frozenset({"supervisor"}): {"gateway", "analyst"},
        frozenset({"analyst"}): {"gateway"},
        frozenset({"admin"}): {"gateway", "analyst", "supervisor"},
        frozenset(ROLES): set(),
    }
    assert set(refused) == expected_refused[admitted]


def test_the_twilio_webhook_refuses_an_unsigned_request(services: Services) -> None:
    form = {"CallSid": "CA" + "0" * 32, "AccountSid": "AC" + "0" * 32, "To": "+15550100"}
    answer = services.client("gateway").post("/twilio/voice", data=form)

    assert answer.status_code == 403
    assert "Stream" not in answer.text


def _refusal(
    client: TestClient,
    path: str,
    send: Callable[[Any], None] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The frames a socket sends before the server closes it, and the close code."""
    frames: list[dict[str, Any]] = []
    with client.websocket_connect(path, headers=headers or {}) as ws:
        if send is not None:
            send(ws)
        try:
            for _ in range(10):  # a refusal is at most a frame or two; more is not a refusal
                frames.append(json.loads(ws.receive_text()))
        except WebSocketDisconnect as closed:
            return frames, closed.code
    raise AssertionError(f"{path} kept talking: {frames}")


@pytest.mark.parametrize("path", ["/v1/ws", "/v1/voice", "/v1/realtime"])
def test_the_voice_socket_refuses_without_a_gateway_key_or_valid_token(
    services: Services, path: str
) -> None:
    client = services.client("gateway")
    analyst = {"Authorization": f"Bearer {services.keys['analyst']}"}
    for target, headers in [
        (path, None),
        (path, analyst),
        (f"{path}?token=tok_never_issued_000000000000", None),
    ]:
        frames, code = _refusal(client, target, headers=headers)
        assert code == 1008
        assert [(f["type"], f["code"]) for f in frames] == [("session.error", "unauthorized")]


def test_the_bridge_refuses_without_a_valid_bridge_token(services: Services) -> None:
    client = services.client("gateway")
    gateway = {"Authorization": f"Bearer {services.keys['gateway']}"}
    for target, headers in [
        ("/v1/bridge", gateway),
        ("/v1/bridge?token=brg_never_issued_0000000000", None),
    ]:
        frames, code = _refusal(client, target, headers=headers)
        assert code == 1008
        assert frames == [{"type": "bridge.error", "code": "unauthorized"}]


def test_the_twilio_media_stream_refuses_a_start_without_its_secret(services: Services) -> None:
    start = {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": "MZ" + "0" * 32,
        "start": {
            "streamSid": "MZ" + "0" * 32,
            "accountSid": "AC" + "0" * 32,
            "callSid": "CA" + "0" * 32,
            "tracks": ["inbound"],
            "customParameters": {"secret": "not-the-issued-secret"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
    }
    frames, code = _refusal(
        services.client("gateway"), "/twilio/media", send=lambda ws: ws.send_text(json.dumps(start))
    )

    assert (frames, code) == ([], 1008)


def test_the_desk_refuses_a_key_that_is_not_a_desk_agents(services: Services) -> None:
    for key in (services.keys["admin"], "sb_desk_forged"):
        auth = {"type": "auth", "key": key}
        frames, code = _refusal(
            services.client("session"), "/v1/desk/ws", send=lambda ws, auth=auth: ws.send_json(auth)
        )
        assert (frames, code) == ([], 1008)


def test_the_live_feed_refuses_an_unknown_key_and_a_non_supervisor(services: Services) -> None:
    client = services.client("analytics")
    for key, reason in [
        ("sb_supervisor_forged", "unauthorized"),
        (services.keys["analyst"], "forbidden"),
    ]:
        auth = {"type": "auth", "key": key}
        with client.websocket_connect("/v1/live/ws") as ws:
            ws.send_json(auth)
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
        assert (closed.value.code, closed.value.reason) == (1008, reason)
