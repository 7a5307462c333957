"""Gateway-side faults under live calls: a gateway SIGKILLed, a client that stops reading.

The same stack and ledger as ``test_call_faults.py``; figures in ``test-artifacts/faults/``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.faults.conftest import (
    HOURS_ANSWER,
    HOURS_QUESTION,
    ORDER_ANSWER,
    ORDER_QUESTION,
    RESUME_WINDOW_S,
    FaultStack,
)
from tests.support.call_ledger import CallerRecord, stored_rows
from tests.support.calls import ResumeRefusedError, scripted_call
from tests.support.processes import ServiceProcess
from tests.support.slow_client import flood_without_reading
from tests.support.waiting import wait_until

RESUMED = 3  # calls that resume on the other gateway; one more call does not come back
# A crashed gateway's calls become resumable once its heartbeat lapses (GATEWAY_HEARTBEAT_S).
RESUME_WITHIN_S = 15.0
# The heartbeat lapses (3 s), the sweep (every 2 s) marks the call dropped a window after its
# last write, and ends it a window later: about 2 windows + 7 s; bounded with room to spare.
ORPHAN_ENDED_WITHIN_S = 2 * RESUME_WINDOW_S + 25


async def resume_on(stack: FaultStack, gateway: int, record: CallerRecord) -> float:
    """Resume ``record``'s call on ``gateway``, retrying while the session is not yet free
    (as a client does after an abnormal close); ask once more and end. Returns the wait."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        try:
            await scripted_call(stack.ws(gateway), stack.keys.gateway, [ORDER_QUESTION], record)
            return loop.time() - started
        except ResumeRefusedError:
            if loop.time() - started > RESUME_WITHIN_S:
                raise
            await asyncio.sleep(0.5)


@pytest.mark.slow
async def test_gateway_sigkill_mid_calls(fault_stack: FaultStack) -> None:
    """Gateway A dies with four calls on it: three callers resume on B, one never comes back."""
    stack = fault_stack
    records = [CallerRecord() for _ in range(RESUMED + 1)]
    killed = asyncio.Event()

    async def between(n: int) -> None:
        if n == 1:
            await killed.wait()

    killed_at = 0.0

    async def kill_when_answered() -> None:
        nonlocal killed_at
        await wait_until(lambda: all(len(r.answer_s) >= 1 for r in records), 30)
        stack.gateways[0].kill()
        killed_at = asyncio.get_running_loop().time()
        killed.set()

    async with asyncio.timeout(60):
        await asyncio.gather(
            kill_when_answered(),
            *(
                scripted_call(
                    stack.ws(0), stack.keys.gateway, [HOURS_QUESTION, HOURS_QUESTION], r,
                    between=between,
                )
                for r in records
            ),
        )  # fmt: skip
    # The socket dropped without a close frame.
    assert all(r.close_codes == [1006] for r in records), [r.close_codes for r in records]
    async with asyncio.timeout(60):
        waits = await asyncio.gather(*(resume_on(stack, 1, r) for r in records[:RESUMED]))
    await stack.restart(stack.gateways[0])
    for record in records[:RESUMED]:
        assert record.resumed and ORDER_ANSWER in record.replies[-1]
    unresumed = records[RESUMED].call_id
    assert unresumed is not None
    # Nobody resumes the fourth call: a surviving gateway's orphan sweep marks it dropped once
    # A's heartbeat lapsed, and ends it when its resume window has passed.
    ended = await wait_until(lambda: call_ended_rows(stack, unresumed), ORPHAN_ENDED_WITHIN_S, 0.5)
    ended_after_s = round(asyncio.get_running_loop().time() - killed_at, 2)
    assert ended, f"no call.ended for the unresumed call {ORPHAN_ENDED_WITHIN_S} s after the kill"
    assert [row["payload"]["reason"] for row in ended] == ["gateway_lost"], ended
    assert ended[0]["source"] in {g.env["GATEWAY_ID"] for g in stack.gateways}, ended
    assert ended[0]["payload"]["duration_s"] > 0
    found = await stack.ledger(
        "gateway-sigkill",
        records,
        resume_wait_s=round(max(waits), 2),
        orphan_ended_after_kill_s=ended_after_s,
        orphan_ended_by=ended[0]["source"],
    )
    assert found.lost == [], found
    assert found.duplicated == [], found
    # Every call, resumed or not, has exactly one call.started and one call.ended.
    assert (found.not_one_start, found.not_one_end) == ([], []), found
    # Events a caller saw that were still in the killed gateway's producer buffer die with it:
    # measured (``seen_by_caller_never_published``), not asserted.
    found.save()


async def call_ended_rows(stack: FaultStack, call_id: str) -> list[dict[str, Any]]:
    rows = await stored_rows(stack.dsn, stack.schema, [call_id])
    return [r for r in rows if r["type"] == "call.ended"]


def slow_client_calls(gateway: ServiceProcess) -> list[str]:
    """Call ids of the clients this gateway closed for not reading (from its JSON log)."""
    lines = [json.loads(line) for line in gateway.log_text().splitlines() if '"call_id"' in line]
    return [e["call_id"] for e in lines if e["message"] == "closing a client that does not read"]


@pytest.mark.slow
async def test_a_client_that_stops_reading(fault_stack: FaultStack) -> None:
    """A client floods questions and reads nothing: the gateway closes it, serves other calls
    meanwhile, ends the call once, and the call log holds every event of it."""
    stack = fault_stack
    gateway = stack.gateways[1]
    before = set(slow_client_calls(gateway))
    loop = asyncio.get_running_loop()
    flooding = loop.time()
    # Each mid-call session.update is answered with the whole config (19 KB here): the
    # gateway's replies back up fast, and the call's own events stay few.
    update = {"type": "session.update", "session": {"system_prompt": "p" * 19_000}}
    flood = asyncio.create_task(
        flood_without_reading(gateway.port, stack.keys.gateway, message=update)
    )
    # Meanwhile another call on the same gateway is answered.
    other = await scripted_call(stack.ws(1), stack.keys.gateway, [HOURS_QUESTION], CallerRecord())
    closed, sent = await flood
    assert closed, "the gateway kept buffering for a client that never reads"
    assert HOURS_ANSWER in other.replies[0]
    # The gateway may still be working through what it read before it stopped reading.
    slow = await wait_until(
        lambda: [c for c in slow_client_calls(gateway) if c not in before], 60, 0.5
    )
    closed_after_s = round(loop.time() - flooding, 2)
    assert len(slow) == 1, gateway.log_tail(8)
    record = CallerRecord(call_id=slow[0], close_codes=[None])  # it never read a frame

    async def ended() -> bool:
        rows = await stored_rows(stack.dsn, stack.schema, [record.call_id])
        return any(r["type"] == "call.ended" for r in rows)

    # A slow client's call is resumable: it ends when the resume window passes.
    assert await wait_until(ended, RESUME_WINDOW_S + 20, 0.5)
    found = await stack.ledger(
        "client-stops-reading",
        [record, other],
        frames_sent_before_close=sent,
        closed_after_s=closed_after_s,
    )
    assert found.lost == [] and found.duplicated == [], found
    assert (found.not_one_start, found.not_one_end) == ([], []), found
