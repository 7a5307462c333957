"""The call-log tables as SQLAlchemy Core sees them (``infra/migrations/analytics`` owns DDL)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

_UUID = postgresql.UUID(as_uuid=True)
_TS = sa.DateTime(timezone=True)


def _event_table(name: str, *columns: sa.Column) -> sa.Table:  # type: ignore[type-arg]
    """A day-partitioned table keyed by ``(event_id, occurred_at)``."""
    return sa.Table(
        name,
        metadata,
        sa.Column("event_id", _UUID, primary_key=True),
        sa.Column("occurred_at", _TS, primary_key=True),
        sa.Column("call_id", sa.Text),
        *columns,
    )


call_events = _event_table(
    "call_events",
    sa.Column("line_id", sa.Text),
    sa.Column("type", sa.Text),
    sa.Column("version", sa.Integer),
    sa.Column("source", sa.Text),
    sa.Column("payload", postgresql.JSONB),
)
turns = _event_table(
    "turns",
    sa.Column("line_id", sa.Text),
    sa.Column("role", sa.Text),
    sa.Column("item_id", sa.Text),
    sa.Column("text", sa.Text),
    sa.Column("interrupted", sa.Boolean),
    sa.Column("started_ms", sa.BigInteger),
    sa.Column("ended_ms", sa.BigInteger),
    sa.Column("tsv", postgresql.TSVECTOR, sa.Computed("to_tsvector('english', text)")),
)
interruptions = _event_table(
    "interruptions",
    sa.Column("reply_id", sa.Text),
    sa.Column("played_ms", sa.Integer),
    sa.Column("kind", sa.Text),
)
sentiment = _event_table(
    "sentiment",
    sa.Column("item_id", sa.Text),
    sa.Column("score", sa.Float),
    sa.Column("trend", sa.Float),
)
turn_metrics = _event_table(
    "turn_metrics",
    sa.Column("line_id", sa.Text),
    sa.Column("turn", sa.Integer),
    sa.Column("stages_ms", postgresql.JSONB),
    sa.Column("voice_to_voice_ms", sa.Float),
)
escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("event_id", _UUID, primary_key=True),
    sa.Column("occurred_at", _TS),
    sa.Column("call_id", sa.Text),
    sa.Column("kind", sa.Text),
    sa.Column("rule_id", sa.Text),
    sa.Column("reasons", postgresql.JSONB),
    sa.Column("score", sa.Float),
    sa.Column("queue", sa.Text),
    sa.Column("agent_id", sa.Text),
    sa.Column("target", sa.Text),
)
tool_calls = sa.Table(
    "tool_calls",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("tool_call_id", sa.Text, primary_key=True),
    sa.Column("line_id", sa.Text),
    sa.Column("name", sa.Text),
    sa.Column("executor", sa.Text),
    sa.Column("arguments", postgresql.JSONB),
    sa.Column("called_at", _TS),
    sa.Column("status", sa.Text),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("completed_at", _TS),
)
COUNTERS = (
    "user_turns", "agent_turns", "interruptions", "tool_calls", "tool_errors", "tool_timeouts",
    "fallbacks", "escalations", "handoffs", "sentiment_count", "v2v_count",
)  # fmt: skip
FLOAT_COUNTERS = ("sentiment_sum", "v2v_sum_ms")
calls = sa.Table(
    "calls",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("line_id", sa.Text),
    sa.Column("channel", sa.Text),
    sa.Column("caller", sa.Text),
    sa.Column("line_config_hash", sa.Text),
    sa.Column("started_at", _TS),
    sa.Column("ended_at", _TS),
    sa.Column("end_reason", sa.Text),
    sa.Column("duration_s", sa.Float),
    sa.Column("first_seen_at", _TS),
    sa.Column("last_event_at", _TS),
    *(sa.Column(name, sa.Integer) for name in COUNTERS),
    *(sa.Column(name, sa.Float) for name in FLOAT_COUNTERS),
    sa.Column("sentiment_min", sa.Float),
    sa.Column("v2v_max_ms", sa.Float),
    sa.Column("tools_used", postgresql.ARRAY(sa.Text)),
    sa.Column("escalated", sa.Boolean, sa.Computed("escalations + handoffs > 0")),
    sa.Column("sentiment_avg", sa.Float, sa.Computed("sentiment_sum / sentiment_count")),
    sa.Column("outcome", sa.Text, sa.Computed("outcome")),
)
daily_stats = sa.Table(
    "daily_stats",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("line_id", sa.Text, primary_key=True),
    sa.Column("calls", sa.Integer),
    sa.Column("ended", sa.Integer),
    sa.Column("contained", sa.Integer),
    sa.Column("escalated", sa.Integer),
    sa.Column("abandoned", sa.Integer),
    sa.Column("handle_time_sum_s", sa.Float),
    sa.Column("tool_calls", sa.Integer),
    sa.Column("tool_errors", sa.Integer),
    sa.Column("tool_timeouts", sa.Integer),
    sa.Column("v2v_hist", postgresql.JSONB),
    sa.Column("computed_at", _TS),
)
EVENT_TABLES = {t.name: t for t in (turns, interruptions, sentiment, turn_metrics)}
