"""A call for one agent (a supervisor's takeover): offered to them alone, first; a takeover that
does not reach them gives the call back to the AI, or to its queue when it was waiting there."""

from __future__ import annotations

from services.session.domain.routing import (
    AssignCall,
    Decision,
    GiveUp,
    QueueRouter,
    RoutingLimits,
    TakeoverFailed,
)
from tests.unit.test_handoff_routing import agent, call, offer_id, offers, withdrawals


def failures(decisions: list[Decision]) -> list[tuple[str, str, str, bool]]:
    return [
        (d.call_id, d.agent_id, d.reason, d.resume_ai)
        for d in decisions
        if isinstance(d, TakeoverFailed)
    ]


def test_a_takeover_is_offered_to_its_agent_alone_even_when_not_available() -> None:
    router = QueueRouter()
    agent(router, "idle-longest", 0)  # available, holds the queue, idle longest
    router.connect("sup", frozenset(), 5)  # holds no queue, never said available
    assert offers(router.take_over(call("c1", at=10), "sup", 10)) == [("c1", "sup")]
    decisions = router.accept("sup", offer_id(router, "sup"), 11)
    assert decisions == [AssignCall("c1", "demo-retail", "retail-support", "sup", "")]


def test_a_takeover_goes_before_every_queue_call() -> None:
    router = QueueRouter()
    agent(router, "sup", 0)
    router.enqueue(call("c0", at=0), 0)
    router.accept("sup", offer_id(router, "sup"), 1)  # busy with c0
    router.enqueue(call("urgent", at=2, priority=100), 2)
    assert offers(router.take_over(call("taken", at=3), "sup", 3)) == []  # sup is busy
    assert offers(router.end_call("sup", "c0", 4)) == [("taken", "sup")]


def test_an_agent_not_signed_in_fails_the_takeover_and_the_ai_goes_on() -> None:
    router = QueueRouter()
    agent(router, "a1", 0)
    decisions = router.take_over(call("c1", at=1), "sup", 1)
    assert failures(decisions) == [("c1", "sup", "agent_unavailable", True)]
    assert offers(decisions) == [] and router.waiting == {}


def test_a_declined_takeover_goes_back_to_the_ai_and_may_escalate_later() -> None:
    router = QueueRouter()
    router.connect("sup", frozenset({"retail-support"}), 0)
    router.take_over(call("c1", at=1), "sup", 1)
    decisions = router.decline("sup", offer_id(router, "sup"), 2)
    assert failures(decisions) == [("c1", "sup", "declined", True)]
    assert offers(decisions) == [] and router.waiting == {}
    # Not finished: a rule may still send the call to the queue later.
    router.set_available("sup", True, 3)
    assert offers(router.enqueue(call("c1", at=4), 4)) == [("c1", "sup")]


def test_a_takeover_offer_left_to_time_out_fails_without_a_missed_offer() -> None:
    router = QueueRouter()
    agent(router, "sup", 0)
    router.take_over(call("c1", at=1, offer_timeout_s=20), "sup", 1)
    decisions = router.tick(21)
    assert withdrawals(decisions) == [("c1", "sup", "timeout")]
    assert failures(decisions) == [("c1", "sup", "offer_timeout", True)]
    assert router.agents["sup"].missed_in_row == 0 and router.waiting == {}


def test_the_target_signing_out_or_going_unavailable_fails_the_takeover() -> None:
    router = QueueRouter()
    agent(router, "sup", 0)
    router.enqueue(call("c0", at=0), 0)
    router.accept("sup", offer_id(router, "sup"), 1)  # busy: the takeover waits
    router.take_over(call("c1", at=2), "sup", 2)
    assert failures(router.set_available("sup", False, 3)) == [
        ("c1", "sup", "agent_unavailable", True)
    ]
    router.take_over(call("c2", at=4), "sup", 4)
    assert failures(router.disconnect("sup", 5)) == [("c2", "sup", "agent_unavailable", True)]
    assert router.waiting == {}


def test_a_queued_call_taken_over_is_withdrawn_from_its_agent_and_goes_back_if_refused() -> None:
    router = QueueRouter()
    agent(router, "a1", 0)
    router.enqueue(call("c1", at=1), 1)
    router.connect("sup", frozenset(), 2)
    decisions = router.take_over(call("c1", at=3), "sup", 3)
    assert withdrawals(decisions) == [("c1", "a1", "taken_over")]
    assert offers(decisions) == [("c1", "sup")]
    # Refused: it was waiting for its queue, so it goes on waiting there (the AI stays paused).
    decisions = router.decline("sup", offer_id(router, "sup"), 4)
    assert failures(decisions) == [("c1", "sup", "declined", False)]
    assert offers(decisions) == [("c1", "a1")]
    # A takeover for someone not signed in leaves a queued call where it is.
    assert failures(router.take_over(call("c1", at=5), "nobody", 5)) == [
        ("c1", "nobody", "agent_unavailable", False)
    ]
    assert "c1" in router.waiting


def test_a_takeover_past_the_maximum_wait_goes_back_to_the_ai_not_to_a_goodbye() -> None:
    router = QueueRouter()
    agent(router, "sup", 0)
    router.enqueue(call("c0", at=0), 0)
    router.accept("sup", offer_id(router, "sup"), 1)
    router.take_over(call("c1", at=2, max_wait_s=60), "sup", 2)
    decisions = router.tick(62)
    assert failures(decisions) == [("c1", "sup", "no_agent_available", True)]
    assert not [d for d in decisions if isinstance(d, GiveUp)]


def test_a_call_with_a_person_or_a_full_queue_is_not_taken_over() -> None:
    router = QueueRouter(RoutingLimits(max_waiting_calls=1))
    agent(router, "a1", 0)
    router.enqueue(call("c1", at=0), 0)
    router.accept("a1", offer_id(router, "a1"), 1)
    router.connect("sup", frozenset(), 2)
    assert router.take_over(call("c1", at=3), "sup", 3) == []  # a1 has it
    router.enqueue(call("waiting", at=4), 4)
    assert failures(router.take_over(call("c2", at=5), "sup", 5)) == [
        ("c2", "sup", "queue_full", True)
    ]
