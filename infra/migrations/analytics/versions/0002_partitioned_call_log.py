"""The analyst call log: day-partitioned event tables, per-call summaries, search, rollups.

- ``call_events``, ``turns``, ``interruptions``, ``sentiment``, ``turn_metrics`` grow with every
  call and are range-partitioned by day on ``occurred_at``. Their primary key is
  ``(event_id, occurred_at)``: an event's time never changes, so a redelivery still collides.
  ``ensure_day_partitions(from, to)`` creates missing daily partitions (ingestion calls it for the
  days of each batch; the beat job for the days ahead); retention drops whole old partitions.
- ``calls`` (one row per call, with counters kept by ingestion), ``tool_calls``, ``escalations``
  and ``daily_stats`` (rollups) are small enough to stay unpartitioned.
- ``turns.tsv`` is the full-text index over the redacted text.
- ``switchboard_analyst``: a read-only role (NOLOGIN: an operator grants it to a login role) with
  SELECT on the ``v_*`` views only.

The rows of revision 0001 are copied into the new tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PARTITIONED = ("call_events", "turns", "interruptions", "sentiment", "turn_metrics")
ANALYST_ROLE = "switchboard_analyst"

_TABLES = """
CREATE TABLE calls (
    call_id text PRIMARY KEY,
    line_id text NOT NULL DEFAULT '',
    channel text,
    caller text,                      -- redacted form only
    line_config_hash text,
    started_at timestamptz,
    ended_at timestamptz,
    end_reason text,
    duration_s double precision,
    first_seen_at timestamptz NOT NULL,
    last_event_at timestamptz NOT NULL,
    user_turns integer NOT NULL DEFAULT 0,
    agent_turns integer NOT NULL DEFAULT 0,
    interruptions integer NOT NULL DEFAULT 0,
    tool_calls integer NOT NULL DEFAULT 0,
    tool_errors integer NOT NULL DEFAULT 0,
    tool_timeouts integer NOT NULL DEFAULT 0,
    fallbacks integer NOT NULL DEFAULT 0,
    escalations integer NOT NULL DEFAULT 0,
    handoffs integer NOT NULL DEFAULT 0,
    sentiment_sum double precision NOT NULL DEFAULT 0,
    sentiment_count integer NOT NULL DEFAULT 0,
    sentiment_min double precision,
    v2v_sum_ms double precision NOT NULL DEFAULT 0,
    v2v_count integer NOT NULL DEFAULT 0,
    v2v_max_ms double precision,
    tools_used text[] NOT NULL DEFAULT '{}',
    escalated boolean GENERATED ALWAYS AS (escalations + handoffs > 0) STORED,
    sentiment_avg double precision GENERATED ALWAYS AS
        (CASE WHEN sentiment_count > 0 THEN sentiment_sum / sentiment_count END) STORED,
    outcome text GENERATED ALWAYS AS (
        CASE WHEN escalations + handoffs > 0 THEN 'escalated'
             WHEN ended_at IS NULL THEN 'in_progress'
             WHEN user_turns = 0 THEN 'abandoned'
             ELSE 'contained' END) STORED
);
CREATE INDEX ix_calls_seen ON calls (first_seen_at DESC, call_id DESC);
CREATE INDEX ix_calls_line_seen ON calls (line_id, first_seen_at DESC, call_id DESC);
CREATE INDEX ix_calls_outcome_seen ON calls (outcome, first_seen_at DESC);
CREATE INDEX ix_calls_channel_seen ON calls (channel, first_seen_at DESC);
CREATE INDEX ix_calls_tools ON calls USING gin (tools_used);
CREATE INDEX ix_calls_ended ON calls (line_id, ended_at);

CREATE TABLE call_events (
    event_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    call_id text NOT NULL,
    line_id text NOT NULL DEFAULT '',
    type text NOT NULL,
    version integer NOT NULL,
    source text NOT NULL,
    payload jsonb NOT NULL,          -- redacted
    stored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX ix_call_events_call ON call_events (call_id, occurred_at);

CREATE TABLE turns (
    event_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    call_id text NOT NULL,
    line_id text NOT NULL DEFAULT '',
    role text NOT NULL CHECK (role IN ('user', 'agent')),
    item_id text NOT NULL,
    text text NOT NULL,              -- redacted
    interrupted boolean NOT NULL DEFAULT false,
    started_ms bigint,
    ended_ms bigint,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX ix_turns_call ON turns (call_id, occurred_at);
CREATE INDEX ix_turns_tsv ON turns USING gin (tsv);

CREATE TABLE interruptions (
    event_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    call_id text NOT NULL,
    reply_id text NOT NULL,
    played_ms integer NOT NULL,
    kind text NOT NULL,
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX ix_interruptions_call ON interruptions (call_id, occurred_at);

CREATE TABLE sentiment (
    event_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    call_id text NOT NULL,
    item_id text NOT NULL,
    score double precision NOT NULL,
    trend double precision,
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX ix_sentiment_call ON sentiment (call_id, occurred_at);

CREATE TABLE turn_metrics (
    event_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    call_id text NOT NULL,
    line_id text NOT NULL DEFAULT '',
    turn integer NOT NULL,
    stages_ms jsonb NOT NULL,
    voice_to_voice_ms double precision,
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX ix_turn_metrics_call ON turn_metrics (call_id, occurred_at);
CREATE INDEX ix_turn_metrics_line ON turn_metrics (line_id, occurred_at);

CREATE TABLE tool_calls (
    call_id text NOT NULL,
    tool_call_id text NOT NULL,
    line_id text NOT NULL DEFAULT '',
    name text,
    executor text,
    arguments jsonb,                 -- redacted
    called_at timestamptz,
    status text,                     -- ok / error / timeout; NULL while running
    duration_ms integer,
    completed_at timestamptz,
    PRIMARY KEY (call_id, tool_call_id)
);
CREATE INDEX ix_tool_calls_name ON tool_calls (name, called_at);

CREATE TABLE escalations (
    event_id uuid PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    call_id text NOT NULL,
    kind text NOT NULL,              -- requested / assigned / handoff_completed / handoff_failed
    rule_id text,
    reasons jsonb NOT NULL DEFAULT '[]',   -- redacted
    score double precision,
    queue text,
    agent_id text,
    target text
);
CREATE INDEX ix_escalations_call ON escalations (call_id, occurred_at);
CREATE INDEX ix_escalations_rule ON escalations (rule_id, occurred_at);

-- One row per day and line, written by the rollup job once the day is over; /v1/stats reads
-- these for past days and computes the current ones live. v2v_hist maps a latency bucket
-- (see services/analytics/domain/stats.py) to a count, so percentiles merge across days.
CREATE TABLE daily_stats (
    day date NOT NULL,
    line_id text NOT NULL,
    calls integer NOT NULL,
    ended integer NOT NULL,
    contained integer NOT NULL,
    escalated integer NOT NULL,
    abandoned integer NOT NULL,
    handle_time_sum_s double precision NOT NULL,
    tool_calls integer NOT NULL,
    tool_errors integer NOT NULL,
    tool_timeouts integer NOT NULL,
    v2v_hist jsonb NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, line_id)
);
"""

# Creates the missing daily partitions of every partitioned table for [from_day, to_day].
# The schema is fixed when the function is created (callers need not set a search_path).
# Serialised by an advisory lock so concurrent analytics replicas do not race on DDL.
_ENSURE_PARTITIONS = """
CREATE FUNCTION ensure_day_partitions(from_day date, to_day date) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    d date;
    t text;
    created integer := 0;
    parent regclass;
BEGIN
    PERFORM pg_advisory_xact_lock(1534197762);
    FOR d IN SELECT generate_series(from_day, to_day, interval '1 day')::date LOOP
        FOREACH t IN ARRAY ARRAY['call_events', 'turns', 'interruptions', 'sentiment',
                                 'turn_metrics'] LOOP
            IF to_regclass(format('%I.%I', '__SCHEMA__', t || '_' || to_char(d, 'YYYYMMDD')))
               IS NULL THEN
                parent := format('%I.%I', '__SCHEMA__', t)::regclass;
                EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                               '__SCHEMA__', t || '_' || to_char(d, 'YYYYMMDD'), parent,
                               d::timestamp AT TIME ZONE 'UTC',
                               (d + 1)::timestamp AT TIME ZONE 'UTC');
                created := created + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN created;
END
$fn$;
"""

_VIEWS = """
CREATE VIEW v_calls AS
    SELECT call_id, line_id, channel, started_at, ended_at, first_seen_at, end_reason, duration_s,
           outcome, escalated, user_turns, agent_turns, interruptions, tool_calls, tool_errors,
           tool_timeouts, fallbacks, sentiment_avg, sentiment_min, tools_used,
           CASE WHEN v2v_count > 0 THEN v2v_sum_ms / v2v_count END AS v2v_avg_ms, v2v_max_ms
    FROM calls;
CREATE VIEW v_turns AS
    SELECT call_id, line_id, occurred_at, role, text, interrupted FROM turns;
CREATE VIEW v_tool_calls AS
    SELECT call_id, line_id, tool_call_id, name, executor, arguments, called_at, status,
           duration_ms FROM tool_calls;
CREATE VIEW v_escalations AS
    SELECT call_id, occurred_at, kind, rule_id, reasons, score, queue, agent_id FROM escalations;
CREATE VIEW v_turn_metrics AS
    SELECT call_id, line_id, occurred_at, turn, stages_ms, voice_to_voice_ms FROM turn_metrics;
CREATE VIEW v_daily_stats AS
    SELECT day, line_id, calls, ended, contained, escalated, abandoned, handle_time_sum_s,
           tool_calls, tool_errors, tool_timeouts FROM daily_stats;
"""

# 0001's rows, carried over (its tables are renamed first, then dropped).
_COPY = """
SELECT ensure_day_partitions(
    coalesce((SELECT min(occurred_at)::date FROM call_events_v1), current_date),
    greatest(coalesce((SELECT max(occurred_at)::date FROM call_events_v1), current_date),
             current_date + 2));
INSERT INTO calls (call_id, line_id, channel, caller, line_config_hash, started_at, ended_at,
                   end_reason, duration_s, first_seen_at, last_event_at)
    SELECT call_id, line_id, channel, caller, line_config_hash, started_at, ended_at, end_reason,
           duration_s, first_seen_at, coalesce(ended_at, started_at, first_seen_at)
    FROM calls_v1;
INSERT INTO call_events (event_id, occurred_at, call_id, line_id, type, version, source, payload)
    SELECT e.event_id, e.occurred_at, e.call_id, coalesce(c.line_id, ''), e.type, e.version,
           e.source, e.payload
    FROM call_events_v1 e LEFT JOIN calls_v1 c USING (call_id);
INSERT INTO turns (event_id, occurred_at, call_id, line_id, role, item_id, text, interrupted,
                   started_ms, ended_ms)
    SELECT t.event_id, t.occurred_at, t.call_id, coalesce(c.line_id, ''), t.role, t.item_id,
           t.text, t.interrupted, t.started_ms, t.ended_ms
    FROM turns_v1 t LEFT JOIN calls_v1 c USING (call_id);
UPDATE calls SET user_turns = n.u, agent_turns = n.a
    FROM (SELECT call_id, count(*) FILTER (WHERE role = 'user') AS u,
                 count(*) FILTER (WHERE role = 'agent') AS a
          FROM turns_v1 GROUP BY call_id) n
    WHERE calls.call_id = n.call_id;
"""

_ROLE = f"""
DO $$ BEGIN
    CREATE ROLE {ANALYST_ROLE} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
"""


def _execute_each(script: str) -> None:
    """Run a script of plain statements one by one (asyncpg prepares one statement at a time)."""
    for statement in script.split(";\n"):
        if statement.strip():
            op.execute(statement)


def upgrade(schema: str) -> None:
    for table in ("calls", "turns", "call_events"):
        op.execute(f"ALTER TABLE {table} RENAME TO {table}_v1")
    for index in (
        "ix_call_events_call",
        "ix_calls_started",
        "ix_calls_line_started",
        "ix_turns_call",
    ):
        op.execute(f"ALTER INDEX {index} RENAME TO {index}_v1")
    _execute_each(_TABLES)
    op.execute(_ENSURE_PARTITIONS.replace("__SCHEMA__", schema))
    _execute_each(_COPY)
    for table in ("turns", "call_events", "calls"):
        op.execute(f"DROP TABLE {table}_v1")
    _execute_each(_VIEWS)
    op.execute(_ROLE)
    op.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {ANALYST_ROLE}')
    op.execute(
        f"GRANT SELECT ON v_calls, v_turns, v_tool_calls, v_escalations, v_turn_metrics, "
        f"v_daily_stats TO {ANALYST_ROLE}"
    )


# Back to 0001's three tables. What 0001 has a place for is kept (calls, turns, every event,
# whose redacted payloads still hold the tool calls, interruptions and escalations); the
# per-call counters, the per-kind tables and the rollups are derived data and are dropped.
_DOWNGRADE = """
DROP VIEW v_calls, v_turns, v_tool_calls, v_escalations, v_turn_metrics, v_daily_stats;
CREATE TABLE calls_v1 (
    call_id text PRIMARY KEY,
    line_id text NOT NULL DEFAULT '',
    channel text,
    caller text,
    line_config_hash text,
    started_at timestamptz,
    ended_at timestamptz,
    end_reason text,
    duration_s double precision,
    first_seen_at timestamptz NOT NULL
);
INSERT INTO calls_v1 SELECT call_id, line_id, channel, caller, line_config_hash, started_at,
    ended_at, end_reason, duration_s, first_seen_at FROM calls;
CREATE TABLE call_events_v1 (
    event_id uuid PRIMARY KEY,
    call_id text NOT NULL,
    type text NOT NULL,
    version integer NOT NULL,
    occurred_at timestamptz NOT NULL,
    source text NOT NULL,
    payload jsonb NOT NULL,
    stored_at timestamptz DEFAULT now()
);
INSERT INTO call_events_v1 SELECT event_id, call_id, type, version, occurred_at, source, payload,
    stored_at FROM call_events;
CREATE TABLE turns_v1 (
    event_id uuid PRIMARY KEY,
    call_id text NOT NULL,
    role text NOT NULL CONSTRAINT ck_turns_role CHECK (role IN ('user', 'agent')),
    item_id text NOT NULL,
    text text NOT NULL,
    interrupted boolean NOT NULL DEFAULT false,
    started_ms bigint,
    ended_ms bigint,
    occurred_at timestamptz NOT NULL
);
INSERT INTO turns_v1 SELECT event_id, call_id, role, item_id, text, interrupted, started_ms,
    ended_ms, occurred_at FROM turns;
DROP TABLE calls, call_events, turns, interruptions, sentiment, turn_metrics, tool_calls,
    escalations, daily_stats;
DROP FUNCTION ensure_day_partitions(date, date);
ALTER TABLE calls_v1 RENAME TO calls;
ALTER TABLE call_events_v1 RENAME TO call_events;
ALTER TABLE turns_v1 RENAME TO turns;
CREATE INDEX ix_call_events_call ON call_events (call_id, occurred_at);
CREATE INDEX ix_calls_started ON calls (started_at);
CREATE INDEX ix_calls_line_started ON calls (line_id, started_at);
CREATE INDEX ix_turns_call ON turns (call_id, occurred_at)
"""


def downgrade(schema: str) -> None:
    _execute_each(_DOWNGRADE)
    # The role is cluster-wide (other schemas may grant it too): only this schema's grant goes.
    op.execute(f'REVOKE USAGE ON SCHEMA "{schema}" FROM {ANALYST_ROLE}')
