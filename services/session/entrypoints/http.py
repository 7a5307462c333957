"""The session service's HTTP face: live sessions and the escalation rules (supervisors)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from services.session.adapters.yaml_lines import LineBook
from services.session.ports import SessionRegistry
from shared.http.app import require_role

router = APIRouter(prefix="/v1")
SupervisorKey = Annotated[str, Depends(require_role("supervisor"))]


def _registry(request: Request) -> SessionRegistry:
    registry: SessionRegistry = request.app.state.registry
    return registry


def _lines(request: Request) -> LineBook:
    book: LineBook = request.app.state.line_book
    return book


RegistryDep = Annotated[SessionRegistry, Depends(_registry)]
LinesDep = Annotated[LineBook, Depends(_lines)]


@router.get("/sessions", tags=["sessions"])
async def list_sessions(
    request: Request,
    registry: RegistryDep,
    _key: SupervisorKey,
    line_id: Annotated[str | None, Query(max_length=200)] = None,
    state: Annotated[str | None, Query(max_length=50)] = None,
    include_ended: bool = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> dict[str, Any]:
    """Live calls, newest first: line, channel, gateway, state, counters, escalation.

    ``line_id``, ``state`` and ``include_ended`` filter the newest ``limit`` calls (the registry
    is indexed by start time only), so a filtered page may hold fewer than ``limit``."""
    limit = min(limit, request.app.state.settings.max_page_size)
    found = [s.to_json() for s in await registry.list(limit=limit)]
    found = [
        s
        for s in found
        if (line_id is None or s["line_id"] == line_id)
        and (state is None or s["state"] == state)
        and (include_ended or s["state"] != "ended")
    ]
    return {"sessions": found, "count": len(found)}


@router.get("/sessions/{call_id}", tags=["sessions"])
async def get_session(call_id: str, registry: RegistryDep, _key: SupervisorKey) -> dict[str, Any]:
    """One live call, with the safe fields of its gateway's resume checkpoint."""
    found = await registry.get(call_id)
    if found is None:
        raise HTTPException(404, "no live session with that id")
    return {**found.to_json(), "checkpoint": await registry.checkpoint(call_id)}


@router.get("/rules", tags=["rules"])
async def list_rules(book: LinesDep, _key: SupervisorKey) -> dict[str, Any]:
    """Each line's escalation rules in force, their version, and the last reload's error."""
    return {
        "loaded_at": book.loaded_at,
        "last_error": book.last_error,
        "lines": [
            {
                "line_id": line.line_id,
                "rules_version": line.config_hash,
                "human_queue": line.human_queue,
                "handoff": line.handoff.model_dump(mode="json"),
                "rules": [rule.model_dump(mode="json") for rule in line.escalation],
            }
            for line in book.lines.values()
        ],
    }
