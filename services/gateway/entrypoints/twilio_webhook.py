"""``POST /twilio/voice``: Twilio asks what to do with an incoming call (docs/telephony.md).

The request must carry a valid ``X-Twilio-Signature`` for this gateway's public URL and auth
token (Twilio's own validator), else 403 and nothing else happens. The dialled number (``To``)
chooses the support line. The answer is TwiML that connects the call to ``/twilio/media`` with
a per-call secret in a ``<Parameter>``: a single-use grant in Redis, bound to the call's SID,
that the media stream must present. A number no line owns, a full gateway, or a grant store
that does not answer get a polite TwiML refusal instead (never an error page read to a caller);
a draining gateway answers busy.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.datastructures import FormData, UploadFile
from twilio.request_validator import RequestValidator

from services.gateway import handlers
from services.gateway.domain.twilio import (
    ACCOUNT_SID,
    CALL_SID,
    PhoneCallGrant,
    line_for_number,
    refusal_twiml,
    stream_twiml,
    valid_caller,
)
from services.gateway.entrypoints.context import GatewayContext

log = logging.getLogger(__name__)
router = APIRouter(tags=["telephony"])

# Twilio's webhook form is a few dozen short fields; anything bigger is not Twilio.
MAX_WEBHOOK_BYTES = 16_384
MAX_FIELDS = 100
# The media stream normally connects within a second of the answer; after this the secret dies.
GRANT_TTL_S = 120
NOT_IN_SERVICE = "Sorry, this number is not in service."
UNAVAILABLE = "Sorry, we cannot take your call right now. Please try again later."
TWIML = "application/xml"


# Twilio reads the TwiML; refusals are plain text (documented so a schema fuzzer can check them).
_PLAIN = {"content": {"text/plain": {"schema": {"type": "string"}}}}
TWILIO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {TWIML: {"schema": {"type": "string"}}}, "description": "TwiML"},
    400: {**_PLAIN, "description": "Malformed form, or no CallSid/AccountSid."},
    403: {**_PLAIN, "description": "A bad or missing Twilio signature."},
    413: {**_PLAIN, "description": "The request is too large."},
}


@router.post(
    "/twilio/voice", include_in_schema=True, response_class=Response, responses=TWILIO_RESPONSES
)
async def incoming_call(request: Request) -> Response:
    """Answer an incoming Twilio call with TwiML that streams it to this gateway."""
    ctx: GatewayContext = request.app.state.context
    if int(request.headers.get("content-length") or 0) > MAX_WEBHOOK_BYTES:
        return PlainTextResponse("request too large", status_code=413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            return PlainTextResponse("request too large", status_code=413)
    try:
        fields = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=MAX_FIELDS)
        pairs: list[tuple[str, str | UploadFile]] = list(fields)
        form = FormData(pairs)
    except ValueError:
        return PlainTextResponse("malformed form", status_code=400)
    if not _signed(ctx, request, form):
        log.warning("twilio webhook refused: bad or missing signature")
        return PlainTextResponse("invalid signature", status_code=403)
    call_sid, account_sid = str(form.get("CallSid", "")), str(form.get("AccountSid", ""))
    if not (CALL_SID.match(call_sid) and ACCOUNT_SID.match(account_sid)):
        return PlainTextResponse("CallSid and AccountSid are required", status_code=400)
    line = line_for_number(ctx.lines, str(form.get("To", "")))
    if line is None:
        log.warning("call to a number no line owns", extra={"call_sid": call_sid})
        return _twiml(refusal_twiml(NOT_IN_SERVICE))
    if ctx.draining:  # the caller hears busy and calls again (the balancer routes elsewhere)
        log.info("phone call refused: gateway draining", extra={"call_sid": call_sid})
        return _twiml(refusal_twiml(None, busy=True))
    if ctx.active >= ctx.settings.max_sessions:
        log.warning("phone call refused: gateway at capacity", extra={"call_sid": call_sid})
        return _twiml(refusal_twiml(None, busy=True))
    secret = secrets.token_urlsafe(32)
    grant = PhoneCallGrant(
        call_sid=call_sid,
        account_sid=account_sid,
        line_id=line.line_id,
        caller=valid_caller(str(form.get("From", ""))),
    )
    try:
        await asyncio.wait_for(
            ctx.phone_grants.issue(secret, grant, GRANT_TTL_S), handlers.STORE_TIMEOUT_S
        )
    except Exception:
        log.warning("phone call refused: grant store unavailable", extra={"call_sid": call_sid})
        return _twiml(refusal_twiml(UNAVAILABLE))
    log.info("phone call answered", extra={"call_sid": call_sid, "line_id": line.line_id})
    stream_url = f"{ctx.settings.public_url}/twilio/media"
    return _twiml(stream_twiml(stream_url, secret, line_id=line.line_id))


def _signed(ctx: GatewayContext, request: Request, form: FormData) -> bool:
    token = ctx.settings.twilio_auth_token
    if token is None:
        return False
    url = ctx.settings.public_http_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("x-twilio-signature", "")
    return signature_valid(token.get_secret_value(), url, form, signature)


def signature_valid(auth_token: str, url: str, form: FormData, signature: str) -> bool:
    """Twilio's ``X-Twilio-Signature`` check, by Twilio's own validator (constant-time)."""
    if not auth_token or not signature or len(signature) > 200:
        return False
    return bool(RequestValidator(auth_token).validate(url, form, signature))


def _twiml(body: str) -> Response:
    return Response(body, media_type=TWIML)
