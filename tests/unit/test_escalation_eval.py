"""The scripted conversations through demo-retail's rules, and the eval's own verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.escalation_eval import (
    DEFAULT_FILE,
    Conversation,
    Outcome,
    events,
    load_conversations,
    main,
    report,
    run,
)
from shared.events import Interruption, ToolResult, TranscriptUser


def _conversation(expect: str = "escalate", trigger: int | None = 2) -> Conversation:
    return Conversation.model_validate(
        {
            "id": "c",
            "kind": "loop",
            "expect": expect,
            "trigger_turn": trigger,
            "turns": [
                {"agent": "Hi"},
                {"caller": "a"},
                {"barge_in": True},
                {"tool": {"name": "x", "status": "error"}},
                {"caller": "b"},
            ],
        }
    )


def test_the_repo_conversations_all_behave() -> None:
    conversations = load_conversations(DEFAULT_FILE)
    kinds = {c.kind for c in conversations}
    assert len(conversations) >= 30
    assert {
        "asks_for_person",
        "anger_trend",
        "loop",
        "calm_complaint",
        "calm",
        "tool_failures",
        "dtmf_zero",
        "profanity",
    } <= kinds

    outcomes = run([DEFAULT_FILE])

    failed = [o for o in outcomes if o.verdict != "ok"]
    assert not failed, report(outcomes)


def test_verdicts_and_delays() -> None:
    escalate = _conversation()
    assert Outcome(escalate, 4, "r").verdict == "ok" and Outcome(escalate, 4, "r").delay == 2
    assert Outcome(escalate, 5, "r").verdict == "late"
    assert Outcome(escalate, None, None).verdict == "missed"
    assert Outcome(escalate, 1, "r").verdict == "ok"  # early is in time
    stay = _conversation("stay", None)
    assert Outcome(stay, None, None).verdict == "ok"
    assert Outcome(stay, 3, "r").verdict == "false"


def test_events_count_caller_turns_and_point_barge_ins_at_the_last_reply() -> None:
    replayed = list(events(_conversation()))

    turns = [(turn, type(p).__name__) for turn, _, p in replayed]
    assert turns[2] == (1, "TranscriptUser")
    interruption = next(p for _, _, p in replayed if isinstance(p, Interruption))
    assert interruption.reply_id == "reply_0"
    assert any(isinstance(p, ToolResult) and p.status == "error" for _, _, p in replayed)
    assert [p.text for _, _, p in replayed if isinstance(p, TranscriptUser)] == ["a", "b"]


def test_main_exits_non_zero_when_a_stay_call_escalates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "conversations:\n  - id: zero-but-stay\n    kind: calm\n    expect: stay\n"
        "    turns:\n      - caller: hello\n      - dtmf: '0'\n"
    )

    assert main([str(bad)]) == 1
    assert "FAIL zero-but-stay: false" in capsys.readouterr().out
