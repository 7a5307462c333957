"""``python -m infra.localstack up|down|status|logs``: the local stack (``make up``)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from infra.localstack import devkeys
from infra.localstack.infrastructure import port_open
from infra.localstack.paths import (
    DEV_KEYS,
    LOGS,
    REPO,
    RUN,
    STACK_ENV,
    SUPERVISOR_PID,
    ensure_dirs,
)
from infra.localstack.services import ServiceSpec, embedded_llm, is_ready, service_specs
from infra.localstack.supervisor import run as supervise
from infra.localstack.supervisor import stack_ports

UP_TIMEOUT_S = 180.0
NOTE_AFTER_S = 10.0  # a spec's waiting_note is printed once it has waited this long
DOCS = ("gateway", "session", "tools", "analytics")
# The supervisor's own stop: the gateway's drain bound with the local settings (about 85 s when
# calls are live; a second or two when none is), then the infrastructure.
DOWN_TIMEOUT_S = 120.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive: it only waits for its parent to reap it.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def _read_pid(path: os.PathLike[str]) -> int | None:
    try:
        return int(open(path).read().strip())
    except (OSError, ValueError):
        return None


def supervisor_pid() -> int | None:
    pid = _read_pid(SUPERVISOR_PID)
    return pid if pid is not None and _pid_alive(pid) else None


def _specs() -> list[ServiceSpec]:
    env = dict(os.environ)
    return service_specs(stack_ports(env), with_llm=embedded_llm(env))


def _log_size(spec: ServiceSpec) -> int:
    try:
        return spec.log_path.stat().st_size
    except OSError:
        return 0


def _tail(path: os.PathLike[str], lines: int = 25) -> str:
    try:
        return "\n".join(open(path, errors="replace").read().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def up() -> int:
    ensure_dirs()
    specs = _specs()
    if supervisor_pid() is None:
        busy = [s for s in specs if s.port and port_open("127.0.0.1", s.port)]
        if busy:
            names = ", ".join(f"{s.name} ({s.port})" for s in busy)
            print(f"ports in use by another program: {names}; free them or set <SERVICE>_PORT")
            return 1
        offsets = {s.name: _log_size(s) for s in specs}
        log = (LOGS / "supervisor.log").open("ab")
        starter: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", "infra.localstack", "supervise"],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives this shell; `make down` stops the whole group
        )
        print("starting Switchboard (logs: .switchboard/logs/) ...")
    else:
        starter = None
        offsets = {s.name: 0 for s in specs}
    started = time.monotonic()
    deadline = started + UP_TIMEOUT_S
    waiting = list(specs)
    noted: set[str] = set()
    while waiting and time.monotonic() < deadline:
        time.sleep(0.5)
        if starter is not None and starter.poll() is not None:
            print("the supervisor stopped:\n" + _tail(LOGS / "supervisor.log"))
            return 1
        waiting = [s for s in waiting if not is_ready(s, log_offset=offsets[s.name])]
        if time.monotonic() - started > NOTE_AFTER_S:
            for spec in waiting:
                if spec.waiting_note and spec.name not in noted:
                    noted.add(spec.name)
                    print(spec.waiting_note, flush=True)
    if waiting:
        for spec in waiting:
            print(f"\n{spec.name} is not ready after {UP_TIMEOUT_S:.0f} s:\n{_tail(spec.log_path)}")
        return 1
    _print_summary(specs)
    return 0


def _print_summary(specs: list[ServiceSpec]) -> None:
    port = {s.name: s.port for s in specs}
    keys = devkeys.load_or_create()
    base = "http://127.0.0.1"
    rows = [
        ("voice WebSocket", f"ws://127.0.0.1:{port['gateway']}/v1/ws  (Bearer $GATEWAY_KEY)"),
        ("call log API", f"{base}:{port['analytics']}/v1/calls/{{id}}  (Bearer $ANALYST_KEY)"),
        ("API docs", "  ".join(f"{base}:{port[n]}/docs" for n in DOCS)),
        ("softphone page", f"{base}:{port['gateway']}/  (paste GATEWAY_KEY)"),
        ("agent desk", f"{base}:{port['session']}/desk  (paste DESK_KEY)"),
        ("dashboard", f"{base}:{port['analytics']}/dashboard  (paste SUPERVISOR_KEY)"),
        (
            "dialogue model",
            f"{base}:{port['llm']}/v1  (embedded, OpenAI-compatible)"
            if "llm" in port
            else f"{os.environ.get('LLM_BASE_URL')}  (LLM_BASE_URL)",
        ),
        ("keys", f"{_shown(DEV_KEYS)}  (GATEWAY_KEY={keys['GATEWAY_KEY'][:12]}...)"),
        ("infrastructure", _shown(STACK_ENV)),
        ("logs / stop", "make logs  /  make down"),
    ]
    print("\nSwitchboard is up.")
    for label, value in rows:
        print(f"  {label:16} {value}")


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def down() -> int:
    pid = supervisor_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + DOWN_TIMEOUT_S
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid_alive(pid):
            print("the supervisor did not stop in time; killing its process group")
            os.killpg(pid, signal.SIGKILL)
    # Anything left from a supervisor that was itself killed.
    for path in RUN.glob("*.pid") if RUN.exists() else []:
        child = _read_pid(path)
        if child is not None and _pid_alive(child):
            os.kill(child, signal.SIGKILL)
        path.unlink(missing_ok=True)
    print("Switchboard stopped." if pid else "Switchboard was not running.")
    return 0


def status() -> int:
    pid = supervisor_pid()
    print(f"supervisor: {'pid ' + str(pid) if pid else 'not running'}")
    for spec in _specs():
        child = _read_pid(spec.pid_path)
        alive = child is not None and _pid_alive(child)
        ready = alive and is_ready(spec)
        print(
            f"  {spec.name:14} {'pid ' + str(child) if alive else 'down':12} "
            f"{'ready' if ready else 'not ready'}"
        )
    return 0 if pid else 1


def logs() -> int:
    ensure_dirs()
    files = sorted(str(p) for p in LOGS.glob("*.log"))
    if not files:
        print("no logs yet")
        return 0
    os.execvp("tail", ["tail", "-n", "20", "-F", *files])


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.localstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "logs", "supervise"])
    command = parser.parse_args().command
    actions = {"up": up, "down": down, "status": status, "logs": logs, "supervise": supervise}
    return actions[command]()


if __name__ == "__main__":
    sys.exit(main())
