"""The ``session`` object of ``session.update``: validation, normalisation, defaults."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from services.gateway.domain.actions import Send
from services.gateway.domain.config import DEFAULT_CONFIG, apply_update
from services.gateway.domain.protocol import (
    ProtocolError,
    error_frame,
    parse_client_frame,
    text_field,
)
from services.gateway.domain.session import VoiceSession, new_session_id
from shared.lines import SupportLine

LINE = SupportLine(line_id="demo-retail", name="Demo", config_hash="sha256:abc")


def _error_of(update: Any, *, ready: bool = False) -> dict[str, Any]:
    """The session.error frame a session sends for ``session.update{session: update}``."""
    session = VoiceSession(
        session_id=new_session_id(),
        line=LINE,
        started_at=0.0,
        max_session_s=3600,
        max_frame_bytes=65_536,
    )
    if ready:
        session.on_ready_timeout(0.0)
    actions = session.on_frame(json.dumps({"type": "session.update", "session": update}), 1.0)
    assert len(actions) == 1, actions
    (action,) = actions
    assert isinstance(action, Send) and action.frame["type"] == "session.error", action
    return action.frame


def _apply(update: Any, *, ready: bool = False) -> dict[str, Any]:
    return apply_update(DEFAULT_CONFIG, update, ready=ready)


def _td(**fields: Any) -> dict[str, Any]:
    return {"input": {"turn_detection": fields}}


# -- turn detection ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"min_silence": 3000},  # equal to the default max_silence
        {"min_silence": 4000},
        {"max_silence": 1000},  # equal to the default min_silence
        {"min_silence": 500, "max_silence": 400},
    ],
)
def test_min_silence_not_below_max_silence_is_invalid_value(fields: dict[str, Any]) -> None:
    error = _error_of(_td(**fields))

    assert error["code"] == "invalid_value"
    assert error["param"] == "session.input.turn_detection.min_silence"


@pytest.mark.parametrize("value", [-0.01, 1.01, 5, "0.5", True])
def test_vad_threshold_out_of_range_is_invalid_value(value: Any) -> None:
    error = _error_of(_td(vad_threshold=value))

    assert error["code"] == "invalid_value"
    assert error["param"] == "session.input.turn_detection.vad_threshold"


@pytest.mark.parametrize("value", [0.0, 0.3, 1.0])
def test_vad_threshold_in_range_is_applied(value: float) -> None:
    config = _apply(_td(vad_threshold=value))

    assert config["input"]["turn_detection"]["vad_threshold"] == value


def test_turn_detection_update_merges_with_current_values() -> None:
    config = _apply(_td(min_silence=200, interrupt_response=False))

    td = config["input"]["turn_detection"]
    assert td["min_silence"] == 200
    assert td["max_silence"] == 3000
    assert td["interrupt_response"] is False


@pytest.mark.parametrize("field", ["min_silence", "max_silence"])
@pytest.mark.parametrize("value", [49, 10_001])
def test_silence_out_of_range_is_invalid_value(field: str, value: int) -> None:
    assert _error_of(_td(**{field: value}))["code"] == "invalid_value"


def test_interrupt_response_must_be_a_boolean() -> None:
    assert _error_of(_td(interrupt_response="no"))["code"] == "invalid_value"


# -- fields and formats ------------------------------------------------------------------------


def test_unknown_session_field_is_invalid_config() -> None:
    error = _error_of({"temperature": 0.2})

    assert error["code"] == "invalid_config"
    assert error["param"] == "session.temperature"


def test_session_that_is_not_an_object_is_invalid_format() -> None:
    assert _error_of(["not", "an", "object"])["code"] == "invalid_format"


def test_unknown_encoding_is_invalid_value() -> None:
    error = _error_of({"input": {"format": {"encoding": "audio/mp3"}}})

    assert error["code"] == "invalid_value"
    assert error["param"] == "session.input.format.encoding"


def test_output_volume_bounds() -> None:
    assert _apply({"output": {"volume": 55}})["output"]["volume"] == 55
    assert _apply({"output": {"volume": None}})["output"]["volume"] is None
    assert _error_of({"output": {"volume": 101}})["code"] == "invalid_value"


def test_keyterms_are_bounded_to_100_strings() -> None:
    assert _apply({"input": {"keyterms": ["ORD"]}})["input"]["keyterms"] == ["ORD"]
    assert _error_of({"input": {"keyterms": ["x"] * 101}})["code"] == "invalid_value"
    assert _error_of({"input": {"keyterms": [1]}})["code"] == "invalid_value"


def test_apply_update_does_not_mutate_the_current_config() -> None:
    current = copy.deepcopy(DEFAULT_CONFIG)

    apply_update(current, _td(min_silence=100) | {"system_prompt": "x"}, ready=False)

    assert current == DEFAULT_CONFIG


def test_immutable_field_check_only_applies_when_ready() -> None:
    assert _apply({"greeting": "hi"}, ready=False)["greeting"] == "hi"
    assert _error_of({"greeting": "hi"}, ready=True)["code"] == "immutable_field"


# -- tools -------------------------------------------------------------------------------------


def test_flat_tool_gets_defaults() -> None:
    (tool,) = _apply({"tools": [{"type": "function", "name": "lookup_order"}]})["tools"]

    assert tool == {
        "type": "function",
        "name": "lookup_order",
        "description": "",
        "parameters": {"type": "object", "properties": {}},
        "execution_mode": "interactive",
        "timeout_seconds": 120,
    }


def test_openai_nested_tool_is_normalised_to_the_flat_form() -> None:
    schema = {"type": "object", "properties": {"order_id": {"type": "string"}}}
    nested = {
        "type": "function",
        "function": {"name": "lookup_order", "description": "Find it", "parameters": schema},
    }

    (tool,) = _apply({"tools": [nested]})["tools"]

    assert tool == {
        "type": "function",
        "name": "lookup_order",
        "description": "Find it",
        "parameters": schema,
        "execution_mode": "interactive",
        "timeout_seconds": 120,
    }


def test_a_later_tools_update_replaces_the_list() -> None:
    first = _apply({"tools": [{"name": "a"}, {"name": "b"}]})

    second = apply_update(first, {"tools": [{"name": "c"}]}, ready=True)

    assert [t["name"] for t in second["tools"]] == ["c"]


@pytest.mark.parametrize("timeout", [0, 301, -1, "30", True])
def test_tool_timeout_outside_1_to_300_is_invalid_value(timeout: Any) -> None:
    error = _error_of({"tools": [{"name": "t", "timeout_seconds": timeout}]})

    assert error["code"] == "invalid_value"
    assert error["param"] == "session.tools[0].timeout_seconds"


@pytest.mark.parametrize("timeout", [1, 300])
def test_tool_timeout_bounds_are_inclusive(timeout: int) -> None:
    (tool,) = _apply({"tools": [{"name": "t", "timeout_seconds": timeout}]})["tools"]

    assert tool["timeout_seconds"] == timeout


def test_tool_without_a_name_is_invalid_config() -> None:
    error = _error_of({"tools": [{"type": "function", "parameters": {}}]})

    assert error["code"] == "invalid_config"
    assert error["param"] == "session.tools[0].name"


def test_tool_execution_mode_must_be_interactive_or_hold() -> None:
    assert (
        _apply({"tools": [{"name": "t", "execution_mode": "hold"}]})["tools"][0]["execution_mode"]
        == "hold"
    )
    assert _error_of({"tools": [{"name": "t", "execution_mode": "async"}]})["code"] == (
        "invalid_value"
    )


def test_too_many_tools_is_invalid_value() -> None:
    assert _error_of({"tools": [{"name": f"t{i}"} for i in range(65)]})["code"] == ("invalid_value")


# -- protocol helpers --------------------------------------------------------------------------


def test_parse_client_frame_returns_type_and_body() -> None:
    event = parse_client_frame('{"type": "input.text", "text": "hi"}', max_bytes=1000)

    assert event.type == "input.text"
    assert event.body == {"type": "input.text", "text": "hi"}


def test_parse_client_frame_rejects_a_frame_over_max_bytes() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_frame('{"type": "session.end"}', max_bytes=10)

    assert caught.value.code == "invalid_format"


def test_text_field_takes_the_first_present_alias() -> None:
    assert text_field({"output": "o", "content": "c"}, "result", "output", "content") == "o"


def test_text_field_requires_a_string() -> None:
    with pytest.raises(ProtocolError) as caught:
        text_field({"text": 5}, "text")

    assert caught.value.code == "invalid_value"
    assert caught.value.param == "text"


def test_error_frame_carries_param_only_when_given() -> None:
    assert error_frame("invalid_value", "m") == {
        "type": "session.error",
        "code": "invalid_value",
        "message": "m",
    }
    assert error_frame("invalid_value", "m", "p")["param"] == "p"
