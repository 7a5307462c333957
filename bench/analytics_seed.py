"""A million turns in an analytics schema, fast: set-based SQL only (``INSERT ... SELECT``).

Calls are spread over the last 30 days across 3 lines and 2 channels; each has 1-19 caller
turns answered by the agent (about 21 turns a call), a ``turn_metrics`` row per answer with a
log-normal voice-to-voice latency, tool calls, escalations and hand-offs, and summary counters
that agree with those rows (so ``outcome`` comes out as ingestion would make it).

Turn texts are drawn from a vocabulary of support phrases, already in their redacted form. The
product slot is skewed (``random()^3``), so some words are in a third of all turns and others
in a few hundred: full-text search sees the distribution a real call log gives it.
``call_events`` (the raw archive) is not seeded: no analyst query reads it.
"""

from __future__ import annotations

import time
from datetime import datetime

import asyncpg

LINES = ["demo-retail", "billing", "returns"]
TOOLS = ["order_status", "start_return", "find_customer", "store_info", "change_address"]

# "{item}" is replaced by a product drawn from ITEMS (skewed towards the front).
USER_PHRASES = [
    "hi i am calling about my order, it was supposed to arrive on tuesday",
    "where is my order, the tracking has not moved for three days",
    "i want to return the {item} i bought last week",
    "the {item} arrived damaged, the box was crushed",
    "can i get a refund for the {item}",
    "i was charged twice for the same order",
    "my order number is ORD-77315",
    "i need to change the delivery address on my order",
    "the tracking says delivered but nothing came",
    "can i speak to a person please",
    "you can email me at [EMAIL]",
    "my phone number is [PHONE]",
    "the card ending in 4242, the payment failed",
    "it's under the name [PERSON]",
    "the {item} is the wrong size, can i exchange it",
    "how long does a refund take to show up on my card",
    "do you have the {item} in stock at the downtown store",
    "what time does the store close on sunday",
    "i never got the confirmation email",
    "the {item} stopped working after two days",
    "i would like to cancel my order before it ships",
    "the courier left the parcel with a neighbour",
    "can you send me a return label",
    "i already returned it and still have no refund",
    "yes that's right",
    "no that's all, thank you",
    "sorry can you repeat that",
    "i live at [STREET_ADDRESS]",
    "the {item} was missing from the package",
    "is there a warranty on the {item}",
]
AGENT_PHRASES = [
    "i can help with that, what is your order number",
    "thanks, i found your order, it is on its way and should arrive tomorrow",
    "i have started a return for the {item}, the label is on its way to your email",
    "your refund has been issued and should show in three to five business days",
    "i am sorry the {item} arrived damaged, i can send a replacement",
    "i have updated the delivery address on your order",
    "let me connect you with a colleague who can help further",
    "the store is open from nine to nine on weekdays and ten to six on sunday",
    "could you confirm the email address on the account",
    "i see two payments, one of them is a pending authorisation that will drop off",
    "your order has been cancelled and you will not be charged",
    "the {item} is in stock at the downtown store",
    "is there anything else i can help you with",
    "one moment while i check that for you",
    "the {item} has a one year warranty",
]
GREETING = "hi, thanks for calling, how can i help you today"
# Front of the list: in many turns; back: rarer (about 0.3 % of turns).
ITEMS = [
    "jacket", "running shoes", "headphones", "coffee maker", "backpack", "phone case", "jeans",
    "desk lamp", "blender", "sneakers", "water bottle", "smart watch", "toaster", "hoodie",
    "vacuum cleaner", "sunglasses", "rain boots", "yoga mat", "air fryer", "wool scarf",
    "bluetooth speaker", "kettle", "suitcase", "duvet cover", "gaming chair", "tent",
    "electric toothbrush", "camera lens", "espresso machine", "kayak", "harmonica",
]  # fmt: skip
# Appended to a few caller turns: rare words ("chargeback" in about 150 turns, "abroad" in
# about 500, "birthday" in about 2,000 of a million).
SUFFIXES = [
    "and i will file a chargeback with my bank",
    "because i am moving abroad next month",
    "it was a birthday present for my daughter",
]
# Cumulative shares of caller turns that end with each suffix (width_bucket thresholds).
SUFFIX_BOUNDS = [0.0, 0.0003, 0.0013, 0.0053]

SEED = """
SELECT setseed(0.42);
WITH d AS (
    SELECT g,
           $1::timestamptz - interval '1 hour' - random() * interval '719 hours' AS seen,
           random() AS r_line, random() AS r_chan, random() AS r_turns, random() AS r_tool,
           random() AS r_esc, random() AS r_err
    FROM generate_series(1, $2::int) g
), c AS (
    SELECT *, CASE WHEN r_turns < 0.04 THEN 0 ELSE 1 + floor(r_turns * 19)::int END AS u,
           CASE WHEN r_tool < 0.45 THEN 1 WHEN r_tool < 0.6 THEN 2 ELSE 0 END AS tools
    FROM d
)
INSERT INTO calls (call_id, line_id, channel, caller, line_config_hash, started_at, ended_at,
                   end_reason, duration_s, first_seen_at, last_event_at, user_turns,
                   agent_turns, tool_calls, tool_errors, tool_timeouts, escalations, handoffs,
                   tools_used)
SELECT 'sess_seed' || lpad(g::text, 7, '0'),
       ($3::text[])[1 + floor(r_line * 3)::int],
       CASE WHEN r_chan < 0.7 THEN 'voice_agent' ELSE 'twilio' END,
       '[PHONE]', 'cfg-2026-11', seen,
       CASE WHEN g % 2500 <> 0 THEN seen + make_interval(secs => (2 * u + 1) * 9 + 4) END,
       CASE WHEN g % 2500 = 0 THEN NULL WHEN u = 0 THEN 'caller_hung_up' ELSE 'completed' END,
       CASE WHEN g % 2500 <> 0 THEN (2 * u + 1) * 9 + 4 END,
       seen, seen + make_interval(secs => (2 * u + 1) * 9 + 4),
       u, u + 1,
       CASE WHEN u > 0 THEN tools ELSE 0 END,
       CASE WHEN u > 0 AND tools > 0 AND r_err < 0.05 THEN 1 ELSE 0 END,
       CASE WHEN u > 0 AND tools > 0 AND r_err >= 0.05 AND r_err < 0.07 THEN 1 ELSE 0 END,
       CASE WHEN u > 0 AND r_esc < 0.1 THEN 1 ELSE 0 END,
       CASE WHEN u > 0 AND r_esc < 0.07 THEN 1 ELSE 0 END,
       CASE WHEN u > 0 THEN ARRAY(
           SELECT DISTINCT ($4::text[])[1 + (g + k) % 5] FROM generate_series(1, tools) k
           ORDER BY 1) ELSE '{}' END
FROM c;
"""

# Turn n of a call (1-based) is at first_seen_at + 9 n s; odd turns are the agent's (turn 1
# greets), even ones the caller's. $1..$6: user phrases, agent phrases, items, suffixes and
# their bounds, the greeting.
TURNS = """
INSERT INTO turns (event_id, occurred_at, call_id, line_id, role, item_id, text, interrupted,
                   started_ms, ended_ms)
SELECT gen_random_uuid(), c.first_seen_at + make_interval(secs => n * 9), c.call_id, c.line_id,
       CASE WHEN n % 2 = 1 THEN 'agent' ELSE 'user' END,
       CASE WHEN n % 2 = 1 THEN 'reply_' ELSE 'item_' END || n,
       CASE WHEN n = 1 THEN $6
            ELSE replace(
                CASE WHEN n % 2 = 0
                     THEN ($1::text[])[1 + floor(random() * cardinality($1::text[]))::int]
                     ELSE ($2::text[])[1 + floor(random() * cardinality($2::text[]))::int] END,
                '{item}',
                ($3::text[])[1 + floor(random() ^ 3 * cardinality($3::text[]))::int])
                || CASE WHEN n % 2 = 0
                        THEN coalesce(' ' || ($4::text[])[width_bucket(random(), $5::float8[])], '')
                        ELSE '' END
       END,
       false,
       CASE WHEN n % 2 = 0 THEN n * 9000 END,
       CASE WHEN n % 2 = 0 THEN n * 9000 + 3500 END
FROM calls c, generate_series(1, 2 * c.user_turns + 1) n;
"""

# One per answer to a caller turn (agent turn 2k+1); voice-to-voice is log-normal around
# 1.9 s (Box-Muller), the stages add up to it.
METRICS = """
INSERT INTO turn_metrics (event_id, occurred_at, call_id, line_id, turn, stages_ms,
                          voice_to_voice_ms)
SELECT gen_random_uuid(), occurred_at, call_id, line_id, k, jsonb_build_object(
           'end_of_turn', round(v2v * 0.55), 'stt', round(v2v * 0.1),
           'llm_first_token', round(v2v * 0.25), 'tts_first_audio', round(v2v * 0.1),
           'voice_to_voice', round(v2v)), round(v2v)
FROM (
    SELECT c.call_id, c.line_id, k, c.first_seen_at + make_interval(secs => (2 * k + 1) * 9)
               AS occurred_at,
           1900 * exp(0.35 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS v2v
    FROM calls c, generate_series(1, c.user_turns) k
) m;
UPDATE calls SET v2v_sum_ms = s.total, v2v_count = s.n, v2v_max_ms = s.top
FROM (SELECT call_id, sum(voice_to_voice_ms) AS total, count(*) AS n,
             max(voice_to_voice_ms) AS top
      FROM turn_metrics GROUP BY call_id) s
WHERE calls.call_id = s.call_id;
"""

TOOL_CALLS = """
INSERT INTO tool_calls (call_id, tool_call_id, line_id, name, executor, arguments, called_at,
                        status, duration_ms, completed_at)
SELECT c.call_id, 'tc' || k, c.line_id, ($1::text[])[1 + (substr(c.call_id, 10)::int + k) % 5],
       'server', jsonb_build_object('order_id', 'ORD-' || (10000 + k * 7)),
       c.first_seen_at + make_interval(secs => k * 36 + 2),
       CASE WHEN k = 1 AND c.tool_errors = 1 THEN 'error'
            WHEN k = 1 AND c.tool_timeouts = 1 THEN 'timeout' ELSE 'ok' END,
       CASE WHEN k = 1 AND c.tool_timeouts = 1 THEN 5000 ELSE 40 + k * 15 END,
       c.first_seen_at + make_interval(secs => k * 36 + 3)
FROM calls c, generate_series(1, c.tool_calls) k;
INSERT INTO escalations (event_id, occurred_at, call_id, kind, rule_id, reasons, score, queue,
                         agent_id, target)
SELECT gen_random_uuid(), c.first_seen_at + make_interval(secs => c.user_turns * 18),
       c.call_id, e.kind, CASE WHEN e.kind = 'requested' THEN 'caller_asked' END,
       CASE WHEN e.kind = 'requested' THEN '["caller asked for a person"]'::jsonb
            ELSE '[]'::jsonb END,
       CASE WHEN e.kind = 'requested' THEN 0.9 END, 'tier1',
       CASE WHEN e.kind <> 'requested' THEN 'agent-7' END,
       CASE WHEN e.kind = 'handoff_completed' THEN 'sip:tier1@pbx' END
FROM calls c
CROSS JOIN LATERAL (VALUES ('requested'), ('handoff_completed')) e(kind)
WHERE c.escalations > 0 AND (e.kind = 'requested' OR c.handoffs > 0);
"""

# Secondary indexes are dropped during the bulk insert and rebuilt from their own definitions
# afterwards (as pg_restore does): one sort per index instead of a million random inserts.
_BULK_TABLES = ("turns", "turn_metrics")


async def seed(conn: asyncpg.Connection, schema: str, *, calls: int, now: datetime) -> float:
    """Fill ``schema`` (already migrated); returns the seconds it took, ANALYZE included."""
    started = time.perf_counter()
    await conn.execute(f'SET search_path TO "{schema}"')
    await conn.execute("SET maintenance_work_mem = '256MB'")
    await conn.execute("SET synchronous_commit = off")
    await conn.execute(
        "SELECT ensure_day_partitions(($1::timestamptz - interval '31 days')::date, "
        "($1::timestamptz + interval '1 day')::date)",
        now,
    )
    indexes = await conn.fetch(
        "SELECT i.relname AS indexname, pg_get_indexdef(i.oid) AS ddl FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = $1 AND t.relname = ANY($2::text[]) AND NOT x.indisprimary",
        schema,
        list(_BULK_TABLES),
    )
    async with conn.transaction():
        for index in indexes:
            await conn.execute(f'DROP INDEX "{schema}"."{index["indexname"]}"')
        first, insert = SEED.split(";\n", 1)
        await conn.execute(first)
        await conn.execute(insert, now, calls, LINES, TOOLS)
        await conn.execute(
            TURNS, USER_PHRASES, AGENT_PHRASES, ITEMS, SUFFIXES, SUFFIX_BOUNDS, GREETING
        )
        metrics, totals = METRICS.split(";\n", 1)
        await conn.execute(metrics)
        await conn.execute(totals)
        tool_calls, escalations = TOOL_CALLS.split(";\n", 1)
        await conn.execute(tool_calls, TOOLS)
        await conn.execute(escalations)
        for index in indexes:
            # A partitioned parent's definition reads "ON ONLY": rebuild it on every partition.
            await conn.execute(index["ddl"].replace(" ON ONLY ", " ON "))
    await conn.execute("ANALYZE calls, turns, turn_metrics, tool_calls, escalations")
    return time.perf_counter() - started
