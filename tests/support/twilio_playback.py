"""Sans-I/O state of a simulated Twilio call: what plays to the caller, what they say, the log.

- ``Playback``: Twilio's buffer for the audio a server sends, against a clock the caller passes
  in. Audio plays at 8 bytes per millisecond; a mark is reached when all audio queued before it
  has played; ``clear`` drops unplayed audio and releases every pending mark at once.
- ``CallerSpeech``: the caller's queued audio, cut into 160-byte (20 ms) frames, padded with
  mu-law silence.
- ``CallRecord``: what the call saw: frames received, audio played, marks echoed, clears.

Bounds: the playback buffer holds at most ``cap_bytes`` of unplayed audio (the excess of a
chunk that does not fit is dropped and counted in ``dropped_bytes``) and at most ``max_marks``
pending marks (later ones are dropped, never echoed, and counted in ``dropped_marks``). Caller
speech holds at most ``cap_bytes``; ``queue`` refuses more with OverflowError. The record keeps
at most ``max_frames`` frames and ``max_played_bytes`` of played audio; past either, it counts
what it did not keep (``unrecorded_frames``, ``unrecorded_played_bytes``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from tests.support.twilio_protocol import BYTES_PER_S, FRAME_BYTES, SILENCE

Token = TypeVar("Token")


@dataclass(frozen=True)
class Played:
    """Audio that finished playing; ``at`` is when its first byte started (clock time)."""

    at: float
    audio: bytes


@dataclass(frozen=True)
class Reached:
    """A mark whose preceding audio has all played (or was dropped by a clear)."""

    name: str
    by_clear: bool


class Playback:
    """Twilio's playback buffer for the audio a server sends, driven by the caller's clock.

    Between the moment audio arrives at an idle buffer (the anchor) and the moment the buffer
    runs dry, ``BYTES_PER_S`` bytes play each second; the byte count follows the clock, so late
    calls to ``advance`` never slow playback down.
    """

    def __init__(self, *, cap_bytes: int, max_marks: int) -> None:
        self._cap_bytes = cap_bytes
        self._max_marks = max_marks
        self._items: deque[bytearray | str] = deque()  # audio not yet played, and mark names
        self._buffered = 0
        self._marks = 0
        self._anchor_at = 0.0
        self._played_since_anchor = 0
        self.dropped_bytes = 0
        self.dropped_marks = 0

    @property
    def buffered_bytes(self) -> int:
        return self._buffered

    def push_audio(self, audio: bytes, now: float) -> list[Played | Reached]:
        """Queue ``audio`` behind what is buffered; returns what played up to ``now``."""
        out = self.advance(now)
        if not self._items:
            self._anchor_at, self._played_since_anchor = now, 0
        room = self._cap_bytes - self._buffered
        if len(audio) > room:
            self.dropped_bytes += len(audio) - room
            audio = audio[:room]
        if audio:
            self._items.append(bytearray(audio))
            self._buffered += len(audio)
        return out

    def push_mark(self, name: str, now: float) -> list[Played | Reached]:
        """Queue a mark; it is in the result at once when nothing is left to play."""
        out = self.advance(now)
        if self._marks >= self._max_marks:
            self.dropped_marks += 1
            return out
        self._items.append(name)
        self._marks += 1
        return out + self.advance(now)

    def clear(self, now: float) -> list[Played | Reached]:
        """Play what is due, drop the rest, and release every pending mark."""
        out = self.advance(now)
        while self._items:
            item = self._items.popleft()
            if isinstance(item, str):
                out.append(Reached(item, by_clear=True))
        self._buffered = self._marks = 0
        return out

    def advance(self, now: float) -> list[Played | Reached]:
        """Everything that played, and every mark reached, up to ``now``, in order."""
        out: list[Played | Reached] = []
        # The epsilon keeps float error from holding back a byte that is due exactly now.
        elapsed = (now - self._anchor_at) * BYTES_PER_S + 1e-6
        due = int(elapsed) - self._played_since_anchor
        while self._items:
            head = self._items[0]
            if isinstance(head, str):
                self._items.popleft()
                self._marks -= 1
                out.append(Reached(head, by_clear=False))
                continue
            if due <= 0:
                break
            take = min(len(head), due)
            started = self._anchor_at + self._played_since_anchor / BYTES_PER_S
            out.append(Played(started, bytes(head[:take])))
            del head[:take]
            if not head:
                self._items.popleft()
            self._played_since_anchor += take
            self._buffered -= take
            due -= take
        return out

    def next_mark_due(self) -> float | None:
        """When the first pending mark will be reached (clock time), or None if none is."""
        ahead = 0
        for item in self._items:
            if isinstance(item, str):
                return self._anchor_at + (self._played_since_anchor + ahead) / BYTES_PER_S
            ahead += len(item)
        return None


class CallerSpeech(Generic[Token]):
    """Utterances waiting to be sent, each with a token handed back once its last byte is out."""

    def __init__(self, *, cap_bytes: int) -> None:
        self._cap_bytes = cap_bytes
        self._queue: deque[tuple[memoryview, Token]] = deque()
        self._bytes = 0

    def queue(self, audio: bytes, token: Token) -> None:
        """Queue ``audio`` (8 kHz mu-law) behind what is already waiting."""
        if self._bytes + len(audio) > self._cap_bytes:
            raise OverflowError("more caller speech queued than the bound allows")
        self._queue.append((memoryview(audio), token))
        self._bytes += len(audio)

    def withdraw(self, token: Token) -> None:
        """Drop whatever of that utterance has not been sent yet."""
        for item in [item for item in self._queue if item[1] is token]:
            self._queue.remove(item)
            self._bytes -= len(item[0])

    def next_frame(self) -> tuple[bytes, list[Token]]:
        """The next 20 ms frame, and the tokens of the utterances it finishes."""
        frame = bytearray()
        finished = []
        while self._queue and len(frame) < FRAME_BYTES:
            audio, token = self._queue[0]
            take = min(FRAME_BYTES - len(frame), len(audio))
            frame += audio[:take]
            self._bytes -= take
            if take == len(audio):
                self._queue.popleft()
                finished.append(token)
            else:
                self._queue[0] = (audio[take:], token)
        frame += bytes([SILENCE]) * (FRAME_BYTES - len(frame))
        return bytes(frame), finished

    def drain(self) -> list[Token]:
        """Empty the queue; returns the tokens of utterances that never finished."""
        tokens = [token for _, token in self._queue]
        self._queue.clear()
        self._bytes = 0
        return tokens


@dataclass(frozen=True)
class Frame:
    """A message received from the server, with its monotonic arrival time."""

    at: float
    message: dict[str, Any]


@dataclass(frozen=True)
class EchoedMark:
    """A mark sent back to the server: when, and whether a clear released it."""

    name: str
    at: float
    by_clear: bool


@dataclass
class CallRecord:
    """Everything the caller's side saw, in order, within its bounds."""

    max_frames: int = 100_000
    max_played_bytes: int = 30 * 60 * BYTES_PER_S
    frames: list[Frame] = field(default_factory=list)
    played: list[Played] = field(default_factory=list)
    marks: list[EchoedMark] = field(default_factory=list)
    clears: list[float] = field(default_factory=list)
    ignored_frames: int = 0  # frames Twilio would not act on (not kept)
    unrecorded_frames: int = 0
    unrecorded_played_bytes: int = 0
    played_bytes: int = 0

    def frame(self, at: float, message: dict[str, Any]) -> None:
        if len(self.frames) < self.max_frames:
            self.frames.append(Frame(at, message))
        else:
            self.unrecorded_frames += 1

    def play(self, played: Played) -> None:
        if self.played_bytes + len(played.audio) <= self.max_played_bytes:
            self.played.append(played)
            self.played_bytes += len(played.audio)
        else:
            self.unrecorded_played_bytes += len(played.audio)

    def received(self, event: str) -> list[dict[str, Any]]:
        """Every recorded message of this ``event``, in arrival order."""
        return [f.message for f in self.frames if f.message.get("event") == event]

    def played_audio(self) -> bytes:
        """The mu-law audio that has played to the caller so far."""
        return b"".join(p.audio for p in self.played)
