"""The generic HTTP connector against a real local HTTP server (sockets, no mocks) that answers
slowly, fails, flaps, and returns garbage, non-JSON and oversized bodies."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.tools.adapters.httpx_connector import HttpConnector, pick, render_body
from services.tools.domain.execution import ToolCommand
from services.tools.domain.registry import ToolRegistry
from services.tools.executor import ToolExecutor
from services.tools.settings import ExecutionSettings
from shared.lines import HttpCall, ToolSpec


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeCrm:
    """A small HTTP/1.1 server; behaviour chosen by the first path segment."""

    seen: list[Seen] = field(default_factory=list)
    flaps: int = 0
    base: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        request_line, *lines = head.split("\r\n")
        method, path, _ = request_line.split(" ")
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines if ln)}
        body = await reader.readexactly(int(headers.get("content-length", 0)))
        self.seen.append(Seen(method, path, headers, body))
        route = path.split("/")[1]
        status, payload, extra = 200, b"", ""
        if route == "ok":
            doc = {"data": {"order": {"status": "shipped", "items": [{"name": "Boots"}]}}}
            payload = json.dumps(doc).encode()
        elif route == "slow":
            await asyncio.sleep(5)
        elif route == "fail":
            status = 500
        elif route == "flap":
            self.flaps += 1
            status, payload = (503, b"") if self.flaps % 2 else (200, b'{"status": "back"}')
        elif route == "garbage":
            payload = b"<html>\x00\xff not json"
        elif route == "big":
            payload = json.dumps({"blob": "x" * 300_000}).encode()
        elif route == "refuse":
            status = 404
        if route == "stream":  # no content-length: the limit must hold while reading
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
            )
            for _ in range(100):
                writer.write(b"x" * 10_000)
                await writer.drain()
        else:
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n{extra}\r\n".encode()
                + payload
            )
        await writer.drain()
        writer.close()


@pytest.fixture
async def crm_server() -> AsyncIterator[FakeCrm]:
    fake = FakeCrm()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    fake.base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    yield fake
    server.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def tool(base: str, path: str, *, effect: str = "read", **http: Any) -> ToolSpec:
    return ToolSpec(
        name="lookup",
        description="Look it up",
        backend="http",
        effect=effect,  # type: ignore[arg-type]
        timeout_seconds=1.0,
        parameters={"type": "object", "properties": {"order_id": {"type": "string"}}},
        http=HttpCall(url=base + path, **http),
    )


async def run(
    spec: ToolSpec,
    client: httpx.AsyncClient,
    args: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
    key: str | None = None,
) -> Any:
    registry = ToolRegistry({}, {})
    registered = registry.add(spec)
    assert spec.http is not None
    executor = ToolExecutor(
        registry=registry,
        backends={registered.backend_key: HttpConnector(spec.http, client, env or {})},
        settings=ExecutionSettings(max_attempts=3),
    )
    return await executor.execute(
        ToolCommand(
            tool_call_id="tc",
            call_id="sess",
            line_id="",
            name=spec.name,
            arguments=args or {"order_id": "ORD-77315"},
            deadline_at=datetime.now(UTC) + timedelta(seconds=spec.timeout_seconds),
            idempotency_key=key,
            fence_key=str(uuid.uuid4()),
        )
    )


async def test_templates_secrets_and_response_mapping(
    crm_server: FakeCrm, client: httpx.AsyncClient
) -> None:
    spec = tool(
        crm_server.base,
        "/ok/{order_id}?q={order_id}",
        method="POST",
        headers={"Authorization": "Bearer ${CRM_TOKEN}"},
        body={"order": "{order_id}", "note": "id {order_id}", "n": 3},
        response={
            "status": "data.order.status",
            "first": "data.order.items.0.name",
            "missing": "data.nope.x",
        },
    )
    outcome = await run(spec, client, {"order_id": "A/B?c d"}, env={"CRM_TOKEN": "s3cret"})
    assert outcome.status == "ok"
    assert outcome.result == {"status": "shipped", "first": "Boots", "missing": None}
    seen = crm_server.seen[0]
    assert seen.path == "/ok/A%2FB%3Fc%20d?q=A%2FB%3Fc%20d"  # quoted: the path keeps its shape
    assert seen.headers["authorization"] == "Bearer s3cret"
    assert json.loads(seen.body) == {"order": "A/B?c d", "note": "id A/B?c d", "n": 3}
    assert seen.headers["idempotency-key"]


async def test_missing_secret_is_a_config_error_without_a_request(
    crm_server: FakeCrm, client: httpx.AsyncClient
) -> None:
    spec = tool(crm_server.base, "/ok/{order_id}", headers={"X-Key": "${NOT_SET}"})
    outcome = await run(spec, client)
    assert outcome.status == "error" and "not configured" in outcome.error
    assert crm_server.seen == []


async def test_slow_backend_times_out_at_the_deadline(
    crm_server: FakeCrm, client: httpx.AsyncClient
) -> None:
    outcome = await run(tool(crm_server.base, "/slow/{order_id}"), client)
    assert outcome.status == "timeout"
    assert 950 <= outcome.duration_ms < 1050


async def test_500_is_retried_for_a_read_then_reported(
    crm_server: FakeCrm, client: httpx.AsyncClient
) -> None:
    outcome = await run(tool(crm_server.base, "/fail/{order_id}"), client)
    assert (outcome.status, outcome.attempts) == ("error", 3)
    assert "HTTP 500" in outcome.error and len(crm_server.seen) == 3


async def test_flapping_backend_succeeds_on_retry(
    crm_server: FakeCrm, client: httpx.AsyncClient
) -> None:
    outcome = await run(tool(crm_server.base, "/flap/{order_id}"), client)
    assert (outcome.status, outcome.result, outcome.attempts) == ("ok", {"status": "back"}, 2)


async def test_write_without_key_is_not_retried_with_key_it_is(
    crm_server: FakeCrm, client: httpx.AsyncClient
) -> None:
    once = await run(tool(crm_server.base, "/flap/{order_id}", effect="write"), client)
    assert (once.status, once.attempts) == ("error", 1)
    crm_server.flaps = 0  # the next answer is a 503 again
    again = await run(tool(crm_server.base, "/flap/{order_id}", effect="write"), client, key="k9")
    assert (again.status, again.attempts) == ("ok", 2)
    assert crm_server.seen[-1].headers["idempotency-key"] == "k9"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/garbage/{order_id}", "unreadable"),
        ("/big/{order_id}", "too large"),
        ("/stream/{order_id}", "too large"),
        ("/refuse/{order_id}", "HTTP 404"),
    ],
)
async def test_bad_answers_are_errors_for_the_model_and_not_retried(
    crm_server: FakeCrm, client: httpx.AsyncClient, path: str, expected: str
) -> None:
    outcome = await run(tool(crm_server.base, path, max_response_bytes=100_000), client)
    assert (outcome.status, outcome.attempts) == ("error", 1)
    assert expected in outcome.error


async def test_unreachable_backend_is_retried_then_reported(client: httpx.AsyncClient) -> None:
    outcome = await run(tool("http://127.0.0.1:1", "/x/{order_id}"), client)
    assert (outcome.status, outcome.attempts) == ("error", 3)
    assert "could not be reached" in outcome.error


def test_pick_and_body_rendering() -> None:
    doc = {"a": {"b": [{"c": 1}]}}
    assert pick(doc, "a.b.0.c") == 1 and pick(doc, "a.b.5.c") is None and pick(doc, "") == doc
    assert render_body({"x": ["{n}", "n={n}"]}, {"n": 4}) == {"x": [4, "n=4"]}
