"""Transfer a live Twilio call out: redirect it, with Twilio's REST API, to new TwiML that dials
a phone number or a SIP address.

One request per attempt: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json``,
HTTP basic auth (AccountSid, auth token), form field ``Twiml``. Twilio answers 200 with the call
resource, or an error JSON whose ``code`` tells e.g. a call that is no longer in progress.

Retries (at most ``retries``, short jittered backoff): connection refused or reset, 5xx, and 429
(waiting its ``Retry-After`` when that is at most ``MAX_RETRY_AFTER_S``; a longer one fails the
transfer at once, since a shorter wait would only be refused again). A redirect is not
idempotent in effect: if Twilio carried out an attempt whose answer was lost (a reset or a 5xx
after the fact), the repeat redirects the call to the same TwiML again and the ``<Dial>`` starts
over, so the caller hears ringing restart; that is taken over dropping the transfer. A read
timeout is not repeated: a slow Twilio is the likeliest case of a redirect still in flight.

Bounds: each attempt's network timeout is ``timeout_s`` (less when the deadline is nearer); the
whole ``redirect`` has a deadline of ``timeout_s * (retries + 1)``, after which it fails with
``"timeout"``; no wait (backoff, Retry-After) runs past that deadline (the transfer fails with the
last failure instead). Error bodies are read up to 64 KiB, a success's not at all; what is
left unread is dropped with the connection. TwiML is at most 4,000 characters (Twilio's own
limit, error 32018).

Logs carry the reason code, the HTTP status, Twilio's error code and the call SID as named
attributes; never the TwiML (it holds the transfer target), Twilio's error message, or the token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
import unicodedata
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Literal

import httpx
from twilio.twiml.voice_response import Dial, VoiceResponse

log = logging.getLogger(__name__)

TWILIO_API_URL = "https://api.twilio.com"
API_VERSION = "2010-04-01"
MAX_TWIML_CHARS = 4_000  # Twilio refuses longer inline TwiML (error 32018)
MAX_BODY_BYTES = 64 * 1024  # of an error answer; past it the connection is dropped unread
MAX_RETRY_AFTER_S = 2.0  # a longer Retry-After is not waited for: the transfer fails at once
BACKOFF_BASE_S = 0.2  # doubled per retry, capped at BACKOFF_MAX_S, jittered down to half
BACKOFF_MAX_S = 1.0
MAX_CONNECTIONS = 20  # of an owned client; further redirects wait for one within their timeout
NOT_IN_PROGRESS_CODE = 21220  # "Call is not in-progress. Cannot redirect."
MIN_DIAL_TIMEOUT_S, MAX_DIAL_TIMEOUT_S = 5, 600  # Twilio's range for <Dial timeout>
MAX_TARGET_CHARS = 256

Reason = Literal[
    "unauthorized",
    "call_not_found",
    "call_not_in_progress",
    "rejected",
    "twilio_unavailable",
    "timeout",
]

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SIP_URI = re.compile(
    r"sip:[A-Za-z0-9\-_.!~*'()%&=+$,]{1,64}"  # user (RFC 3261 user characters)
    rf"@(?:{_LABEL}\.)*{_LABEL}"  # host name or IPv4 address
    r"(?::\d{1,5})?"  # port
    r"(?:;[A-Za-z0-9\-_.!~*'()%]+(?:=[A-Za-z0-9\-_.!~*'()%]+)?)*"  # ;transport=tls ...
    r"(?:\?[A-Za-z0-9\-_.!~*'()%&=+$,:]+)?"  # ?X-Header=value&...
)


class TransferFailed(Exception):
    """The call could not be redirected; ``reason`` is one of ``Reason``'s short codes."""

    def __init__(
        self, reason: Reason, *, status: int | None = None, twilio_code: int | None = None
    ) -> None:
        super().__init__(f"call transfer failed: {reason}")
        self.reason: Reason = reason
        self.status = status
        self.twilio_code = twilio_code


@dataclass(frozen=True)
class _Failure:
    error: TransferFailed
    retryable: bool
    retry_after_s: float | None = None


class TwilioRestClient:
    """Redirects live calls to new TwiML; one instance per process, closed with ``aclose``."""

    def __init__(
        self,
        *,
        base_url: str,
        auth_token: str,
        timeout_s: float = 5.0,
        retries: int = 1,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("base_url must be an http(s) URL")
        if timeout_s <= 0 or retries < 0:
            raise ValueError("timeout_s must be positive and retries not negative")
        self._base_url = base_url.rstrip("/")
        self._auth_token = auth_token
        self._timeout_s = timeout_s
        self._retries = retries
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS), follow_redirects=False
        )

    async def __aenter__(self) -> TwilioRestClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this instance made it (a given one stays its owner's)."""
        if self._owns_http:
            await self._http.aclose()

    async def redirect(self, *, account_sid: str, call_sid: str, twiml: str) -> None:
        """Replace the call's TwiML with ``twiml``; raises ``TransferFailed``.

        ``ValueError`` (before any request) for a malformed SID or TwiML over 4,000 characters.
        """
        if not _ACCOUNT_SID.fullmatch(account_sid):
            raise ValueError("not an account SID")
        if not _CALL_SID.fullmatch(call_sid):
            raise ValueError("not a call SID")
        if len(twiml) > MAX_TWIML_CHARS:
            raise ValueError(f"TwiML over {MAX_TWIML_CHARS} characters")
        url = f"{self._base_url}/{API_VERSION}/Accounts/{account_sid}/Calls/{call_sid}.json"
        deadline = time.monotonic() + self._timeout_s * (self._retries + 1)
        attempts = 0
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                while True:
                    attempts += 1
                    failure = await self._attempt(url, account_sid, twiml, deadline)
                    if failure is None:
                        log.info(
                            "call redirected", extra={"call_sid": call_sid, "attempts": attempts}
                        )
                        return
                    wait_s = self._retry_wait(failure, attempts)
                    if wait_s is None or time.monotonic() + wait_s >= deadline:
                        raise failure.error
                    fields = _log_fields(failure.error, call_sid, attempts)
                    log.info("call redirect retrying", extra=fields)
                    await asyncio.sleep(wait_s)
        except TimeoutError:
            error = TransferFailed("timeout")
            log.warning("call redirect failed", extra=_log_fields(error, call_sid, attempts))
            raise error from None
        except TransferFailed as error:
            log.warning("call redirect failed", extra=_log_fields(error, call_sid, attempts))
            raise

    async def _attempt(
        self, url: str, account_sid: str, twiml: str, deadline: float
    ) -> _Failure | None:
        timeout = httpx.Timeout(max(0.001, min(self._timeout_s, deadline - time.monotonic())))
        try:
            async with self._http.stream(
                "POST",
                url,
                data={"Twiml": twiml},
                auth=(account_sid, self._auth_token),
                headers={"Accept": "application/json"},
                timeout=timeout,
            ) as response:
                if response.is_success:
                    return None  # accepted; the call resource is not needed, nor read
                body = await _read_capped(response)
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # nothing was sent yet
            return _transport_failure("timeout", exc, retryable=True)
        except httpx.TimeoutException as exc:  # sent, unanswered: may be in flight, not repeated
            return _transport_failure("timeout", exc, retryable=False)
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:  # refused, reset, cut off
            return _transport_failure("twilio_unavailable", exc, retryable=True)
        except httpx.TransportError as exc:  # proxy or local protocol trouble: a repeat won't help
            return _transport_failure("twilio_unavailable", exc, retryable=False)
        return _classify(response.status_code, body, response.headers.get("retry-after"))

    def _retry_wait(self, failure: _Failure, attempts: int) -> float | None:
        """Seconds to wait before the next attempt; None when there is to be none."""
        if not failure.retryable or attempts > self._retries:
            return None
        if failure.retry_after_s is not None:
            return failure.retry_after_s if failure.retry_after_s <= MAX_RETRY_AFTER_S else None
        backoff: float = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0 ** (attempts - 1))
        return backoff * random.uniform(0.5, 1.0)


def _transport_failure(reason: Reason, exc: httpx.TransportError, *, retryable: bool) -> _Failure:
    error = TransferFailed(reason)
    error.__cause__ = exc  # kept for tracebacks; httpx's messages name no body or credential
    return _Failure(error, retryable)


async def _read_capped(response: httpx.Response) -> bytes:
    """The answer's first ``MAX_BODY_BYTES``; leaving the stream early drops the connection."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES:
            break
    return b"".join(chunks)[:MAX_BODY_BYTES]


def _classify(status: int, body: bytes, retry_after: str | None) -> _Failure:
    code = _twilio_code(body)
    if status == 401:
        return _Failure(TransferFailed("unauthorized", status=status, twilio_code=code), False)
    if status == 404:
        return _Failure(TransferFailed("call_not_found", status=status, twilio_code=code), False)
    if status == 400 and code == NOT_IN_PROGRESS_CODE:
        error = TransferFailed("call_not_in_progress", status=status, twilio_code=code)
        return _Failure(error, retryable=False)
    if status == 429 or status >= 500:
        error = TransferFailed("twilio_unavailable", status=status, twilio_code=code)
        return _Failure(error, retryable=True, retry_after_s=_retry_after_s(retry_after))
    return _Failure(TransferFailed("rejected", status=status, twilio_code=code), False)


def _twilio_code(body: bytes) -> int | None:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    code = document.get("code") if isinstance(document, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _retry_after_s(value: str | None) -> float | None:
    """Retry-After as seconds from now (delta-seconds or an HTTP date); None if absent/unread."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _log_fields(error: TransferFailed, call_sid: str, attempts: int) -> dict[str, object]:
    cause = error.__cause__
    return {
        "call_sid": call_sid,
        "attempts": attempts,
        "reason": error.reason,
        "http_status": error.status,
        "twilio_code": error.twilio_code,
        "error_type": type(cause).__name__ if cause is not None else None,
    }


def valid_dial_target(target: str) -> bool:
    """True for an E.164 number (``+15551234567``) or a ``sip:user@host`` URI."""
    if len(target) > MAX_TARGET_CHARS:
        return False
    return bool(_E164.fullmatch(target) or _SIP_URI.fullmatch(target))


def dial_twiml(target: str, *, say: str | None = None, timeout_s: int = 30) -> str:
    """TwiML that (after saying ``say``, if given) dials ``target`` for up to ``timeout_s``.

    ``ValueError`` for a target that is neither an E.164 number nor a SIP URI, a timeout outside
    Twilio's 5-600 s, ``say`` with control characters, or TwiML over 4,000 characters. The
    messages never repeat the target (it is personal data).
    """
    if not valid_dial_target(target):
        raise ValueError("dial target must be an E.164 number or a sip: URI")
    if not MIN_DIAL_TIMEOUT_S <= timeout_s <= MAX_DIAL_TIMEOUT_S:
        raise ValueError(f"dial timeout must be {MIN_DIAL_TIMEOUT_S}-{MAX_DIAL_TIMEOUT_S} s")
    response = VoiceResponse()
    if say is not None:
        # XML 1.0 cannot carry most control characters; the builder would write them raw.
        if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in say):
            raise ValueError("say text holds control characters")
        response.say(say)
    if target.startswith("sip:"):
        dial = Dial(timeout=timeout_s)
        dial.sip(target)
        response.append(dial)
    else:
        response.dial(target, timeout=timeout_s)
    twiml = str(response.to_xml())
    if len(twiml) > MAX_TWIML_CHARS:
        raise ValueError(f"TwiML over {MAX_TWIML_CHARS} characters")
    return twiml
