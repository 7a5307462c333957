"""Twilio Media Streams frames, the outbound wire, marks and TwiML (sans I/O)."""

from __future__ import annotations

import asyncio
import base64
import json
import xml.etree.ElementTree as ET

import pytest
from starlette.datastructures import FormData

from services.gateway.domain.twilio import (
    Dtmf,
    Mark,
    Media,
    Start,
    Stop,
    TwilioFrameError,
    TwilioWire,
    line_for_number,
    parse_frame,
    parse_mark,
    refusal_twiml,
    stream_twiml,
    valid_caller,
)
from services.gateway.entrypoints.twilio_media import MarkPlayout
from services.gateway.entrypoints.twilio_webhook import signature_valid
from shared.lines import load_lines

STREAM = "MZ" + "1" * 32
ACCOUNT = "AC" + "2" * 32
CALL = "CA" + "3" * 32


def frame(**body: object) -> str:
    return json.dumps(body)


def start_frame(**overrides: object) -> str:
    start = {
        "streamSid": STREAM,
        "accountSid": ACCOUNT,
        "callSid": CALL,
        "tracks": ["inbound"],
        "customParameters": {"secret": "s3cret", "line": "demo-retail"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        **overrides,
    }
    return frame(event="start", sequenceNumber="1", start=start, streamSid=STREAM)


def test_start_gives_the_ids_and_the_custom_parameters() -> None:
    event = parse_frame(start_frame(), max_bytes=10_000)
    assert event == Start(STREAM, ACCOUNT, CALL, {"secret": "s3cret", "line": "demo-retail"})


def test_media_dtmf_mark_and_stop_parse_as_documented() -> None:
    audio = bytes(range(160))
    media = {"track": "inbound", "chunk": "2", "timestamp": "40"}
    media["payload"] = base64.b64encode(audio).decode()
    assert parse_frame(frame(event="media", streamSid=STREAM, media=media), max_bytes=10_000) == (
        Media(audio)
    )
    dtmf = frame(event="dtmf", streamSid=STREAM, dtmf={"track": "inbound_track", "digit": "0"})
    assert parse_frame(dtmf, max_bytes=1000) == Dtmf("0")
    mark = frame(event="mark", streamSid=STREAM, mark={"name": "reply_a:400"})
    assert parse_frame(mark, max_bytes=1000) == Mark("reply_a:400")
    stop = frame(event="stop", streamSid=STREAM, stop={"accountSid": ACCOUNT, "callSid": CALL})
    assert parse_frame(stop, max_bytes=1000) == Stop()


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (frame(event="nonsense"), "unknown event"),
        (frame(event="media", media="x"), "media must be an object"),
        (frame(event="media", media={"payload": "%%%"}), "not base64"),
        (frame(event="media", media={"track": "outbound", "payload": "AA=="}), "outbound"),
        (frame(event="dtmf", dtmf={"digit": "x"}), "not a DTMF digit"),
        (frame(event="dtmf", dtmf={"digit": "12"}), "at most 1"),
        (start_frame(callSid="CA123"), "malformed ids"),
        (start_frame(mediaFormat={"encoding": "audio/l16"}), "other than mu-law"),
        (start_frame(customParameters=["x"]), "customParameters"),
        ("x" * 2000, "too large"),
    ],
)
def test_malformed_frames_are_refused_with_a_reason(raw: str, why: str) -> None:
    with pytest.raises(TwilioFrameError, match=why):
        parse_frame(raw, max_bytes=1000)


def test_reply_audio_becomes_media_then_a_mark_of_the_ms_sent_so_far() -> None:
    wire = TwilioWire(STREAM)
    chunk = base64.b64encode(b"\xff" * 400).decode()  # 50 ms of mu-law
    first = wire.outbound({"type": "reply.audio", "data": chunk, "reply_id": "reply_a"})
    second = wire.outbound({"type": "reply.audio", "data": chunk, "reply_id": "reply_a"})
    assert first == [
        {"event": "media", "streamSid": STREAM, "media": {"payload": chunk}},
        {"event": "mark", "streamSid": STREAM, "mark": {"name": "reply_a:50"}},
    ]
    assert second[0]["media"]["payload"] == chunk  # passed through, never transcoded
    assert second[1]["mark"]["name"] == "reply_a:100"


def test_an_interrupted_reply_clears_twilio_and_other_frames_are_not_sent() -> None:
    wire = TwilioWire(STREAM)
    wire.outbound({"type": "reply.audio", "data": "//8=", "reply_id": "reply_a"})
    done = {"type": "reply.done", "status": "interrupted", "reply_id": "reply_a"}
    assert wire.outbound(done) == [{"event": "clear", "streamSid": STREAM}]
    assert wire.outbound({"type": "reply.done", "status": "completed", "reply_id": "r"}) == []
    assert wire.outbound({"type": "transcript.user", "text": "hi", "item_id": "i"}) == []
    # A reply id used again starts from zero (its count was dropped with reply.done).
    again = wire.outbound({"type": "reply.audio", "data": "/////w==", "reply_id": "reply_a"})
    assert again[1]["mark"]["name"] == "reply_a:0"


def test_mark_names_parse_back_and_foreign_names_are_ignored() -> None:
    assert parse_mark("reply_abc:1250") == ("reply_abc", 1250)
    assert parse_mark("somebody-else") is None
    assert parse_mark("reply:12x") is None


async def test_mark_playout_tracks_what_was_heard_and_waits_for_the_last_mark() -> None:
    playout = MarkPlayout(grace_s=2.0)
    playout.on_mark("reply_a:100")
    playout.on_mark("reply_a:50")  # out of order: the furthest point counts
    assert playout.heard_ms("reply_a") == 100
    waiting = asyncio.create_task(playout.played("reply_a", 300))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    playout.on_mark("reply_a:300")
    await asyncio.wait_for(waiting, 1.0)


async def test_mark_playout_gives_up_at_its_bound() -> None:
    playout = MarkPlayout(grace_s=0.1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await playout.played("reply_never", 500)
    assert 0.09 <= loop.time() - started < 1.0


def test_stream_twiml_connects_to_the_media_socket_with_the_secret() -> None:
    root = ET.fromstring(stream_twiml("wss://gw.example/twilio/media", "abc", line_id="demo"))
    stream = root.find("./Connect/Stream")
    assert stream is not None and stream.get("url") == "wss://gw.example/twilio/media"
    params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert params == {"secret": "abc", "line": "demo"}


def test_refusals_say_sorry_and_hang_up_or_reject_busy() -> None:
    root = ET.fromstring(refusal_twiml("Not in service."))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert ET.fromstring(refusal_twiml(None, busy=True)).find("Reject").get("reason") == "busy"  # type: ignore[union-attr]


def test_the_dialled_number_chooses_the_line() -> None:
    lines = load_lines()
    line = lines["demo-retail"]
    assert line.phone_numbers
    assert line_for_number(lines, line.phone_numbers[0]) is line
    assert line_for_number(lines, "+10000000000") is None


def test_a_caller_address_that_is_not_one_is_dropped() -> None:
    assert valid_caller("+14155550100") == "+14155550100"
    assert valid_caller("sip:alice@example.com") == "sip:alice@example.com"
    assert valid_caller("<script>") is None
    assert valid_caller("") is None


# Twilio's published example (its security docs and helper libraries' tests).
EXAMPLE_TOKEN = "12345"
EXAMPLE_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
EXAMPLE_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
EXAMPLE_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_twilios_published_example_signature_is_accepted() -> None:
    form = FormData(list(EXAMPLE_PARAMS.items()))
    assert signature_valid(EXAMPLE_TOKEN, EXAMPLE_URL, form, EXAMPLE_SIGNATURE)


@pytest.mark.parametrize(
    ("token", "url", "change", "signature"),
    [
        ("54321", EXAMPLE_URL, {}, EXAMPLE_SIGNATURE),  # another account's token
        (EXAMPLE_TOKEN, EXAMPLE_URL.replace("foo=1", "foo=2"), {}, EXAMPLE_SIGNATURE),
        (EXAMPLE_TOKEN, EXAMPLE_URL, {"From": "+10000000000"}, EXAMPLE_SIGNATURE),
        (EXAMPLE_TOKEN, EXAMPLE_URL, {}, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (EXAMPLE_TOKEN, EXAMPLE_URL, {}, ""),
        ("", EXAMPLE_URL, {}, EXAMPLE_SIGNATURE),
    ],
)
def test_a_changed_request_or_signature_is_refused(
    token: str, url: str, change: dict[str, str], signature: str
) -> None:
    form = FormData(list({**EXAMPLE_PARAMS, **change}.items()))
    assert not signature_valid(token, url, form, signature)
