"""The human-agent queue's routing rules, fed events and a clock by hand."""

from __future__ import annotations

from services.session.domain.routing import (
    AgentSetUnavailable,
    AssignCall,
    CallFinished,
    Decision,
    GiveUp,
    OfferCall,
    QueueRouter,
    RoutingLimits,
    WaitingCall,
    WithdrawOffer,
)


def call(
    call_id: str,
    *,
    at: float = 0.0,
    queue: str = "retail-support",
    priority: int = 0,
    max_wait_s: float = 120.0,
    offer_timeout_s: float = 20.0,
) -> WaitingCall:
    return WaitingCall(
        call_id=call_id,
        line_id="demo-retail",
        queue=queue,
        priority=priority,
        enqueued_at=at,
        max_wait_s=max_wait_s,
        offer_timeout_s=offer_timeout_s,
        reasons=("asked for a person",),
    )


def offers(decisions: list[Decision]) -> list[tuple[str, str]]:
    """(call_id, agent_id) of each offer made."""
    return [(d.offer.call_id, d.offer.agent_id) for d in decisions if isinstance(d, OfferCall)]


def withdrawals(decisions: list[Decision]) -> list[tuple[str, str, str]]:
    return [
        (d.offer.call_id, d.offer.agent_id, d.reason)
        for d in decisions
        if isinstance(d, WithdrawOffer)
    ]


def agent(router: QueueRouter, agent_id: str, now: float, *queues: str) -> list[Decision]:
    assert router.connect(agent_id, frozenset(queues or ("retail-support",)), now)
    return router.set_available(agent_id, True, now)


def offer_id(router: QueueRouter, agent_id: str) -> str:
    offer = router.agents[agent_id].offer
    assert offer is not None
    return offer.offer_id


def test_a_call_is_offered_only_to_an_available_agent_holding_its_queue() -> None:
    router = QueueRouter()
    router.connect("billing", frozenset({"billing"}), 0)
    router.set_available("billing", True, 0)
    router.connect("away", frozenset({"retail-support"}), 0)  # signed in, not available
    assert offers(router.enqueue(call("c1"), 1)) == []
    assert offers(router.set_available("away", True, 2)) == [("c1", "away")]


def test_highest_priority_then_longest_wait_goes_first() -> None:
    router = QueueRouter()
    router.enqueue(call("old-low", at=0, priority=10), 0)
    router.enqueue(call("new-high", at=5, priority=50), 5)
    router.enqueue(call("older-high", at=3, priority=50), 5)
    assert offers(agent(router, "a1", 6)) == [("older-high", "a1")]
    assert offers(agent(router, "a2", 7)) == [("new-high", "a2")]
    assert offers(agent(router, "a3", 8)) == [("old-low", "a3")]


def test_the_agent_idle_longest_gets_the_call() -> None:
    router = QueueRouter()
    agent(router, "recent", 10)
    agent(router, "longest", 2)
    agent(router, "middle", 5)
    assert offers(router.enqueue(call("c1", at=11), 11)) == [("c1", "longest")]
    assert offers(router.enqueue(call("c2", at=12), 12)) == [("c2", "middle")]


def test_one_offer_per_agent_at_a_time() -> None:
    router = QueueRouter()
    agent(router, "a1", 0)
    assert offers(router.enqueue(call("c1", at=1), 1)) == [("c1", "a1")]
    assert offers(router.enqueue(call("c2", at=2), 2)) == []
    assert router.waiting["c2"].offer is None


def test_an_offer_not_accepted_in_time_goes_to_the_next_agent() -> None:
    router = QueueRouter()
    agent(router, "a1", 0)
    agent(router, "a2", 1)
    router.enqueue(call("c1", at=2, offer_timeout_s=20), 2)
    assert router.tick(21.9) == []  # not yet
    decisions = router.tick(22)
    assert withdrawals(decisions) == [("c1", "a1", "timeout")]
    assert offers(decisions) == [("c1", "a2")]
    # a2 lets it time out too; a1 may not have it back until their pause is over, then does.
    decisions = router.tick(42)
    assert withdrawals(decisions) == [("c1", "a2", "timeout")]
    assert offers(decisions) == [("c1", "a1")]


def test_a_declined_offer_goes_to_the_next_agent_and_not_straight_back() -> None:
    router = QueueRouter()
    agent(router, "a1", 0)
    router.enqueue(call("c1", at=1, offer_timeout_s=20), 1)
    first = offer_id(router, "a1")
    assert router.decline("a1", first, 3) == []  # nobody else: it waits
    assert offers(agent(router, "a2", 4)) == [("c1", "a2")]
    assert router.decline("a2", offer_id(router, "a2"), 5) == []  # a1 passed on it at 3
    assert offers(router.tick(23)) == [("c1", "a1")]  # a lone agent gets it back later


def test_two_missed_offers_in_a_row_set_the_agent_unavailable() -> None:
    router = QueueRouter()
    agent(router, "sleepy", 0)
    router.enqueue(call("c1", at=0, offer_timeout_s=10), 0)
    assert AgentSetUnavailable("sleepy") not in router.tick(10)
    assert offers(router.tick(20)) == [("c1", "sleepy")]  # the lone agent's pause is over
    decisions = router.tick(30)
    assert withdrawals(decisions) == [("c1", "sleepy", "timeout")]
    assert AgentSetUnavailable("sleepy") in decisions
    assert not router.agents["sleepy"].available
    assert offers(router.tick(50)) == []


def test_accepting_assigns_and_a_stale_or_foreign_offer_id_does_nothing() -> None:
    router = QueueRouter()
    agent(router, "a1", 0)
    agent(router, "a2", 1)
    router.enqueue(call("c1", at=2), 2)
    assert router.accept("a2", offer_id(router, "a1"), 3) == []  # not theirs
    assert router.accept("a1", "ofr_999", 3) == []
    assert router.accept("a1", offer_id(router, "a1"), 3) == [
        AssignCall("c1", "demo-retail", "retail-support", "a1")
    ]
    assert "c1" not in router.waiting and router.assigned["c1"].agent_id == "a1"
    assert offers(router.enqueue(call("c2", at=4), 4)) == [("c2", "a2")]  # a1 is busy


def test_an_agent_who_disconnects_has_the_offer_rerouted() -> None:
    router = QueueRouter()
    agent(router, "a1", 0)
    agent(router, "a2", 1)
    router.enqueue(call("c1", at=2), 2)
    decisions = router.disconnect("a1", 3)
    assert withdrawals(decisions) == [("c1", "a1", "agent_disconnected")]
    assert offers(decisions) == [("c1", "a2")]
    assert "a1" not in router.agents


def test_a_caller_who_hangs_up_leaves_the_queue_and_the_offer_is_withdrawn() -> None:
    router = QueueRouter()
    agent(router, "a1", 0)
    router.enqueue(call("c1", at=1), 1)
    router.enqueue(call("c2", at=2), 2)
    decisions = router.caller_left("c1", 3)
    assert withdrawals(decisions) == [("c1", "a1", "caller_left")]
    assert offers(decisions) == [("c2", "a1")]
    assert "c1" not in router.waiting
    assert router.enqueue(call("c1", at=4), 4) == []  # a redelivered escalation is ignored


def test_a_caller_who_hangs_up_during_the_human_call_frees_the_agent() -> None:
    router = QueueRouter()
    agent(router, "a1", 0)
    router.enqueue(call("c1", at=1), 1)
    router.accept("a1", offer_id(router, "a1"), 2)
    router.bridged("c1")
    decisions = router.caller_left("c1", 30)
    assert CallFinished("c1", "a1", "caller_left") in decisions
    assert router.agents["a1"].free and router.agents["a1"].idle_since == 30


def test_a_call_waiting_past_its_maximum_is_given_up() -> None:
    router = QueueRouter()
    router.enqueue(call("c1", at=0, max_wait_s=60), 0)
    agent(router, "a1", 50)  # offered at 50, not answered
    assert router.tick(59.9) == []
    decisions = router.tick(60)
    assert withdrawals(decisions) == [("c1", "a1", "given_up")]
    assert GiveUp("c1", "demo-retail", "retail-support", "no_agent_available") in decisions
    assert router.waiting == {} and router.agents["a1"].free


def test_an_accepted_call_whose_bridge_never_opens_goes_to_the_next_agent() -> None:
    router = QueueRouter(RoutingLimits(bridge_timeout_s=60))
    agent(router, "a1", 0)
    agent(router, "a2", 1)
    router.enqueue(call("c1", at=2, max_wait_s=600), 2)
    router.accept("a1", offer_id(router, "a1"), 3)
    decisions = router.tick(63)
    assert CallFinished("c1", "a1", "bridge_timeout") in decisions
    assert offers(decisions) == [("c1", "a2")]


def test_a_bridged_call_stays_assigned() -> None:
    router = QueueRouter(RoutingLimits(bridge_timeout_s=60))
    agent(router, "a1", 0)
    router.enqueue(call("c1", at=0), 0)
    router.accept("a1", offer_id(router, "a1"), 1)
    router.bridged("c1")
    assert router.tick(100) == []
    assert router.end_call("a1", "c1", 101) == []
    assert router.agents["a1"].free and "c1" not in router.assigned


def test_the_waiting_calls_are_bounded() -> None:
    router = QueueRouter(RoutingLimits(max_waiting_calls=2))
    router.enqueue(call("c1"), 0)
    router.enqueue(call("c2"), 0)
    assert router.enqueue(call("c3"), 0) == [
        GiveUp("c3", "demo-retail", "retail-support", "queue_full")
    ]
    assert set(router.waiting) == {"c1", "c2"}


def test_the_agents_are_bounded() -> None:
    router = QueueRouter(RoutingLimits(max_agents=1))
    assert router.connect("a1", frozenset({"q"}), 0)
    assert router.connect("a1", frozenset({"q"}), 0)  # the same agent again is not a new one
    assert not router.connect("a2", frozenset({"q"}), 0)
    router.disconnect("a1", 1)
    assert router.connect("a2", frozenset({"q"}), 2)


def test_going_unavailable_withdraws_the_offer() -> None:
    router = QueueRouter()
    agent(router, "a1", 0)
    router.enqueue(call("c1"), 0)
    assert withdrawals(router.set_available("a1", False, 1)) == [("c1", "a1", "agent_unavailable")]
    assert router.waiting["c1"].offer is None
