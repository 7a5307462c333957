"""The built-in tools of ``config/tools/crm.yaml`` over the CRM store (the ``crm`` backend).

Each tool maps its validated arguments onto one store call. ``start_return`` also queues the
label email (a Celery task) when it created a new return, and answers ``label: submitted`` at
once: the email's own outcome arrives later as a ``tool.side_effect`` call event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from services.tools.domain.execution import BackendError, ToolRequest
from services.tools.domain.orders import DEFAULT_POLICIES
from services.tools.domain.summaries import summarize
from services.tools.ports import CrmStore, SideEffects
from shared.lines import SupportLine

log = logging.getLogger(__name__)
Tool = Callable[[ToolRequest], Awaitable[dict[str, Any]]]
ADDRESS_FIELDS = ("street", "city", "state", "zip")


class CrmTools:
    """``ToolBackend`` of the built-in CRM tools."""

    def __init__(
        self, store: CrmStore, side_effects: SideEffects, lines: dict[str, SupportLine]
    ) -> None:
        self._store = store
        self._side_effects = side_effects
        self._policies = {lid: {**DEFAULT_POLICIES, **line.policies} for lid, line in lines.items()}
        self.tools: dict[str, Tool] = {
            "find_customer": self.find_customer,
            "order_status": self.order_status,
            "recent_orders": self.recent_orders,
            "start_return": self.start_return,
            "cancel_order": self.cancel_order,
            "change_shipping_address": self.change_shipping_address,
            "create_ticket": self.create_ticket,
            "schedule_callback": self.schedule_callback,
            "store_info": self.store_info,
        }

    async def invoke(self, request: ToolRequest) -> dict[str, Any]:
        tool = self.tools.get(request.name)
        if tool is None:
            raise BackendError(f"{request.name} is not a built-in tool", retryable=False)
        result = await tool(request)
        return {**result, "summary": summarize(request.name, result)}

    async def find_customer(self, request: ToolRequest) -> dict[str, Any]:
        by = {
            k: str(v)
            for k, v in request.arguments.items()
            if k in ("phone", "email", "name", "zip")
        }
        return await self._store.find_customer(timeout_s=request.timeout_s, **by)

    async def order_status(self, request: ToolRequest) -> dict[str, Any]:
        return await self._store.order_status(
            request.arguments["order_id"], timeout_s=request.timeout_s
        )

    async def recent_orders(self, request: ToolRequest) -> dict[str, Any]:
        args = request.arguments
        return await self._store.recent_orders(
            args["customer_id"], int(args.get("limit", 3)), timeout_s=request.timeout_s
        )

    async def start_return(self, request: ToolRequest) -> dict[str, Any]:
        args = request.arguments
        origin = {"tool_call_id": request.tool_call_id, "call_id": request.call_id,
                  "line_id": request.line_id}  # fmt: skip
        outcome, fresh = await self._store.start_return(
            request.idempotency_key,
            args["order_id"],
            args["reason"],
            origin,
            timeout_s=request.timeout_s,
        )
        if fresh and outcome.get("started") and not outcome.get("already_open"):
            try:
                await self._side_effects.send_return_label(
                    rma_id=outcome["rma_id"],
                    call_id=request.call_id,
                    line_id=request.line_id,
                    tool_call_id=request.tool_call_id,
                )
            except BackendError:
                # The return exists; only the email is late. Say so rather than fail the call.
                log.warning("return label not queued", extra={"tool": request.name})
                outcome = {**outcome, "label": "delayed"}
        return outcome

    async def cancel_order(self, request: ToolRequest) -> dict[str, Any]:
        args = request.arguments
        outcome, _ = await self._store.cancel_order(
            request.idempotency_key, args["order_id"], args.get("reason"),
            timeout_s=request.timeout_s,
        )  # fmt: skip
        return outcome

    async def change_shipping_address(self, request: ToolRequest) -> dict[str, Any]:
        args = request.arguments
        address = {k: str(args[k]) for k in ADDRESS_FIELDS}
        outcome, _ = await self._store.change_shipping_address(
            request.idempotency_key, args["order_id"], address, timeout_s=request.timeout_s
        )
        return outcome

    async def create_ticket(self, request: ToolRequest) -> dict[str, Any]:
        outcome, _ = await self._store.create_ticket(
            request.idempotency_key,
            {k: str(v) for k, v in request.arguments.items()},
            timeout_s=request.timeout_s,
        )
        return outcome

    async def schedule_callback(self, request: ToolRequest) -> dict[str, Any]:
        outcome, _ = await self._store.schedule_callback(
            request.idempotency_key,
            {k: str(v) for k, v in request.arguments.items()},
            timeout_s=request.timeout_s,
        )
        return outcome

    async def store_info(self, request: ToolRequest) -> dict[str, Any]:
        topic = request.arguments["topic"]
        policies = self._policies.get(request.line_id, DEFAULT_POLICIES)
        return {"topic": topic, "answer": policies.get(topic, DEFAULT_POLICIES[topic])}
