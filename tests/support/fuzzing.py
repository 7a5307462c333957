"""Hypothesis strategies for client frames of the Voice Agent API and Twilio media streams.

Frames are valid ones, valid ones with one field mutated (wrong JSON type, huge string, invalid
base64, key removed or added), or junk (random text, JSON that is not an object, binary).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from hypothesis import strategies as st

from services.gateway.domain.protocol import CLIENT_TYPES

# Each test's example count is multiplied by this under HYPOTHESIS_PROFILE=deep.
DEEP_FACTOR = 20


def examples(count: int) -> int:
    """``count`` examples in CI; ``DEEP_FACTOR`` times as many for a deep run."""
    return count * DEEP_FACTOR if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else count


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
# Not base64: characters outside the alphabet, bad padding, whitespace, a lone char.
bad_base64 = st.one_of(
    st.sampled_from(["!!!!", "abc", "a", "====", "YWJj\n", "YW=Jj", "ÿÿÿÿ"]),
    st.text(min_size=1, max_size=64).filter(lambda s: any(c not in _B64 for c in s)),
)
_B64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def audio(size: int) -> str:
    return base64.b64encode(bytes(size)).decode()


def _valid_bodies(max_bytes: int) -> st.SearchStrategy[dict[str, Any]]:
    encodings = st.sampled_from(["audio/pcm", "audio/pcmu", "audio/pcma"])
    return st.one_of(
        st.builds(
            lambda prompt, enc, greeting: {
                "type": "session.update",
                "session": {
                    "system_prompt": prompt,
                    "greeting": greeting,
                    "input": {"format": {"encoding": enc}},
                },
            },
            st.text(max_size=60),
            encodings,
            st.none() | st.text(max_size=30),
        ),
        st.builds(
            lambda n: {"type": "input.audio", "audio": audio(n)},
            st.integers(0, max_bytes // 2),
        ),
        st.builds(lambda t: {"type": "input.text", "text": t}, st.text(max_size=80)),
        st.builds(
            lambda role, t: {"type": "conversation.message", "role": role, "content": t},
            st.sampled_from(["user", "system"]),
            st.text(max_size=80),
        ),
        st.builds(
            lambda cid, result: {"type": "tool.result", "call_id": cid, "result": result},
            st.text(max_size=20),
            json_values,
        ),
        st.sampled_from(
            [
                {"type": "reply.create"},
                {"type": "reply.cancel"},
                {"type": "session.resume", "session_id": "sess_" + "0" * 32},
            ]
        ),
    )


def _mutate(body: dict[str, Any], draw: st.DrawFn, max_bytes: int) -> dict[str, Any]:
    body = dict(body)
    keys = sorted(body)
    how = draw(st.sampled_from(["retype", "huge", "bad_b64", "drop", "add", "type"]))
    key = draw(st.sampled_from(keys))
    if how == "retype":
        body[key] = draw(json_values)
    elif how == "huge":  # just under, at and over the frame limit
        body[key] = "x" * (max_bytes + draw(st.integers(-64, 64)))
    elif how == "bad_b64":
        body["audio"] = draw(bad_base64)
    elif how == "drop":
        body.pop(key)
    elif how == "add":
        body[draw(st.text(max_size=12))] = draw(json_values)
    else:
        body["type"] = draw(
            st.sampled_from(sorted(CLIENT_TYPES)) | st.text(max_size=20) | json_values
        )
    return body


@st.composite
def client_frames(draw: st.DrawFn, max_bytes: int) -> str | bytes:
    """One client frame: valid, mutated, or junk text/binary."""
    kind = draw(st.sampled_from(["valid", "mutated", "mutated", "json", "text", "binary"]))
    if kind == "json":
        return json.dumps(draw(json_values))
    if kind == "text":
        return draw(st.text(max_size=200))
    if kind == "binary":
        return draw(st.binary(max_size=200))
    body = draw(_valid_bodies(max_bytes))
    if kind == "mutated":
        body = _mutate(body, draw, max_bytes)
    return json.dumps(body)


_STREAM = "MZ" + "0" * 32
_ACCOUNT = "AC" + "0" * 32
_CALL = "CA" + "0" * 32


@st.composite
def twilio_frames(draw: st.DrawFn, max_bytes: int) -> str | bytes:
    """One Twilio media-stream frame: valid, mutated, or junk."""
    valid = draw(
        st.sampled_from(
            [
                {"event": "connected", "protocol": "Call", "version": "1.0.0"},
                {
                    "event": "start",
                    "streamSid": _STREAM,
                    "start": {
                        "streamSid": _STREAM,
                        "accountSid": _ACCOUNT,
                        "callSid": _CALL,
                        "mediaFormat": {"encoding": "audio/x-mulaw"},
                        "customParameters": {"secret": "s"},
                    },
                },
                {"event": "media", "media": {"track": "inbound", "payload": audio(160)}},
                {"event": "dtmf", "dtmf": {"digit": "5"}},
                {"event": "mark", "mark": {"name": "r1:100"}},
                {"event": "stop", "stop": {}},
            ]
        )
    )
    kind = draw(st.sampled_from(["valid", "mutated", "nested", "json", "text", "binary"]))
    if kind == "json":
        return json.dumps(draw(json_values))
    if kind == "text":
        return draw(st.text(max_size=200))
    if kind == "binary":
        return draw(st.binary(max_size=200))
    if kind == "mutated":
        valid = _mutate(valid, draw, max_bytes)
    elif kind == "nested":  # mutate inside the event's own object
        name = valid["event"]
        if isinstance(valid.get(name), dict) and valid[name]:
            valid = {**valid, name: _mutate(valid[name], draw, max_bytes)}
    return json.dumps(valid)
