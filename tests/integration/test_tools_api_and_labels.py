# ruff: noqa: F811  (pytest fixtures imported from tests.support.tools are parameters here)
"""The operator API on a running tools service, and the return-label side effect through a
real Celery worker to a local SMTP server (aiosmtpd): sent, or retried then dead-lettered."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller

from infra.localstack.infrastructure import free_port
from services.tools.seed.loader import plain_dsn
from shared.settings import KafkaSettings, PostgresSettings
from tests.conftest import Keys
from tests.support.processes import REPO, ServiceProcess
from tests.support.tools import Tail, hanging_server, tools, tools_env  # noqa: F401
from tests.support.waiting import wait_until


def test_operator_api(tools: ServiceProcess, keys: Keys) -> None:
    admin = {"Authorization": f"Bearer {keys.admin}"}
    with httpx.Client(base_url=tools.url, timeout=10) as http:
        assert http.get("/v1/tools").status_code == 401
        listed = http.get("/v1/tools", headers=admin).json()["tools"]
        by_name = {t["name"]: t for t in listed}
        assert set(by_name) >= {"order_status", "cancel_order", "store_info", "slow_lookup"}
        assert by_name["order_status"]["parameters"]["required"] == ["order_id"]
        assert by_name["slow_lookup"]["lines"] == ["test-http"]
        assert "http" not in by_name["slow_lookup"]  # the URL stays private

        invoke = "/v1/tools/order_status/invoke"
        body = {"arguments": {"order_id": "ORD-77315"}}
        assert http.post(invoke, json=body).status_code == 401
        gateway = {"Authorization": f"Bearer {keys.gateway}"}
        assert http.post(invoke, json=body, headers=gateway).status_code == 403
        answer = http.post(invoke, json=body, headers=admin).json()
        assert (answer["status"], answer["result"]["status"]) == ("ok", "in_transit")
        assert answer["reply_to"] == "operator" and answer["attempts"] == 1
        bad = http.post(invoke, json={"arguments": {"order_id": "x"}}, headers=admin).json()
        assert bad["status"] == "error" and "order_id" in bad["error"]
        assert http.post("/v1/tools/nope/invoke", json=body, headers=admin).status_code == 404

        orders = http.get("/v1/crm/orders", params={"limit": 5}, headers=admin).json()
        assert len(orders["orders"]) == 5
        capped = http.get("/v1/crm/customers", params={"limit": 10**6}, headers=admin).json()
        assert capped["limit"] == 200 and len(capped["customers"]) == 200
        assert http.get("/v1/crm/orders").status_code == 401

        assert http.get("/v1/tools/stats").status_code == 401
        stats = http.get("/v1/tools/stats", headers=admin).json()["tools"]["order_status"]
        assert (stats["calls"], stats["ok"], stats["errors"]) == (2, 1, 1)
        assert stats["p50_ms"] is not None and stats["p95_ms"] >= stats["p50_ms"]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Mailbox]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, box
    if controller.loop.is_running():  # the test may have stopped it already
        controller.stop(no_assert=True)


async def a_returnable_order(postgres: PostgresSettings, schema: str) -> str:
    conn = await asyncpg.connect(plain_dsn(postgres), timeout=5)
    try:
        found: str = await conn.fetchval(
            f'SELECT o.order_id FROM "{schema}".orders o JOIN "{schema}".shipments s '
            "USING (order_id) WHERE o.status = 'delivered' AND o.order_id <> 'ORD-20002' "
            "AND s.delivered_at > now() - interval '20 days' AND NOT EXISTS (SELECT 1 FROM "
            f'"{schema}".returns r WHERE r.order_id = o.order_id) LIMIT 1'
        )
        return found
    finally:
        await conn.close()


async def fetch(postgres: PostgresSettings, sql: str) -> Any:
    conn = await asyncpg.connect(plain_dsn(postgres), timeout=5)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def start_worker(env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    """The tools service's Celery worker on this test's own queue."""
    argv = [sys.executable, "-m", "celery", "-A", "services.tools.entrypoints.celery_app",
            "worker", "-Q", env["TOOLS_CELERY_QUEUE"], "--pool=solo", "--without-gossip",
            "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]  # fmt: skip
    return subprocess.Popen(argv, env={**os.environ, **env}, cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.mark.slow
async def test_return_label_is_emailed_or_retried_then_dead_lettered(
    tools_env: dict[str, str], smtp: tuple[Controller, Mailbox], keys: Keys, log_dir: Path,
    kafka: KafkaSettings, postgres: PostgresSettings, db_schema: str, unique: str,
) -> None:  # fmt: skip
    controller, box = smtp
    env = {**tools_env, "TOOLS_SMTP_HOST": "127.0.0.1", "TOOLS_SMTP_PORT": str(controller.port),
           "TOOLS_CELERY_QUEUE": f"tools-{unique}", "TOOLS_MAIL_MAX_RETRIES": "2",
           "TOOLS_MAIL_RETRY_BACKOFF_S": "0.2"}  # fmt: skip
    service = ServiceProcess("tools", free_port(), env, log_dir).start()
    worker_log = (log_dir / "celery-tools.log").open("ab")
    worker = start_worker(env, worker_log)
    admin = {"Authorization": f"Bearer {keys.admin}"}
    events = Tail(kafka.bootstrap_servers, kafka.topic("cc.call-events.v1"))
    try:
        service.wait_ready(60)
        async with events.running(), httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            args = {"order_id": "ORD-20002", "reason": "does_not_fit"}
            invoke = "/v1/tools/start_return/invoke"
            answer = (await http.post(invoke, headers=admin, json={"arguments": args})).json()
            assert answer["status"] == "ok" and answer["result"]["label"] == "submitted"
            rma = answer["result"]["rma_id"]
            assert await wait_until(lambda: box.messages, 30)
            mail = message_from_bytes(box.messages[0])
            assert mail["To"] == "dana.whitfield@example.com" and rma in mail["Subject"]
            assert any(part.get_filename() == f"{rma}.txt" for part in mail.walk())
            sent = f"SELECT label_status FROM \"{db_schema}\".returns WHERE rma_id = '{rma}'"
            assert await wait_until(lambda: fetch(postgres, sent), 10) == "sent"

            controller.stop(no_assert=True)  # the mail server goes away
            order = await a_returnable_order(postgres, db_schema)
            args = {"order_id": order, "reason": "damaged"}
            failing = (await http.post(invoke, headers=admin, json={"arguments": args})).json()
            lost = failing["result"]["rma_id"]
            dead = (f"SELECT attempts FROM \"{db_schema}\".side_effect_dead_letters "
                    f"WHERE subject_id = '{lost}'")  # fmt: skip
            assert await wait_until(lambda: fetch(postgres, dead), 30) == 3

            def outcomes() -> dict[str, str]:
                return {e.payload["reference"]: e.payload["status"] for e in events.envelopes()
                        if e.type == "tool.side_effect"}  # fmt: skip

            await events.wait_for(lambda: len(outcomes()) >= 2, 20)
            assert outcomes() == {rma: "ok", lost: "failed"}
    finally:
        worker.terminate()
        worker.wait(20)
        worker_log.close()
        service.stop()
