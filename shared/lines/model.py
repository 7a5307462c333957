"""Support lines and tool specs as every service reads them (pure data, validated).

A support line (``config/lines/<line_id>.yaml``) says who the agent is and what it may do. Its
server tools are specs from ``config/tools/*.yaml`` named by reference, or inline specs (an HTTP
connector a team defines for its own CRM). The gateway shows the specs to the dialogue model and
validates arguments against them; the tools service executes them; analytics reads the
retention; the session service reads the escalation rules. One schema serves all of them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.lines.escalation import EscalationRule, check_unique_ids

TOOL_NAME = r"^[a-z][a-z0-9_]{0,63}$"
# A phone number in E.164 form, and where a phone call may be transferred (number or SIP).
E164 = r"^\+[1-9][0-9]{6,14}$"
DIAL_TARGET = r"^(\+[1-9][0-9]{6,14}|sip:[^\s<>\"&]{3,190})$"
# Placeholders in HTTP templates: {argument} from the tool call, ${ENV_NAME} from the environment.
ARGUMENT_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
ENV_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def function_definition(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """A tool as an OpenAI-style function definition, the shape dialogue models read."""
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpCall(_Strict):
    """A tool implemented as one HTTP request to the team's own system."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    # ``https://crm.example/orders/{order_id}``: arguments are URL-quoted into the template.
    url: str = Field(min_length=1, max_length=2000)
    # Header values may hold ``${ENV}`` secrets, resolved by the tools service at call time.
    headers: dict[str, str] = Field(default_factory=dict, max_length=50)
    # A JSON body whose string leaves may be ``{argument}`` templates.
    body: dict[str, Any] | None = None
    # Output field -> dotted path into the JSON response (``data.order.status``); empty = whole.
    response: dict[str, str] = Field(default_factory=dict, max_length=50)
    max_response_bytes: int = Field(100_000, ge=1, le=10_000_000)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value


class ToolSpec(_Strict):
    """One server-side tool: what the model sees, and how the tools service runs it."""

    name: str = Field(pattern=TOOL_NAME)
    description: str = Field(min_length=1, max_length=2000)
    # JSON Schema (2020-12) of the arguments object.
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    timeout_seconds: float = Field(8.0, gt=0, le=300)
    # interactive: the agent says ``filler`` while it waits; hold: it stays silent.
    execution_mode: Literal["interactive", "hold"] = "interactive"
    filler: str | None = Field(None, max_length=300)
    # read: safe to retry; write: retried only with an idempotency key.
    effect: Literal["read", "write"] = "read"
    # ``crm`` (built into the tools service) or ``http`` (the connector below).
    backend: Literal["crm", "http"] = "crm"
    http: HttpCall | None = None

    @field_validator("parameters")
    @classmethod
    def _json_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"parameters is not a valid JSON Schema: {exc.message}") from None
        if value.get("type") != "object":
            raise ValueError("parameters must describe an object")
        return value

    @model_validator(mode="after")
    def _backend_matches(self) -> ToolSpec:
        if (self.backend == "http") != (self.http is not None):
            raise ValueError("an http tool needs an http block, and only an http tool has one")
        return self

    def as_function(self) -> dict[str, Any]:
        return function_definition(self.name, self.description, self.parameters)


class FlowSlot(_Strict):
    """A value a flow needs before it can act, taken from what the caller said."""

    name: str = Field(pattern=TOOL_NAME)
    # A named extractor (order_id, email, phone, zip) or a regex with one capture group.
    extract: str = Field(min_length=1, max_length=500)
    ask: str = Field(min_length=1, max_length=500)  # the question when it is missing


class Flow(_Strict):
    """A deterministic intent: when the caller says one of ``match``, fill slots, act, answer."""

    intent: str = Field(pattern=TOOL_NAME)
    match: list[str] = Field(min_length=1, max_length=100)  # regexes, case-insensitive
    slots: list[FlowSlot] = Field(default_factory=list, max_length=10)
    tool: str | None = Field(None, pattern=TOOL_NAME)
    # Tool argument -> ``{slot}`` template (default: each slot by its own name).
    arguments: dict[str, str] | None = None
    # The answer: ``{slot}`` and ``{result.path}`` placeholders; one per result status.
    say: str = Field(min_length=1, max_length=1000)
    say_error: str = Field(
        "Sorry, I couldn't reach our system just now. Could you try again in a moment?",
        max_length=1000,
    )
    # Ends the call after the answer (goodbye) or asks for a person (escalation).
    then: Literal["continue", "end_call", "escalate"] = "continue"
    # Answered by this flow even when a model serves the line: behaviour that must not vary
    # ("let me talk to a person").
    pinned: bool = False

    @field_validator("match")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for pattern in value:
            re.compile(pattern)
        return value


class HandoffSettings(_Strict):
    """How a caller waits for a person (docs/handoff.md)."""

    # Said when the AI hands over; the caller then holds until an agent picks up.
    hold_message: str = Field(
        "Please hold while I connect you with a member of our team.", max_length=500
    )
    # No agent accepted within this long: offer a callback and end the call politely.
    max_wait_s: float = Field(120.0, gt=0, le=3600)
    # An agent who neither accepts nor declines within this long: the offer goes to the next.
    offer_timeout_s: float = Field(20.0, gt=0, le=300)
    no_agent_message: str = Field(
        "I'm sorry, everyone on our team is busy right now. I've asked them to call you back "
        "as soon as someone is free. Thank you for calling, goodbye.",
        max_length=500,
    )
    # Phone calls may be transferred out instead of bridged to the desk: an E.164 number or a
    # SIP address, dialled through Twilio (docs/telephony.md). Other channels ignore it.
    dial: str | None = Field(None, max_length=200, pattern=DIAL_TARGET)


class DialogueSettings(_Strict):
    """Which dialogue provider serves the line, and its bounds."""

    provider: Literal["llm", "flow"] = "llm"
    # The LLM's whole reply (including tool rounds) may take this long before the fallback.
    timeout_s: float = Field(8.0, gt=0, le=120)
    first_token_timeout_s: float = Field(4.0, gt=0, le=60)
    max_tokens: int = Field(160, ge=16, le=4096)
    max_tool_rounds: int = Field(3, ge=1, le=10)
    fallback_phrase: str = Field(
        "Sorry, I'm having trouble right now. Let me try that a different way.", max_length=300
    )


class SupportLine(_Strict):
    """One support line, with its tools resolved to specs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: str = Field(max_length=200)
    language: str = Field("en", max_length=20)
    voice: str | None = Field(None, max_length=100)
    greeting: str | None = Field(None, max_length=2000)
    system_prompt: str = Field("", max_length=20_000)
    # Facts the agent may quote as they are (store hours, return policy ...), by topic.
    policies: dict[str, str] = Field(default_factory=dict, max_length=100)
    dialogue: DialogueSettings = Field(default_factory=DialogueSettings)
    tools: list[ToolSpec] = Field(default_factory=list, max_length=100)
    flows: list[Flow] = Field(default_factory=list, max_length=200)
    # When to hand the caller to a person (shared/lines/escalation.py, docs/handoff.md 1.1).
    escalation: list[EscalationRule] = Field(default_factory=list, max_length=50)
    human_queue: str = Field("general", max_length=100)
    # The phone numbers (E.164) whose calls this line answers (Twilio, docs/telephony.md).
    phone_numbers: list[Annotated[str, Field(pattern=E164)]] = Field(
        default_factory=list, max_length=100
    )
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    retention_days: int = Field(30, ge=1, le=3650)
    # Names the PII redactor must never take for a person's: the company's, its brands'.
    keep_terms: list[str] = Field(default_factory=list, max_length=200)
    # sha256 of the file's bytes (and of the tool files it refers to), set by the loader.
    config_hash: str = ""

    @model_validator(mode="after")
    def _references(self) -> SupportLine:
        names = [tool.name for tool in self.tools]
        if len(names) != len(set(names)):
            raise ValueError("tool names must be unique")
        for flow in self.flows:
            if flow.tool is not None and flow.tool not in names:
                raise ValueError(f"flow {flow.intent!r} uses tool {flow.tool!r}, not on this line")
        check_unique_ids(self.escalation)
        return self

    def tool(self, name: str) -> ToolSpec | None:
        return next((t for t in self.tools if t.name == name), None)
