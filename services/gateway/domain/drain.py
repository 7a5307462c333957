"""Draining a gateway for shutdown: what callers are told, and how long it may all take (pure).

On SIGTERM the gateway stops taking sessions, lets live calls go on for ``GATEWAY_DRAIN_TIMEOUT_S``
and then hands each remaining Voice Agent API session over (a dropped checkpoint any gateway can
resume, ``session.error{code:"gateway_draining"}``, close 1012) and ends each remaining phone
call (``call.ended{reason:"gateway_shutdown"}``). Dropped calls still in their resume window
are settled (resumed elsewhere, or ended) before the process exits. docs/reliability.md, "Drain".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from services.gateway.domain.protocol import error_frame

DRAINING: Final = "gateway_draining"
# End reason of a call this gateway had to end at the drain timeout (phone calls; API sessions
# whose checkpoint could not be saved).
SHUTDOWN_REASON = "gateway_shutdown"
# A new session (or a resume) on a draining gateway: nothing happened, connect elsewhere.
REFUSE_CLOSE = 1013  # try again later
# A live session handed over: resume it on another gateway.
HANDOVER_CLOSE = 1012  # service restart
# What a phone caller hears before the line goes down at the drain timeout.
PHONE_GOODBYE = "Sorry, we have to end this call now. Please call us again."

# A reply still being written at the timeout gets this long to finish before the handover.
SETTLE_S = 2.0
# A phone call's goodbye gets this long to play before the call is ended anyway.
GOODBYE_S = 8.0
# Handed-over and ended sockets get this long to close.
CLOSE_S = 3.0
# A dropped call's settlement past its window: one store round trip, and the poll's step.
SETTLE_MARGIN_S = 2.0
# After the drain: uvicorn's wait for what connections remain, then the lifespan's flush.
GRACEFUL_S = 20.0  # uvicorn's timeout_graceful_shutdown (shared/service_main.py)
FLUSH_S = 10.0
CLOSE_REST_S = 5.0  # control consumer, tool client, model client, Redis


def refusal_frame() -> dict[str, Any]:
    """First answer of a draining gateway to any new socket (new session or resume)."""
    return error_frame(
        DRAINING, "this gateway is shutting down; connect to another one (resume there)"
    )


def handover_frame(session_id: str, resume_window_s: float) -> dict[str, Any]:
    """What a live session is told at the drain timeout, before close 1012."""
    frame = error_frame(
        DRAINING,
        "this gateway is shutting down; resume this session on another gateway "
        f"(session.resume) within {int(resume_window_s)} s",
    )
    frame["session_id"] = session_id
    return frame


@dataclass(frozen=True)
class DrainBudget:
    """How long each step of a drain may take, and the whole shutdown's bound."""

    drain_timeout_s: float
    resume_window_s: float

    @property
    def handover_s(self) -> float:
        """From the timeout until every remaining call is handed over or ended, sockets closed."""
        return max(SETTLE_S, GOODBYE_S) + CLOSE_S

    @property
    def pending_ends_s(self) -> float:
        """Dropped calls waiting out their window: the window, then one settlement."""
        return self.resume_window_s + SETTLE_MARGIN_S

    @property
    def drain_s(self) -> float:
        return self.drain_timeout_s + self.handover_s + self.pending_ends_s

    @property
    def shutdown_s(self) -> float:
        """SIGTERM to exit, at most: what a supervisor's stop grace period must cover."""
        return self.drain_s + GRACEFUL_S + FLUSH_S + CLOSE_REST_S


@dataclass
class DrainReport:
    """What one drain did (logged at its end; the fault test reads it from the log)."""

    finished: int = 0  # calls that ended by themselves within the drain timeout
    handed_over: int = 0  # Voice Agent API sessions handed over at the timeout
    ended: int = 0  # calls ended at the timeout (phone calls, handovers that failed)
    pending_ends: int = 0  # dropped calls settled before exit
    unsettled: int = 0  # dropped calls whose settlement did not finish in its bound
    seconds: float = 0.0

    def as_log(self) -> dict[str, float]:
        return {
            "drain_finished": self.finished,
            "drain_handed_over": self.handed_over,
            "drain_ended": self.ended,
            "drain_pending_ends": self.pending_ends,
            "drain_unsettled": self.unsettled,
            "drain_seconds": round(self.seconds, 3),
        }
