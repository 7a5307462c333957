"""The processes of the local stack and how to tell that each one is up."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from infra.localstack.paths import LOGS, RUN

CELERY_APP = "services.analytics.entrypoints.celery_app"
# The tools service's own worker (return-label emails), on its own queue: each service owns its
# tasks and scales its worker alone; the cost is one more small process.
TOOLS_CELERY_APP = "services.tools.entrypoints.celery_app"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: tuple[str, ...]
    port: int | None = None
    # A line in the process's log that says it is up (for processes without HTTP).
    ready_marker: str | None = None
    # Printed once by `make up` when the process is slow to get ready.
    waiting_note: str | None = None

    @property
    def log_path(self) -> Path:
        return LOGS / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return RUN / f"{self.name}.pid"

    def ready_url(self, host: str = "127.0.0.1") -> str | None:
        return f"http://{host}:{self.port}/readyz" if self.port else None


def embedded_llm(env: dict[str, str]) -> bool:
    """Whether the stack runs its own model server: not when ``LLM_BASE_URL`` names another."""
    return not env.get("LLM_BASE_URL")


def llm_base_url(ports: dict[str, int]) -> str:
    """The OpenAI-compatible base URL of the embedded model server."""
    return f"http://127.0.0.1:{ports['llm']}/v1"


def service_specs(ports: dict[str, int], *, with_llm: bool = True) -> list[ServiceSpec]:
    """The embedded model server, the four services, the Celery workers and Celery beat."""
    py = sys.executable
    llm = ServiceSpec(
        "llm",
        (py, "-m", "infra.llm"),
        ports["llm"],
        waiting_note=(
            "the model server is loading its model (a first start also assembles it into "
            "~/.cache/switchboard/llm, about 1.1 GB) ..."
        ),
    )
    return [
        *([llm] if with_llm else []),  # first: the gateway's dialogue calls it
        ServiceSpec("gateway", (py, "-m", "services.gateway"), ports["gateway"]),
        ServiceSpec("session", (py, "-m", "services.session"), ports["session"]),
        ServiceSpec("tools", (py, "-m", "services.tools"), ports["tools"]),
        ServiceSpec("analytics", (py, "-m", "services.analytics"), ports["analytics"]),
        ServiceSpec(
            "celery-worker",
            (
                py,
                "-m",
                "celery",
                "-A",
                CELERY_APP,
                "worker",
                "--loglevel=INFO",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
            ),
            ready_marker=" ready.",
        ),
        ServiceSpec(
            "celery-tools-worker",
            (
                py,
                "-m",
                "celery",
                "-A",
                TOOLS_CELERY_APP,
                "worker",
                "--loglevel=INFO",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                "tools",
            ),
            ready_marker=" ready.",
        ),
        ServiceSpec(
            "celery-beat",
            (
                py,
                "-m",
                "celery",
                "-A",
                CELERY_APP,
                "beat",
                "--loglevel=INFO",
                f"--schedule={RUN / 'celerybeat-schedule'}",
            ),
            ready_marker="beat: Starting",
        ),
    ]


def is_ready(spec: ServiceSpec, *, log_offset: int = 0, timeout_s: float = 2.0) -> bool:
    """True when the service answers ``/readyz`` with 200 (or its log shows its ready line)."""
    url = spec.ready_url()
    if url is not None:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError, TimeoutError):
            return False
    if spec.ready_marker is None:
        return True
    try:
        with spec.log_path.open("rb") as log:
            log.seek(log_offset)
            return spec.ready_marker.encode() in log.read()
    except OSError:
        return False
