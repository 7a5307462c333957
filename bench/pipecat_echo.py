"""Pipecat 1.14's FastAPI WebSocket transport running an echo pipeline (benchmark peer only).

Runs in its own virtualenv (``make bench`` creates ``.switchboard/bench/pipecat-venv``): it is
not a Switchboard dependency. A small serializer speaks the same JSON as the Voice Agent API
(``input.audio`` in, ``reply.audio`` out) so one load client drives both servers. Pipecat's
defaults are kept, except 20 ms output chunks so that each echoed frame maps to one sent frame.
"""

from __future__ import annotations

import base64
import json
import sys

import uvicorn
from fastapi import FastAPI, WebSocket
from pipecat.frames.frames import Frame, InputAudioRawFrame, OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)

RATE = 24_000


class VoiceAgentJson(FrameSerializer):
    async def serialize(self, frame: Frame) -> str | bytes | None:
        if isinstance(frame, OutputAudioRawFrame):
            data = base64.b64encode(frame.audio).decode()
            return json.dumps({"type": "reply.audio", "data": data, "reply_id": "reply_echo"})
        return None

    async def deserialize(self, data: str | bytes) -> Frame | None:
        message = json.loads(data)
        if message.get("type") != "input.audio":
            return None
        audio = base64.b64decode(message["audio"])
        return InputAudioRawFrame(audio=audio, sample_rate=RATE, num_channels=1)


class Echo(FrameProcessor):
    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            await self.push_frame(
                OutputAudioRawFrame(audio=frame.audio, sample_rate=RATE, num_channels=1)
            )
        else:
            await self.push_frame(frame, direction)


app = FastAPI()


@app.websocket("/v1/ws")
async def voice(websocket: WebSocket) -> None:
    await websocket.accept()
    transport = FastAPIWebsocketTransport(
        websocket=websocket,
        params=FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=RATE,
            audio_out_sample_rate=RATE,
            audio_out_10ms_chunks=2,
            serializer=VoiceAgentJson(),
        ),
    )
    pipeline = Pipeline([transport.input(), Echo(), transport.output()])
    task = PipelineTask(pipeline, params=PipelineParams(audio_in_sample_rate=RATE))
    await PipelineRunner(handle_sigint=False).run(task)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
