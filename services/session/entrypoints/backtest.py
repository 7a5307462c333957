"""``POST /v1/rules/backtest``: what a rule set would have done on the calls already stored.

A team changing its escalation rules runs them over a time range of real (redacted) calls from
the analytics API first: which calls would have gone to a person, by which rule, at which
caller turn, and how that differs from what happened.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError

from services.session.adapters.escalation_models import EscalationModels
from services.session.adapters.http_call_log import AnalyticsCallLog, CallLogUnavailableError
from services.session.adapters.yaml_lines import LineBook
from services.session.domain.backtest import backtest
from services.session.domain.rules import EscalationEngine
from shared.http.app import ErrorBody, require_role
from shared.lines import SupportLine

router = APIRouter(prefix="/v1/rules", tags=["rules"])
SupervisorKey = Annotated[str, Depends(require_role("supervisor"))]


class BacktestRequest(BaseModel):
    since: datetime
    until: datetime
    line_id: str | None = Field(None, max_length=200)
    # Rules to try instead of the line's own (``escalation:`` items of a line file).
    rules: list[dict[str, Any]] | None = Field(None, max_length=50)
    max_calls: int = Field(500, ge=1, le=100_000)


@router.post(
    "/backtest",
    responses={502: {"model": ErrorBody, "description": "The analytics API did not answer."}},
)
async def run_backtest(body: BacktestRequest, request: Request, _key: SupervisorKey) -> Any:
    """Replay stored calls in ``[since, until)`` through the rules; report who would escalate."""
    state = request.app.state
    settings = state.settings
    if body.since.tzinfo is None or body.until.tzinfo is None:
        raise HTTPException(422, "since/until need a time zone (e.g. 2026-11-30T00:00:00Z)")
    book: LineBook = state.line_book
    lines = dict(book.lines)
    if body.rules is not None:
        lines = _with_rules(lines, body.line_id, body.rules)
    call_log: AnalyticsCallLog = state.call_log
    max_calls = min(body.max_calls, settings.backtest_max_calls)
    try:
        stored = [
            call
            async for call in call_log.calls(
                since=body.since, until=body.until, line_id=body.line_id, max_calls=max_calls
            )
        ]
    except CallLogUnavailableError as exc:
        raise HTTPException(502, f"stored calls could not be read: {exc}") from exc
    models: EscalationModels = state.models

    def engine() -> EscalationEngine:
        return models.engine(lines)

    report = await asyncio.to_thread(backtest, stored, engine)
    return {
        **asdict(report),
        "rules_version": {line_id: line.config_hash for line_id, line in lines.items()},
        "rules_overridden": body.rules is not None,
    }


def _with_rules(
    lines: dict[str, SupportLine], line_id: str | None, rules: list[dict[str, Any]]
) -> dict[str, SupportLine]:
    if line_id is None or line_id not in lines:
        raise HTTPException(422, "rules to try need the line_id of a configured line")
    current = lines[line_id]
    try:
        changed = SupportLine.model_validate(
            {**current.model_dump(mode="json"), "escalation": rules}
        )
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors())
        raise HTTPException(422, f"the rules do not validate: {problems}") from exc
    return {**lines, line_id: changed.model_copy(update={"config_hash": "backtest"})}
