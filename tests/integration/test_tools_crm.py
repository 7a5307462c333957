"""The CRM store against the real Postgres: lookups, order rules, idempotent writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from services.tools.adapters.postgres_crm import PostgresCrm
from services.tools.domain.execution import BackendError
from services.tools.seed.loader import plain_dsn, seed_crm
from shared.settings import PostgresSettings

T = 5.0


@pytest.fixture
async def crm(postgres: PostgresSettings, db_schema: str) -> AsyncIterator[PostgresCrm]:
    await seed_crm(postgres, db_schema, customers=300, orders=1500, now=datetime.now(UTC))
    store = PostgresCrm(postgres, db_schema, max_connections=12)
    await store.start()
    yield store
    await store.close()


async def test_order_status_of_the_demo_order_in_transit(crm: PostgresCrm) -> None:
    found = await crm.order_status("ORD-77315", timeout_s=T)
    assert found["status"] == "in_transit"
    assert found["carrier"] and found["tracking_number"] and found["expected_delivery"]
    assert found["latest_event"]["status"] == "in_transit"
    assert found["items"] and found["can_cancel"] is False
    assert await crm.order_status("ORD-00000", timeout_s=T) == {
        "found": False,
        "order_id": "ORD-00000",
    }


@pytest.mark.parametrize(
    "by",
    [
        {"phone": "+1 (415) 555-0142"},
        {"email": "Dana.Whitfield@EXAMPLE.com"},
        {"name": "dana whitfield", "zip": "94103"},
    ],
)
async def test_find_customer_by_phone_email_or_name_and_zip(
    crm: PostgresCrm, by: dict[str, str]
) -> None:
    found = await crm.find_customer(timeout_s=T, **by)
    assert (found["customer_id"], found["first_name"]) == ("CUS-000001", "Dana")


async def test_recent_orders_newest_first(crm: PostgresCrm) -> None:
    recent = await crm.recent_orders("CUS-000001", 3, timeout_s=T)
    assert recent["orders"][0]["order_id"] == "ORD-10001"
    assert len(recent["orders"]) == 3
    assert (await crm.recent_orders("CUS-999999", 3, timeout_s=T))["found"] is False


async def test_cancel_only_before_shipment_and_replay_gives_the_first_answer(
    crm: PostgresCrm,
) -> None:
    first, fresh = await crm.cancel_order("k1", "ORD-10001", None, timeout_s=T)
    assert fresh and first["cancelled"] is True
    replay, fresh = await crm.cancel_order("k1", "ORD-10001", None, timeout_s=T)
    assert (replay, fresh) == (first, False)
    other, _ = await crm.cancel_order("k2", "ORD-10001", None, timeout_s=T)
    assert other["cancelled"] is False and "cancelled" in other["reason"]
    shipped, _ = await crm.cancel_order("k3", "ORD-77315", None, timeout_s=T)
    assert shipped == {
        "found": True,
        "order_id": "ORD-77315",
        "cancelled": False,
        "status": "in_transit",
        "reason": "already shipped",
    }
    moved, _ = await crm.change_shipping_address(
        "k4", "ORD-77315", {"street": "1 A St", "city": "B", "state": "CA", "zip": "94103"},
        timeout_s=T,
    )  # fmt: skip
    assert moved["changed"] is False and moved["reason"] == "already shipped"
    with pytest.raises(BackendError):
        await crm.create_ticket("k1", {"subject": "s", "description": "d"}, timeout_s=T)


async def test_returns_inside_the_window_only(crm: PostgresCrm) -> None:
    started, fresh = await crm.start_return("r1", "ORD-20002", "does_not_fit", {}, timeout_s=T)
    assert fresh and started["started"] and started["rma_id"].startswith("RMA-")
    again, _ = await crm.start_return("r2", "ORD-20002", "does_not_fit", {}, timeout_s=T)
    assert again["already_open"] and again["rma_id"] == started["rma_id"]
    late, _ = await crm.start_return("r3", "ORD-30003", "changed_mind", {}, timeout_s=T)
    assert late["started"] is False and "30 days" in late["reason"]


async def test_the_same_key_ten_times_at_once_makes_one_ticket(
    crm: PostgresCrm, postgres: PostgresSettings, db_schema: str
) -> None:
    fields = {"subject": "Box arrived crushed", "description": "Ten redeliveries at once"}
    answers = await asyncio.gather(
        *(crm.create_ticket("same-key", fields, timeout_s=T) for _ in range(10))
    )
    assert len({a["ticket_id"] for a, _ in answers}) == 1
    assert sum(fresh for _, fresh in answers) == 1
    conn = await asyncpg.connect(plain_dsn(postgres), timeout=5)
    try:
        count = await conn.fetchval(
            f"SELECT count(*) FROM \"{db_schema}\".tickets WHERE subject = 'Box arrived crushed'"
        )
    finally:
        await conn.close()
    assert count == 1
