"""What every service's ``__main__`` does: settings -> telemetry -> app -> uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE

from shared.http.ws_abort import AbortableWebSockets
from shared.settings import HttpSettings, TelemetrySettings
from shared.telemetry.logs import setup_logging
from shared.telemetry.tracing import setup_tracing

log = logging.getLogger(__name__)

# After the app's drain: how long uvicorn waits for the connections left before cancelling them.
GRACEFUL_SHUTDOWN_S = 20

Drain = Callable[[], Awaitable[Any]]


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with the app's drain before uvicorn's own shutdown.

    On SIGTERM/SIGINT uvicorn's shutdown closes the listening sockets, closes every WebSocket at
    once (1012) and only then runs the lifespan's shutdown: too late for an app to let live
    calls finish. An app that sets ``app.state.drain`` (an async callable) has it run first,
    while everything still serves (health checks, requests, live sockets); then uvicorn's
    shutdown. A second SIGINT (uvicorn's force exit) cuts the drain short.

    After an orderly shutdown the process exits 0: uvicorn would raise the signal it caught once
    more for the handler installed before it, and SIGTERM's default handler kills the process
    (status -15), which reads as a crash to a supervisor.
    """

    def __init__(self, config: uvicorn.Config, drain: Drain | None = None) -> None:
        super().__init__(config)
        self._drain = drain

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._drain is not None and not self.force_exit:
            await self._run_drain(self._drain)
        await super().shutdown(sockets)

    async def _run_drain(self, drain: Drain) -> None:
        task = asyncio.ensure_future(drain())
        while not task.done():
            await asyncio.wait({task}, timeout=0.2)
            if self.force_exit and not task.done():
                log.warning("drain cut short by a second signal")
                task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            if task.exception() is not None:
                log.error("drain failed", exc_info=task.exception())

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()  # the shutdown they asked for is done


def serve(
    service_name: str, app: FastAPI, *, host: str, port: int, telemetry: TelemetrySettings
) -> None:
    """Run ``app`` until SIGTERM/SIGINT; then its drain (if any), uvicorn's shutdown and the
    app's lifespan shutdown."""
    setup_logging(service_name, telemetry)
    setup_tracing(service_name, telemetry)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # keep our JSON handler and PII filter
        access_log=False,  # URLs can carry call ids and tokens: no access log
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        ws=AbortableWebSockets,  # a client that stops reading can be dropped (ws_abort.py)
        ws_max_size=1_048_576,  # bytes per WebSocket message; larger frames close the socket
    )
    server = DrainingServer(config, drain=getattr(app.state, "drain", None))
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


class ServiceSettings(Protocol):
    port: int
    http: HttpSettings
    telemetry: TelemetrySettings


S = TypeVar("S", bound=ServiceSettings)


def run_service(
    service_name: str, settings_class: Callable[[], S], create_app: Callable[[S], FastAPI]
) -> None:
    """A service's whole ``__main__``: build its settings once, compose its app, serve it."""
    settings = settings_class()
    serve(
        service_name,
        create_app(settings),
        host=settings.http.host,
        port=settings.port,
        telemetry=settings.telemetry,
    )
