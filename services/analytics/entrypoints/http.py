"""The analyst query API (``/v1/calls``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from services.analytics.ports import CallLog
from shared.http.app import require_role


def call_log_of(request: Request) -> CallLog:
    call_log: CallLog = request.app.state.call_log
    return call_log


CallLogDep = Annotated[CallLog, Depends(call_log_of)]
AnalystKey = Annotated[str, Depends(require_role("analyst", "supervisor"))]

router = APIRouter(prefix="/v1", tags=["calls"])


@router.get("/calls/{call_id}")
async def get_call(call_id: str, call_log: CallLogDep, _key: AnalystKey) -> dict[str, Any]:
    """One call with its redacted turns, in the order they happened."""
    if len(call_id) > 200:
        raise HTTPException(422, "call_id too long")
    call = await call_log.get_call(call_id)
    if call is None:
        raise HTTPException(404, "no such call")
    return call


@router.get("/calls")
async def list_calls(
    request: Request,
    call_log: CallLogDep,
    _key: AnalystKey,
    line_id: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Calls, newest first (filters: line, first seen since)."""
    limit = min(limit, request.app.state.settings.max_page_size)
    rows = await call_log.list_calls(line_id=line_id, since=since, limit=limit, offset=offset)
    return {"calls": rows, "limit": limit, "offset": offset}
