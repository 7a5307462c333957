"""A local stand-in for Twilio's call-update endpoint, for tests of the call transfer adapter.

A real HTTP/1.1 server (h11 over asyncio sockets, keep-alive as Twilio's API) on 127.0.0.1 and a
free port, in a background thread with its own event loop, so a hanging answer stalls only the
client under test. It serves ``POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json``:
checks basic auth (AccountSid, the configured token) as Twilio does, before anything else (401,
code 20003), then the form body (``Twiml`` present, at most 4,000 characters, parses as XML with a
``<Response>`` root; else 400), then answers what the test scripted for that call SID, else the
global script, else 200 with a call resource. Every request that reaches the end of its body is
recorded (``requests``), whatever the answer.

A script is a list of ``Reply``; each request takes the next one and the last one repeats, so
``script(SERVER_ERROR, OK)`` is "500 then 200" and ``script(SERVER_ERROR)`` is "500 always".

Bounds: request bodies up to 64 KiB (413 past it), headers up to 16 KiB (h11); an idle
connection is closed after 30 s; a ``HANG`` lasts until the fake stops or 60 s pass, then the
connection closes unanswered; ``FLOOD`` and ``TRICKLE`` bodies go on until the client leaves, the
fake stops or 60 s pass; ``stop()`` waits at most 5 s for the thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import socket
import struct
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import parse_qs

import h11

MAX_BODY_BYTES = 64 * 1024
MAX_TWIML_CHARS = 4_000
IDLE_TIMEOUT_S = 30.0
HANG_LIMIT_S = 60.0
_PATH = re.compile(r"/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Calls/(CA[0-9a-fA-F]{32})\.json")


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status with Twilio's error JSON, or a misbehaviour."""

    status: int = 200
    code: int | None = None
    message: str = ""
    retry_after: str | None = None
    hang: bool = False  # no answer at all; the connection closes when the fake stops
    reset: bool = False  # the connection is reset (RST) once the request has been read
    flood: bool = False  # the status, then 128 KiB of body at once and more without end
    trickle: bool = False  # the status, then one byte of body every 50 ms without end


OK = Reply()
UNAUTHORIZED = Reply(401, 20003, "Authenticate")
CALL_NOT_FOUND = Reply(404, 20404, "The requested resource was not found")
NOT_IN_PROGRESS = Reply(400, 21220, "Call is not in-progress. Cannot redirect.")
INVALID_PARAMETER = Reply(400, 21201, "Invalid parameter")
FORBIDDEN = Reply(403, 20403, "Forbidden")
SERVER_ERROR = Reply(500, 20500, "Internal Server Error")
UNAVAILABLE = Reply(503, 20503, "Service Unavailable")
HANG = Reply(hang=True)
RESET = Reply(reset=True)
FLOOD = Reply(400, flood=True)
TRICKLE = Reply(500, trickle=True)


def too_many_requests(retry_after: str | None = "1") -> Reply:
    return Reply(429, 20429, "Too Many Requests", retry_after=retry_after)


@dataclass(frozen=True)
class Seen:
    """One request the fake read in full."""

    method: str
    path: str
    account_sid: str
    call_sid: str
    auth_ok: bool
    content_type: str
    twiml: str | None
    at: float  # time.monotonic() when its body was read


class FakeTwilioApi:
    """Start with ``with FakeTwilioApi(auth_token=...) as api:`` (or ``start``/``stop``)."""

    def __init__(self, *, auth_token: str = "fake-auth-token") -> None:
        self.auth_token = auth_token
        self.port = 0
        self._lock = threading.Lock()
        self._scripts: dict[str | None, list[Reply]] = {}
        self._seen: list[Seen] = []
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply, call_sid: str | None = None) -> None:
        """Answers for ``call_sid`` (or, without one, for any call not scripted itself)."""
        with self._lock:
            self._scripts[call_sid] = list(replies)

    def requests(self, call_sid: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self._seen if call_sid is None or s.call_sid == call_sid]

    def start(self) -> FakeTwilioApi:
        self._thread = threading.Thread(target=self._run, name="fake-twilio-api", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or not self.port:
            raise RuntimeError("the fake Twilio API did not start")
        return self

    def stop(self) -> None:
        alive = self._thread is not None and self._thread.is_alive()
        if alive and self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTwilioApi:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        connections: set[asyncio.Task[None]] = set()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            connections.add(task)
            try:
                await self._connection(reader, writer)
            finally:
                connections.discard(task)

        server = await asyncio.start_server(accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopping.wait()
        server.close()
        for task in list(connections):
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=16 * 1024)
        try:
            while True:
                request = await _read_request(conn, reader)
                if request is None:
                    return
                head, body = request
                reply = self._answer(head, body)
                if reply is not None and reply.reset:
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                if reply is not None and reply.hang:
                    assert self._stopping is not None
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), HANG_LIMIT_S)
                    return
                await _send(conn, writer, reply or OK, head)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (h11.ProtocolError, ConnectionError, TimeoutError):
            return
        finally:
            writer.close()

    def _answer(self, head: h11.Request, body: bytes | None) -> Reply | None:
        """The reply for a request, after recording it; None means 200 with the call."""
        path = head.target.decode("latin-1")
        match = _PATH.fullmatch(path)
        account, call = match.groups() if match else ("", "")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in head.headers}
        auth_ok = bool(match) and headers.get("authorization") == _basic(account, self.auth_token)
        content_type = headers.get("content-type", "")
        twiml = None
        if body is not None and content_type.startswith("application/x-www-form-urlencoded"):
            twiml = parse_qs(body.decode("utf-8", "replace")).get("Twiml", [None])[0]
        seen = Seen(head.method.decode(), path, account, call, auth_ok, content_type, twiml,
                    time.monotonic())  # fmt: skip
        with self._lock:
            self._seen.append(seen)
        if not match or head.method != b"POST":
            return CALL_NOT_FOUND
        if not auth_ok:
            return UNAUTHORIZED
        if body is None:
            return Reply(413, 21617, "Request body too large")
        problem = _twiml_problem(twiml)
        if problem is not None:
            return problem
        with self._lock:
            script = self._scripts.get(call) or self._scripts.get(None)
            if not script:
                return None
            return script.pop(0) if len(script) > 1 else script[0]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _twiml_problem(twiml: str | None) -> Reply | None:
    if not twiml:
        return Reply(400, 21201, "No 'Twiml' provided")
    if len(twiml) > MAX_TWIML_CHARS:
        return Reply(400, 32018, "Twiml size exceeded maximum allowed value of 4000 characters")
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError:
        return Reply(400, 12100, "Document parse failure")
    return None if root.tag == "Response" else Reply(400, 12100, "Document parse failure")


async def _read_request(
    conn: h11.Connection, reader: asyncio.StreamReader
) -> tuple[h11.Request, bytes | None] | None:
    """The next request and its body (None past MAX_BODY_BYTES); None when the client left."""
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await asyncio.wait_for(reader.read(16 * 1024), IDLE_TIMEOUT_S))
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY_BYTES and head is not None:
                return head, None  # answered 413; the connection closes after it
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            return head, bytes(body)
        else:  # ConnectionClosed, PAUSED
            return None


async def _send(
    conn: h11.Connection, writer: asyncio.StreamWriter, reply: Reply, head: h11.Request
) -> None:
    headers = [("Content-Type", "application/json")]
    if reply.retry_after is not None:
        headers.append(("Retry-After", reply.retry_after))
    if reply.flood or reply.trickle:
        writer.write(conn.send(h11.Response(status_code=reply.status, headers=headers)))
        await _endless_body(conn, writer, first=128 * 1024 if reply.flood else 1,
                            then=1024 if reply.flood else 1,
                            every_s=0.01 if reply.flood else 0.05)  # fmt: skip
        return
    if reply.status == 200:
        document = _call_resource(head.target.decode("latin-1"))
    else:
        more = f"https://www.twilio.com/docs/errors/{reply.code}"
        document = {"code": reply.code, "message": reply.message, "more_info": more,
                    "status": reply.status}  # fmt: skip
    payload = json.dumps(document).encode()
    headers.append(("Content-Length", str(len(payload))))
    writer.write(conn.send(h11.Response(status_code=reply.status, headers=headers)))
    writer.write(conn.send(h11.Data(data=payload)))
    writer.write(conn.send(h11.EndOfMessage()))
    await writer.drain()


async def _endless_body(
    conn: h11.Connection, writer: asyncio.StreamWriter, *, first: int, then: int, every_s: float
) -> None:
    """A body that ends only with the connection (or at HANG_LIMIT_S, cut off unfinished)."""
    writer.write(conn.send(h11.Data(data=b" " * first)))
    deadline = time.monotonic() + HANG_LIMIT_S
    while time.monotonic() < deadline:
        await writer.drain()  # raises ConnectionError once the client has gone
        await asyncio.sleep(every_s)
        writer.write(conn.send(h11.Data(data=b" " * then)))
    writer.transport.abort()


def _call_resource(path: str) -> dict[str, object]:
    match = _PATH.fullmatch(path)
    account, call = match.groups() if match else ("", "")
    return {
        "sid": call,
        "account_sid": account,
        "api_version": "2010-04-01",
        "status": "in-progress",
        "direction": "inbound",
        "uri": path,
    }
