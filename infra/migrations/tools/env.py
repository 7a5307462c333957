"""Alembic environment of the tools service's CRM schema.

The schema name comes from ``config.attributes["schema"]`` (set by the service's migration
adapter) so tests can migrate a unique schema each. Concurrent starters serialise on an
advisory lock, so several tools replicas can start at once.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config
SCHEMA: str = config.attributes.get("schema", "crm")
URL: str = config.attributes["url"]
LOCK_ID = 0x5B_A1_00_05  # any constant shared by all tools replicas (not analytics')


def _run(connection: Connection) -> None:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
    connection.execute(text(f'SET LOCAL search_path TO "{SCHEMA}"'))
    context.configure(
        connection=connection,
        version_table_schema=SCHEMA,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations(schema=SCHEMA)


async def _main() -> None:
    engine = create_async_engine(URL, connect_args={"timeout": 10})
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
asyncio.run(_main())
