"""The CRM's writes, each run inside ``idempotent``: effect and outcome commit together."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.tools.domain.execution import TIMED_OUT, BackendError
from services.tools.domain.orders import (
    OPEN_RETURN_STATUSES,
    address_change_decision,
    cancel_decision,
    money,
    return_decision,
)

Effect = Callable[[asyncpg.Connection], Awaitable[dict[str, Any]]]


async def idempotent(
    conn: asyncpg.Connection, key: str, tool: str, effect: Effect, timeout_s: float
) -> tuple[dict[str, Any], bool]:
    """Run ``effect`` once per ``key``: claim the key, apply the effect, store its outcome, all
    in one transaction. A second caller with the key waits for the first to commit (the unique
    index holds it) and gets the stored outcome; if the first rolled back, the second runs.
    Past ``timeout_s`` the transaction rolls back rather than commit a late effect."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with conn.transaction():
        await conn.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout_s * 1000))}")
        claimed = await conn.fetchval(
            "INSERT INTO tool_outcomes (idempotency_key, tool, outcome) VALUES ($1, $2, 'null') "
            "ON CONFLICT DO NOTHING RETURNING true",
            key,
            tool,
        )
        if not claimed:
            row = await conn.fetchrow(
                "SELECT tool, outcome FROM tool_outcomes WHERE idempotency_key = $1", key
            )
            if row["tool"] != tool:
                raise BackendError(
                    "This request id was already used for a different action.", retryable=False
                )
            return dict(row["outcome"]), False
        outcome = await effect(conn)
        await conn.execute(
            "UPDATE tool_outcomes SET outcome = $2 WHERE idempotency_key = $1", key, outcome
        )
        if loop.time() >= deadline:
            raise BackendError(TIMED_OUT, retryable=False)  # roll back: the caller has gone
    return outcome, True


async def _locked_order(conn: asyncpg.Connection, order_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT o.status, o.total_cents, s.delivered_at FROM orders o "
        "LEFT JOIN shipments s USING (order_id) WHERE o.order_id = $1 FOR UPDATE OF o",
        order_id,
    )


async def cancel_order(
    conn: asyncpg.Connection, order_id: str, reason: str | None
) -> dict[str, Any]:
    order = await _locked_order(conn, order_id)
    if order is None:
        return {"found": False, "order_id": order_id, "cancelled": False, "reason": "no such order"}
    decision = cancel_decision(order["status"])
    if not decision.allowed:
        return {"found": True, "order_id": order_id, "cancelled": False,
                "status": order["status"], "reason": decision.reason}  # fmt: skip
    await conn.execute(
        "UPDATE orders SET status = 'cancelled', cancelled_at = now(), updated_at = now(), "
        "cancel_reason = $2 WHERE order_id = $1",
        order_id,
        (reason or "customer request")[:500],
    )
    return {
        "found": True,
        "order_id": order_id,
        "cancelled": True,
        "refund": f"{money(order['total_cents'])} back to the original payment method "
        "within 5 business days",
    }


async def change_address(
    conn: asyncpg.Connection, order_id: str, address: dict[str, str]
) -> dict[str, Any]:
    order = await _locked_order(conn, order_id)
    if order is None:
        return {"found": False, "order_id": order_id, "changed": False, "reason": "no such order"}
    decision = address_change_decision(order["status"])
    if not decision.allowed:
        return {"found": True, "order_id": order_id, "changed": False,
                "status": order["status"], "reason": decision.reason}  # fmt: skip
    await conn.execute(
        "UPDATE orders SET ship_street = $2, ship_city = $3, ship_state = $4, ship_zip = $5, "
        "updated_at = now() WHERE order_id = $1",
        order_id,
        address["street"],
        address["city"],
        address["state"],
        address["zip"],
    )
    where = f"{address['street']}, {address['city']}, {address['state']} {address['zip']}"
    return {"found": True, "order_id": order_id, "changed": True, "ship_to": where}


async def start_return(
    conn: asyncpg.Connection, order_id: str, reason: str, origin: dict[str, str]
) -> dict[str, Any]:
    order = await _locked_order(conn, order_id)
    if order is None:
        return {"found": False, "order_id": order_id, "started": False, "reason": "no such order"}
    existing = await conn.fetchrow(
        "SELECT rma_id, status FROM returns WHERE order_id = $1 ORDER BY created_at DESC LIMIT 1",
        order_id,
    )
    if existing is not None and existing["status"] in OPEN_RETURN_STATUSES:
        return {"found": True, "order_id": order_id, "started": True, "already_open": True,
                "rma_id": existing["rma_id"], "status": existing["status"]}  # fmt: skip
    decision = return_decision(order["status"], order["delivered_at"], datetime.now(UTC))
    if not decision.allowed:
        return {"found": True, "order_id": order_id, "started": False, "reason": decision.reason}
    rma_id = await conn.fetchval(
        "INSERT INTO returns (rma_id, order_id, reason, status, label_status, tool_call_id, "
        "call_id, line_id, created_at) VALUES ('RMA-' || lpad(nextval('rma_seq')::text, 6, '0'), "
        "$1, $2, 'requested', 'pending', $3, $4, $5, now()) RETURNING rma_id",
        order_id,
        reason,
        origin.get("tool_call_id"),
        origin.get("call_id"),
        origin.get("line_id"),
    )
    return {
        "found": True,
        "order_id": order_id,
        "started": True,
        "rma_id": rma_id,
        "label": "submitted",
        "message": "A prepaid return label will be emailed to the address on the account.",
    }


async def create_ticket(conn: asyncpg.Connection, fields: dict[str, str]) -> dict[str, Any]:
    ticket_id = await conn.fetchval(
        "INSERT INTO tickets (ticket_id, customer_id, order_id, subject, description, status, "
        "priority, created_at) VALUES ('TCK-' || lpad(nextval('ticket_seq')::text, 6, '0'), "
        "$1, $2, $3, $4, 'open', 'normal', now()) RETURNING ticket_id",
        fields.get("customer_id"),
        fields.get("order_id"),
        fields["subject"],
        fields["description"],
    )
    return {"created": True, "ticket_id": ticket_id, "status": "open"}


async def schedule_callback(conn: asyncpg.Connection, fields: dict[str, str]) -> dict[str, Any]:
    callback_id = await conn.fetchval(
        "INSERT INTO callbacks (callback_id, customer_id, phone, reason, preferred_time, status, "
        "created_at) VALUES ('CB-' || lpad(nextval('callback_seq')::text, 6, '0'), $1, $2, $3, "
        "$4, 'scheduled', now()) RETURNING callback_id",
        fields.get("customer_id"),
        fields["phone"],
        fields["reason"],
        fields.get("preferred_time"),
    )
    return {
        "scheduled": True,
        "callback_id": callback_id,
        "preferred_time": fields.get("preferred_time") or "as soon as possible",
    }
