"""Calling a gateway's Twilio line from tests, as Twilio would: the signed ``/twilio/voice``
webhook, the ``<Stream>`` its TwiML answers, and the call-events that tell a phone call's
``call_id`` by its Twilio call SID."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from shared.settings import KafkaSettings
from tests.support.processes import ServiceProcess
from tests.support.tools import Tail
from tests.support.twilio_phone import SimulatedTwilioCall, sign

TOKEN = "e2e-twilio-auth-token-0123456789"
NUMBER = "+18005550100"  # demo-retail's number in config/lines
CALLER = "+14155550123"
ACCOUNT = "AC" + "a" * 32


def webhook(
    gateway: ServiceProcess, params: dict[str, str], *, token: str = TOKEN, signed: bool = True
) -> tuple[int, str]:
    """POST /twilio/voice as Twilio does: form body, signed over the public URL."""
    url = f"http://127.0.0.1:{gateway.port}/twilio/voice"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signed:
        headers["X-Twilio-Signature"] = sign(url, params, token)
    body = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def incoming(call_sid: str, *, to: str = NUMBER) -> dict[str, str]:
    """The form fields of an inbound call's webhook."""
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT,
        "From": CALLER,
        "To": to,
        "CallStatus": "ringing",
        "Direction": "inbound",
    }


def stream_of(twiml: str) -> tuple[str, dict[str, str]]:
    """The ``<Stream>`` URL and its parameters."""
    stream = ET.fromstring(twiml).find("./Connect/Stream")
    assert stream is not None, twiml
    return str(stream.get("url")), {
        str(p.get("name")): str(p.get("value")) for p in stream.findall("Parameter")
    }


def answered(
    gateway: ServiceProcess, call_sid: str, to: str = NUMBER
) -> tuple[str, dict[str, str]]:
    """Ring the line; the stream URL and parameters the gateway answered with."""
    status, twiml = webhook(gateway, incoming(call_sid, to=to))
    assert status == 200, twiml
    return stream_of(twiml)


def events_of(tail: Tail, call_id: str, event_type: str) -> list[dict[str, Any]]:
    return [e.payload for e in tail.envelopes() if e.call_id == call_id and e.type == event_type]


def call_ids(tail: Tail, call_sid: str) -> list[str]:
    """The calls started for a Twilio call SID (one, unless a stream was opened twice)."""
    return [
        e.call_id
        for e in tail.envelopes()
        if e.type == "call.started" and e.payload["attributes"].get("twilio_call_sid") == call_sid
    ]


@asynccontextmanager
async def on_the_phone(
    gateway: ServiceProcess, kafka: KafkaSettings, call_sid: str
) -> AsyncIterator[tuple[Tail, SimulatedTwilioCall, str]]:
    """An answered call to the demo number, streaming, with the call-events topic tailed."""
    url, parameters = answered(gateway, call_sid)
    topic = kafka.topic("cc.call-events.v1")
    async with (
        Tail(kafka.bootstrap_servers, topic).running() as tail,
        SimulatedTwilioCall.connect(
            url, custom_parameters=parameters, call_sid=call_sid, account_sid=ACCOUNT
        ) as phone,
    ):
        await tail.wait_for(lambda: call_ids(tail, call_sid), 20)
        yield tail, phone, call_ids(tail, call_sid)[0]
