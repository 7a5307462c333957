"""The Twilio call transfer adapter against a local fake of Twilio's call-update endpoint (a real
HTTP server on a socket): what it sends, how each failure maps to a reason, which failures are
retried and how often, the overall deadline, and the TwiML it builds."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import httpx
import pytest

from infra.localstack.infrastructure import free_port
from services.gateway.adapters.twilio_rest import (
    TransferFailed,
    TwilioRestClient,
    dial_twiml,
    valid_dial_target,
)
from tests.support.fake_twilio_api import (
    CALL_NOT_FOUND,
    FLOOD,
    FORBIDDEN,
    HANG,
    INVALID_PARAMETER,
    NOT_IN_PROGRESS,
    OK,
    RESET,
    SERVER_ERROR,
    TRICKLE,
    UNAVAILABLE,
    FakeTwilioApi,
    Reply,
    too_many_requests,
)

TOKEN = "test-auth-token-" + uuid.uuid4().hex
ACCOUNT = "AC" + "0123456789abcdef" * 2
NUMBER = "+15550142387"


@pytest.fixture(scope="module")
def api() -> Iterator[FakeTwilioApi]:
    with FakeTwilioApi(auth_token=TOKEN) as fake:
        yield fake


@pytest.fixture
def call_sid() -> str:
    """A call of this test's own, so scripts and counted requests don't mix between tests."""
    return "CA" + uuid.uuid4().hex


@pytest.fixture
async def client(api: FakeTwilioApi) -> AsyncIterator[TwilioRestClient]:
    async with TwilioRestClient(base_url=api.base_url, auth_token=TOKEN, timeout_s=1.0) as c:
        yield c


async def failure(client: TwilioRestClient, call_sid: str) -> TransferFailed:
    """The TransferFailed of one redirect; a client that outlives its own deadline fails here."""
    with pytest.raises(TransferFailed) as raised:
        async with asyncio.timeout(10):
            await client.redirect(account_sid=ACCOUNT, call_sid=call_sid, twiml=dial_twiml(NUMBER))
    return raised.value


async def test_redirect_sends_authenticated_form_with_dial_twiml(
    api: FakeTwilioApi, client: TwilioRestClient, call_sid: str
) -> None:
    await client.redirect(account_sid=ACCOUNT, call_sid=call_sid, twiml=dial_twiml(NUMBER))

    [seen] = api.requests(call_sid)
    assert seen.method == "POST"
    assert seen.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{call_sid}.json"
    assert seen.auth_ok and seen.account_sid == ACCOUNT
    assert seen.content_type.startswith("application/x-www-form-urlencoded")
    assert seen.twiml is not None
    root = ET.fromstring(seen.twiml)
    assert root.tag == "Response"
    [dial] = list(root)
    assert (dial.tag, dial.text, dial.get("timeout")) == ("Dial", NUMBER, "30")


async def test_sip_target_reaches_twilio_as_sip_noun(
    api: FakeTwilioApi, client: TwilioRestClient, call_sid: str
) -> None:
    target = "sip:desk@pbx.example.com;transport=tls"
    await client.redirect(account_sid=ACCOUNT, call_sid=call_sid, twiml=dial_twiml(target))

    [seen] = api.requests(call_sid)
    assert seen.twiml is not None
    sip = ET.fromstring(seen.twiml).find("./Dial/Sip")
    assert sip is not None and sip.text == target


async def test_wrong_token_is_unauthorized_and_not_retried(
    api: FakeTwilioApi, call_sid: str
) -> None:
    async with TwilioRestClient(base_url=api.base_url, auth_token="wrong", retries=2) as client:
        error = await failure(client, call_sid)

    assert (error.reason, error.status, error.twilio_code) == ("unauthorized", 401, 20003)
    [seen] = api.requests(call_sid)
    assert not seen.auth_ok


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (CALL_NOT_FOUND, "call_not_found"),
        (NOT_IN_PROGRESS, "call_not_in_progress"),
        (INVALID_PARAMETER, "rejected"),
        (FORBIDDEN, "rejected"),
        (Reply(400, 21220 + 1, "Some other 400"), "rejected"),
    ],
)
async def test_refusals_map_to_their_reason_after_one_request(
    api: FakeTwilioApi, client: TwilioRestClient, call_sid: str, reply: Reply, reason: str
) -> None:
    api.script(reply, call_sid=call_sid)

    error = await failure(client, call_sid)

    assert (error.reason, error.status, error.twilio_code) == (reason, reply.status, reply.code)
    assert len(api.requests(call_sid)) == 1


@pytest.mark.parametrize("first", [SERVER_ERROR, UNAVAILABLE, RESET, too_many_requests("0")])
async def test_transient_failure_then_success_is_retried_once(
    api: FakeTwilioApi, client: TwilioRestClient, call_sid: str, first: Reply
) -> None:
    api.script(first, OK, call_sid=call_sid)

    await client.redirect(account_sid=ACCOUNT, call_sid=call_sid, twiml=dial_twiml(NUMBER))

    assert len(api.requests(call_sid)) == 2


@pytest.mark.parametrize("retries", [0, 1, 2])
async def test_server_error_always_gives_up_after_retries(
    api: FakeTwilioApi, call_sid: str, retries: int
) -> None:
    api.script(SERVER_ERROR, call_sid=call_sid)
    async with TwilioRestClient(
        base_url=api.base_url, auth_token=TOKEN, timeout_s=1.0, retries=retries
    ) as client:
        error = await failure(client, call_sid)

    assert (error.reason, error.status) == ("twilio_unavailable", 500)
    assert len(api.requests(call_sid)) == retries + 1


async def test_retry_after_is_waited_for(
    api: FakeTwilioApi, client: TwilioRestClient, call_sid: str
) -> None:
    api.script(too_many_requests("1"), OK, call_sid=call_sid)

    await client.redirect(account_sid=ACCOUNT, call_sid=call_sid, twiml=dial_twiml(NUMBER))

    first, second = api.requests(call_sid)
    assert second.at - first.at >= 0.95


async def test_too_long_retry_after_fails_at_once(
    api: FakeTwilioApi, client: TwilioRestClient, call_sid: str
) -> None:
    api.script(too_many_requests("30"), call_sid=call_sid)
    started = time.monotonic()

    error = await failure(client, call_sid)

    assert (error.reason, error.status) == ("twilio_unavailable", 429)
    assert time.monotonic() - started < 0.5
    assert len(api.requests(call_sid)) == 1


@pytest.mark.parametrize(
    ("reply", "attempts_timed"),
    [
        (HANG, 1),  # no answer: the first read times out, and a redirect may be in flight
        # Bytes keep coming, so no per-read timeout fires: only the overall deadline ends it.
        (TRICKLE, 2),
    ],
    ids=["hanging", "trickling"],
)
async def test_a_slow_twilio_times_out_without_a_repeat(
    api: FakeTwilioApi, call_sid: str, reply: Reply, attempts_timed: int
) -> None:
    api.script(reply, call_sid=call_sid)
    timeout_s, retries = 0.5, 1
    async with TwilioRestClient(
        base_url=api.base_url, auth_token=TOKEN, timeout_s=timeout_s, retries=retries
    ) as client:
        started = time.monotonic()
        error = await failure(client, call_sid)
        elapsed = time.monotonic() - started

    assert error.reason == "timeout"
    assert timeout_s * attempts_timed * 0.9 <= elapsed <= timeout_s * (retries + 1) + 1
    assert len(api.requests(call_sid)) == 1  # an unanswered redirect is never sent twice


async def test_a_retry_that_hangs_ends_in_timeout(api: FakeTwilioApi, call_sid: str) -> None:
    api.script(SERVER_ERROR, HANG, call_sid=call_sid)
    timeout_s, retries = 0.5, 3
    async with TwilioRestClient(
        base_url=api.base_url, auth_token=TOKEN, timeout_s=timeout_s, retries=retries
    ) as client:
        started = time.monotonic()
        error = await failure(client, call_sid)
        elapsed = time.monotonic() - started

    assert error.reason == "timeout"
    assert elapsed <= timeout_s * (retries + 1) + 1
    assert len(api.requests(call_sid)) == 2


async def test_endless_error_body_is_read_only_to_the_cap(
    api: FakeTwilioApi, client: TwilioRestClient, call_sid: str
) -> None:
    api.script(FLOOD, call_sid=call_sid)
    started = time.monotonic()

    error = await failure(client, call_sid)

    # A client reading the whole body would run into its 1 s timeout instead.
    assert (error.reason, error.status) == ("rejected", 400)
    assert time.monotonic() - started < 0.5


async def test_connection_refused_is_twilio_unavailable() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    async with TwilioRestClient(base_url=closed, auth_token=TOKEN, retries=2) as client:
        started = time.monotonic()
        error = await failure(client, "CA" + uuid.uuid4().hex)

    assert error.reason == "twilio_unavailable"
    assert isinstance(error.__cause__, httpx.ConnectError)
    assert time.monotonic() - started < 3 * 1.0 + 1  # two bounded backoffs, no long waits


@pytest.mark.parametrize(
    ("account_sid", "call_sid"),
    [
        ("AC123", "CA" + "a" * 32),
        (ACCOUNT, "CA" + "a" * 31),
        (ACCOUNT, "CA" + "g" * 32),
        (ACCOUNT, "CA" + "a" * 32 + "\n"),
        (ACCOUNT, "CA" + "a" * 30 + "/.."),
        ("AC" + "a" * 30 + "/..", "CA" + "a" * 32),
        (ACCOUNT, "ca" + "a" * 32),
        (ACCOUNT, quote("CA" + "a" * 31 + "?")),
    ],
)
async def test_malformed_sids_raise_before_any_request(
    api: FakeTwilioApi, client: TwilioRestClient, account_sid: str, call_sid: str
) -> None:
    before = len(api.requests())
    with pytest.raises(ValueError):
        await client.redirect(account_sid=account_sid, call_sid=call_sid, twiml=dial_twiml(NUMBER))
    assert len(api.requests()) == before


async def test_oversized_twiml_raises_before_any_request(
    api: FakeTwilioApi, client: TwilioRestClient, call_sid: str
) -> None:
    twiml = "<Response><Say>" + "a" * 4_000 + "</Say></Response>"
    with pytest.raises(ValueError):
        await client.redirect(account_sid=ACCOUNT, call_sid=call_sid, twiml=twiml)
    assert api.requests(call_sid) == []


async def test_twiml_twilio_cannot_parse_is_rejected(
    api: FakeTwilioApi, client: TwilioRestClient, call_sid: str
) -> None:
    with pytest.raises(TransferFailed) as raised:
        await client.redirect(account_sid=ACCOUNT, call_sid=call_sid, twiml="<Response><Dial>")
    assert (raised.value.reason, raised.value.twilio_code) == ("rejected", 12100)
    assert len(api.requests(call_sid)) == 1


async def test_logs_hold_neither_token_nor_target(
    api: FakeTwilioApi, client: TwilioRestClient, call_sid: str, caplog: pytest.LogCaptureFixture
) -> None:
    api.script(SERVER_ERROR, NOT_IN_PROGRESS, call_sid=call_sid)
    caplog.set_level(logging.DEBUG)

    error = await failure(client, call_sid)

    assert error.reason == "call_not_in_progress"
    mine = [r for r in caplog.records if r.name.endswith("twilio_rest")]
    assert [r.getMessage() for r in mine] == ["call redirect retrying", "call redirect failed"]
    assert mine[-1].__dict__["reason"] == "call_not_in_progress"
    assert mine[-1].__dict__["http_status"] == 400
    everything = " ".join(str(r.__dict__) for r in caplog.records)
    assert TOKEN not in everything
    assert NUMBER not in everything and NUMBER[1:] not in everything


async def test_given_http_client_is_left_open(api: FakeTwilioApi, call_sid: str) -> None:
    async with httpx.AsyncClient() as http:
        client = TwilioRestClient(base_url=api.base_url, auth_token=TOKEN, http=http)
        await client.aclose()
        assert not http.is_closed
        await client.redirect(account_sid=ACCOUNT, call_sid=call_sid, twiml=dial_twiml(NUMBER))
    assert len(api.requests(call_sid)) == 1


def test_dial_twiml_for_a_number() -> None:
    root = ET.fromstring(dial_twiml(NUMBER, timeout_s=20))
    [dial] = list(root)
    assert root.tag == "Response"
    assert (dial.tag, dial.text, dial.get("timeout")) == ("Dial", NUMBER, "20")


def test_dial_twiml_for_sip_with_a_greeting_first() -> None:
    target = "sip:agent-7@10.0.0.5:5061;transport=tls?X-Team=billing&X-Tier=2"
    root = ET.fromstring(dial_twiml(target, say="Transferring you <now> & then"))
    say, dial = list(root)
    assert (say.tag, say.text) == ("Say", "Transferring you <now> & then")
    assert [(c.tag, c.text) for c in dial] == [("Sip", target)]
    assert dial.text is None  # the address is in <Sip>, not dialled as a number


@pytest.mark.parametrize(
    "target",
    [
        "+1555<Hangup/>",
        "+15550142387<Hangup/>",
        "+15550142387\n",
        '+15550142387"',
        "15550142387",
        "+05550142387",
        "+155501",  # six digits: too short for E.164 here
        "+1" + "5" * 15,
        "tel:+15550142387",
        "sip:",
        "sip:pbx.example.com",
        "sip:desk@pbx.example.com<Hangup/>",
        "sip:desk@pbx.example.com]]><Hangup/>",
        "sip:de sk@pbx.example.com",
        "SIP:desk@pbx.example.com",
        "sip:desk@" + "a" * 300 + ".com",
        "",
    ],
)
def test_bad_dial_targets_are_refused(target: str) -> None:
    assert not valid_dial_target(target)
    with pytest.raises(ValueError) as raised:
        dial_twiml(target)
    assert str(raised.value) == "dial target must be an E.164 number or a sip: URI"  # no echo


def test_valid_dial_targets() -> None:
    assert valid_dial_target("+4930901820")
    assert valid_dial_target("+123456789012345")
    assert valid_dial_target("sip:desk@pbx.example.com")


@pytest.mark.parametrize("timeout_s", [0, 4, 601])
def test_dial_timeout_outside_twilio_range_is_refused(timeout_s: int) -> None:
    with pytest.raises(ValueError):
        dial_twiml(NUMBER, timeout_s=timeout_s)


def test_say_with_markup_stays_text_and_control_characters_are_refused() -> None:
    root = ET.fromstring(dial_twiml(NUMBER, say="</Say><Hangup/><Say>"))
    assert [c.tag for c in root] == ["Say", "Dial"]
    with pytest.raises(ValueError):
        dial_twiml(NUMBER, say="hello\x00")
    with pytest.raises(ValueError):
        dial_twiml(NUMBER, say="a" * 4_000)
