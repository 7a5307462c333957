"""The CRM's demo data, generated deterministically (no I/O).

The same ``seed`` and ``anchor`` (midnight UTC of the seeding day) give the same rows, byte for
byte. Dates are relative to the anchor so that "in transit" and "delivered last week" stay true
on the day the data is seeded; ``make seed`` re-seeds to refresh them.

Demo orders, all of demo customer CUS-000001 (Dana Whitfield, (415) 555-0142,
dana.whitfield@example.com, zip 94103), in known states:

- ORD-77315: in transit, shipped 2 days ago, expected in 2 days
- ORD-10001: processing, placed this morning (not shipped: can be cancelled or re-addressed)
- ORD-20002: delivered 5 days ago (can be returned)
- ORD-30003: delivered 120 days ago (past the 30-day return window)
- ORD-40004: cancelled
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.tools.seed import tables as t

_COLUMNS = {
    "customers": (
        "customer_id first_name last_name email phone phone_digits street city state zip created_at"
    ).split(),
    "orders": (
        "order_id customer_id status placed_at updated_at total_cents ship_street ship_city "
        "ship_state ship_zip cancelled_at cancel_reason"
    ).split(),
    "order_items": "order_id line_no sku product_name quantity unit_price_cents".split(),
    "shipments": (
        "order_id carrier tracking_number shipped_at expected_delivery delivered_at"
    ).split(),
    "tracking_events": "order_id seq occurred_at status location description".split(),
    "returns": (
        "rma_id order_id reason status label_status label_attempts tool_call_id call_id line_id "
        "created_at"
    ).split(),
    "tickets": (
        "ticket_id customer_id order_id subject description status priority created_at"
    ).split(),
    "callbacks": "callback_id customer_id phone reason preferred_time status created_at".split(),
}
COLUMNS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _COLUMNS.items()}
# Load order: a table's foreign keys point only at tables before it.
TABLES = tuple(COLUMNS)

DEMO_CUSTOMER = "CUS-000001"
DEMO_ORDERS = {
    "ORD-77315": "in_transit",
    "ORD-10001": "processing",
    "ORD-20002": "delivered",
    "ORD-30003": "delivered",
    "ORD-40004": "cancelled",
}
WAREHOUSES = ("Reno, NV", "Columbus, OH", "Allentown, PA")
HISTORY_DAYS = 540
Row = tuple[Any, ...]


@dataclass
class Dataset:
    rows: dict[str, list[Row]] = field(default_factory=lambda: {name: [] for name in COLUMNS})

    def count(self, table: str) -> int:
        return len(self.rows[table])


@dataclass(frozen=True)
class _Customer:
    customer_id: str
    street: str
    city: str
    state: str
    zip: str


def anchor_for(now: datetime) -> datetime:
    """Midnight UTC of ``now``'s day: the instant the seed's dates are relative to."""
    day = now.astimezone(UTC).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def generate(
    *, seed: int = 5, anchor: datetime, customers: int = 10_000, orders: int = 50_000
) -> Dataset:
    """Customers, orders (items, shipments, tracking), returns, tickets and callbacks."""
    if orders > 89_000 - len(DEMO_ORDERS):
        raise ValueError("order ids have five digits: at most 88,995 generated orders")
    rng = random.Random(seed)
    data = Dataset()
    people = [_demo_customer(data, anchor)]
    for n in range(2, customers + 1):
        people.append(_customer(rng, data, n, anchor))
    numbers = rng.sample(range(10_002, 99_999), orders + len(DEMO_ORDERS))
    demo_numbers = {int(oid[4:]) for oid in DEMO_ORDERS}
    order_ids = [f"ORD-{n:05d}" for n in numbers if n not in demo_numbers][:orders]
    for order_id in order_ids:
        placed = anchor - timedelta(days=HISTORY_DAYS * rng.random() ** 1.6)
        _order(rng, data, order_id, rng.choice(people), placed, anchor, status=None)
    _demo_orders(rng, data, people[0], anchor)
    _returns(rng, data, anchor)
    _tickets(rng, data, people, anchor)
    return data


def _demo_customer(data: Dataset, anchor: datetime) -> _Customer:
    row = (DEMO_CUSTOMER, "Dana", "Whitfield", "dana.whitfield@example.com", "(415) 555-0142",
           "4155550142", "1200 Market St", "San Francisco", "CA", "94103",
           anchor - timedelta(days=700))  # fmt: skip
    data.rows["customers"].append(row)
    return _Customer(DEMO_CUSTOMER, "1200 Market St", "San Francisco", "CA", "94103")


def _customer(rng: random.Random, data: Dataset, n: int, anchor: datetime) -> _Customer:
    first, last = rng.choice(t.FIRST_NAMES), rng.choice(t.LAST_NAMES)
    city, state, prefix, area = rng.choice(t.CITIES)
    zip_code = f"{prefix}{rng.randrange(100):02d}"
    street = (
        f"{rng.randrange(1, 9900)} {rng.choice(t.STREET_NAMES)} {rng.choice(t.STREET_SUFFIXES)}"
    )
    local = f"{rng.randrange(100, 10_000):04d}"
    phone, digits = f"({area}) 555-{local}", f"{area}555{local}"
    email = f"{first}.{last}{n}@{rng.choice(t.EMAIL_DOMAINS)}".lower()
    customer_id = f"CUS-{n:06d}"
    created = anchor - timedelta(days=HISTORY_DAYS + 400 * rng.random())
    data.rows["customers"].append(
        (customer_id, first, last, email, phone, digits, street, city, state, zip_code, created)
    )
    return _Customer(customer_id, street, city, state, zip_code)


def _status_for(rng: random.Random, age_days: float) -> str:
    r = rng.random()
    if r < 0.04:
        return "cancelled"
    if age_days < 1:
        return "placed" if r < 0.35 else "processing"
    if age_days < 3:
        return "processing" if r < 0.3 else "shipped" if r < 0.55 else "in_transit"
    if age_days < 7:
        return "in_transit" if r < 0.45 else "out_for_delivery" if r < 0.5 else "delivered"
    return "returned" if r < 0.07 and age_days > 12 else "delivered"


def _order(
    rng: random.Random,
    data: Dataset,
    order_id: str,
    who: _Customer,
    placed: datetime,
    anchor: datetime,
    *,
    status: str | None,
    shipped: datetime | None = None,
    transit_days: int | None = None,
) -> None:
    age = (anchor - placed).total_seconds() / 86_400
    status = status or _status_for(rng, age)
    total = 0
    for line_no in range(1, 1 + min(5, 1 + int(rng.expovariate(1.2)))):
        sku, name, price = rng.choice(t.PRODUCTS)
        quantity = 1 if rng.random() < 0.85 else 2
        total += quantity * price
        data.rows["order_items"].append((order_id, line_no, sku, name, quantity, price))
    cancelled_at = placed + timedelta(hours=rng.uniform(0.2, 12)) if status == "cancelled" else None
    if cancelled_at is not None and cancelled_at > anchor:
        cancelled_at = anchor - timedelta(minutes=5)
    updated = placed
    if status not in ("placed", "processing", "cancelled"):
        updated = _shipment(rng, data, order_id, who, placed, anchor, status, shipped, transit_days)
    data.rows["orders"].append(
        (order_id, who.customer_id, status, placed, cancelled_at or updated, total, who.street,
         who.city, who.state, who.zip, cancelled_at,
         "customer request" if cancelled_at else None)
    )  # fmt: skip


def _shipment(
    rng: random.Random,
    data: Dataset,
    order_id: str,
    who: _Customer,
    placed: datetime,
    anchor: datetime,
    status: str,
    shipped: datetime | None,
    transit_days: int | None,
) -> datetime:
    """The shipment and its tracking events; returns the time of the last event."""
    age_h = (anchor - placed).total_seconds() / 3600
    shipped = shipped or placed + timedelta(hours=rng.uniform(0.2, min(40.0, age_h * 0.5)))
    transit = transit_days or rng.randint(2, 6)
    carrier, prefix = rng.choice(t.CARRIERS)
    tracking = f"{prefix}{order_id[4:]}{rng.randrange(10**9):09d}"
    delivered: datetime | None = None
    if status in ("delivered", "returned"):
        delivered = shipped + timedelta(days=transit + rng.uniform(-1.0, 0.8))
        delivered = min(delivered, anchor - timedelta(minutes=30))
    expected = (shipped + timedelta(days=transit)).date()
    data.rows["shipments"].append((order_id, carrier, tracking, shipped, expected, delivered))
    origin = rng.choice(WAREHOUSES)
    destination = f"{who.city}, {who.state}"
    steps = [
        (shipped, "label_created", origin, "Shipping label created"),
        (shipped + timedelta(hours=5), "picked_up", origin, f"Picked up by {carrier}"),
    ]
    if status != "shipped":
        hub = f"{rng.choice(t.CITIES)[0]} hub"
        steps.append(
            (shipped + timedelta(days=1), "in_transit", hub, "Arrived at carrier facility")
        )
    if status in ("out_for_delivery", "delivered", "returned"):
        out = (delivered or anchor) - timedelta(hours=rng.uniform(2, 6))
        steps.append((out, "out_for_delivery", destination, "Out for delivery"))
    if delivered is not None:
        steps.append((delivered, "delivered", destination, "Delivered, left at front door"))
    last = shipped
    for seq, (at, step, where, text) in enumerate(steps):
        at = min(max(at, last), anchor - timedelta(minutes=1))
        data.rows["tracking_events"].append((order_id, seq, at, step, where, text))
        last = at
    return last


def _demo_orders(rng: random.Random, data: Dataset, dana: _Customer, anchor: datetime) -> None:
    day = timedelta(days=1)
    _order(rng, data, "ORD-77315", dana, anchor - 3 * day, anchor, status="in_transit",
           shipped=anchor - 2 * day, transit_days=4)  # fmt: skip
    _order(rng, data, "ORD-10001", dana, anchor - timedelta(hours=2), anchor, status="processing")
    _order(rng, data, "ORD-20002", dana, anchor - 10 * day, anchor, status="delivered",
           shipped=anchor - 9 * day, transit_days=4)  # delivered about 5 days ago  # fmt: skip
    _order(rng, data, "ORD-30003", dana, anchor - 126 * day, anchor, status="delivered",
           shipped=anchor - 125 * day, transit_days=5)  # fmt: skip
    _order(rng, data, "ORD-40004", dana, anchor - 20 * day, anchor, status="cancelled")


def _returns(rng: random.Random, data: Dataset, anchor: datetime) -> None:
    delivered = {row[0]: row[5] for row in data.rows["shipments"] if row[5] is not None}
    n = 0
    for order in data.rows["orders"]:
        order_id, status = order[0], order[2]
        at = delivered.get(order_id)
        recent = at is not None and anchor - at < timedelta(days=30)
        if order_id in DEMO_ORDERS or not (
            status == "returned" or (recent and status == "delivered" and rng.random() < 0.05)
        ):
            continue
        n += 1
        assert at is not None
        created = min(at + timedelta(days=rng.uniform(0.5, 20)), anchor - timedelta(hours=1))
        state = "refunded" if status == "returned" else rng.choice(("requested", "label_sent"))
        label = "pending" if state == "requested" else "sent"
        data.rows["returns"].append(
            (f"RMA-{n:06d}", order_id, rng.choice(t.RETURN_REASONS), state, label,
             0 if label == "pending" else 1, None, None, None, created)
        )  # fmt: skip


def _tickets(rng: random.Random, data: Dataset, people: list[_Customer], anchor: datetime) -> None:
    orders_of: dict[str, str] = {row[1]: row[0] for row in data.rows["orders"]}
    for n in range(1, 5_001):
        who = rng.choice(people)
        subject = rng.choice(t.TICKET_SUBJECTS)
        data.rows["tickets"].append(
            (f"TCK-{n:06d}", who.customer_id, orders_of.get(who.customer_id), subject,
             f"Customer contacted support: {subject.lower()}.", rng.choice(t.TICKET_STATUSES),
             rng.choice(t.TICKET_PRIORITIES), anchor - timedelta(days=365 * rng.random()))
        )  # fmt: skip
    phones = {row[0]: row[4] for row in data.rows["customers"]}
    for n in range(1, 2_001):
        who = rng.choice(people)
        created = anchor - timedelta(days=120 * rng.random())
        status = "scheduled" if anchor - created < timedelta(days=2) else "completed"
        data.rows["callbacks"].append(
            (f"CB-{n:06d}", who.customer_id, phones[who.customer_id],
             rng.choice(t.CALLBACK_REASONS), rng.choice(t.CALLBACK_TIMES), status, created)
        )  # fmt: skip


def expected_delivery_of(data: Dataset, order_id: str) -> date | None:
    """The seeded expected delivery date of ``order_id`` (for tests and docs)."""
    return next((row[4] for row in data.rows["shipments"] if row[0] == order_id), None)
