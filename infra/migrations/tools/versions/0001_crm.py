"""The built-in CRM and order backend, and the tools service's idempotency records.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ORDER_STATUSES = (
    "placed",
    "processing",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "cancelled",
    "returned",
)
TS = sa.DateTime(timezone=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def upgrade(schema: str) -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.Text, primary_key=True),  # CUS-000001
        sa.Column("first_name", sa.Text, nullable=False),
        sa.Column("last_name", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("phone", sa.Text, nullable=False),
        # Digits only, last 10 (a US number without its country code): what lookups match on.
        sa.Column("phone_digits", sa.Text, nullable=False),
        sa.Column("street", sa.Text, nullable=False),
        sa.Column("city", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("zip", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        schema=schema,
    )
    op.create_index("ix_customers_phone", "customers", ["phone_digits"], schema=schema)
    op.execute(
        f'CREATE INDEX ix_customers_name_zip ON "{schema}".customers '
        "(lower(last_name), zip, lower(first_name))"
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.Text, primary_key=True),  # ORD-77315
        sa.Column("customer_id", sa.Text, sa.ForeignKey(f"{schema}.customers.customer_id")),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("placed_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("total_cents", sa.Integer, nullable=False),
        sa.Column("ship_street", sa.Text, nullable=False),
        sa.Column("ship_city", sa.Text, nullable=False),
        sa.Column("ship_state", sa.Text, nullable=False),
        sa.Column("ship_zip", sa.Text, nullable=False),
        sa.Column("cancelled_at", TS),
        sa.Column("cancel_reason", sa.Text),
        sa.CheckConstraint(_in("status", ORDER_STATUSES), name="ck_orders_status"),
        schema=schema,
    )
    op.create_index(
        "ix_orders_customer", "orders", ["customer_id", sa.text("placed_at DESC")], schema=schema
    )
    op.create_table(
        "order_items",
        sa.Column("order_id", sa.Text, sa.ForeignKey(f"{schema}.orders.order_id"), nullable=False),
        sa.Column("line_no", sa.SmallInteger, nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("product_name", sa.Text, nullable=False),
        sa.Column("quantity", sa.SmallInteger, nullable=False),
        sa.Column("unit_price_cents", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "line_no"),
        schema=schema,
    )
    op.create_table(
        "shipments",
        sa.Column(
            "order_id", sa.Text, sa.ForeignKey(f"{schema}.orders.order_id"), primary_key=True
        ),
        sa.Column("carrier", sa.Text, nullable=False),
        sa.Column("tracking_number", sa.Text, nullable=False, unique=True),
        sa.Column("shipped_at", TS, nullable=False),
        sa.Column("expected_delivery", sa.Date, nullable=False),
        sa.Column("delivered_at", TS),
        schema=schema,
    )
    op.create_table(
        "tracking_events",
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("seq", sa.SmallInteger, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "seq"),
        schema=schema,
    )
    op.create_table(
        "returns",
        sa.Column("rma_id", sa.Text, primary_key=True),  # RMA-000001
        sa.Column("order_id", sa.Text, sa.ForeignKey(f"{schema}.orders.order_id"), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        # The label email (a Celery task): pending -> sent | failed.
        sa.Column("label_status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("label_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("tool_call_id", sa.Text),
        sa.Column("call_id", sa.Text),
        sa.Column("line_id", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            _in("status", ("requested", "label_sent", "received", "refunded", "rejected")),
            name="ck_returns_status",
        ),
        sa.CheckConstraint(
            _in("label_status", ("pending", "sent", "failed")), name="ck_returns_label"
        ),
        schema=schema,
    )
    op.create_index("ix_returns_order", "returns", ["order_id"], schema=schema)
    op.create_table(
        "tickets",
        sa.Column("ticket_id", sa.Text, primary_key=True),  # TCK-000001
        sa.Column("customer_id", sa.Text),
        sa.Column("order_id", sa.Text),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("priority", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        schema=schema,
    )
    op.create_table(
        "callbacks",
        sa.Column("callback_id", sa.Text, primary_key=True),  # CB-000001
        sa.Column("customer_id", sa.Text),
        sa.Column("phone", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("preferred_time", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        schema=schema,
    )
    # New ids continue after the seeded ones (the seed moves these sequences past its rows).
    for name in ("rma_seq", "ticket_seq", "callback_seq"):
        op.execute(f'CREATE SEQUENCE "{schema}".{name} START 1')
    op.create_table(
        # One row per write a tool made: the idempotency key with the answer it gave, written in
        # the same transaction as the effect. A redelivered command finds it and answers the same.
        "tool_outcomes",
        sa.Column("idempotency_key", sa.Text, primary_key=True),
        sa.Column("tool", sa.Text, nullable=False),
        sa.Column("outcome", postgresql.JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        schema=schema,
    )
    op.create_table(
        # Side effects (Celery tasks) that failed for good: kept for an operator to replay.
        "side_effect_dead_letters",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("failed_at", TS, nullable=False, server_default=sa.func.now()),
        schema=schema,
    )


def downgrade(schema: str) -> None:
    for table in (
        "side_effect_dead_letters",
        "tool_outcomes",
        "callbacks",
        "tickets",
        "returns",
        "tracking_events",
        "shipments",
        "order_items",
        "orders",
        "customers",
    ):
        op.drop_table(table, schema=schema)
    for name in ("rma_seq", "ticket_seq", "callback_seq"):
        op.execute(f'DROP SEQUENCE "{schema}".{name}')
