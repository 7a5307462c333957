"""How many concurrent phone calls one gateway process holds (part of ``python -m bench.echo``).

The same judge as the Voice Agent API figure (echo latency p99 < 20 ms, >= 99 % of frames back),
driven the way Twilio drives ``/twilio/media``: each call is answered by a signed ``POST
/twilio/voice``, streams with the TwiML's per-call secret, and sends a 160-byte mu-law ``media``
frame every 20 ms. The gateway (``GATEWAY_VOICE=echo``) sends each frame back as ``media``
followed by a ``mark``, which the load client echoes at once as Twilio would once played. A
frame's session and sequence ride in its first bytes, in base-127 digits (mu-law's only byte
that does not survive decode and re-encode is 0x7F).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import xml.etree.ElementTree as ET

import httpx
import websockets
from twilio.request_validator import RequestValidator

from bench.echo import Opened, Stats, capacity
from tests.support.processes import ServiceProcess

PHONE_TOKEN = "bench-twilio-auth-token"
ACCOUNT = "AC" + "b" * 32
NUMBER = "+18005550100"  # the demo line's
FRAME_BYTES = 160  # 20 ms of mu-law 8 kHz
HEADER = 9  # session (4 digits) + sequence (5 digits), base 127
SILENCE = b"\xff" * (FRAME_BYTES - HEADER)


def _digits(value: int, count: int) -> bytes:
    out = []
    for _ in range(count):
        value, digit = divmod(value, 127)
        out.append(digit)
    return bytes(out)


def _value(data: bytes) -> int:
    return sum(digit * 127**i for i, digit in enumerate(data))


def media_frame(stream_sid: str, session: int, seq: int) -> str:
    payload = base64.b64encode(_digits(session, 4) + _digits(seq, 5) + SILENCE).decode()
    media = {"track": "inbound", "chunk": str(seq + 1), "timestamp": str(seq * 20)}
    return json.dumps(
        {
            "event": "media",
            "sequenceNumber": str(seq + 2),
            "streamSid": stream_sid,
            "media": {**media, "payload": payload},
        }
    )


class PhoneLoad:
    """Opens simulated phone calls against one gateway."""

    def __init__(self, gateway: ServiceProcess) -> None:
        self.http_url = f"http://127.0.0.1:{gateway.port}"
        self.streams: dict[int, str] = {}
        self._signer = RequestValidator(PHONE_TOKEN)

    async def answer(self, http: httpx.AsyncClient, call_sid: str) -> tuple[str, dict[str, str]]:
        url = f"{self.http_url}/twilio/voice"
        params = {"CallSid": call_sid, "AccountSid": ACCOUNT, "From": "+14155550100", "To": NUMBER}
        signature = self._signer.compute_signature(url, params)
        response = await http.post(url, data=params, headers={"X-Twilio-Signature": signature})
        response.raise_for_status()
        stream = ET.fromstring(response.text).find("./Connect/Stream")
        assert stream is not None, response.text
        parameters = {str(p.get("name")): str(p.get("value")) for p in stream.findall("Parameter")}
        return str(stream.get("url")), parameters

    async def open(self, index: int, stats: Stats, measuring: list[bool]) -> Opened:
        call_sid = "CA" + secrets.token_hex(16)
        stream_sid = "MZ" + secrets.token_hex(16)
        async with httpx.AsyncClient(timeout=10) as http:
            url, parameters = await self.answer(http, call_sid)
        ws = await websockets.connect(url)
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        start = {
            "streamSid": stream_sid,
            "accountSid": ACCOUNT,
            "callSid": call_sid,
            "tracks": ["inbound"],
            "customParameters": parameters,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        }
        await ws.send(json.dumps({"event": "start", "sequenceNumber": "1", "start": start}))
        self.streams[index] = stream_sid

        async def read() -> None:
            async for raw in ws:
                head = raw[:30]
                if '"media"' in head:
                    data = base64.b64decode(json.loads(raw)["media"]["payload"])
                    stats.returned(_value(data[:4]), _value(data[4:HEADER]), measuring)
                elif '"mark"' in head:
                    mark = json.loads(raw)["mark"]
                    await ws.send(
                        json.dumps({"event": "mark", "streamSid": stream_sid, "mark": mark})
                    )

        return ws, asyncio.create_task(read())

    def frame(self, index: int, seq: int) -> str:
        return media_frame(self.streams[index], index, seq)


async def phone_capacity(gateway: ServiceProcess) -> int:
    load = PhoneLoad(gateway)
    label = "Switchboard gateway, phone calls (Twilio Media Streams, mu-law 8 kHz)"
    return await capacity(label, load.open, load.frame)
