"""Which agent serves a session: its line's provider, fallback and tools, plus its client tools."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from services.gateway.dialogue.agent import Agent, AgentTool, ToolOutcome, TurnSettings
from services.gateway.dialogue.base import DialogueError, DialogueProvider
from services.gateway.dialogue.flows import FlowProvider
from services.gateway.dialogue.prompt import model_messages
from services.gateway.ports import ToolClient
from shared.lines import SupportLine


def server_tools(line: SupportLine) -> list[AgentTool]:
    return [
        AgentTool(
            name=spec.name,
            description=spec.description,
            parameters=spec.parameters,
            executor="server",
            execution_mode=spec.execution_mode,
            timeout_s=spec.timeout_seconds,
            filler=spec.filler,
        )
        for spec in line.tools
    ]


def client_tools(config: dict[str, Any]) -> list[AgentTool]:
    """The tools a client declared in ``session.update`` (already validated by the config)."""
    return [
        AgentTool(
            name=tool["name"],
            description=tool["description"],
            parameters=tool["parameters"],
            executor="client",
            execution_mode=tool["execution_mode"],
            timeout_s=float(tool["timeout_seconds"]),
            filler="One moment." if tool["execution_mode"] == "interactive" else None,
        )
        for tool in config.get("tools") or []
    ]


@dataclass
class DialogueService:
    """Providers shared by all sessions of a gateway; agents are cheap and per turn."""

    llm: DialogueProvider | None
    tool_client: ToolClient
    _flows: dict[str, FlowProvider] = field(default_factory=dict)

    def agent_for(
        self,
        line: SupportLine,
        config: dict[str, Any],
        session_id: str,
        context: list[dict[str, Any]] | None = None,
    ) -> tuple[Agent, list[AgentTool]]:
        flow = self._flows.get(line.line_id)
        if flow is None or flow.line is not line:
            flow = self._flows[line.line_id] = FlowProvider(line)
        settings = line.dialogue
        use_llm = settings.provider == "llm" and not flow.takes_turn(context or [])
        primary: DialogueProvider = self.llm if use_llm and self.llm is not None else flow
        agent = Agent(
            primary=primary,
            fallback=flow if primary is not flow else None,
            settings=TurnSettings(
                max_tokens=settings.max_tokens,
                first_token_timeout_s=settings.first_token_timeout_s,
                timeout_s=settings.timeout_s,
                max_tool_rounds=settings.max_tool_rounds,
                fallback_phrase=settings.fallback_phrase,
            ),
            run_server_tool=lambda call_id, tool, arguments: self._run(
                session_id, line.line_id, call_id, tool, arguments
            ),
        )
        # A client tool of the same name as a line tool wins: the session asked for it.
        tools = {t.name: t for t in [*server_tools(line), *client_tools(config)]}
        return agent, list(tools.values())

    async def _run(
        self,
        session_id: str,
        line_id: str,
        call_id: str,
        tool: AgentTool,
        arguments: dict[str, Any],
    ) -> ToolOutcome:
        return await self.tool_client.run(
            session_id=session_id,
            line_id=line_id,
            tool_call_id=call_id,
            tool=tool,
            arguments=arguments,
        )

    async def warm_up(self, line: SupportLine, timeout_s: float = 120.0) -> bool:
        """Have the model evaluate the line's prompt and tools once, before the first caller.

        A model server caches the prompt prefix; evaluating this one cold takes about 35 s on
        two cores (docs/llm.md), far past a turn's first-token bound. True when it answered.
        """
        return self.llm is not None and await warm_up(self.llm, line, timeout_s)

    async def aclose(self) -> None:
        if self.llm is not None:
            await self.llm.aclose()


async def warm_up(provider: DialogueProvider, line: SupportLine, timeout_s: float) -> bool:
    """One one-token request with the line's prompt and tools; False when it failed."""
    messages = model_messages(line, [{"role": "user", "content": "hello"}])
    tools = [tool.as_function() for tool in server_tools(line)]
    try:
        async with asyncio.timeout(timeout_s):
            async for _ in provider.stream(messages, tools, max_tokens=1):
                pass
    except (DialogueError, TimeoutError):
        return False
    return True
