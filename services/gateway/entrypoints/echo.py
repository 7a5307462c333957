"""Bench-only voice: caller audio comes straight back as reply audio (``GATEWAY_VOICE=echo``).

It replaces the models with no-op processors so a benchmark measures what the gateway itself
costs per session: socket, JSON, base64, codecs and the send queue. Never use it for callers.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from services.gateway.domain.actions import Action, Speak
from services.gateway.domain.session import VoiceSession
from shared.audio.codecs import WIRE_FORMATS

ECHO_REPLY_ID = "reply_echo"


class EchoChannel:
    def __init__(
        self,
        *,
        session: Callable[[], VoiceSession],
        perform: Callable[[Sequence[Action]], None],
        send: Callable[[dict[str, Any]], None],
    ) -> None:
        self._session = session
        self._perform = perform
        self._send = send
        config = session().config
        self._input = WIRE_FORMATS[config["input"]["format"]["encoding"]]
        self._output = WIRE_FORMATS[config["output"]["format"]["encoding"]]

    def hear(self, audio: bytes) -> None:
        # Decode and re-encode like the real pipeline's ends, without the models in between.
        pcm = self._input.decode(audio)
        data = base64.b64encode(self._output.encode(pcm)).decode()
        self._send({"type": "reply.audio", "data": data, "reply_id": ECHO_REPLY_ID})

    def speak(self, action: Speak) -> None:
        self._perform(
            self._session().finish_reply(
                action.reply_id, action.item_id, action.text, interrupted=False, played_ms=0
            )
        )

    async def close(self) -> None:
        return None
