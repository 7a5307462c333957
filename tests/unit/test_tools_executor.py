"""The executor's discipline with fake backends: validation, deadline, retries, breaker, limits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.tools.domain.execution import BackendError, ToolCommand, ToolRequest
from services.tools.domain.registry import ToolRegistry
from services.tools.executor import ToolExecutor
from services.tools.settings import ExecutionSettings
from shared.lines import load_lines, load_tool_specs

Behaviour = Callable[[ToolRequest], Awaitable[dict[str, Any]]]


class FakeBackend:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.calls: list[ToolRequest] = []
        self.active = 0
        self.most_active = 0

    async def invoke(self, request: ToolRequest) -> dict[str, Any]:
        self.calls.append(request)
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            return await self.behaviour(request)
        finally:
            self.active -= 1


async def ok(request: ToolRequest) -> dict[str, Any]:
    return {"status": "in_transit"}


async def hang(request: ToolRequest) -> dict[str, Any]:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def failing(times: int, *, retryable: bool = True) -> Behaviour:
    left = [times]

    async def behaviour(request: ToolRequest) -> dict[str, Any]:
        if left[0] > 0:
            left[0] -= 1
            raise BackendError("down", retryable=retryable)
        return {"ok": True}

    return behaviour


def executor(backend: FakeBackend, **settings: Any) -> ToolExecutor:
    return ToolExecutor(
        registry=ToolRegistry(load_tool_specs(), load_lines()),
        backends={"crm": backend},
        settings=ExecutionSettings(**settings),
    )


def command(
    name: str = "order_status",
    arguments: dict[str, Any] | None = None,
    *,
    within_s: float = 2.0,
    key: str | None = None,
) -> ToolCommand:
    return ToolCommand(
        tool_call_id="tc1",
        call_id="sess_1",
        line_id="demo-retail",
        name=name,
        arguments={"order_id": "ORD-77315"} if arguments is None else arguments,
        deadline_at=datetime.now(UTC) + timedelta(seconds=within_s),
        idempotency_key=key,
        fence_key=str(uuid.uuid4()),
    )


async def test_valid_read_is_ok_and_counted() -> None:
    backend = FakeBackend(ok)
    ex = executor(backend)
    outcome = await ex.execute(command())
    assert (outcome.status, outcome.result, outcome.attempts) == ("ok", {"status": "in_transit"}, 1)
    assert ex.stats.snapshot()["order_status"]["calls"] == 1


async def test_invalid_arguments_never_reach_the_backend() -> None:
    backend = FakeBackend(ok)
    outcome = await executor(backend).execute(command(arguments={"order_id": "77315"}))
    assert outcome.status == "error" and outcome.error is not None
    assert "order_id" in outcome.error and "Ask the caller" in outcome.error
    assert backend.calls == []


async def test_unknown_tool_is_an_error_without_a_call() -> None:
    backend = FakeBackend(ok)
    outcome = await executor(backend).execute(command(name="launch_rocket"))
    assert outcome.status == "error" and backend.calls == []


async def test_expired_command_is_answered_timeout_without_running() -> None:
    backend = FakeBackend(ok)
    outcome = await executor(backend).execute(command(within_s=-0.1))
    assert (outcome.status, outcome.attempts) == ("timeout", 0)
    assert backend.calls == []


@pytest.mark.parametrize("slow_cancel", [False, True])
async def test_hanging_backend_times_out_within_50ms_of_the_deadline(slow_cancel: bool) -> None:
    async def stubborn(request: ToolRequest) -> dict[str, Any]:
        try:
            await asyncio.Event().wait()
        finally:
            if slow_cancel:  # a backend whose cleanup itself takes a second
                await asyncio.shield(asyncio.sleep(1.0))
        raise AssertionError("unreachable")

    ex = executor(FakeBackend(stubborn))
    cmd = command(within_s=0.3)
    outcome = await ex.execute(cmd)
    late_ms = (datetime.now(UTC) - cmd.deadline_at).total_seconds() * 1000
    assert outcome.status == "timeout" and outcome.attempts == 1
    assert -5 <= late_ms < 50, late_ms


async def test_reads_retry_transient_failures() -> None:
    backend = FakeBackend(failing(2))
    outcome = await executor(backend).execute(command())
    assert (outcome.status, outcome.attempts) == ("ok", 3)


async def test_writes_retry_only_with_an_idempotency_key() -> None:
    args = {"subject": "s", "description": "d"}
    without = FakeBackend(failing(1))
    outcome = await executor(without).execute(command("create_ticket", args))
    assert (outcome.status, outcome.attempts) == ("error", 1)
    with_key = FakeBackend(failing(1))
    outcome = await executor(with_key).execute(command("create_ticket", args, key="k"))
    assert (outcome.status, outcome.attempts) == ("ok", 2)
    assert {r.idempotency_key for r in with_key.calls} == {"k"}


async def test_refusals_are_not_retried() -> None:
    backend = FakeBackend(failing(5, retryable=False))
    outcome = await executor(backend).execute(command())
    assert (outcome.status, outcome.error, outcome.attempts) == ("error", "down", 1)


async def test_breaker_opens_fails_fast_then_lets_one_trial_through() -> None:
    now = [0.0]
    backend = FakeBackend(failing(3))
    ex = executor(backend, breaker_failures=3, breaker_reset_s=10.0, max_attempts=1)
    real_clock = ex.clock
    ex.clock = lambda: real_clock() + now[0]
    for _ in range(3):
        assert (await ex.execute(command())).status == "error"
    assert ex.breaker_states() == {"crm": "open"}
    fast = await ex.execute(command())
    assert (fast.status, fast.attempts, len(backend.calls)) == ("error", 0, 3)
    now[0] = 11.0
    trial = await ex.execute(command())
    assert trial.status == "ok" and ex.breaker_states() == {"crm": "closed"}


async def test_concurrency_per_backend_is_bounded() -> None:
    async def slow(request: ToolRequest) -> dict[str, Any]:
        await asyncio.sleep(0.05)
        return {}

    backend = FakeBackend(slow)
    ex = executor(backend, crm_concurrency=2)
    outcomes = await asyncio.gather(*(ex.execute(command()) for _ in range(6)))
    assert {o.status for o in outcomes} == {"ok"}
    assert backend.most_active == 2


def _tool_calls(tool: str, status: str) -> float:
    labels = {"tool": tool, "status": status}
    return REGISTRY.get_sample_value("switchboard_tool_duration_seconds_count", labels) or 0.0


async def test_each_outcome_is_observed_by_tool_and_status() -> None:
    before = {
        ("order_status", "ok"): _tool_calls("order_status", "ok"),
        ("order_status", "timeout"): _tool_calls("order_status", "timeout"),
        ("(unknown)", "error"): _tool_calls("(unknown)", "error"),
    }
    ex = executor(FakeBackend(ok))
    await ex.execute(command())
    await ex.execute(command(within_s=-0.1))
    await ex.execute(command(name="launch_rocket"))  # a name the caller made up: one series

    assert {key: _tool_calls(*key) - n for key, n in before.items()} == {
        ("order_status", "ok"): 1,
        ("order_status", "timeout"): 1,
        ("(unknown)", "error"): 1,
    }
    assert _tool_calls("launch_rocket", "error") == 0
