"""The operator API: the tool registry, direct invoke, CRM listings and call statistics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from services.tools.domain.execution import ToolCommand
from services.tools.domain.registry import ToolRegistry
from services.tools.executor import ToolExecutor
from services.tools.ports import CrmStore
from shared.events import ToolCompleted
from shared.events.commands import MAX_TOOL_JSON_CHARS
from shared.http.app import require_role

AdminKey = Annotated[str, Depends(require_role("admin"))]
router = APIRouter(prefix="/v1", tags=["tools"])


def executor_of(request: Request) -> ToolExecutor:
    executor: ToolExecutor = request.app.state.executor
    return executor


def crm_of(request: Request) -> CrmStore:
    crm: CrmStore = request.app.state.crm
    return crm


Executor = Annotated[ToolExecutor, Depends(executor_of)]
Crm = Annotated[CrmStore, Depends(crm_of)]


class Invocation(BaseModel):
    arguments: dict[str, Any] = Field(default_factory=dict)
    # Run the tool as this line would (its own tools and policies); default: the shared specs.
    line_id: str = Field("", max_length=200)
    idempotency_key: str | None = Field(None, max_length=200)


def _describe(registry: ToolRegistry) -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "description": t.spec.description,
            "parameters": t.spec.parameters,
            "timeout_seconds": t.spec.timeout_seconds,
            "effect": t.spec.effect,
            "backend": t.spec.backend,  # an HTTP tool's URL and headers stay private
            "execution_mode": t.spec.execution_mode,
            "lines": registry.lines_of(t),
        }
        for t in registry.tools()
    ]


@router.get("/tools")
async def list_tools(executor: Executor, _key: AdminKey) -> dict[str, Any]:
    """Every tool: name, description, JSON schema of its arguments, timeout, effect."""
    return {"tools": _describe(executor.registry)}


@router.get("/tools/stats")
async def tool_stats(executor: Executor, _key: AdminKey) -> dict[str, Any]:
    """Calls, errors, timeouts and p50/p95 latency by tool (this process, since start)."""
    return {"tools": executor.stats.snapshot(), "breakers": executor.breaker_states()}


@router.post("/tools/{name}/invoke")
async def invoke_tool(
    name: str, body: Invocation, executor: Executor, _key: AdminKey
) -> dict[str, Any]:
    """Run a tool the way a call does; answers the ``tool.completed`` payload."""
    tool = executor.registry.resolve(name[:100], body.line_id)
    if tool is None:
        raise HTTPException(404, "no such tool (on that line)")
    if len(str(body.arguments)) > MAX_TOOL_JSON_CHARS:
        raise HTTPException(413, "arguments too large")
    tool_call_id = f"op_{uuid.uuid4().hex[:16]}"
    outcome = await executor.execute(
        ToolCommand(
            tool_call_id=tool_call_id,
            call_id=f"operator-{tool_call_id}",
            line_id=body.line_id,
            name=tool.name,
            arguments=body.arguments,
            deadline_at=datetime.now(UTC) + timedelta(seconds=tool.spec.timeout_seconds),
            idempotency_key=body.idempotency_key,
            fence_key=f"operator:{tool_call_id}",
        )
    )
    completed = ToolCompleted(
        tool_call_id=tool_call_id, name=tool.name, status=outcome.status, result=outcome.result,
        error=outcome.error, duration_ms=outcome.duration_ms, attempts=outcome.attempts,
        reply_to="operator",
    )  # fmt: skip
    return completed.model_dump(mode="json")


@router.get("/crm/orders")
async def list_orders(
    request: Request, crm: Crm, _key: AdminKey, limit: Annotated[int, Query(ge=1)] = 20
) -> dict[str, Any]:
    """The newest orders (for operators and demos)."""
    limit = min(limit, request.app.state.settings.max_page_size)
    return {"orders": await crm.list_orders(limit), "limit": limit}


@router.get("/crm/customers")
async def list_customers(
    request: Request, crm: Crm, _key: AdminKey, limit: Annotated[int, Query(ge=1)] = 20
) -> dict[str, Any]:
    """Customers by id (for operators and demos)."""
    limit = min(limit, request.app.state.settings.max_page_size)
    return {"customers": await crm.list_customers(limit), "limit": limit}
