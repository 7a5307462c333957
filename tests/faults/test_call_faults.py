"""Faults under live calls, end to end: what the caller experiences, and the call log's ledger.

Each test runs scripted text calls (half on each gateway) that ask the agent a plain question
(store hours: no tool) and an order question (the ``order_status`` server tool: gateway ->
broker -> tools service -> CRM in Postgres -> back), injects its fault between two questions,
and then counts the calls' events on the broker against the call log (``tests/support/
call_ledger.py``): nothing lost, nothing stored twice, one ``call.started`` and one
``call.ended`` per call. Figures: ``test-artifacts/faults/<fault>.json``.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

import pytest

from tests.faults.conftest import (
    APOLOGY,
    HANGING_QUESTION,
    HANGING_TOOL_S,
    HOURS_ANSWER,
    HOURS_QUESTION,
    ORDER_ANSWER,
    ORDER_QUESTION,
    ORDER_TOOL_S,
    FaultStack,
)
from tests.support.call_ledger import CallerRecord, Ledger
from tests.support.calls import scripted_call
from tests.support.processes import http_status
from tests.support.waiting import wait_until

CALLS = 4
# An answer that does not wait on a tool comes this fast, fault or not (2 shared cores).
PROMPT_S = 1.5
# A tool answer comes by the tool's deadline plus this.
MARGIN_S = 2.0


async def calls_around(
    stack: FaultStack,
    questions: list[str],
    fault: Callable[[], Awaitable[None]],
    *,
    after: int = 1,
    recover: Callable[[], Awaitable[None]] | None = None,
    resume_at: int | None = None,
) -> list[CallerRecord]:
    """``CALLS`` calls asking ``questions``; ``fault()`` runs once every call has had ``after``
    answers, and ``recover()`` (if any) before question ``resume_at``."""
    records = [CallerRecord() for _ in range(CALLS)]
    faulted, recovered = asyncio.Event(), asyncio.Event()

    async def between(n: int) -> None:
        if n == after:
            await faulted.wait()
        if n == resume_at:
            await recovered.wait()

    async def inject() -> None:
        await wait_until(lambda: all(len(r.answer_s) >= after for r in records), 30)
        await fault()
        faulted.set()
        if recover is not None:
            await wait_until(lambda: all(len(r.answer_s) >= (resume_at or 0) for r in records), 30)
            await recover()
        recovered.set()

    key = stack.keys.gateway
    async with asyncio.timeout(120):
        await asyncio.gather(
            inject(),
            *(
                scripted_call(stack.ws(n % 2), key, questions, record, between=between)
                for n, record in enumerate(records)
            ),
        )
    return records


def answers_to(records: list[CallerRecord], n: int) -> list[tuple[str, float]]:
    return [(r.replies[n], r.answer_s[n]) for r in records]


def assert_consistent(found: Ledger) -> None:
    assert found.lost == [], found
    assert found.duplicated == [], found
    assert (found.not_one_start, found.not_one_end) == ([], []), found
    assert found.unpublished == [], found
    assert found.double_reported == 0, found  # one tool.result per tool call


def assert_prompt_hours(records: list[CallerRecord], n: int) -> None:
    for reply, took in answers_to(records, n):
        assert HOURS_ANSWER in reply
        assert took < PROMPT_S, f"a plain answer took {took:.2f} s"


async def ready_again(stack: FaultStack) -> None:
    """Every service answers its readiness check again (bounded)."""
    procs = (stack.analytics, stack.tools, *stack.gateways)

    async def all_ready() -> bool:  # off the loop: the Postgres proxy runs in it
        codes = [await asyncio.to_thread(http_status, f"{p.url}/readyz") for p in procs]
        return all(code == 200 for code in codes)

    ok = await wait_until(all_ready, 60, 0.5)
    assert ok, "a service did not become ready again"


async def tools_answer_again(stack: FaultStack, within_s: float = 40) -> float:
    """Ask fresh calls an order question until one is answered from the CRM; the wait (s).

    After a fault the tools service may still be rejoining its consumer group, or hold its
    CRM backend's circuit breaker open (``TOOLS_BREAKER_RESET_S``): callers get the apology
    at once until then."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        probe = await scripted_call(
            stack.ws(0), stack.keys.gateway, [ORDER_QUESTION], CallerRecord()
        )
        if ORDER_ANSWER in probe.replies[-1]:
            return round(loop.time() - started, 2)
        assert loop.time() - started < within_s, "tool questions not answered again"
        await asyncio.sleep(0.5)


@pytest.mark.slow
async def test_broker_paused_mid_calls(fault_stack: FaultStack) -> None:
    """The broker answers nothing for 8 s (SIGSTOP; see test_broker_outage for why not kill)."""
    stack = fault_stack
    assert stack.broker.process is not None
    broker = stack.broker.process

    async def pause() -> None:
        broker.send_signal(signal.SIGSTOP)

    async def resume() -> None:
        await asyncio.sleep(8 - ORDER_TOOL_S)
        broker.send_signal(signal.SIGCONT)

    try:
        records = await calls_around(
            stack,
            [HOURS_QUESTION, HOURS_QUESTION, ORDER_QUESTION, HOURS_QUESTION, ORDER_QUESTION],
            pause,
            recover=resume,
            resume_at=3,
        )
    finally:
        broker.send_signal(signal.SIGCONT)
    # During the outage plain questions are answered at once; a tool question (its command
    # crosses the broker) gets the apology by its deadline; afterwards everything works.
    assert_prompt_hours(records, 1)
    for reply, took in answers_to(records, 2):
        assert APOLOGY in reply
        assert took < ORDER_TOOL_S + MARGIN_S
    assert_prompt_hours(records, 3)
    for reply, _ in answers_to(records, 4):
        assert ORDER_ANSWER in reply
    found = await stack.ledger("broker-paused", records, settle_s=45, outage_s=8)
    assert_consistent(found)


@pytest.mark.slow
async def test_postgres_cut_mid_calls(fault_stack: FaultStack) -> None:
    """Postgres goes away for 6 s under analytics and the tools service, then comes back."""
    stack = fault_stack

    async def cut() -> None:
        stack.postgres.cut()

    recovery: dict[str, float] = {}

    async def restore() -> None:
        stack.postgres.restore()
        await ready_again(stack)
        recovery["tools_answer_again_after_s"] = await tools_answer_again(stack)

    try:
        records = await calls_around(
            stack,
            [HOURS_QUESTION, ORDER_QUESTION, HOURS_QUESTION, ORDER_QUESTION],
            cut,
            recover=restore,
            resume_at=3,
        )
    finally:
        stack.postgres.restore()
    # The CRM is in Postgres too: an order question during the outage is answered from the
    # CRM (a connection that survived) or with the apology, by the tool's deadline.
    during = answers_to(records, 1)
    assert all(ORDER_ANSWER in r or APOLOGY in r for r, _ in during), during
    assert max(took for _, took in during) < ORDER_TOOL_S + MARGIN_S
    assert_prompt_hours(records, 2)
    for reply, _ in answers_to(records, 3):
        assert ORDER_ANSWER in reply
    found = await stack.ledger(
        "postgres-cut",
        records,
        settle_s=60,
        order_answers_during_outage=sum(ORDER_ANSWER in r for r, _ in during),
        apologies_during_outage=sum(APOLOGY in r for r, _ in during),
        **recovery,
    )
    assert_consistent(found)


@pytest.mark.slow
async def test_tools_service_sigkill_mid_calls(fault_stack: FaultStack) -> None:
    stack = fault_stack

    async def kill() -> None:
        stack.tools.kill()

    recovery: dict[str, float] = {}

    async def restart() -> None:
        await stack.restart(stack.tools)
        recovery["tools_answer_again_after_s"] = await tools_answer_again(stack)

    records = await calls_around(
        stack,
        [ORDER_QUESTION, ORDER_QUESTION, HOURS_QUESTION, ORDER_QUESTION],
        kill,
        recover=restart,
        resume_at=3,
    )
    for reply, _ in answers_to(records, 0):
        assert ORDER_ANSWER in reply
    # The tools service is gone: the caller is told by the tool's deadline, and the call goes on.
    for reply, took in answers_to(records, 1):
        assert APOLOGY in reply
        assert took < ORDER_TOOL_S + MARGIN_S
    assert_prompt_hours(records, 2)
    # Restarted: the next tool question is answered from the CRM.
    for reply, _ in answers_to(records, 3):
        assert ORDER_ANSWER in reply
    found = await stack.ledger("tools-sigkill", records, **recovery)
    assert_consistent(found)


@pytest.mark.slow
async def test_analytics_sigkill_mid_calls(fault_stack: FaultStack) -> None:
    stack = fault_stack

    async def kill() -> None:
        stack.analytics.kill()

    async def restart() -> None:
        await stack.restart(stack.analytics)

    records = await calls_around(
        stack,
        [HOURS_QUESTION, ORDER_QUESTION, HOURS_QUESTION, ORDER_QUESTION],
        kill,
        recover=restart,
        resume_at=3,
    )
    # The caller notices nothing: analytics is off the call's path.
    for n in (1, 3):
        for reply, _ in answers_to(records, n):
            assert ORDER_ANSWER in reply
    assert_prompt_hours(records, 2)
    found = await stack.ledger("analytics-sigkill", records, settle_s=60)
    assert_consistent(found)


@pytest.mark.slow
async def test_hanging_tool_backend(fault_stack: FaultStack) -> None:
    """The stock tool's HTTP backend accepts the request and never answers."""
    stack = fault_stack

    async def nothing() -> None:
        return None

    records = await calls_around(
        stack, [HOURS_QUESTION, HANGING_QUESTION, HOURS_QUESTION, ORDER_QUESTION], nothing
    )
    for reply, took in answers_to(records, 1):
        assert APOLOGY in reply
        assert HANGING_TOOL_S - 0.2 < took < HANGING_TOOL_S + MARGIN_S, took
    assert_prompt_hours(records, 2)
    for reply, _ in answers_to(records, 3):
        assert ORDER_ANSWER in reply
    found = await stack.ledger("hanging-tool-backend", records)
    assert_consistent(found)
