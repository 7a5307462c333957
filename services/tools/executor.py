"""Runs one tool command with the service's discipline (see docs/tools.md):

1. a command already past its deadline is answered ``timeout`` without running;
2. the tool is resolved for the command's line and its arguments validated (Draft 2020-12);
3. the backend runs under its concurrency limit and circuit breaker, retried with backoff and
   jitter when the tool is a read or the write carries an idempotency key;
4. the deadline is enforced from outside the attempt: at ``deadline_at`` the attempt is
   abandoned (cancelled in the background) and ``timeout`` is answered at once, so a backend
   whose cancellation is itself slow cannot delay the answer. Nothing after the deadline is ok.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.tools.domain.execution import (
    EXPIRED,
    INTERNAL,
    TIMED_OUT,
    UNAVAILABLE,
    BackendError,
    ToolCommand,
    ToolOutcome,
    ToolRequest,
)
from services.tools.domain.registry import RegisteredTool, ToolRegistry
from services.tools.domain.resilience import CircuitBreaker, may_retry, retry_backoff
from services.tools.domain.stats import ToolStats
from services.tools.ports import ToolBackend
from services.tools.settings import ExecutionSettings
from shared.telemetry.metrics import TOOL_DURATION

log = logging.getLogger(__name__)
# Abandoned attempts still cleaning up after their deadline. Past this many, new attempts are
# refused as "unavailable": a backend that ignores cancellation must not grow memory forever.
MAX_ABANDONED = 1000
UNKNOWN = "(unknown)"


@dataclass
class _Backend:
    backend: ToolBackend
    breaker: CircuitBreaker
    slots: asyncio.Semaphore


@dataclass
class _Progress:
    attempts: int = 0


@dataclass
class ToolExecutor:
    registry: ToolRegistry
    backends: dict[str, ToolBackend]
    settings: ExecutionSettings
    stats: ToolStats = field(default_factory=ToolStats)
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], datetime] = lambda: datetime.now(UTC)
    _runtime: dict[str, _Backend] = field(default_factory=dict)
    _abandoned: set[asyncio.Task[ToolOutcome]] = field(default_factory=set)

    def _backend(self, key: str) -> _Backend | None:
        runtime = self._runtime.get(key)
        if runtime is None:
            backend = self.backends.get(key)
            if backend is None:
                return None
            limit = (
                self.settings.crm_concurrency if key == "crm" else self.settings.http_concurrency
            )
            runtime = self._runtime[key] = _Backend(
                backend,
                CircuitBreaker(
                    self.settings.breaker_failures, self.settings.breaker_reset_s, self.clock
                ),
                asyncio.Semaphore(limit),
            )
        return runtime

    def breaker_states(self) -> dict[str, str]:
        return {key: b.breaker.state for key, b in self._runtime.items()}

    async def execute(self, command: ToolCommand) -> ToolOutcome:
        """Run ``command`` to an outcome; never raises (except the caller's cancellation)."""
        started = self.clock()
        outcome = await self._execute(command, started)
        # Tool names come from the loaded config (bounded); a name not in it is "(unknown)".
        name = command.name if self.registry.resolve(command.name, command.line_id) else UNKNOWN
        self.stats.record(name, outcome.status, outcome.duration_ms)
        TOOL_DURATION.labels(name, outcome.status).observe(outcome.duration_ms / 1000)
        return outcome

    async def _execute(self, command: ToolCommand, started: float) -> ToolOutcome:
        def done(
            status: str, result: dict[str, Any] | None, error: str | None, n: int
        ) -> ToolOutcome:
            ms = int((self.clock() - started) * 1000)
            return ToolOutcome(status, result, error, ms, n)  # type: ignore[arg-type]

        remaining = (command.deadline_at - self.wall()).total_seconds()
        if remaining <= 0:
            return done("timeout", None, EXPIRED, 0)
        tool = self.registry.resolve(command.name, command.line_id)
        if tool is None:
            return done("error", None, f"There is no tool named {command.name[:100]} here.", 0)
        problem = tool.problem_with(command.arguments)
        if problem is not None:
            return done("error", None, problem, 0)
        runtime = self._backend(tool.backend_key)
        if runtime is None:
            return done("error", None, INTERNAL, 0)
        if len(self._abandoned) >= MAX_ABANDONED:
            return done("error", None, UNAVAILABLE, 0)
        # The command's deadline, capped by the tool's own timeout: every wait has a bound even
        # when a caller sends a far-off deadline.
        deadline = started + min(remaining, tool.spec.timeout_seconds)
        progress = _Progress()
        attempt = asyncio.create_task(
            self._attempts(tool, command, runtime, deadline, progress),
            name=f"tool:{tool.name}",
        )
        try:
            finished, _ = await asyncio.wait({attempt}, timeout=max(0.0, deadline - self.clock()))
        except asyncio.CancelledError:
            attempt.cancel()
            raise
        if not finished:
            attempt.cancel()
            self._abandoned.add(attempt)
            attempt.add_done_callback(self._abandoned.discard)
            runtime.breaker.record_failure()  # a backend that hangs to the deadline is failing
            return done("timeout", None, TIMED_OUT, progress.attempts)
        outcome = attempt.result()
        if self.clock() >= deadline and outcome.status == "ok":
            return done("timeout", None, TIMED_OUT, outcome.attempts)
        return done(outcome.status, outcome.result, outcome.error, outcome.attempts)

    async def _attempts(
        self,
        tool: RegisteredTool,
        command: ToolCommand,
        runtime: _Backend,
        deadline: float,
        progress: _Progress,
    ) -> ToolOutcome:
        retry = may_retry(tool.spec.effect, command.idempotency_key is not None)
        while True:
            if not runtime.breaker.allow():
                return ToolOutcome("error", None, UNAVAILABLE, 0, progress.attempts)
            progress.attempts += 1
            request = ToolRequest(
                name=tool.name,
                arguments=command.arguments,
                idempotency_key=command.idempotency_key or command.fence_key,
                tool_call_id=command.tool_call_id,
                call_id=command.call_id,
                line_id=command.line_id,
                timeout_s=max(0.001, deadline - self.clock()),
            )
            try:
                async with runtime.slots:
                    result = await runtime.backend.invoke(request)
            except BackendError as exc:
                if exc.retryable:
                    runtime.breaker.record_failure()
                else:
                    runtime.breaker.record_success()  # it answered, if only to refuse
                pause = retry_backoff(progress.attempts)
                if (
                    not (exc.retryable and retry)
                    or progress.attempts >= self.settings.max_attempts
                    or self.clock() + pause >= deadline
                ):
                    return ToolOutcome("error", None, exc.message, 0, progress.attempts)
                await asyncio.sleep(pause)
                continue
            except Exception:
                # A bug, not the backend: constant message, no arguments in the log.
                log.exception("tool failed unexpectedly", extra={"tool": tool.name})
                return ToolOutcome("error", None, INTERNAL, 0, progress.attempts)
            runtime.breaker.record_success()
            return ToolOutcome("ok", result, None, 0, progress.attempts)
