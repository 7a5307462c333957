"""One agent turn: the dialogue provider, the tools it calls, and the guardrails around both.

``run_turn`` drives a provider over the conversation and yields what the caller's channel must
do: sentences to say (already in spoken style), tool calls starting and finishing, messages to
remember, and a fallback when the provider failed. It never leaves the caller in silence: a
provider error or timeout says the line's fallback phrase and goes on with the fallback
provider (the line's flows), and a turn that produced nothing speakable says it too.

Guardrails: tool arguments are parsed and validated against the tool's JSON Schema before
anything runs (an invalid call is reported to the model, never to the caller); only the
line's tools and the session's client tools exist; JSON and internal ids are never spoken; tool
rounds per turn are bounded.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from jsonschema import Draft202012Validator

from services.gateway.dialogue.base import (
    DialogueError,
    DialogueProvider,
    EndCall,
    Message,
    TextDelta,
    ToolCallRequest,
)
from services.gateway.dialogue.speech_style import for_speech, looks_like_json, written_ids
from shared.lines.model import function_definition

GENERIC_SORRY = "Sorry, I'm having trouble right now. Could you say that again?"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LIST_MARKER = re.compile(r"^\s*(?:[-*\u2022]|\d{1,3}[.)])\s+")
_MAYBE_MARKER = re.compile(r"^\s*(?:\d{1,3}[.)]?|[-*\u2022])?$")


@dataclass(frozen=True)
class AgentTool:
    """A tool the model may call in this session, wherever it runs."""

    name: str
    description: str
    parameters: dict[str, Any]
    executor: Literal["client", "server"]
    execution_mode: Literal["interactive", "hold"] = "interactive"
    timeout_s: float = 8.0
    filler: str | None = None

    def as_function(self) -> dict[str, Any]:
        return function_definition(self.name, self.description, self.parameters)


@dataclass(frozen=True)
class ToolOutcome:
    status: Literal["ok", "error", "timeout"]
    result: Any = None
    error: str | None = None
    duration_ms: int = 0

    def for_model(self) -> str:
        body: dict[str, Any] = {"status": self.status}
        if self.status == "ok":
            body["result"] = self.result
        else:
            body["error"] = self.error or self.status
        return json.dumps(body)


# -- what a turn yields -----------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Remember:
    message: Message


@dataclass(frozen=True)
class ToolStarted:
    call_id: str
    tool: AgentTool
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolFinished:
    call_id: str
    name: str
    outcome: ToolOutcome


@dataclass(frozen=True)
class AwaitClientTools:
    """The turn ends here; the client's ``tool.result`` frames start the next one."""

    call_ids: tuple[str, ...]


@dataclass(frozen=True)
class FellBack:
    provider: str
    reason: str


@dataclass(frozen=True)
class FirstToken:
    ms: float


TurnOutput = (
    Say | Remember | ToolStarted | ToolFinished | AwaitClientTools | FellBack | FirstToken | EndCall
)
ServerToolRunner = Callable[[str, AgentTool, dict[str, Any]], Awaitable[ToolOutcome]]


@dataclass
class TurnSettings:
    max_tokens: int = 160
    first_token_timeout_s: float = 4.0
    timeout_s: float = 8.0
    max_tool_rounds: int = 3
    fallback_phrase: str = GENERIC_SORRY


@dataclass
class Agent:
    """The providers and tools of one session (or one line)."""

    primary: DialogueProvider
    fallback: DialogueProvider | None
    settings: TurnSettings
    run_server_tool: ServerToolRunner
    validators: dict[str, Draft202012Validator] = field(default_factory=dict)

    def _validator(self, tool: AgentTool) -> Draft202012Validator:
        key = json.dumps(tool.parameters, sort_keys=True)
        if key not in self.validators:
            self.validators[key] = Draft202012Validator(tool.parameters)
        return self.validators[key]

    async def run_turn(
        self, messages: list[Message], tools: list[AgentTool]
    ) -> AsyncIterator[TurnOutput]:
        """Everything one agent turn does, in order; ``messages`` is extended as it goes."""
        messages = list(messages)
        by_name = {tool.name: tool for tool in tools}
        functions = [tool.as_function() for tool in tools]
        provider: DialogueProvider = self.primary
        said_anything = False
        started = time.monotonic()
        rounds = 0  # tool rounds run; switching to the fallback does not use one up
        while True:
            calls: list[ToolCallRequest] = []
            try:
                async for item in self._generate(provider, messages, functions, started):
                    if isinstance(item, Say):
                        said_anything = True
                    if isinstance(item, ToolCallRequest):
                        calls.append(item)
                    else:
                        yield item
            except DialogueError as exc:
                if provider is self.fallback or self.fallback is None:
                    break
                yield FellBack(provider.name, str(exc))
                if not said_anything:
                    yield Say(self.settings.fallback_phrase)
                    said_anything = True
                provider = self.fallback
                started = time.monotonic()  # the fallback gets its own time budget
                continue
            if not calls:
                break
            if rounds == self.settings.max_tool_rounds:
                break  # the model keeps calling tools: stop and say what we have
            rounds += 1
            assistant: Message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    }
                    for c in calls
                ],
            }
            messages.append(assistant)
            yield Remember(assistant)
            waiting: list[str] = []
            async for output in self._run_tools(calls, by_name, messages):
                if isinstance(output, Say):
                    said_anything = True
                if isinstance(output, AwaitClientTools):
                    waiting.extend(output.call_ids)
                else:
                    yield output
            if waiting:
                yield AwaitClientTools(tuple(waiting))
                return
        if not said_anything:
            yield Say(self.settings.fallback_phrase)

    async def _generate(
        self,
        provider: DialogueProvider,
        messages: list[Message],
        functions: list[dict[str, Any]],
        started: float,
    ) -> AsyncIterator[Say | FirstToken | ToolCallRequest | EndCall]:
        """One provider call: sentences as they complete, then tool calls. Bounded in time."""
        splitter = SentenceSplitter()
        first = True
        stream = provider.stream(messages, functions, max_tokens=self.settings.max_tokens)
        iterator = aiter(stream)
        try:
            while True:
                budget = self.settings.timeout_s - (time.monotonic() - started)
                if first:
                    budget = min(budget, self.settings.first_token_timeout_s)
                try:
                    async with asyncio.timeout(max(0.01, budget)):
                        item = await anext(iterator)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise DialogueError("the model took too long") from None
                if first:
                    first = False
                    yield FirstToken(round((time.monotonic() - started) * 1000, 1))
                if isinstance(item, ToolCallRequest | EndCall):
                    yield item
                    continue
                assert isinstance(item, TextDelta)
                for sentence in splitter.feed(item.text):
                    if spoken := _speakable(sentence):
                        yield Say(spoken)
            for sentence in splitter.flush():
                if spoken := _speakable(sentence):
                    yield Say(spoken)
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                await close()

    async def _run_tools(
        self, calls: list[ToolCallRequest], by_name: dict[str, AgentTool], messages: list[Message]
    ) -> AsyncIterator[TurnOutput]:
        client_calls: list[str] = []
        for call in calls:
            tool = by_name.get(call.name)
            problem, arguments = self._check(call, tool)
            content = None if problem is not None else _invented_id(arguments, messages)
            if problem is not None or tool is None or content is not None:
                content = content or ToolOutcome("error", error=problem).for_model()
                result: Message = {"role": "tool", "tool_call_id": call.id, "content": content}
                messages.append(result)
                yield Remember(result)
                continue
            yield ToolStarted(call.id, tool, arguments)
            if tool.execution_mode == "interactive" and tool.filler:
                yield Say(tool.filler)
            if tool.executor == "client":
                client_calls.append(call.id)
                continue
            outcome = await self.run_server_tool(call.id, tool, arguments)
            yield ToolFinished(call.id, tool.name, outcome)
            result = {"role": "tool", "tool_call_id": call.id, "content": outcome.for_model()}
            messages.append(result)
            yield Remember(result)
        if client_calls:
            yield AwaitClientTools(tuple(client_calls))

    def _check(
        self, call: ToolCallRequest, tool: AgentTool | None
    ) -> tuple[str | None, dict[str, Any]]:
        """Why the call may not run (said to the model), or None, and its parsed arguments."""
        if tool is None:
            return f"there is no tool named {call.name!r}; use only the tools listed", {}
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            return "arguments are not valid JSON", {}
        if not isinstance(arguments, dict):
            return "arguments must be a JSON object", {}
        errors = sorted(self._validator(tool).iter_errors(arguments), key=lambda e: e.path)
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "arguments"
            return f"invalid arguments ({where}: {errors[0].message})", arguments
        return None, arguments


_ID_VALUE = re.compile(r"^(?:ORD|CUS|RMA|TCK|CB)-\d+$", re.I)


def _invented_id(arguments: dict[str, Any], messages: list[Message]) -> str | None:
    """The tool message for a call whose id nobody said or looked up (a guess), else None."""
    ids = [v for v in arguments.values() if isinstance(v, str) and _ID_VALUE.match(v)]
    if not ids:
        return None
    known = " ".join(
        written_ids(str(m.get("content") or ""))
        if m.get("role") == "user"
        else str(m.get("content"))
        for m in messages
        if m.get("role") in ("user", "tool")
    ).upper()
    for value in ids:
        if value.upper() not in known:
            # Not an error (the model would say the system is down): what to say instead.
            return json.dumps(
                {
                    "status": "not_run",
                    "reason": f"the caller has not given {value}; never guess a number",
                    "say": "Sure. What is the number? It starts with O R D for an order.",
                }
            )
    return None


def _speakable(sentence: str) -> str:
    spoken = for_speech(sentence)  # markdown goes first: a leading link is not JSON
    return "" if not spoken or looks_like_json(spoken) else spoken


class SentenceSplitter:
    """Streamed text into whole sentences, list markers dropped at the start of each line.

    A sentence is handed on as soon as it ends (``. ! ?`` and a space) or its line does, so
    speech starts before the model has finished writing.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._line_start = True

    def feed(self, text: str) -> list[str]:
        self._pending += text
        out: list[str] = []
        while True:
            if self._line_start:
                marker = _LIST_MARKER.match(self._pending)
                if marker is not None:
                    self._pending = self._pending[marker.end() :]
                elif _MAYBE_MARKER.match(self._pending):
                    return out  # "1" may become "1. ": wait for more text
                self._line_start = False
            head, newline, rest = self._pending.partition("\n")
            *sentences, tail = _SENTENCE_END.split(head)
            out.extend(sentences)
            if not newline:
                self._pending = tail
                return out
            if tail.strip():
                out.append(tail)
            self._pending, self._line_start = rest, True

    def flush(self) -> list[str]:
        rest, self._pending = self._pending, ""
        return [rest] if rest.strip() else []
