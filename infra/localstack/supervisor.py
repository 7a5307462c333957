"""The local-stack supervisor: one detached process that owns everything ``make up`` started.

It resolves the infrastructure (starting embedded parts when needed), creates the topics, then
runs each service as a child, restarting a crashed one with backoff (1 s doubling to 30 s; reset
after a minute of uptime). On SIGTERM it stops the children (SIGTERM, then SIGKILL after a
grace period), then the embedded infrastructure, and removes its pid files.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import IO

from infra.localstack import devkeys
from infra.localstack.infrastructure import Infrastructure, TansuBroker, resolve
from infra.localstack.paths import LOGS, REPO, STACK_ENV, STATE, SUPERVISOR_PID, ensure_dirs
from infra.localstack.services import ServiceSpec, embedded_llm, llm_base_url, service_specs
from services.gateway.domain.drain import DrainBudget
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.settings import KafkaSettings

log = logging.getLogger("supervisor")

RESTART_BACKOFF_MAX_S = 30.0
HEALTHY_UPTIME_S = 60.0
STOP_GRACE_S = 25.0
# The local gateway drains live calls this long on `make down` (docs/reliability.md, "Drain").
LOCAL_DRAIN_TIMEOUT_S = "5"
SEED_TIMEOUT_S = 180.0
DEFAULT_PORTS = {"gateway": 8080, "session": 8081, "tools": 8082, "analytics": 8083, "llm": 8090}


def stack_ports(env: dict[str, str]) -> dict[str, int]:
    return {
        name: int(env.get(f"{name.upper()}_PORT", port)) for name, port in DEFAULT_PORTS.items()
    }


@dataclass
class Child:
    spec: ServiceSpec
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    next_start: float = 0.0
    log_file: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_file = self.spec.log_path.open("ab")
        self.process = subprocess.Popen(
            self.spec.argv,
            env=self.env,
            cwd=REPO,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.started_at = time.monotonic()
        self.spec.pid_path.write_text(str(self.process.pid))
        log.info("started %s pid %s", self.spec.name, self.process.pid)

    def check(self, now: float) -> None:
        """Restart the child if it died, after its backoff."""
        if self.process is None:
            if now >= self.next_start:
                self.start()
            return
        code = self.process.poll()
        if code is None:
            return
        uptime = now - self.started_at
        self.restarts = 0 if uptime > HEALTHY_UPTIME_S else self.restarts + 1
        delay = min(RESTART_BACKOFF_MAX_S, 2.0 ** max(0, self.restarts - 1))
        log.warning("%s exited with %s; restarting in %.0f s", self.spec.name, code, delay)
        self._close_log()
        self.process = None
        self.next_start = now + delay

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait_or_kill(self, deadline: float) -> None:
        if self.process is not None:
            try:
                self.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", self.spec.name)
                self.process.kill()
                self.process.wait(5)
        self.spec.pid_path.unlink(missing_ok=True)
        self._close_log()

    def _close_log(self) -> None:
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None


def child_environment(
    infra: Infrastructure, keys: dict[str, str], ports: dict[str, int]
) -> dict[str, str]:
    env = dict(os.environ)
    if embedded_llm(env):
        env["LLM_BASE_URL"] = llm_base_url(ports)  # the gateway's dialogue model
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
            "DATABASE_URL": infra.database_url,
            "REDIS_URL": infra.redis_url,
            "AUTH_KEY_HASHES": devkeys.key_hashes(keys),
            "DESK_KEY_HASH": devkeys.desk_key_hash(keys),
            "TWILIO_AUTH_TOKEN": keys["TWILIO_AUTH_TOKEN"],
            # The session service reads stored calls (rule backtests, the desk's transcript).
            "SESSION_ANALYTICS_URL": f"http://127.0.0.1:{ports['analytics']}",
            "SESSION_ANALYTICS_KEY": keys["ANALYST_KEY"],
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.setdefault("LOG_FORMAT", "json")
    env.setdefault("GATEWAY_DRAIN_TIMEOUT_S", LOCAL_DRAIN_TIMEOUT_S)
    return env


def stop_grace_s(env: dict[str, str]) -> float:
    """How long the children may take to stop: the gateway's drain bound, at least."""
    drain = DrainBudget(
        float(env.get("GATEWAY_DRAIN_TIMEOUT_S", LOCAL_DRAIN_TIMEOUT_S)),
        float(env.get("GATEWAY_RESUME_WINDOW_S", 30)),
    )
    return max(STOP_GRACE_S, drain.shutdown_s)


def write_stack_env(infra: Infrastructure, ports: dict[str, int], llm_url: str) -> None:
    """Addresses for people and tools (no secrets): ``.switchboard/run/stack.env``."""
    lines = [
        f"KAFKA_BOOTSTRAP_SERVERS={infra.kafka_bootstrap}",
        f"DATABASE_URL={infra.database_url}",
        f"REDIS_URL={infra.redis_url}",
        f"LLM_BASE_URL={llm_url}",
        *(f"{name.upper()}_PORT={port}" for name, port in ports.items()),
        *(f"# {note}" for note in infra.notes),
    ]
    STACK_ENV.write_text("\n".join(lines) + "\n")


def _revive_broker(infra: Infrastructure, kafka: KafkaSettings) -> None:
    """Restart an embedded broker that died, and recreate its topics.

    It comes back empty (in memory); services reconnect by themselves. See docs/local-stack.md
    for why a broker restart under live clients can still lose records on tansu.
    """
    for part in infra.started:
        if isinstance(part, TansuBroker) and part.exited():
            log.error("the embedded Kafka broker exited; restarting it (its data is gone)")
            part.stop()
            part.start()
            asyncio.run(ensure_topics(kafka, load_topic_specs(), timeout_s=30))


def seed_crm_if_empty(env: dict[str, str]) -> None:
    """Load the CRM demo data on the first start (``--if-empty``: a later start keeps it).

    Bounded: past ``SEED_TIMEOUT_S`` (or on failure) the stack starts anyway with what the CRM
    holds, and the seed log says why; ``make seed`` retries it.
    """
    with (LOGS / "seed.log").open("ab") as out:
        try:
            code = subprocess.run(
                [sys.executable, "-m", "services.tools.seed", "--if-empty"],
                env=env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=SEED_TIMEOUT_S,
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
    if code != 0:
        log.error("seeding the CRM failed (exit %s); see .switchboard/logs/seed.log", code)


def run() -> int:
    """The supervisor's main loop (``python -m infra.localstack supervise``)."""
    ensure_dirs()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    SUPERVISOR_PID.write_text(str(os.getpid()))
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    keys = devkeys.load_or_create()
    ports = stack_ports(dict(os.environ))
    infra = resolve(state_dir=STATE, kafka_port=int(os.environ.get("SWITCHBOARD_KAFKA_PORT", 9092)))
    children: list[Child] = []
    env: dict[str, str] = {}
    try:
        for note in infra.notes:
            log.info("%s", note)
        env = child_environment(infra, keys, ports)
        write_stack_env(infra, ports, env["LLM_BASE_URL"])
        kafka = KafkaSettings(KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap)
        created = asyncio.run(ensure_topics(kafka, load_topic_specs(), timeout_s=30))
        log.info("topics created: %d", len(created))
        seed_crm_if_empty(env)
        specs = service_specs(ports, with_llm=embedded_llm(dict(os.environ)))
        children = [Child(spec, env) for spec in specs]
        while not stopping:
            now = time.monotonic()
            _revive_broker(infra, kafka)
            for child in children:
                child.check(now)
            time.sleep(0.5)
    finally:
        log.info("stopping")
        for child in children:
            child.terminate()
        deadline = time.monotonic() + stop_grace_s(env)
        for child in children:
            child.wait_or_kill(deadline)
        infra.stop()
        SUPERVISOR_PID.unlink(missing_ok=True)
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(run())
