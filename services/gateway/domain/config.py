"""The ``session`` object of ``session.update``: defaults, validation and mutability rules."""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from services.gateway.domain.protocol import ProtocolError

ENCODINGS = ("audio/pcm", "audio/pcmu", "audio/pcma")
MAX_TOOLS = 64
MAX_KEYTERMS = 100

DEFAULT_CONFIG: dict[str, Any] = {
    "system_prompt": "",
    "greeting": None,
    "tools": [],
    "input": {
        "format": {"encoding": "audio/pcm"},
        "keyterms": None,
        "turn_detection": {
            "vad_threshold": 0.5,
            "min_silence": 1000,
            "max_silence": 3000,
            "interrupt_response": True,
            "interruption_delay": None,
        },
    },
    "output": {"voice": None, "format": {"encoding": "audio/pcm"}, "volume": None},
}
# Fields that may only be set before session.ready.
IMMUTABLE = {("greeting",), ("input", "format"), ("output", "voice"), ("output", "format")}


def _fail(message: str, param: str, code: str = "invalid_value") -> ProtocolError:
    return ProtocolError(code, message, param)  # type: ignore[arg-type]


def _number(value: Any, param: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{param} must be a number", param)
    if not low <= value <= high:
        raise _fail(f"{param} must be between {low:g} and {high:g}", param)
    return value


def _tool(raw: Any, index: int) -> dict[str, Any]:
    param = f"session.tools[{index}]"
    if not isinstance(raw, dict):
        raise _fail("a tool must be an object", param, "invalid_config")
    nested = raw.get("function")
    spec: dict[str, Any] = nested if isinstance(nested, dict) else raw  # OpenAI's nested form
    name = spec.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        raise _fail("a tool needs a name of 1-64 characters", f"{param}.name", "invalid_config")
    parameters = spec.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(parameters, dict):
        raise _fail("parameters must be a JSON schema object", f"{param}.parameters")
    try:
        Draft202012Validator.check_schema(parameters)
    except SchemaError:
        raise _fail("parameters is not a valid JSON Schema", f"{param}.parameters") from None
    mode = raw.get("execution_mode", spec.get("execution_mode", "interactive"))
    if mode not in ("interactive", "hold"):
        raise _fail("execution_mode must be interactive or hold", f"{param}.execution_mode")
    timeout = raw.get("timeout_seconds", spec.get("timeout_seconds", 120))
    _number(timeout, f"{param}.timeout_seconds", 1, 300)
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise _fail("description must be a string", f"{param}.description")
    return {
        "type": "function",
        "name": name,
        "description": description,
        "parameters": parameters,
        "execution_mode": mode,
        "timeout_seconds": timeout,
    }


def _merge_format(target: dict[str, Any], update: Any, param: str) -> None:
    if not isinstance(update, dict):
        raise _fail(f"{param} must be an object", param)
    encoding = update.get("encoding", target["encoding"])
    if encoding not in ENCODINGS:
        raise _fail(f"{param}.encoding must be one of {', '.join(ENCODINGS)}", f"{param}.encoding")
    target["encoding"] = encoding


_MISSING = object()


def _at(tree: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return _MISSING
        tree = tree[part]
    return tree


def _check_unchanged(
    session: dict[str, Any], current: dict[str, Any], path: tuple[str, ...]
) -> None:
    """Raise ``immutable_field`` if the update sets ``path`` to anything but its value.

    Re-sending the same value is allowed: clients often re-send their whole config.
    """
    new = _at(session, path)
    if new is _MISSING:
        return
    old = _at(current, path)
    if isinstance(new, dict) and isinstance(old, dict):
        new = {**old, **new}
    if new != old:
        dotted = "session." + ".".join(path)
        raise _fail(f"{dotted} cannot change after session.ready", dotted, "immutable_field")


def apply_update(current: dict[str, Any], session: Any, *, ready: bool) -> dict[str, Any]:
    """The effective config after ``session.update{session}``; raises ``ProtocolError``."""
    if not isinstance(session, dict):
        raise _fail("'session' must be an object", "session", "invalid_format")
    config = copy.deepcopy(current)
    for key in session:
        if key not in ("system_prompt", "greeting", "tools", "input", "output"):
            raise _fail(
                f"unknown session field {key[:64]!r}", f"session.{key[:64]}", "invalid_config"
            )
    if ready:
        for path in IMMUTABLE:
            _check_unchanged(session, current, path)
    for key in ("system_prompt", "greeting"):
        if key in session:
            value = session[key]
            if value is not None and (not isinstance(value, str) or len(value) > 20_000):
                raise _fail(f"{key} must be a string of at most 20000 characters", f"session.{key}")
            config[key] = value
    if "tools" in session:
        tools = session["tools"]
        if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
            raise _fail(f"tools must be a list of at most {MAX_TOOLS}", "session.tools")
        config["tools"] = [_tool(t, i) for i, t in enumerate(tools)]
    if "input" in session:
        _apply_input(config["input"], session["input"])
    if "output" in session:
        _apply_output(config["output"], session["output"])
    return config


def _apply_input(target: dict[str, Any], update: Any) -> None:
    if not isinstance(update, dict):
        raise _fail("session.input must be an object", "session.input")
    if "format" in update:
        _merge_format(target["format"], update["format"], "session.input.format")
    if "keyterms" in update:
        terms = update["keyterms"]
        if terms is not None and (
            not isinstance(terms, list)
            or len(terms) > MAX_KEYTERMS
            or not all(isinstance(t, str) and len(t) <= 100 for t in terms)
        ):
            raise _fail("keyterms: up to 100 strings", "session.input.keyterms")
        target["keyterms"] = terms
    if "turn_detection" in update:
        td = update["turn_detection"]
        if not isinstance(td, dict):
            raise _fail("turn_detection must be an object", "session.input.turn_detection")
        merged = dict(target["turn_detection"])
        prefix = "session.input.turn_detection."
        limits = {
            "vad_threshold": (0.0, 1.0),
            "min_silence": (50, 10_000),
            "max_silence": (50, 10_000),
            "interruption_delay": (0, 1000),
        }
        for key, (low, high) in limits.items():
            if key in td and td[key] is not None:
                merged[key] = _number(td[key], prefix + key, low, high)
        if "interrupt_response" in td:
            if not isinstance(td["interrupt_response"], bool):
                raise _fail("interrupt_response must be a boolean", prefix + "interrupt_response")
            merged["interrupt_response"] = td["interrupt_response"]
        if merged["min_silence"] >= merged["max_silence"]:
            raise _fail("min_silence must be less than max_silence", prefix + "min_silence")
        target["turn_detection"] = merged


def _apply_output(target: dict[str, Any], update: Any) -> None:
    if not isinstance(update, dict):
        raise _fail("session.output must be an object", "session.output")
    if "voice" in update:
        voice = update["voice"]
        if voice is not None and (not isinstance(voice, str) or len(voice) > 100):
            raise _fail("voice must be a string", "session.output.voice")
        target["voice"] = voice
    if "format" in update:
        _merge_format(target["format"], update["format"], "session.output.format")
    if "volume" in update:
        volume = update["volume"]
        target["volume"] = (
            None if volume is None else _number(volume, "session.output.volume", 0, 100)
        )
