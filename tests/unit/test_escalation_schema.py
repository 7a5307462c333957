"""Escalation rule schema: what a line file may say, and the errors when it says it wrong."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared.lines import (
    Condition,
    EscalationRule,
    InnerGroup,
    LineConfigError,
    SupportLine,
    load_lines,
)


def _rule(when: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": "r1", "when": when, **extra}


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        EscalationRule.model_validate(data)
    return str(caught.value)


def test_a_rule_with_nested_groups_parses_with_defaults() -> None:
    rule = EscalationRule.model_validate(
        _rule(
            {
                "any": [
                    {"signal": "asked_for_person", "threshold": 1},
                    {
                        "all": [
                            {"signal": "profanity", "threshold": 1},
                            {"signal": "sentiment", "threshold": -0.4},
                        ]
                    },
                ]
            }
        )
    )

    assert rule.queue is None and rule.priority == 50 and rule.enabled
    first, second = rule.when.members
    assert isinstance(first, Condition) and first.comparison == ">="
    assert isinstance(second, InnerGroup) and second.combinator == "all"
    assert [c.signal for c in rule.when.conditions()] == [
        "asked_for_person",
        "profanity",
        "sentiment",
    ]
    assert second.members[1].comparison == "<="  # sentiment's natural direction


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({"any": [{"signal": "anger", "threshold": 1}]}, "unknown signal 'anger'"),
        ({"any": [{"signal": "sentiment", "threshold": -1.5}]}, r"outside \[-1, 1\]"),
        ({"any": [{"signal": "barge_in_rate", "threshold": 2}]}, r"outside \[0, 1\]"),
        ({"any": [{"signal": "profanity", "threshold": 1.5}]}, "whole number"),
        ({"any": []}, "at least one condition"),
        ({"all": [{"any": []}]}, "at least one condition"),
        ({}, "exactly one of 'any' or 'all'"),
        ({"any": [{"signal": "dtmf_zero", "threshold": 1}], "all": []}, "exactly one"),
        ({"any": [{"signal": "dtmf_zero", "threshold": 1, "window_s": 10}]}, "no window_s"),
        (
            {"any": [{"signal": "sentiment", "threshold": -0.1, "window_turns": 3}]},
            "no window_turns",
        ),
        ({"any": [{"signal": "sentiment", "threshold": -0.1, "stat": "slope"}]}, "no stat"),
        (
            {"any": [{"signal": "sentiment_trend", "threshold": -0.1, "window_turns": 1}]},
            "at least 2",
        ),
        (
            {
                "any": [
                    {"signal": "tool_failures", "threshold": 1, "window_turns": 2, "window_s": 30}
                ]
            },
            "not both",
        ),
        (
            {"any": [{"all": [{"any": [{"signal": "dtmf_zero", "threshold": 1}]}]}]},
            "Extra inputs",
        ),  # two levels of nesting
    ],
)
def test_invalid_conditions_are_refused_naming_the_rule(when: dict[str, Any], message: str) -> None:
    text = _error(_rule(when))

    assert "rule 'r1'" in text
    assert re.search(message, text), text


def test_extra_fields_and_bad_priority_are_refused() -> None:
    assert "Extra inputs" in _error(
        _rule({"any": [{"signal": "dtmf_zero", "threshold": 1}]}, keywords=["agent"])
    )
    assert "less than or equal to 100" in _error(
        _rule({"any": [{"signal": "dtmf_zero", "threshold": 1}]}, priority=101)
    )


def test_duplicate_rule_ids_on_a_line_name_the_rule() -> None:
    rule = _rule({"any": [{"signal": "dtmf_zero", "threshold": 1}]}, id="zero")

    with pytest.raises(ValidationError, match="escalation rule 'zero' is defined twice"):
        SupportLine.model_validate({"line_id": "x", "name": "X", "escalation": [rule, rule]})


def test_a_line_file_with_a_bad_rule_names_the_file_and_the_rule(tmp_path: Path) -> None:
    (tmp_path / "alpha.yaml").write_text(
        "line_id: alpha\nname: A\nescalation:\n  - id: angry\n    when:\n      any:\n"
        "        - {signal: sentimnt, threshold: -0.5}\n"
    )

    with pytest.raises(LineConfigError, match=r"rule 'angry'.*unknown signal 'sentimnt'"):
        load_lines(tmp_path, tools={})


def test_demo_retail_has_the_default_rule_set() -> None:
    line = load_lines()["demo-retail"]

    ids = {rule.id for rule in line.escalation}
    assert {
        "asked-for-person",
        "anger-trend",
        "loop",
        "tool-failures",
        "dtmf-zero",
        "profanity",
    } <= ids
    assert all(rule.queue is None for rule in line.escalation)  # the line's human_queue
