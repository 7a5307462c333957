"""The tools service's ports."""

from __future__ import annotations

from typing import Any, Protocol

from services.tools.domain.execution import ToolRequest


class ToolBackend(Protocol):
    """Runs one attempt of a tool. Raises ``BackendError`` when it cannot answer."""

    async def invoke(self, request: ToolRequest) -> dict[str, Any]: ...


class CrmStore(Protocol):
    """The CRM and order backend. Writes are idempotent on ``key``: the outcome is stored with
    the effect in one transaction, and a second call with the same key returns it unchanged.
    Each returns ``(outcome, fresh)``: ``fresh`` is False for a replayed outcome.
    Raises ``BackendError`` (retryable) when the database cannot be reached."""

    async def find_customer(self, *, timeout_s: float, **by: str) -> dict[str, Any]: ...
    async def order_status(self, order_id: str, *, timeout_s: float) -> dict[str, Any]: ...
    async def recent_orders(
        self, customer_id: str, limit: int, *, timeout_s: float
    ) -> dict[str, Any]: ...

    async def cancel_order(
        self, key: str, order_id: str, reason: str | None, *, timeout_s: float
    ) -> tuple[dict[str, Any], bool]: ...

    async def change_shipping_address(
        self, key: str, order_id: str, address: dict[str, str], *, timeout_s: float
    ) -> tuple[dict[str, Any], bool]: ...

    async def start_return(
        self, key: str, order_id: str, reason: str, origin: dict[str, str], *, timeout_s: float
    ) -> tuple[dict[str, Any], bool]: ...

    async def create_ticket(
        self, key: str, fields: dict[str, str], *, timeout_s: float
    ) -> tuple[dict[str, Any], bool]: ...

    async def schedule_callback(
        self, key: str, fields: dict[str, str], *, timeout_s: float
    ) -> tuple[dict[str, Any], bool]: ...

    async def list_orders(self, limit: int) -> list[dict[str, Any]]: ...
    async def list_customers(self, limit: int) -> list[dict[str, Any]]: ...
    async def ping(self) -> bool: ...


class SideEffects(Protocol):
    """Slow follow-ups that must not hold the call (Celery tasks)."""

    async def send_return_label(
        self, *, rma_id: str, call_id: str, line_id: str, tool_call_id: str
    ) -> None:
        """Queue the label email; raises ``BackendError`` if it cannot be queued."""
        ...
