"""The CRM seed is deterministic, consistent, and puts the demo orders in their known states."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from services.tools.seed.generator import COLUMNS, DEMO_CUSTOMER, Dataset, anchor_for, generate

ANCHOR = anchor_for(datetime(2026, 11, 22, 15, 30, tzinfo=UTC))


def digest(data: Dataset) -> str:
    h = hashlib.sha256()
    for table in COLUMNS:
        for row in data.rows[table]:
            h.update(repr(row).encode())
    return h.hexdigest()


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    first = generate(seed=5, anchor=ANCHOR, customers=300, orders=1500)
    again = generate(seed=5, anchor=ANCHOR, customers=300, orders=1500)
    other = generate(seed=6, anchor=ANCHOR, customers=300, orders=1500)
    assert digest(first) == digest(again)
    assert digest(first) != digest(other)


def test_rows_fit_their_columns_and_ids_are_unique() -> None:
    data = generate(anchor=ANCHOR, customers=300, orders=1500)
    for table, columns in COLUMNS.items():
        assert all(len(row) == len(columns) for row in data.rows[table]), table
    order_ids = [row[0] for row in data.rows["orders"]]
    assert len(order_ids) == len(set(order_ids)) == 1505
    assert all(len(o) == 9 and o.startswith("ORD-") for o in order_ids)
    emails = [row[3] for row in data.rows["customers"]]
    assert len(emails) == len(set(emails)) == 300
    customers = {row[0] for row in data.rows["customers"]}
    assert {row[1] for row in data.rows["orders"]} <= customers


def test_nothing_happens_after_the_anchor() -> None:
    data = generate(anchor=ANCHOR, customers=300, orders=1500)
    assert max(row[2] for row in data.rows["tracking_events"]) <= ANCHOR
    assert max(row[3] for row in data.rows["orders"]) <= ANCHOR
    # Tracking events of one order are in time order.
    last: dict[str, datetime] = {}
    for order_id, _seq, at, *_ in data.rows["tracking_events"]:
        assert at >= last.get(order_id, at)
        last[order_id] = at


def test_demo_orders_are_in_their_documented_states() -> None:
    data = generate(anchor=ANCHOR, customers=300, orders=1500)
    orders = {row[0]: row for row in data.rows["orders"]}
    shipments = {row[0]: row for row in data.rows["shipments"]}
    assert {oid: orders[oid][2] for oid in ("ORD-77315", "ORD-10001", "ORD-40004")} == {
        "ORD-77315": "in_transit",
        "ORD-10001": "processing",
        "ORD-40004": "cancelled",
    }
    assert all(orders[o][1] == DEMO_CUSTOMER for o in ("ORD-77315", "ORD-20002", "ORD-30003"))
    assert shipments["ORD-77315"][5] is None
    assert shipments["ORD-77315"][4] == (ANCHOR + timedelta(days=2)).date()
    assert "ORD-10001" not in shipments
    recent, old = shipments["ORD-20002"][5], shipments["ORD-30003"][5]
    assert ANCHOR - recent < timedelta(days=7)
    assert ANCHOR - old > timedelta(days=100)
