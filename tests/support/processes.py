"""Run Switchboard services as real subprocesses in tests, the way the launcher runs them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
# A gateway drains on SIGTERM and settles its dropped calls before it exits (up to the drain
# timeout + the resume window: about a minute with the defaults). Tests stop gateways often;
# these keep a stop to seconds. Tests of the drain or of resume windows set their own values.
QUICK_STOP = {"GATEWAY_DRAIN_TIMEOUT_S": "2", "GATEWAY_RESUME_WINDOW_S": "5"}
# Every process a test started, so the session can make sure none outlives the run.
STARTED: list[ServiceProcess] = []


def http_status(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0


def readiness(url: str, timeout: float = 3.0) -> tuple[int, dict[str, Any]]:
    """``GET <url>/readyz``: its status code and JSON body (0 and {} when nothing answers)."""
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=timeout) as response:
            return int(response.status), json.load(response)
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.load(exc)
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0, {}


def module_gateway(tmp_path_factory, infra, keys, **settings: str):  # type: ignore[no-untyped-def]
    """A gateway process for a whole test module, isolated by its own prefixes.

    A generator for a module-scoped fixture: ``yield from module_gateway(...)``.
    """
    tag = tmp_path_factory.mktemp("gw").name
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": f"m{tag}.",
        "REDIS_URL": infra.redis_url,
        "REDIS_KEY_PREFIX": f"m{tag}:",
        "AUTH_KEY_HASHES": keys.hashes,
        **QUICK_STOP,
        **settings,
    }
    from infra.localstack.infrastructure import free_port

    proc = ServiceProcess("gateway", free_port(), env, tmp_path_factory.mktemp("logs")).start()
    try:
        proc.wait_ready(120)
        yield proc
    finally:
        proc.stop()


def gateway_pair(env: dict[str, str], log_dir: Path) -> dict[str, ServiceProcess]:
    """Two gateway processes, ``gw_a`` and ``gw_b`` (ids gw-a, gw-b), on one broker and Redis:
    what one drops (or drains), the other can resume. Not started."""
    from infra.localstack.infrastructure import free_port

    return {
        f"gw_{x}": ServiceProcess("gateway", free_port(), {**env, "GATEWAY_ID": f"gw-{x}"}, log_dir)
        for x in ("a", "b")
    }


@dataclass
class ServiceProcess:
    """``python -m services.<name>`` (or ``module``) with its own env, log file and port."""

    name: str
    port: int
    env: dict[str, str]
    log_dir: Path
    process: subprocess.Popen[bytes] | None = None
    module: str = ""  # default: services.<name>
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}-{self.port}.log"

    def start(self) -> ServiceProcess:
        env = {**os.environ, **self.env, f"{self.name.upper()}_PORT": str(self.port)}
        env["PYTHONUNBUFFERED"] = "1"
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module or f"services.{self.name}"],
            env=env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        STARTED.append(self)
        return self

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited early:\n{self.log_tail()}")
            if http_status(f"{self.url}/readyz") == 200:
                return
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready after {timeout_s} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None
        self._close()

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM and wait; returns the exit code."""
        code = None
        if self.process is not None:
            self.process.terminate()
            try:
                code = self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait(10)
            self.process = None
        self._close()
        return code

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


@contextlib.contextmanager
def running(procs: dict[str, ServiceProcess], timeout_s: float = 120.0) -> Iterator[None]:
    """Start every process, wait until each is ready, and stop them all afterwards."""
    for proc in procs.values():
        proc.start()
    try:
        for proc in procs.values():
            proc.wait_ready(timeout_s)
        yield
    finally:
        for proc in procs.values():
            proc.stop()


def services(
    names: tuple[str, ...], env: dict[str, str], log_dir: Path
) -> dict[str, ServiceProcess]:
    """One process per service name, each on a free port, sharing ``env``."""
    from infra.localstack.infrastructure import free_port

    return {name: ServiceProcess(name, free_port(), env, log_dir) for name in names}
