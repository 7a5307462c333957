"""Request and frame size limits: every POST route of every service refuses an oversized body
(413) before it reads it whole or checks a key, whether the size is declared or only streamed;
the voice socket refuses an oversized frame in-band; uvicorn caps every WebSocket message.
(The desk's and the live feed's 1009 closes: tests/integration/test_handoff_desk.py and
test_live_feed.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from shared import service_main
from shared.http.body_limit import DEFAULT_MAX_BODY_BYTES
from shared.settings import HttpSettings, TelemetrySettings
from tests.security.conftest import Services

POST_ROUTES = [
    ("gateway", "/twilio/voice"),
    ("session", "/v1/rules/backtest"),
    ("tools", "/v1/tools/lookup_order/invoke"),
    ("analytics", "/v1/redact"),
    ("analytics", "/v1/live/calls/call_sec_1/whisper"),
    ("analytics", "/v1/live/calls/call_sec_1/takeover"),
    ("analytics", "/v1/live/calls/call_sec_1/end"),
]
OVER = DEFAULT_MAX_BODY_BYTES + 1


def test_the_list_covers_every_post_route(services: Services) -> None:
    found = {
        (name, route.path)
        for name, app in services.apps.items()
        for route in iter_route_contexts(app.routes)
        if "POST" in (route.methods or set())
    }
    listed = {
        (name, path.replace("call_sec_1", "{call_id}").replace("lookup_order", "{name}"))
        for name, path in POST_ROUTES
    }

    assert found == listed


@pytest.mark.parametrize(("service", "path"), POST_ROUTES)
def test_a_declared_oversized_body_is_refused(services: Services, service: str, path: str) -> None:
    answer = services.client(service).post(
        path, content=b"x" * OVER, headers={"Content-Type": "application/json"}
    )

    assert answer.status_code == 413
    assert answer.json() == {"detail": "request body too large"}


def _chunks(total: int, size: int = 65_536) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b" " * min(size, total - sent)
        sent += len(chunk)
        yield chunk


@pytest.mark.parametrize(("service", "path"), POST_ROUTES)
def test_a_streamed_oversized_body_is_refused(services: Services, service: str, path: str) -> None:
    # A generator body goes out chunked, with no Content-Length to refuse up front.
    answer = services.client(service).post(
        path, content=_chunks(OVER), headers={"Content-Type": "application/json"}
    )

    assert answer.status_code == 413


def test_a_body_under_the_limit_reaches_the_key_check(services: Services) -> None:
    answer = services.client("analytics").post("/v1/redact", json={"text": "x" * 10_000})

    assert answer.status_code == 401


def test_the_limit_is_configurable_within_bounds() -> None:
    assert HttpSettings(HTTP_MAX_BODY_BYTES=4096).max_body_bytes == 4096
    with pytest.raises(ValueError):
        HttpSettings(HTTP_MAX_BODY_BYTES=10)
    assert HttpSettings().max_body_bytes == DEFAULT_MAX_BODY_BYTES


def test_an_oversized_voice_frame_is_answered_with_an_error_and_the_call_goes_on(
    services: Services,
) -> None:
    limit = services.apps["gateway"].state.settings.max_frame_bytes
    key = {"Authorization": f"Bearer {services.keys['gateway']}"}
    with services.client("gateway").websocket_connect("/v1/ws", headers=key) as ws:
        assert json.loads(ws.receive_text())["type"] == "session.ready"
        for _ in range(2):  # the session survives the refusal and refuses again
            ws.send_text(json.dumps({"type": "session.update", "pad": "a" * (limit + 1)}))
            frame = next_error(ws)
            assert frame == {
                "type": "session.error",
                "code": "invalid_format",
                "message": f"frame larger than {limit} bytes",
            }


def next_error(ws: Any, *, max_frames: int = 200) -> dict[str, Any]:
    """The next ``session.error``, passing over the greeting's reply frames; at most
    ``max_frames`` are read, then the test fails rather than reading on."""
    for _ in range(max_frames):
        frame: dict[str, Any] = json.loads(ws.receive_text())
        if frame["type"] == "session.error":
            return frame
    raise AssertionError(f"no session.error within {max_frames} frames")


def test_services_are_served_with_a_websocket_message_cap_and_no_access_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(service_main, "setup_logging", lambda *_: None)
    monkeypatch.setattr(service_main, "setup_tracing", lambda *_: None)

    def run(server: service_main.DrainingServer) -> None:  # what would be served, not served
        seen.update(vars(server.config))
        server.started = True

    monkeypatch.setattr(service_main.DrainingServer, "run", run)

    service_main.serve("t", FastAPI(), host="127.0.0.1", port=1, telemetry=TelemetrySettings())

    # uvicorn closes a socket (1009) on a message over the cap before the app sees it.
    assert seen["ws_max_size"] == 1_048_576
    assert seen["access_log"] is False  # URLs carry single-use tokens
