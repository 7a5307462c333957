"""Where the local stack keeps its state: ``.switchboard/`` at the repository root."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# SWITCHBOARD_STATE_DIR lets a second stack (the launcher's own test) run beside yours.
STATE = Path(os.environ.get("SWITCHBOARD_STATE_DIR") or REPO / ".switchboard")
LOGS = STATE / "logs"
RUN = STATE / "run"
DATA = STATE / "data"
DEV_KEYS = STATE / "dev-keys.env"
STACK_ENV = RUN / "stack.env"
SUPERVISOR_PID = RUN / "supervisor.pid"


def ensure_dirs() -> None:
    for path in (LOGS, RUN, DATA):
        path.mkdir(parents=True, exist_ok=True)
