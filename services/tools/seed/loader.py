"""Load the generated dataset into the CRM schema with COPY, in one transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.tools.adapters.alembic_migrations import upgrade_to_head
from services.tools.seed.generator import COLUMNS, TABLES, anchor_for, generate
from shared.settings import PostgresSettings

SEED_LOCK_ID = 0x5B_A1_00_06  # serialises concurrent seeders (two `make up` at once)
# Tables a re-seed empties besides the generated ones: tool answers refer to the old rows.
EXTRA_TABLES = ("tool_outcomes", "side_effect_dead_letters")
SEQUENCES = {"rma_seq": "returns", "ticket_seq": "tickets", "callback_seq": "callbacks"}
# COPY of 400k rows takes a few seconds; anything near this bound means the database is stuck.
SEED_STATEMENT_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class SeedReport:
    seeded: bool
    counts: dict[str, int]
    seconds: float


def plain_dsn(settings: PostgresSettings) -> str:
    """The database URL as asyncpg takes it (without SQLAlchemy's driver suffix)."""
    return settings.url.get_secret_value().replace("postgresql+asyncpg://", "postgresql://", 1)


async def seed_crm(
    settings: PostgresSettings,
    schema: str,
    *,
    seed: int = 5,
    if_empty: bool = False,
    customers: int = 10_000,
    orders: int = 50_000,
    now: datetime,
) -> SeedReport:
    """Migrate, then replace the CRM's data with the generated set (or leave it when
    ``if_empty`` and customers exist). Returns what was loaded."""
    started = time.perf_counter()
    await upgrade_to_head(settings, schema)
    conn = await asyncpg.connect(
        plain_dsn(settings), timeout=settings.timeout_s, command_timeout=SEED_STATEMENT_TIMEOUT_S
    )
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", SEED_LOCK_ID)
            if if_empty and await conn.fetchval(
                f'SELECT EXISTS (SELECT 1 FROM "{schema}".customers)'
            ):
                return SeedReport(False, {}, time.perf_counter() - started)
            data = generate(seed=seed, anchor=anchor_for(now), customers=customers, orders=orders)
            names = ", ".join(f'"{schema}".{name}' for name in (*TABLES, *EXTRA_TABLES))
            await conn.execute(f"TRUNCATE {names}")
            for table in TABLES:
                await conn.copy_records_to_table(
                    table, records=data.rows[table], columns=COLUMNS[table], schema_name=schema
                )
            for sequence, table in SEQUENCES.items():
                # New ids continue after the seeded ones.
                await conn.execute(
                    f"SELECT setval('\"{schema}\".{sequence}', $1, true)",
                    max(1, data.count(table)),
                )
    finally:
        await conn.close()
    counts = {table: data.count(table) for table in TABLES}
    return SeedReport(True, counts, time.perf_counter() - started)
