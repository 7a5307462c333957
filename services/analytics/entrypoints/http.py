"""The analyst API: calls (filter, search, page), one call's timeline, stats, exports, redact."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from services.analytics.adapters.postgres_queries import SUMMARY_COLUMNS, TURN_COLUMNS
from services.analytics.domain.queries import BadCursorError, CallFilter, Channel, Outcome
from services.analytics.domain.stats import summarise
from services.analytics.ports import CallQueries, Redactor, StatsStore
from shared.http.app import require_role

# Longest text /v1/redact takes (an event's text is at most 4,000 characters).
MAX_REDACT_CHARS = 20_000
# Longest stats range in days (a year: rollups make it cheap, but the answer lists each day).
MAX_STATS_DAYS = 366


def _queries(request: Request) -> CallQueries:
    queries: CallQueries = request.app.state.queries
    return queries


def _stats(request: Request) -> StatsStore:
    stats: StatsStore = request.app.state.stats
    return stats


QueriesDep = Annotated[CallQueries, Depends(_queries)]
StatsDep = Annotated[StatsStore, Depends(_stats)]
AnalystKey = Annotated[str, Depends(require_role("analyst"))]

router = APIRouter(prefix="/v1", tags=["calls"])


def call_filter(
    since: Annotated[datetime | None, Query(description="first event at or after")] = None,
    until: Annotated[datetime | None, Query(description="first event before")] = None,
    line_id: Annotated[str | None, Query(max_length=200)] = None,
    channel: Channel | None = None,
    escalated: bool | None = None,
    sentiment_min: Annotated[float | None, Query(ge=-1, le=1)] = None,
    sentiment_max: Annotated[float | None, Query(ge=-1, le=1)] = None,
    tool: Annotated[str | None, Query(max_length=100, description="used this tool")] = None,
    outcome: Outcome | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="full-text search of the redacted turns")
    ] = None,
) -> CallFilter:
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise HTTPException(422, "since/until need a time zone (e.g. 2026-11-30T00:00:00Z)")
    return CallFilter(
        since=since, until=until, line_id=line_id, channel=channel, escalated=escalated,
        sentiment_min=sentiment_min, sentiment_max=sentiment_max, tool=tool, outcome=outcome,
        q=q.strip() or None if q else None,
    )  # fmt: skip


FilterDep = Annotated[CallFilter, Depends(call_filter)]


@router.get("/calls")
async def list_calls(
    request: Request,
    queries: QueriesDep,
    where: FilterDep,
    _key: AnalystKey,
    limit: Annotated[int, Query(ge=1)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> dict[str, Any]:
    """Call summaries, newest first; ``next_cursor`` fetches the next page."""
    limit = min(limit, request.app.state.settings.max_page_size)
    try:
        page = await queries.list_calls(where, limit=limit, cursor=cursor)
    except BadCursorError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"calls": page.calls, "next_cursor": page.next_cursor, "limit": limit}


@router.get("/calls/{call_id}")
async def get_call(call_id: str, queries: QueriesDep, _key: AnalystKey) -> dict[str, Any]:
    """One call: its summary, each section (turns, tool calls, interruptions, escalations,
    sentiment, metrics) and all of them merged into one ``timeline`` in time order."""
    if len(call_id) > 200:
        raise HTTPException(422, "call_id too long")
    call = await queries.get_call(call_id)
    if call is None:
        raise HTTPException(404, "no such call")
    return call


@router.get("/stats")
async def stats(
    store: StatsDep,
    _key: AnalystKey,
    since: Annotated[date | None, Query(description="first day (UTC), default 6 days ago")] = None,
    until: Annotated[
        date | None, Query(description="last day (UTC), inclusive; default today")
    ] = None,
    line_id: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Calls, containment and escalation rates, average handle time, voice-to-voice p50/p95,
    tool error and timeout rates: in total, by line and by day."""
    last = until or datetime.now(UTC).date()
    first = since or last - timedelta(days=6)
    if first > last or (last - first).days >= MAX_STATS_DAYS:
        raise HTTPException(422, f"since..until must be 1 to {MAX_STATS_DAYS} days")
    rows = await store.daily(first, last, line_id=line_id)
    return {"since": first.isoformat(), "until": last.isoformat(), **summarise(rows)}


# Streamed exports: JSON lines or CSV, never one JSON document.
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One row per line.",
        "content": {"application/x-ndjson": {}, "text/csv": {}},
    }
}


@router.get("/export/calls", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
async def export_calls(
    queries: QueriesDep,
    where: FilterDep,
    _key: AnalystKey,
    format: Literal["csv", "jsonl"] = "jsonl",
) -> StreamingResponse:
    """Every matching call summary, oldest first, streamed (no size limit, constant memory)."""
    return _stream(queries.export_calls(where), SUMMARY_COLUMNS, format, "calls")


@router.get("/export/turns", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
async def export_turns(
    queries: QueriesDep,
    where: FilterDep,
    _key: AnalystKey,
    format: Literal["csv", "jsonl"] = "jsonl",
) -> StreamingResponse:
    """Every redacted turn of every matching call, streamed."""
    return _stream(queries.export_turns(where), TURN_COLUMNS, format, "turns")


class RedactRequest(BaseModel):
    text: str = Field(max_length=MAX_REDACT_CHARS)
    previous: str | None = Field(
        default=None, max_length=MAX_REDACT_CHARS, description="the speaker's previous turn"
    )


class RedactedEntity(BaseModel):
    type: str
    start: int
    end: int


class RedactResponse(BaseModel):
    text: str
    entities: list[RedactedEntity]


@router.post("/redact", tags=["redaction"])
async def redact(body: RedactRequest, request: Request, _key: AnalystKey) -> RedactResponse:
    """The text with personal data replaced by ``[TYPE]`` placeholders, and where each was
    (offsets into the text sent)."""
    redactor: Redactor = request.app.state.redactor
    # CPU work: in a thread, so other requests are served meanwhile.
    result = await asyncio.to_thread(redactor.redact, body.text, previous=body.previous)
    return RedactResponse(
        text=result.text,
        entities=[RedactedEntity(type=e.type, start=e.start, end=e.end) for e in result.entities],
    )


def _stream(
    rows: AsyncIterator[dict[str, Any]], columns: tuple[str, ...], fmt: str, name: str
) -> StreamingResponse:
    body = _csv_lines(rows, columns) if fmt == "csv" else _jsonl_lines(rows)
    media = "text/csv" if fmt == "csv" else "application/x-ndjson"
    disposition = f'attachment; filename="{name}.{fmt}"'
    return StreamingResponse(body, media_type=media, headers={"Content-Disposition": disposition})


async def _jsonl_lines(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    async for row in rows:
        yield json.dumps(row, default=_json_default, separators=(",", ":")) + "\n"


async def _csv_lines(
    rows: AsyncIterator[dict[str, Any]], columns: tuple[str, ...]
) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    async for row in rows:
        writer.writerow({k: _csv_value(v) for k, v in row.items()})
        if buffer.tell() > 64_000:  # flush in chunks: constant memory, few tiny writes
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        # A typed turn like "=HYPERLINK(...)" must not run as a formula in a spreadsheet.
        return "'" + value
    return value


_FORMULA_STARTS = frozenset("=+-@\t\r")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
