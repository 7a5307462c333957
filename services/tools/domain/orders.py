"""The order rules the CRM tools apply (pure): what may be cancelled, re-addressed, returned.

A refusal is not a failure: the tool answers ``ok`` with the outcome and a reason the model can
say to the caller (``{"cancelled": false, "reason": "..."}``). ``error`` is kept for "the system
could not answer" (invalid arguments, backend down), which escalation rules count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

NOT_SHIPPED = frozenset({"placed", "processing"})
IN_CARRIER_HANDS = frozenset({"shipped", "in_transit", "out_for_delivery"})
RETURN_WINDOW = timedelta(days=30)
OPEN_RETURN_STATUSES = frozenset({"requested", "label_sent", "received"})

DEFAULT_POLICIES = {
    "hours": (
        "Our support team is available Monday to Friday, 8 am to 8 pm, and Saturday 9 am to "
        "5 pm, Eastern time."
    ),
    "returns": (
        "Delivered orders can be returned within 30 days of delivery. We email a prepaid return "
        "label; the refund goes to the original payment method within 5 business days of the "
        "return arriving."
    ),
    "shipping": (
        "Standard shipping is free over $50 and takes 3 to 6 business days; express takes 1 to "
        "2 business days. Orders ship within 2 business days."
    ),
    "cancellations": (
        "An order can be cancelled until it ships, usually within a day of ordering. Shipped "
        "orders cannot be cancelled, but they can be returned once delivered."
    ),
    "price_match": (
        "We match a lower price on an identical item from a major retailer within 14 days of "
        "your purchase."
    ),
    "contact": (
        "You can reach us by phone at this number, or by email at help@acme-outfitters.example."
    ),
}


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""


def _not_shipped_decision(status: str, action: str) -> Decision:
    if status in NOT_SHIPPED:
        return Decision(True)
    if status == "cancelled":
        return Decision(False, f"the order is cancelled, so it cannot {action}")
    if status in IN_CARRIER_HANDS:
        return Decision(False, "already shipped")
    return Decision(False, "already delivered")


def cancel_decision(status: str) -> Decision:
    """Only an order that has not shipped can be cancelled."""
    return _not_shipped_decision(status, "be cancelled again")


def address_change_decision(status: str) -> Decision:
    """Only an order that has not shipped can change its shipping address."""
    return _not_shipped_decision(status, "change its address")


def return_decision(status: str, delivered_at: datetime | None, now: datetime) -> Decision:
    """A delivered order can be returned within 30 days of its delivery."""
    if status == "returned":
        return Decision(False, "this order was already returned")
    if status != "delivered" or delivered_at is None:
        return Decision(False, "only delivered orders can be returned; this one is " + status)
    if now - delivered_at > RETURN_WINDOW:
        return Decision(False, "it was delivered more than 30 days ago, past the return window")
    return Decision(True)


def money(cents: int) -> str:
    """``12900`` -> ``"$129.00"`` (what the model reads out)."""
    return f"${cents // 100:,}.{cents % 100:02d}"


def phone_digits(phone: str) -> str:
    """The last ten digits of a phone number in any format (a US number without +1)."""
    return "".join(ch for ch in phone if ch.isdigit())[-10:]
