"""Drain the gateway before it stops (SIGTERM): the sequence of ``domain.drain``, carried out.

1. ``ctx.draining``: ``/readyz`` answers 503, new sockets on ``/v1/ws`` (sessions and resumes)
   are refused with ``gateway_draining`` and 1013, ``/twilio/voice`` answers busy.
2. Live calls go on, up to ``GATEWAY_DRAIN_TIMEOUT_S``.
3. Then each Voice Agent API session still live is handed over (``CallConnection.hand_over``:
   checkpoint saved as dropped, ``session.error{code:"gateway_draining"}``, close 1012) and each
   phone call is ended (a goodbye, then ``call.ended{reason:"gateway_shutdown"}``).
4. Dropped calls in their resume window are settled: resumed elsewhere, or ended here.

Every step is bounded (``DrainBudget``); the server's shutdown (``shared.service_main``) runs
this before uvicorn closes its sockets, then the lifespan flushes the producer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection

from services.gateway.domain.drain import (
    GOODBYE_S,
    PHONE_GOODBYE,
    SETTLE_S,
    SHUTDOWN_REASON,
    DrainBudget,
    DrainReport,
    handover_frame,
)
from services.gateway.entrypoints.connection import CallConnection
from services.gateway.entrypoints.context import GatewayContext
from shared.events import Hangup

log = logging.getLogger(__name__)


async def drain(ctx: GatewayContext) -> DrainReport:
    """Drain this gateway (the sequence above); returns what it did."""
    settings = ctx.settings
    budget = DrainBudget(settings.drain_timeout_s, settings.resume_window_s)
    started = time.monotonic()
    report = DrainReport()
    ctx.draining = True
    live_at_start = len(ctx.calls)
    log.info(
        "draining: refusing new sessions",
        extra={"live_calls": live_at_start, "drain_timeout_s": settings.drain_timeout_s},
    )
    await _until_settled(ctx.held, settings.drain_timeout_s)
    ctx.handing_over = True
    remaining = [c.conn for c in list(ctx.calls.values()) if isinstance(c.conn, CallConnection)]
    report.finished = max(0, live_at_start - len(remaining))
    outcomes = await asyncio.gather(
        *(_release(conn, settings.resume_window_s) for conn in remaining)
    )
    report.handed_over = sum(outcomes)
    report.ended = len(outcomes) - report.handed_over
    await _until_settled(ctx.held, budget.handover_s)
    pending = set(ctx.pending_ends)
    report.pending_ends = len(pending)
    if pending:
        _, unsettled = await asyncio.wait(pending, timeout=budget.pending_ends_s)
        report.unsettled = len(unsettled)
    report.seconds = time.monotonic() - started
    log.info("drained", extra=report.as_log())
    return report


async def _until_settled(held: Collection[asyncio.Future[None]], timeout_s: float) -> None:
    """Until every held connection has settled its call, or ``timeout_s`` passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while held and (left := deadline - loop.time()) > 0:
        await asyncio.wait(set(held), timeout=left, return_when=asyncio.FIRST_COMPLETED)


async def _release(conn: CallConnection, resume_window_s: float) -> bool:
    """Hand a live API session over (True), or end the call here (False)."""
    if conn.resumable:
        frame = handover_frame(conn.session.session_id, resume_window_s)
        try:
            if await conn.hand_over(frame, settle_s=SETTLE_S):
                log.info("call handed over", extra={"call_id": conn.session.session_id})
                return True
        except Exception:
            log.warning("handover failed", extra={"call_id": conn.session.session_id})
        # Not saved: the client could not resume it anywhere; the call ends here.
    await _end_call(conn)
    return False


async def _end_call(conn: CallConnection) -> None:
    """End a call that cannot move (a phone call): a goodbye, then ``call.ended``."""
    if conn.session.state != "ready" or conn.settled is None:
        return
    if conn.resumable:
        _hang_up_now(conn)  # an API client gets session.ended
    else:  # refused only when the call is already ending: that goodbye plays instead
        conn.control.apply(
            Hangup(issued_by="gateway:drain", reason=SHUTDOWN_REASON, say=PHONE_GOODBYE)
        )
    try:
        await asyncio.wait_for(asyncio.shield(conn.settled), GOODBYE_S)
    except TimeoutError:
        _hang_up_now(conn)  # the goodbye did not play in time
    log.info("call ended by the drain", extra={"call_id": conn.session.session_id})


def _hang_up_now(conn: CallConnection) -> None:
    if conn.session.state == "ready":
        conn.perform(conn.session.hang_up(time.time(), SHUTDOWN_REASON))
