"""A WebSocket client that sends and never reads: the raw upgrade and masked frames by hand,
so no client library reads (and buffers) the server's replies behind the test's back."""

from __future__ import annotations

import asyncio
import base64
import json
import socket


async def flood_without_reading(
    port: int,
    key: str,
    *,
    message: dict[str, object] | None = None,
    frames: int = 100_000,
    receive_buffer: int = 0,
    stall_s: float = 5.0,
) -> tuple[bool, int]:
    """Upgrade ``/v1/ws``, send ``message`` up to ``frames`` times, read nothing.

    ``message`` (default: a 3,000-character ``input.text``) should make the server answer.
    ``receive_buffer`` (bytes) caps the client socket's receive buffer (0: the system's).
    Returns (closed, sent): whether the server stopped the flood by closing (or resetting) the
    connection, and how many frames went out before it did. A server that stops taking frames
    for ``stall_s`` without closing is not "closed": the client gives up, closed is False.
    """
    sock = socket.socket()
    if receive_buffer:  # a small one: the server's replies back up sooner
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    nonce = base64.b64encode(b"0123456789abcdef").decode()
    writer.write(
        (
            "GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {key}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    body = message or {"type": "input.text", "text": "x" * 3000}
    frame = masked_text(json.dumps(body))
    closed, sent = False, 0
    try:
        for _ in range(frames):
            writer.write(frame)
            await asyncio.wait_for(writer.drain(), 5)
            sent += 1
    except ConnectionError:
        closed = True
    except TimeoutError:
        closed = reader.at_eof()
    writer.close()
    return closed, sent


def masked_text(text: str) -> bytes:
    """One client-to-server text frame (clients must mask)."""
    payload = text.encode()
    mask = b"\x01\x02\x03\x04"
    header = bytearray([0x81])
    if len(payload) < 126:
        header.append(0x80 | len(payload))
    elif len(payload) < 65536:
        header.append(0x80 | 126)
        header += len(payload).to_bytes(2, "big")
    else:
        header.append(0x80 | 127)
        header += len(payload).to_bytes(8, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes(header) + mask + masked
