"""The call log: calls, turns, and every call event (redacted).

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade(schema: str) -> None:
    op.create_table(
        "call_events",
        # The event id is the idempotency key: a redelivered event finds its row and is skipped.
        sa.Column("event_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("call_id", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("payload", postgresql.JSONB, nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        schema=schema,
    )
    op.create_index("ix_call_events_call", "call_events", ["call_id", "occurred_at"], schema=schema)
    op.create_table(
        "calls",
        sa.Column("call_id", sa.Text, primary_key=True),
        sa.Column("line_id", sa.Text, nullable=False, server_default=""),
        sa.Column("channel", sa.Text),
        sa.Column("caller", sa.Text),  # redacted form only
        sa.Column("line_config_hash", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("end_reason", sa.Text),
        sa.Column("duration_s", sa.Float),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )
    op.create_index("ix_calls_started", "calls", ["started_at"], schema=schema)
    op.create_index("ix_calls_line_started", "calls", ["line_id", "started_at"], schema=schema)
    op.create_table(
        "turns",
        sa.Column("event_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("call_id", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("item_id", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),  # redacted
        sa.Column("interrupted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("started_ms", sa.BigInteger),
        sa.Column("ended_ms", sa.BigInteger),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role in ('user', 'agent')", name="ck_turns_role"),
        schema=schema,
    )
    op.create_index("ix_turns_call", "turns", ["call_id", "occurred_at"], schema=schema)


def downgrade(schema: str) -> None:
    op.drop_table("turns", schema=schema)
    op.drop_table("calls", schema=schema)
    op.drop_table("call_events", schema=schema)
