# ruff: noqa: F811  (pytest fixtures imported from tests.support.tools are parameters here)
"""The tools service as a process over the real broker and Postgres (acceptance of issue #5):
redelivery gives one effect, a hanging backend times out at its deadline, SIGKILL mid-flight
and a restart execute nothing twice, an expired command does not run."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from infra.localstack.infrastructure import free_port
from services.tools.seed.loader import plain_dsn
from shared.kafka.producer import BufferedProducer
from shared.settings import KafkaSettings, PostgresSettings
from tests.support.processes import ServiceProcess
from tests.support.tools import (  # noqa: F401 (fixtures)
    Tail,
    command,
    hanging_server,
    producer,
    tools,
    tools_env,
)


async def send(producer: BufferedProducer, kafka: KafkaSettings, *envelopes: object) -> None:
    for envelope in envelopes:
        await producer.send_now(
            kafka.topic("cc.tool-requests.v1"),
            key=envelope.call_id.encode(),  # type: ignore[attr-defined]
            value=envelope.to_json(),  # type: ignore[attr-defined]
        )


async def warm_up(producer: BufferedProducer, kafka: KafkaSettings, results: Tail) -> None:
    """One answered command: the service owns its partitions from here on."""
    probe = command("store_info", {"topic": "hours"}, call_id="sess_warm", within_s=60)
    await send(producer, kafka, probe)
    tc = probe.payload["tool_call_id"]
    await results.wait_for(
        lambda: any(p["tool_call_id"] == tc for p in results.payloads("tool.completed")), 60
    )


async def count(postgres: PostgresSettings, sql: str) -> int:
    conn = await asyncpg.connect(plain_dsn(postgres), timeout=5)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def test_ten_deliveries_of_one_write_make_one_effect_and_one_answer(
    tools: ServiceProcess,
    producer: BufferedProducer,
    kafka: KafkaSettings,
    postgres: PostgresSettings,
    db_schema: str,
) -> None:
    args = {"subject": "Parcel soaked", "description": "Redelivered ten times"}
    # A gateway retrying the same tool call: ten commands, one idempotency key ...
    retries = [
        command("create_ticket", args, call_id="sess_redeliver", key="k-once") for _ in range(10)
    ]
    # ... and one record redelivered verbatim ten times.
    same = command("order_status", {"order_id": "ORD-77315"}, call_id="sess_redeliver")
    async with Tail(kafka.bootstrap_servers, kafka.topic("cc.tool-results.v1")).running() as tail:
        await send(producer, kafka, *retries, *[same] * 10)
        await tail.wait_for(lambda: len(tail.payloads("tool.completed")) >= 11, 60)
        await asyncio.sleep(1.0)  # let any duplicate reply surface before counting
        replies = tail.payloads("tool.completed")
    tickets = [r for r in replies if r["name"] == "create_ticket"]
    assert len(tickets) == 10
    assert {r["status"] for r in tickets} == {"ok"}
    assert len({r["result"]["ticket_id"] for r in tickets}) == 1
    assert {r["reply_to"] for r in replies} == {"gw-test"}
    assert len([r for r in replies if r["name"] == "order_status"]) == 1
    made = await count(
        postgres, f"SELECT count(*) FROM \"{db_schema}\".tickets WHERE subject = 'Parcel soaked'"
    )
    assert made == 1


async def test_hanging_backend_answers_timeout_within_50ms_of_the_deadline(
    tools: ServiceProcess, producer: BufferedProducer, kafka: KafkaSettings
) -> None:
    results = Tail(kafka.bootstrap_servers, kafka.topic("cc.tool-results.v1"))
    async with results.running():
        await warm_up(producer, kafka, results)
        hung = command(
            "slow_lookup",
            {"order_id": "ORD-77315"},
            call_id="sess_hang",
            within_s=1.5,
            line_id="test-http",
        )
        await send(producer, kafka, hung)
        tc = hung.payload["tool_call_id"]
        await results.wait_for(lambda: any(r.key == b"sess_hang" for r in results.records), 10)
    record = next(r for r in results.records if r.key == b"sess_hang")
    reply = next(p for p in results.payloads("tool.completed") if p["tool_call_id"] == tc)
    assert (reply["status"], reply["attempts"]) == ("timeout", 1)
    assert "could not reach" in reply["error"]
    deadline_ms = datetime.fromisoformat(hung.payload["deadline_at"]).timestamp() * 1000
    # The reply's producer timestamp: when the service sent it.
    # Within 50 ms on an idle machine; the bound leaves room for a loaded CI host.
    # Broker timestamps are whole milliseconds: "at the deadline" may read up to 1 ms early.
    assert -1 < record.timestamp - deadline_ms < 250, record.timestamp - deadline_ms


async def test_expired_command_is_answered_timeout_and_not_run(
    tools: ServiceProcess,
    producer: BufferedProducer,
    kafka: KafkaSettings,
    postgres: PostgresSettings,
    db_schema: str,
) -> None:
    stale = command(
        "cancel_order",
        {"order_id": "ORD-10001"},
        call_id="sess_stale",
        within_s=-1.0,
        key="k-stale",
    )
    async with Tail(kafka.bootstrap_servers, kafka.topic("cc.tool-results.v1")).running() as tail:
        await send(producer, kafka, stale)
        await tail.wait_for(lambda: tail.payloads("tool.completed"), 60)
    reply = tail.payloads("tool.completed")[0]
    assert (reply["status"], reply["attempts"]) == ("timeout", 0)
    status = await count(
        postgres,
        f'SELECT count(*) FROM "{db_schema}".orders '
        "WHERE order_id = 'ORD-10001' AND status = 'processing'",
    )
    assert status == 1


@pytest.mark.slow
async def test_sigkill_mid_flight_then_restart_executes_nothing_twice(
    tools_env: dict[str, str],
    log_dir: Path,
    producer: BufferedProducer,
    kafka: KafkaSettings,
    postgres: PostgresSettings,
    db_schema: str,
) -> None:
    first = ServiceProcess("tools", free_port(), tools_env, log_dir).start()
    results = Tail(kafka.bootstrap_servers, kafka.topic("cc.tool-results.v1"))
    async with results.running():
        first.wait_ready(60)
        await warm_up(producer, kafka, results)
        # One call, one partition: hanging lookups first hold the partition's commit back,
        # so every write after them is still uncommitted when the process dies.
        hung = [
            command(
                "slow_lookup",
                {"order_id": f"ORD-{n}"},
                call_id="sess_kill",
                within_s=4,
                line_id="test-http",
            )
            for n in range(3)
        ]
        writes = [
            command(
                "create_ticket",
                {"subject": f"kill-{n}", "description": "d"},
                call_id="sess_kill",
                key=f"kill-{n}",
                line_id="test-http",
                within_s=90,
            )
            for n in range(20)
        ]
        await send(producer, kafka, *hung, *writes)
        await results.wait_for(
            lambda: (
                len([p for p in results.payloads("tool.completed") if p["name"] == "create_ticket"])
                >= 20
            ),
            30,
        )
        first.kill()
        before = {p["tool_call_id"]: p for p in results.payloads("tool.completed")}
        second = ServiceProcess("tools", free_port(), tools_env, log_dir).start()
        try:
            second.wait_ready(60)

            # Redelivered: the three lookups (expired by now or timing out) and the 20 writes.
            def names() -> list[str]:
                return [p["name"] for p in results.payloads("tool.completed")]

            await results.wait_for(
                lambda: names().count("create_ticket") >= 40 and names().count("slow_lookup") >= 3,
                60,
            )
        finally:
            second.stop()
    replies = results.payloads("tool.completed")
    tickets = [p for p in replies if p["name"] == "create_ticket"]
    assert len(tickets) == 40  # each write answered before the kill and again after it
    by_call: dict[str, set[str]] = {}
    for reply in tickets:
        by_call.setdefault(reply["tool_call_id"], set()).add(reply["result"]["ticket_id"])
    assert len(by_call) == 20 and all(len(ids) == 1 for ids in by_call.values())
    assert all(before[tc]["result"]["ticket_id"] in ids for tc, ids in by_call.items())
    made = await count(
        postgres, f"SELECT count(*) FROM \"{db_schema}\".tickets WHERE subject LIKE 'kill-%'"
    )
    assert made == 20
