"""The sentence each CRM tool result carries for the agent to say."""

from __future__ import annotations

import pytest

from services.tools.domain.summaries import spoken_day, summarize


def test_an_order_in_transit_names_the_carrier_and_the_day_it_arrives() -> None:
    result = {
        "found": True,
        "order_id": "ORD-77315",
        "status": "in_transit",
        "carrier": "UPS",
        "expected_delivery": "2026-11-24",
    }
    assert summarize("order_status", result) == (
        "Order ORD-77315 is in transit with UPS and should arrive by Tuesday, November 24."
    )


def test_a_delivered_order_says_when() -> None:
    result = {
        "found": True,
        "order_id": "ORD-1",
        "status": "delivered",
        "delivered_on": "2026-11-19",
    }
    assert (
        summarize("order_status", result) == "Order ORD-1 was delivered on Thursday, November 19."
    )


def test_an_unknown_order_is_said_plainly() -> None:
    assert "couldn't find" in summarize("order_status", {"found": False, "order_id": "ORD-9"})


@pytest.mark.parametrize(
    ("tool", "result", "expected"),
    [
        ("cancel_order", {"order_id": "ORD-1", "cancelled": False, "reason": "already shipped"},
         "Order ORD-1 can't be cancelled: already shipped."),
        ("change_shipping_address", {"order_id": "ORD-1", "changed": True, "ship_to": "Boston, MA"},
         "Order ORD-1 will now ship to Boston, MA."),
        ("start_return", {"order_id": "ORD-1", "started": True, "label": "submitted"},
         "Your return for order ORD-1 is started. "
         "A prepaid return label is on its way to your email."),
        ("store_info", {"topic": "hours", "answer": "Mon to Fri."}, "Mon to Fri."),
        ("no_such_tool", {"x": 1}, ""),
    ],
)  # fmt: skip
def test_every_tool_has_its_sentence(tool: str, result: dict, expected: str) -> None:  # type: ignore[type-arg]
    assert summarize(tool, result) == expected


def test_dates_are_said_as_dates_and_garbage_is_not_said() -> None:
    assert spoken_day("2026-11-24") == "Tuesday, November 24"
    assert spoken_day("soon") is None
    assert spoken_day(None) is None
