"""One real stack for the end-to-end fault tests, shared by the whole package.

Two gateways, the tools service and analytics as processes, on a Kafka-protocol broker of the
stack's own (a test may pause it without touching the session's broker), the machine's Redis,
and Postgres through a ``TcpProxy`` (the machine's Postgres is shared: a test cuts the proxy,
never the server). Its support line is the demo line plus a flow whose tool calls an HTTP
backend that never answers. Every test makes calls of its own and counts only those.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from infra.localstack.infrastructure import Infrastructure, TansuBroker, free_port
from services.tools.seed.loader import seed_crm
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.lines import DEFAULT_LINES_DIR, DEFAULT_TOOLS_DIR
from shared.settings import KafkaSettings, PostgresSettings
from tests.conftest import Keys, drop_schema
from tests.support.call_ledger import CallerRecord, Ledger, ledger
from tests.support.processes import ServiceProcess
from tests.support.tcp_proxy import TcpProxy
from tests.support.tools import hanging_http

# A dropped call nobody resumes ends this long after the drop.
RESUME_WINDOW_S = 4
# The hanging tool's deadline (``timeout_seconds``): the caller hears the apology by then.
HANGING_TOOL_S = 2.0
# order_status's deadline in config/tools/crm.yaml.
ORDER_TOOL_S = 4.0
ORDER_QUESTION = "where is order ORD-77315"
ORDER_ANSWER = "in transit"
HOURS_QUESTION = "what are your hours"
HOURS_ANSWER = "Monday to Friday"
HANGING_QUESTION = "is ORD-77315 in stock"
APOLOGY = "couldn't reach our system"


@dataclass
class FaultStack:
    broker: TansuBroker
    kafka: KafkaSettings
    dsn: str  # direct, for counting; the services go through ``postgres``
    postgres: TcpProxy
    schema: str
    gateways: tuple[ServiceProcess, ServiceProcess]
    tools: ServiceProcess
    analytics: ServiceProcess
    keys: Keys

    async def restart(self, proc: ServiceProcess) -> None:
        """Start a stopped or killed process again and wait (off the loop) until it is ready."""
        proc.start()
        await asyncio.to_thread(proc.wait_ready, 90)

    def ws(self, gateway: int = 0) -> str:
        return f"ws://127.0.0.1:{self.gateways[gateway].port}/v1/ws"

    async def ledger(
        self, fault: str, callers: list[CallerRecord], settle_s: float = 30.0, **notes: object
    ) -> Ledger:
        """The fault's ledger for these callers' calls, saved to the artifacts directory."""
        found = await ledger(
            fault,
            bootstrap=self.broker.bootstrap,
            topic=self.kafka.topic("cc.call-events.v1"),
            dsn=self.dsn,
            schema=self.schema,
            call_ids=[c.call_id for c in callers if c.call_id],
            callers=callers,
            settle_s=settle_s,
        )
        found.notes.update(notes)
        print(found.save())
        print(found)
        return found


def fault_line_config(root: Path, hanging_base: str) -> Path:
    """The demo line, plus a ``stock_check`` flow whose HTTP tool never answers."""
    (root / "tools").mkdir(parents=True)
    (root / "lines").mkdir()
    for source in DEFAULT_TOOLS_DIR.glob("*.yaml"):
        (root / "tools" / source.name).write_text(source.read_text())
    line = yaml.safe_load((DEFAULT_LINES_DIR / "demo-retail.yaml").read_text())
    line["tools"].append(
        {
            "name": "stock_lookup",
            "description": "Looks stock up in the team's own system",
            "backend": "http",
            "timeout_seconds": HANGING_TOOL_S,
            "parameters": {
                "type": "object",
                "required": ["order_id"],
                "properties": {"order_id": {"type": "string"}},
            },
            "http": {
                "url": hanging_base + "/stock/{order_id}",
                "response": {"status": "status"},
            },
        }
    )
    line["flows"].insert(
        0,
        {
            "intent": "stock_check",
            "match": [r"\bstock\b"],
            "slots": [{"name": "order_id", "extract": "order_id", "ask": "Which order?"}],
            "tool": "stock_lookup",
            "say": "It is {result.status}.",
        },
    )
    (root / "lines" / "demo-retail.yaml").write_text(yaml.safe_dump(line))
    return root / "lines"


@pytest.fixture(scope="package")
async def fault_stack(
    infra: Infrastructure, keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FaultStack]:
    tag = uuid.uuid4().hex[:8]
    logs = tmp_path_factory.mktemp("fault-logs")
    broker = TansuBroker(port=free_port(), log_path=logs / "tansu.log")
    broker.start()
    kafka = KafkaSettings(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, KAFKA_TOPIC_PREFIX=f"f{tag}.")
    schema = f"f_{tag}"
    proxy = await TcpProxy("127.0.0.1", 5432).start()
    proxied = infra.database_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert proxied != infra.database_url, "the fault stack expects Postgres on 127.0.0.1:5432"
    async with hanging_http() as hanging:
        procs: list[ServiceProcess] = []
        try:
            await ensure_topics(kafka, load_topic_specs())
            await seed_crm(
                PostgresSettings(DATABASE_URL=infra.database_url),
                f"{schema}_crm",
                customers=200,
                orders=1000,
                now=datetime.now(UTC),
            )
            env = {
                "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
                "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
                "KAFKA_REQUEST_TIMEOUT_S": "1",
                "DATABASE_URL": proxied,
                "DATABASE_TIMEOUT_S": "2",
                "REDIS_URL": infra.redis_url,
                "REDIS_KEY_PREFIX": f"f{tag}:",
                "ANALYTICS_DB_SCHEMA": schema,
                "ANALYTICS_CONSUMER_GROUP": f"analytics-{tag}",
                "TOOLS_DB_SCHEMA": f"{schema}_crm",
                "TOOLS_CONSUMER_GROUP": f"tools-{tag}",
                # A breaker opened by an outage closes again this soon (default 10 s).
                "TOOLS_BREAKER_RESET_S": "3",
                "LINES_DIR": str(fault_line_config(logs / "config", hanging)),
                "AUTH_KEY_HASHES": keys.hashes,
                "GATEWAY_RESUME_WINDOW_S": str(RESUME_WINDOW_S),
                "LOG_FORMAT": "json",
                "GATEWAY_VOICE": "off",
            }
            gateways = tuple(
                ServiceProcess("gateway", free_port(), {**env, "GATEWAY_ID": f"gw-{n}-{tag}"}, logs)
                for n in ("a", "b")
            )
            tools = ServiceProcess("tools", free_port(), env, logs)
            analytics = ServiceProcess("analytics", free_port(), env, logs)
            procs = [*gateways, tools, analytics]
            for proc in procs:
                proc.start()
            await asyncio.gather(*(asyncio.to_thread(p.wait_ready, 120) for p in procs))
            yield FaultStack(
                broker=broker,
                kafka=kafka,
                dsn=infra.database_url,
                postgres=proxy,
                schema=schema,
                gateways=(gateways[0], gateways[1]),
                tools=tools,
                analytics=analytics,
                keys=keys,
            )
        finally:
            await asyncio.gather(*(asyncio.to_thread(p.stop) for p in procs))
            broker.stop()
            await proxy.close()
            for name in (schema, f"{schema}_crm"):
                await drop_schema(infra.database_url, name)
