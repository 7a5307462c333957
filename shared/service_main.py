"""What every service's ``__main__`` does: settings -> telemetry -> app -> uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import uvicorn
from fastapi import FastAPI

from shared.settings import HttpSettings, TelemetrySettings
from shared.telemetry.logs import setup_logging
from shared.telemetry.tracing import setup_tracing


def serve(
    service_name: str, app: FastAPI, *, host: str, port: int, telemetry: TelemetrySettings
) -> None:
    """Run ``app`` until SIGTERM/SIGINT; uvicorn then runs the app's shutdown (lifespan)."""
    setup_logging(service_name, telemetry)
    setup_tracing(service_name, telemetry)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,  # keep our JSON handler and PII filter
        access_log=False,  # URLs can carry call ids and tokens: no access log
        timeout_graceful_shutdown=20,
        ws_max_size=1_048_576,  # bytes per WebSocket message; larger frames close the socket
    )


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
