"""Transfer a phone call out: the hold message plays, then Twilio redirects the call to ``<Dial>``.

Used by ``CallControl`` for a ``handoff`` that names a ``dial`` target on a phone call. Success
publishes ``handoff.completed`` (agent ``external``, target ``dial:<target>``) and the call goes
``with_human``; Twilio then stops the stream and the call ends as ``transferred``. Failure (the
REST call refused, timed out, Twilio down) publishes ``handoff.failed`` with ``transfer_<reason>``
and leaves the caller on hold, where the agent desk (or the hold timeout) takes over.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from services.gateway.adapters.twilio_rest import TransferFailed, dial_twiml
from services.gateway.domain.actions import Publish
from shared.events import Handoff, HandoffFailed

if TYPE_CHECKING:
    from services.gateway.entrypoints.control import CallControl, PhoneLeg

log = logging.getLogger(__name__)


async def dial_out(call: CallControl, phone: PhoneLeg, command: Handoff) -> None:
    target = command.dial
    assert target is not None and phone.transfer is not None
    call_id = call.conn.session.session_id
    if command.say:
        await call.say_and_wait(command.say)
    try:
        await phone.transfer.redirect(
            account_sid=phone.account_sid, call_sid=phone.call_sid, twiml=dial_twiml(target)
        )
    except TransferFailed as exc:
        why = {"call_id": call_id, "reason": exc.reason}
        log.warning("transfer failed; the caller holds", extra=why)
        call.conn.perform([Publish(HandoffFailed(reason=f"transfer_{exc.reason}"))])
        return
    except ValueError:
        log.warning("transfer target or call ids invalid", extra={"call_id": call_id})
        call.conn.perform([Publish(HandoffFailed(reason="transfer_invalid"))])
        return
    log.info("phone call transferred", extra={"call_id": call_id})
    call.transferred_out(f"dial:{target}")
