"""Gateway handlers over the session store: resume, checkpoint, and ending dropped calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from services.gateway.domain.actions import Action, Close, Send
from services.gateway.domain.checkpoint import RESUME_WINDOW_S
from services.gateway.domain.protocol import error_frame
from services.gateway.domain.session import VoiceSession
from services.gateway.ports import SessionStore
from shared.events import CallEnded, EventPayload
from shared.lines import SupportLine

log = logging.getLogger(__name__)

# Bound on one store round trip. Past it the call goes on without a fresh checkpoint: a resume
# would then restore slightly older context, which beats stalling a live call on Redis.
STORE_TIMEOUT_S = 1.0
# A dropped checkpoint outlives its window by this much: long enough for the gateway holding the
# window, or the orphan sweep of another (every GATEWAY_SWEEP_S) if that one died, to end it.
RELEASE_GRACE_S = 30
# Checkpoints the orphan sweep looks at per pass, at most.
SWEEP_LIMIT = 100
LOST_REASON = "gateway_lost"


async def resume_session(
    body: dict[str, Any],
    *,
    owner: str,
    gateway_id: str,
    store: SessionStore,
    lines: dict[str, SupportLine],
    max_frame_bytes: int,
) -> tuple[VoiceSession | None, list[Action]]:
    """Resume a dropped session: the restored session and its frames, or an error and close."""
    session_id = body.get("session_id")
    if not isinstance(session_id, str) or not 1 <= len(session_id) <= 100:
        return None, _refusal("invalid_value", "session_id must be a session id")
    found = await asyncio.wait_for(store.load(session_id), STORE_TIMEOUT_S)
    if found is None or found.line_id not in lines:
        return None, _refusal("session_not_found", "no resumable session with that id")
    if found.owner != owner:
        return None, _refusal("session_forbidden", "that session belongs to another key")
    claimed = await asyncio.wait_for(store.claim(session_id, gateway_id), STORE_TIMEOUT_S)
    if claimed is None:
        return None, _refusal("session_not_found", "that session is not waiting to be resumed")
    session = VoiceSession.restored(
        claimed, line=lines[claimed.line_id], max_frame_bytes=max_frame_bytes
    )
    return session, session.resumed()


async def save_checkpoint(
    session: VoiceSession,
    *,
    owner: str,
    gateway_id: str,
    store: SessionStore,
    dropped: bool = False,
    resume_window_s: float = RESUME_WINDOW_S,
) -> bool:
    """Write the session's checkpoint; False (logged) if the store did not answer in time."""
    checkpoint = session.checkpoint(owner=owner, gateway_id=gateway_id, dropped=dropped)
    # A dropped checkpoint outlives the window by a grace period: the gateway that holds the
    # window releases it at the window's end, and must find it there to end the call.
    ttl = int(resume_window_s) + RELEASE_GRACE_S if dropped else session.max_session_s
    try:
        await asyncio.wait_for(store.save(checkpoint, ttl), STORE_TIMEOUT_S)
    except Exception:
        log.warning("session checkpoint not saved", extra={"call_id": session.session_id})
        return False
    return True


async def end_if_not_resumed(
    session_id: str,
    *,
    store: SessionStore,
    window_s: float = RESUME_WINDOW_S,
    gateway_id: str | None = None,
    poll_s: float | None = None,
) -> EventPayload | None:
    """After the resume window: the ``call.ended`` of a call nobody resumed (else None).

    With ``gateway_id`` and ``poll_s`` the store is looked at every ``poll_s`` meanwhile: once
    the checkpoint is no longer this gateway's dropped one (another gateway claimed it, or it is
    gone), the wait ends early with None. A drained gateway then exits as soon as its handed-over
    calls are resumed elsewhere, instead of a whole window later.
    """
    if gateway_id is None or poll_s is None:
        await asyncio.sleep(window_s)
    elif not await _dropped_here_until(session_id, store, gateway_id, window_s, poll_s):
        return None
    checkpoint = await asyncio.wait_for(store.release(session_id), STORE_TIMEOUT_S)
    if checkpoint is None:
        return None  # resumed elsewhere (or ended): that gateway ends the call
    duration = max(0.0, time.time() - checkpoint.started_at)
    return CallEnded(reason="client_disconnected", duration_s=round(duration, 3))


async def _dropped_here_until(
    session_id: str, store: SessionStore, gateway_id: str, window_s: float, poll_s: float
) -> bool:
    """Wait ``window_s``; False as soon as the call is no longer dropped by ``gateway_id``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window_s
    while (left := deadline - loop.time()) > 0:
        await asyncio.sleep(min(poll_s, left))
        try:
            found = await asyncio.wait_for(store.load(session_id), STORE_TIMEOUT_S)
        except Exception:
            continue  # the store is slow or away: keep waiting; the release decides at the end
        if found is None or found.state != "dropped" or found.gateway_id != gateway_id:
            return False
    return True


async def sweep_orphans(
    store: SessionStore,
    publish: Callable[[str, str, EventPayload], None],
    *,
    window_s: float,
    limit: int = SWEEP_LIMIT,
) -> dict[str, int]:
    """One bounded pass of the orphan sweep: calls of gateways that died (their heartbeat gone)
    are marked dropped, so their callers get a whole resume window, and those nobody resumed
    within it are ended here: ``call.ended{reason:"gateway_lost"}``, once (the store's adopt is
    atomic: another sweeper, a resume and the writer's own release cannot also win).

    Returns how many checkpoints ended in each outcome. A store error ends the pass (logged)."""
    outcomes: dict[str, int] = {}
    ttl_s = math.ceil(window_s) + RELEASE_GRACE_S
    try:
        due = await asyncio.wait_for(store.due(window_s, limit), STORE_TIMEOUT_S)
        for session_id in due:
            outcome, adopted = await asyncio.wait_for(
                store.adopt(session_id, window_s=window_s, ttl_s=ttl_s), STORE_TIMEOUT_S
            )
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if adopted is None:
                if outcome == "orphaned":
                    log.info("orphaned call: resumable", extra={"call_id": session_id})
                continue
            duration = max(0.0, time.time() - adopted.started_at)
            ended = CallEnded(reason=LOST_REASON, duration_s=round(duration, 3))
            log.info("orphaned call not resumed; ending it", extra={"call_id": session_id})
            publish(session_id, adopted.line_id, ended)
    except Exception as exc:
        log.warning("orphan sweep pass failed", extra={"error": type(exc).__name__})
    return outcomes


async def keep_sweeping(
    store: SessionStore,
    publish: Callable[[str, str, EventPayload], None],
    *,
    every_s: float,
    window_s: float,
    stop: asyncio.Event,
) -> None:
    """The orphan sweep, every ``every_s`` until ``stop`` is set (a pass under way finishes, so
    a checkpoint it claimed gets its ``call.ended``)."""
    while not stop.is_set():
        await sweep_orphans(store, publish, window_s=window_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


def _refusal(code: str, message: str) -> list[Action]:
    return [Send(error_frame(code, message)), Close(1008, code)]  # type: ignore[arg-type]


async def keep_beating(store: SessionStore, *, gateway_id: str, every_s: float) -> None:
    """The gateway's heartbeat, until cancelled; it lasts three periods (one lost is fine).

    Redis away: logged and tried again next period (the calls go on; a resume of this gateway's
    live calls may be granted elsewhere once the heartbeat lapses, as after a crash)."""
    ttl_s = max(1, math.ceil(3 * every_s))
    while True:
        try:
            await asyncio.wait_for(store.beat(gateway_id, ttl_s), STORE_TIMEOUT_S)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("could not write the gateway heartbeat", extra={"gateway_id": gateway_id})
        await asyncio.sleep(every_s)
