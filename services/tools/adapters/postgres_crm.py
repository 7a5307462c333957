"""The CRM store on Postgres (asyncpg; tables in the schema ``TOOLS_DB_SCHEMA``).

Every call is bounded by the command's remaining time: the pool wait, and each statement (the
server's ``statement_timeout`` for writes, asyncpg's ``timeout`` for reads). Connection trouble
and timeouts are retryable ``BackendError``s; anything else is a bug and not retried.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg

from services.tools.adapters import postgres_crm_writes as writes
from services.tools.domain.execution import UNAVAILABLE, BackendError
from services.tools.domain.orders import (
    address_change_decision,
    cancel_decision,
    money,
    phone_digits,
)
from shared.settings import PostgresSettings

_RETRYABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.QueryCanceledError,  # statement_timeout
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    OSError,
    TimeoutError,
)

ORDER_QUERY = """
SELECT o.order_id, o.customer_id, o.status, o.placed_at, o.total_cents,
       o.ship_city, o.ship_state, s.carrier, s.tracking_number, s.shipped_at,
       s.expected_delivery, s.delivered_at,
       (SELECT json_agg(json_build_object('name', i.product_name, 'quantity', i.quantity)
                        ORDER BY i.line_no)
          FROM order_items i WHERE i.order_id = o.order_id) AS items,
       (SELECT row_to_json(e) FROM (SELECT status, description, location, occurred_at
          FROM tracking_events t WHERE t.order_id = o.order_id ORDER BY seq DESC LIMIT 1) e)
          AS latest_event,
       (SELECT row_to_json(r) FROM (SELECT rma_id, status, label_status FROM returns r
          WHERE r.order_id = o.order_id ORDER BY created_at DESC LIMIT 1) r) AS latest_return
  FROM orders o LEFT JOIN shipments s USING (order_id)
 WHERE o.order_id = $1
"""


async def _codecs(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def _day(value: Any) -> str | None:
    return (
        value.date().isoformat()
        if hasattr(value, "date")
        else (value.isoformat() if value is not None else None)
    )


class PostgresCrm:
    """``CrmStore`` on Postgres."""

    def __init__(self, settings: PostgresSettings, schema: str, *, max_connections: int) -> None:
        self._settings = settings
        self._schema = schema
        self._max = max_connections
        self._pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        """Create the pool (connections open on first use: starts even with the DB down)."""
        dsn = self._settings.url.get_secret_value().replace(
            "postgresql+asyncpg://", "postgresql://", 1
        )
        self._pool = await asyncpg.create_pool(
            dsn,
            min_size=0,
            max_size=self._max,
            timeout=self._settings.timeout_s,
            command_timeout=self._settings.timeout_s * 2,
            server_settings={"search_path": self._schema, "application_name": "switchboard-tools"},
            init=_codecs,
        )

    async def close(self) -> None:
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.close()
            self._pool = None

    @contextlib.asynccontextmanager
    async def _conn(self, timeout_s: float) -> AsyncIterator[asyncpg.Connection]:
        if self._pool is None:
            raise BackendError(UNAVAILABLE, retryable=True)
        try:
            async with self._pool.acquire(timeout=max(0.01, timeout_s)) as conn:
                yield conn
        except BackendError:
            raise
        except _RETRYABLE as exc:
            raise BackendError(UNAVAILABLE, retryable=True) from exc
        except asyncpg.PostgresError as exc:
            raise BackendError("The order system rejected the request.", retryable=False) from exc

    # -- reads ---------------------------------------------------------------------------------

    async def find_customer(self, *, timeout_s: float, **by: str) -> dict[str, Any]:
        select = "SELECT customer_id, first_name FROM customers"
        if "phone" in by:
            query, params = f"{select} WHERE phone_digits = $1", [phone_digits(by["phone"])]
        elif "email" in by:
            query, params = f"{select} WHERE lower(email) = lower($1)", [by["email"].strip()]
        else:
            parts = by["name"].split()
            query = (
                f"{select} WHERE lower(last_name) = lower($1) AND zip = $2 "
                "AND lower(first_name) = lower($3)"
            )
            params = [parts[-1] if parts else "", by["zip"].strip()[:5], parts[0] if parts else ""]
        async with self._conn(timeout_s) as conn:
            rows = await conn.fetch(
                f"{query} ORDER BY customer_id LIMIT 5", *params, timeout=timeout_s
            )
        if not rows:
            return {"found": False}
        return {
            "found": True,
            "customer_id": rows[0]["customer_id"],
            "first_name": rows[0]["first_name"],
            "matches": len(rows),
        }

    async def order_status(self, order_id: str, *, timeout_s: float) -> dict[str, Any]:
        async with self._conn(timeout_s) as conn:
            row = await conn.fetchrow(ORDER_QUERY, order_id, timeout=timeout_s)
        if row is None:
            return {"found": False, "order_id": order_id}
        latest = row["latest_event"]
        return {
            "found": True,
            "order_id": row["order_id"],
            "status": row["status"],
            "placed_on": _day(row["placed_at"]),
            "items": row["items"] or [],
            "total": money(row["total_cents"]),
            "ship_to": f"{row['ship_city']}, {row['ship_state']}",
            "carrier": row["carrier"],
            "tracking_number": row["tracking_number"],
            "shipped_on": _day(row["shipped_at"]),
            "expected_delivery": _day(row["expected_delivery"]),
            "delivered_on": _day(row["delivered_at"]),
            "latest_event": latest and {**latest, "occurred_at": str(latest["occurred_at"])},
            "return": row["latest_return"],
            "can_cancel": cancel_decision(row["status"]).allowed,
            "can_change_address": address_change_decision(row["status"]).allowed,
        }

    async def recent_orders(
        self, customer_id: str, limit: int, *, timeout_s: float
    ) -> dict[str, Any]:
        async with self._conn(timeout_s) as conn:
            known = await conn.fetchval(
                "SELECT 1 FROM customers WHERE customer_id = $1", customer_id, timeout=timeout_s
            )
            rows = await conn.fetch(
                "SELECT order_id, status, placed_at, total_cents, "
                "(SELECT count(*) FROM order_items i WHERE i.order_id = o.order_id) AS items "
                "FROM orders o WHERE customer_id = $1 ORDER BY placed_at DESC LIMIT $2",
                customer_id,
                min(max(limit, 1), 10),
                timeout=timeout_s,
            )
        if not known:
            return {"found": False, "customer_id": customer_id}
        orders = [
            {"order_id": r["order_id"], "status": r["status"], "placed_on": _day(r["placed_at"]),
             "total": money(r["total_cents"]), "items": r["items"]}
            for r in rows
        ]  # fmt: skip
        return {"found": True, "customer_id": customer_id, "orders": orders}

    # -- writes (idempotent on key) ------------------------------------------------------------

    async def _write(
        self,
        key: str,
        tool: str,
        effect: Callable[[asyncpg.Connection], Awaitable[dict[str, Any]]],
        timeout_s: float,
    ) -> tuple[dict[str, Any], bool]:
        async with self._conn(timeout_s) as conn:
            return await writes.idempotent(conn, key, tool, effect, timeout_s)

    async def cancel_order(
        self, key: str, order_id: str, reason: str | None, *, timeout_s: float
    ) -> tuple[dict[str, Any], bool]:
        return await self._write(
            key, "cancel_order", lambda c: writes.cancel_order(c, order_id, reason), timeout_s
        )

    async def change_shipping_address(
        self, key: str, order_id: str, address: dict[str, str], *, timeout_s: float
    ) -> tuple[dict[str, Any], bool]:
        return await self._write(
            key,
            "change_shipping_address",
            lambda c: writes.change_address(c, order_id, address),
            timeout_s,
        )

    async def start_return(
        self, key: str, order_id: str, reason: str, origin: dict[str, str], *, timeout_s: float
    ) -> tuple[dict[str, Any], bool]:
        return await self._write(
            key,
            "start_return",
            lambda c: writes.start_return(c, order_id, reason, origin),
            timeout_s,
        )

    async def create_ticket(
        self, key: str, fields: dict[str, str], *, timeout_s: float
    ) -> tuple[dict[str, Any], bool]:
        return await self._write(
            key, "create_ticket", lambda c: writes.create_ticket(c, fields), timeout_s
        )

    async def schedule_callback(
        self, key: str, fields: dict[str, str], *, timeout_s: float
    ) -> tuple[dict[str, Any], bool]:
        return await self._write(
            key, "schedule_callback", lambda c: writes.schedule_callback(c, fields), timeout_s
        )

    # -- operator listings ---------------------------------------------------------------------

    async def list_orders(self, limit: int) -> list[dict[str, Any]]:
        async with self._conn(self._settings.timeout_s) as conn:
            rows = await conn.fetch(
                "SELECT order_id, customer_id, status, placed_at, total_cents, ship_city, "
                "ship_state FROM orders ORDER BY placed_at DESC LIMIT $1",
                limit,
            )
        return [dict(r) for r in rows]

    async def list_customers(self, limit: int) -> list[dict[str, Any]]:
        async with self._conn(self._settings.timeout_s) as conn:
            rows = await conn.fetch(
                "SELECT customer_id, first_name, last_name, email, phone, city, state, zip "
                "FROM customers ORDER BY customer_id LIMIT $1",
                limit,
            )
        return [dict(r) for r in rows]

    async def ping(self) -> bool:
        async with self._conn(self._settings.timeout_s) as conn:
            await conn.fetchval("SELECT 1")
        return True
