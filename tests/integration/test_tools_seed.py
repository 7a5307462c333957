"""``python -m services.tools.seed`` against the real Postgres: sizes, idempotent first start."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from services.tools.seed.loader import plain_dsn, seed_crm
from shared.settings import PostgresSettings


async def test_full_seed_loads_the_promised_volume_then_if_empty_leaves_it(
    postgres: PostgresSettings, db_schema: str
) -> None:
    report = await seed_crm(postgres, db_schema, now=datetime.now(UTC))
    assert report.seeded
    assert report.counts["customers"] >= 10_000
    assert report.counts["orders"] >= 50_000
    for table in ("order_items", "shipments", "tracking_events", "returns", "tickets", "callbacks"):
        assert report.counts[table] > 0, table

    again = await seed_crm(postgres, db_schema, if_empty=True, now=datetime.now(UTC))
    assert not again.seeded

    conn = await asyncpg.connect(plain_dsn(postgres), timeout=5)
    try:
        stored = await conn.fetchval(f'SELECT count(*) FROM "{db_schema}".orders')
        status = await conn.fetchval(
            f"SELECT status FROM \"{db_schema}\".orders WHERE order_id = 'ORD-77315'"
        )
        next_rma = await conn.fetchval(f"SELECT nextval('\"{db_schema}\".rma_seq')")
    finally:
        await conn.close()
    assert stored == report.counts["orders"]
    assert status == "in_transit"
    assert next_rma == report.counts["returns"] + 1
