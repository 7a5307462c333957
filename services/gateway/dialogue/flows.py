"""The deterministic flow provider: intents, slots and tool calls described in the line's YAML.

For lines that need guaranteed behaviour, and as the fallback when the LLM fails. It reads the
conversation like any provider (no state of its own): the caller's last words choose a flow (or
continue the one whose question the agent just asked), slots are taken from what the caller
said since the flow began, a missing slot is asked for, and when all are there the flow's tool
is called; the tool's result fills the flow's answer.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from services.gateway.dialogue.base import (
    DialogueOutput,
    EndCall,
    Message,
    TextDelta,
    ToolCallRequest,
)
from services.gateway.dialogue.speech_style import written_ids
from shared.lines import Flow, FlowSlot, SupportLine

NOT_UNDERSTOOD = "Sorry, I can't help with that on this line. What else can I do for you?"
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
_TOOL_CALL_ID = "flow_{intent}_{suffix}"

Extractor = Callable[[str], str | None]


def _search(pattern: str, flags: int = re.I) -> Extractor:
    compiled = re.compile(pattern, flags)

    def extract(text: str) -> str | None:
        match = compiled.search(text)
        return None if match is None else (match.group(1) if compiled.groups else match.group(0))

    return extract


def _order_id(text: str) -> str | None:
    found = _search(r"\b(ORD-\d{5,8})\b")(written_ids(text))
    return found.upper() if found else None


def _phone(text: str) -> str | None:
    found = _search(r"(\+?\d[\d\s().-]{5,}\d)")(written_ids(text))
    digits = re.sub(r"\D", "", found or "")
    return digits if 7 <= len(digits) <= 15 else None


EXTRACTORS: dict[str, Extractor] = {
    "order_id": _order_id,
    "customer_id": _search(r"\b(CUS-\d{6})\b"),
    "email": _search(r"\b([\w.+-]+@[\w-]+(?:\.[\w-]+)+)\b"),
    "phone": _phone,
    # Not the digits of an id ("ORD-55210").
    "zip": lambda text: _search(r"(?<![-\w])(\d{5}(?:-\d{4})?)\b")(written_ids(text)),
}


def extractor(spec: str) -> Extractor:
    """A named extractor, ``choice:value=kw|kw;value2=kw``, ``text`` or a regex (one group)."""
    if spec in EXTRACTORS:
        return EXTRACTORS[spec]
    if spec == "text":
        return lambda text: text.strip() or None
    if spec.startswith("choice:"):
        options = [part.split("=", 1) for part in spec[7:].split(";") if "=" in part]
        matchers = [(value.strip(), re.compile(words, re.I)) for value, words in options]

        def choose(text: str) -> str | None:
            return next((value for value, words in matchers if words.search(text)), None)

        return choose
    return _search(spec)


def _then(flow: Flow, answer: list[DialogueOutput]) -> list[DialogueOutput]:
    """The flow's answer, and a hang-up after it when the flow ends the call."""
    return [*answer, EndCall()] if flow.then == "end_call" else answer


class FlowProvider:
    """Runs a line's flows over the conversation so far."""

    name = "flow"

    def __init__(self, line: SupportLine, *, fallback: str = NOT_UNDERSTOOD) -> None:
        self.line = line
        self._fallback = fallback
        self._asks = {slot.ask: (flow, slot) for flow in line.flows for slot in flow.slots}

    async def aclose(self) -> None:
        return None

    def takes_turn(self, messages: list[Message]) -> bool:
        """True when the caller's last words start a pinned flow: it answers, not the model."""
        if not messages or messages[-1].get("role") != "user":
            return False
        flow = self._matching_flow(str(messages[-1].get("content") or ""))
        return flow is not None and flow.pinned

    async def stream(
        self, messages: list[Message], tools: list[dict[str, Any]], *, max_tokens: int
    ) -> AsyncIterator[DialogueOutput]:
        for output in self.next_outputs(messages):
            yield output

    def next_outputs(self, messages: list[Message]) -> list[DialogueOutput]:
        """The agent's next turn, decided from the messages alone."""
        if not messages:
            return [TextDelta(self._fallback)]
        last = messages[-1]
        if last.get("role") == "tool":
            return self._after_tool(messages)
        if last.get("role") != "user":
            return [TextDelta(self._fallback)]
        flow, said = self._active_flow(messages)
        if flow is None:
            return [TextDelta(self._fallback)]
        slots: dict[str, str] = {}
        for slot in flow.slots:
            value = self._slot_value(slot, said)
            if value is None:
                return [TextDelta(slot.ask)]
            slots[slot.name] = value
        if flow.tool is None:
            return _then(flow, [TextDelta(render(flow.say, slots, None, self.line.policies))])
        templates = flow.arguments or {slot.name: "{" + slot.name + "}" for slot in flow.slots}
        arguments = {name: render(template, slots, None) for name, template in templates.items()}
        call_id = _TOOL_CALL_ID.format(intent=flow.intent, suffix=uuid.uuid4().hex[:12])
        return [ToolCallRequest(call_id, flow.tool, json.dumps(arguments))]

    # -- internals -----------------------------------------------------------------------------

    def _active_flow(self, messages: list[Message]) -> tuple[Flow | None, list[tuple[str, str]]]:
        """The flow the caller is in, and its (question just asked, caller's answer) pairs.

        A caller answering one of a flow's questions stays in that flow, whatever the answer
        says ("my order number is ORD-77315" while cancelling is still cancelling); otherwise
        the caller's last words choose the flow.
        """
        turns: list[tuple[str, str]] = []  # (the agent's question just before, what was said)
        asked = ""
        for message in messages:
            role, content = message.get("role"), message.get("content") or ""
            if role == "user":
                turns.append((asked, content))
                asked = ""
            elif role == "assistant":
                asked = "" if message.get("tool_calls") else content
            elif role == "tool":
                asked = ""
        if not turns:
            return None, []
        asked, last = turns[-1]
        if asked not in self._asks:
            flow = self._matching_flow(last)
            return flow, [turns[-1]]
        flow = self._asks[asked][0]
        start = len(turns) - 1
        while start > 0 and self._asks.get(turns[start][0], (None,))[0] is flow:
            start -= 1  # back to the words that opened the flow
        if self._asks.get(turns[start][0], (None,))[0] is not flow:
            opener = turns[start][1]
            if self._matching_flow(opener) is not flow:
                start += 1  # the opener belonged to something else
        return flow, turns[start:]

    def _matching_flow(self, text: str) -> Flow | None:
        text = written_ids(text)
        for flow in self.line.flows:
            if any(re.search(pattern, text, re.I) for pattern in flow.match):
                return flow
        return None

    def _slot_value(self, slot: FlowSlot, said: list[tuple[str, str]]) -> str | None:
        """The slot's value from what the caller said since the flow began (latest first).

        A free-text slot (``text``, or a regex that did not match) takes only the direct answer
        to its own question; a typed one (an order id, a zip) is taken from anything said.
        """
        typed = slot.extract in EXTRACTORS or slot.extract.startswith("choice:")
        extract = extractor(slot.extract)
        for asked, text in reversed(said):
            direct = asked == slot.ask
            if not typed and slot.extract == "text" and not direct:
                continue
            value = extract(text)
            if value is None and direct and not typed:
                value = text.strip() or None
            if value is not None:
                return value
        return None

    def _after_tool(self, messages: list[Message]) -> list[DialogueOutput]:
        result_message = messages[-1]
        call_id = str(result_message.get("tool_call_id", ""))
        intent = call_id[len("flow_") :].rsplit("_", 1)[0] if call_id.startswith("flow_") else ""
        flow = next((f for f in self.line.flows if f.intent == intent), None)
        try:
            outcome = json.loads(result_message.get("content") or "{}")
        except ValueError:
            outcome = {}
        if flow is None:
            # A call the model made before it failed: say the result's own summary, if any.
            summary = _summary_of(outcome)
            return [TextDelta(summary or self._fallback)]
        if not isinstance(outcome, dict) or outcome.get("status") != "ok":
            return [TextDelta(flow.say_error)]
        result = outcome.get("result")
        if isinstance(result, str):  # a client tool answers with a string, often JSON
            with contextlib.suppress(ValueError):
                result = json.loads(result)
        slots = self._slots_before(messages, call_id, flow)
        return _then(flow, [TextDelta(render(flow.say, slots, result, self.line.policies))])

    def _slots_before(self, messages: list[Message], call_id: str, flow: Flow) -> dict[str, str]:
        """The flow's slots as they were when it called the tool (arguments may rename them)."""
        index = next(
            (
                i
                for i, m in enumerate(messages)
                if any(c.get("id") == call_id for c in m.get("tool_calls") or [])
            ),
            len(messages),
        )
        slots = _arguments_of(messages, call_id)
        _, said = self._active_flow(messages[:index])
        for slot in flow.slots:
            value = self._slot_value(slot, said)
            if value is not None:
                slots[slot.name] = value
        return slots


def _summary_of(outcome: Any) -> str:
    if not isinstance(outcome, dict):
        return ""
    if outcome.get("status") != "ok":
        return "Sorry, I couldn't reach our system just now. Could you try again in a moment?"
    result = outcome.get("result")
    summary = result.get("summary") if isinstance(result, dict) else None
    return summary if isinstance(summary, str) else ""


def _arguments_of(messages: list[Message], call_id: str) -> dict[str, str]:
    for message in reversed(messages):
        for call in message.get("tool_calls") or []:
            if call.get("id") == call_id:
                try:
                    arguments = json.loads(call["function"]["arguments"])
                except (KeyError, TypeError, ValueError):
                    return {}
                return (
                    {k: str(v) for k, v in arguments.items()} if isinstance(arguments, dict) else {}
                )
    return {}


def render(
    template: str, slots: dict[str, str], result: Any, policies: dict[str, str] | None = None
) -> str:
    """Fill ``{slot}``, ``{result.a.b}`` and ``{policy.name}``; a missing value renders empty."""

    def value(match: re.Match[str]) -> str:
        path = match.group(1).split(".")
        if path[0] == "policy" and len(path) == 2:
            return (policies or {}).get(path[1], "")
        if path[0] == "result":
            node: Any = result
            for key in path[1:]:
                node = node.get(key) if isinstance(node, dict) else None
            return "" if node is None or isinstance(node, dict | list) else str(node)
        return slots.get(match.group(1), "")

    return re.sub(r"\s{2,}", " ", _PLACEHOLDER.sub(value, template)).strip()
