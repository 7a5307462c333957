"""One plain sentence per CRM tool result, for the agent to say (pure).

Every built-in result carries a ``summary`` besides its fields: the deterministic flows say it
as it is, and a small model does better reading one clear sentence than reconstructing one from
a dozen fields. Dates are said as dates ("Tuesday, November 24"), never as ISO strings.
"""

from __future__ import annotations

from datetime import date
from typing import Any

STATUS_WORDS = {
    "placed": "has been placed and is being prepared",
    "processing": "is being prepared and has not shipped yet",
    "shipped": "has shipped",
    "in_transit": "is in transit",
    "out_for_delivery": "is out for delivery today",
    "delivered": "was delivered",
    "cancelled": "was cancelled",
    "returned": "was returned",
}


def spoken_day(iso: str | None) -> str | None:
    """``2026-11-24`` -> ``Tuesday, November 24``."""
    if not iso:
        return None
    try:
        day = date.fromisoformat(iso[:10])
    except ValueError:
        return None
    return f"{day:%A}, {day:%B} {day.day}"


def summarize(tool: str, result: dict[str, Any]) -> str:
    """The sentence for ``result`` of ``tool``; empty when there is nothing to say."""
    describe = _SUMMARIES.get(tool)
    return describe(result) if describe is not None else ""


def _order_status(r: dict[str, Any]) -> str:
    order = r.get("order_id", "that order")
    if not r.get("found"):
        return f"I couldn't find an order with the number {order}."
    status = str(r.get("status", ""))
    sentence = f"Order {order} {STATUS_WORDS.get(status, 'is ' + status.replace('_', ' '))}"
    carrier, expected = r.get("carrier"), spoken_day(r.get("expected_delivery"))
    delivered = spoken_day(r.get("delivered_on"))
    if status == "delivered" and delivered:
        sentence += f" on {delivered}"
    elif status in ("shipped", "in_transit") and carrier:
        sentence += f" with {carrier}"
    if status in ("shipped", "in_transit", "out_for_delivery", "processing", "placed") and expected:
        sentence += f" and should arrive by {expected}"
    return sentence + "."


def _cancel(r: dict[str, Any]) -> str:
    order = r.get("order_id", "the order")
    if r.get("cancelled"):
        refund = r.get("refund")
        return f"Order {order} is cancelled." + (f" The refund of {refund}." if refund else "")
    return f"Order {order} can't be cancelled: {r.get('reason', 'it is not possible now')}."


def _address(r: dict[str, Any]) -> str:
    order = r.get("order_id", "the order")
    if r.get("changed"):
        return f"Order {order} will now ship to {r.get('ship_to', 'the new address')}."
    return f"I can't change the address of order {order}: {r.get('reason', 'not possible now')}."


def _return(r: dict[str, Any]) -> str:
    order = r.get("order_id", "the order")
    if r.get("already_open"):
        return f"A return for order {order} is already open."
    if r.get("started"):
        label = (
            "A prepaid return label is on its way to your email."
            if r.get("label") != "delayed"
            else "The return label email is running late; it will arrive shortly."
        )
        return f"Your return for order {order} is started. {label}"
    return f"I can't start a return for order {order}: {r.get('reason', 'not possible now')}."


def _customer(r: dict[str, Any]) -> str:
    if not r.get("found"):
        return "I couldn't find a customer record with those details."
    return f"I found the account of {r.get('first_name', 'the customer')}."


def _recent(r: dict[str, Any]) -> str:
    orders = r.get("orders") or []
    if not r.get("found") or not orders:
        return "I don't see any recent orders on that account."
    latest = orders[0]
    status = STATUS_WORDS.get(str(latest.get("status")), str(latest.get("status")))
    count = f"{len(orders)} recent orders" if len(orders) > 1 else "one recent order"
    return f"I see {count}; the latest, order {latest.get('order_id')}, {status}."


def _ticket(r: dict[str, Any]) -> str:
    return "I've opened a ticket for our support team." if r.get("created") else ""


def _callback(r: dict[str, Any]) -> str:
    if not r.get("scheduled"):
        return ""
    return f"A member of our team will call you back {r.get('preferred_time', 'soon')}."


def _store_info(r: dict[str, Any]) -> str:
    return str(r.get("answer") or "")


_SUMMARIES = {
    "order_status": _order_status,
    "cancel_order": _cancel,
    "change_shipping_address": _address,
    "start_return": _return,
    "find_customer": _customer,
    "recent_orders": _recent,
    "create_ticket": _ticket,
    "schedule_callback": _callback,
    "store_info": _store_info,
}
