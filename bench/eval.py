"""``make eval``: scripted conversations on the demo line, per dialogue provider.

Each scenario is text turns in, and out: the tool calls expected (name and a subset of the
arguments), the tools the agent must not call, and facts its answer must contain. Tools answer
with the scenario's canned results, so the eval measures the dialogue, not the CRM. It prints
the task success rate and the first-token latency per provider:

- ``flow``: the line's deterministic flows (always);
- ``llm``: an OpenAI-compatible server at ``LLM_BASE_URL`` (``LLM_MODEL``, ``LLM_API_KEY``);
  unset, the eval starts the embedded model server (``python -m infra.llm``) for its duration.

``python -m bench.eval [--provider flow|llm] [--only ID] [-v]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from infra.localstack.infrastructure import free_port
from services.gateway.dialogue.agent import (
    Agent,
    AgentTool,
    FellBack,
    FirstToken,
    Remember,
    Say,
    ToolOutcome,
    ToolStarted,
    TurnSettings,
)
from services.gateway.dialogue.base import DialogueProvider
from services.gateway.dialogue.flows import FlowProvider
from services.gateway.dialogue.openai_chat import OpenAIChatProvider
from services.gateway.dialogue.prompt import model_messages
from services.gateway.dialogue.service import server_tools, warm_up
from shared.lines import SupportLine, load_lines

SCENARIOS = Path(__file__).parent / "eval_scenarios" / "demo-retail.yaml"


@dataclass
class Result:
    scenario: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    first_token_ms: list[float] = field(default_factory=list)
    said: list[str] = field(default_factory=list)


def _subset(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    return all(str(actual.get(k, "")).lower() == str(v).lower() for k, v in expected.items())


async def run_scenario(
    scenario: dict[str, Any], line: SupportLine, provider: DialogueProvider, fallback: bool
) -> Result:
    calls: list[tuple[str, dict[str, Any]]] = []
    canned: dict[str, Any] = scenario.get("tools") or {}

    async def run_tool(call_id: str, tool: AgentTool, arguments: dict[str, Any]) -> ToolOutcome:
        if tool.name not in canned:
            return ToolOutcome("error", error="this tool is not available in the test")
        return ToolOutcome("ok", result=canned[tool.name], duration_ms=5)

    flows = FlowProvider(line)
    agent = Agent(
        primary=provider,
        fallback=flows if fallback else None,
        settings=TurnSettings(
            max_tokens=line.dialogue.max_tokens,
            first_token_timeout_s=30.0,  # measured, not enforced: a slow model still counts
            timeout_s=60.0,
            max_tool_rounds=line.dialogue.max_tool_rounds,
            fallback_phrase=line.dialogue.fallback_phrase,
        ),
        run_server_tool=run_tool,
    )
    result = Result(scenario["id"], passed=True)
    context: list[dict[str, Any]] = []
    tools = server_tools(line)
    fillers = {tool.filler for tool in tools}
    for turn in scenario["turns"]:
        context.append({"role": "user", "content": turn})
        said: list[str] = []
        # A pinned flow ("talk to a person") answers instead of the model, as in the gateway.
        agent.primary = flows if flows.takes_turn(context) else provider
        async for item in agent.run_turn(model_messages(line, context), tools):
            if isinstance(item, Say):
                said.append(item.text)
            elif isinstance(item, Remember):
                context.append(item.message)
            elif isinstance(item, ToolStarted):
                calls.append((item.tool.name, item.arguments))
            elif isinstance(item, FirstToken):
                result.first_token_ms.append(item.ms)
            elif isinstance(item, FellBack):
                result.problems.append(f"fell back: {item.reason}")
        text = " ".join(s for s in said if s not in fillers)
        context.append({"role": "assistant", "content": text})
        result.said.append(text)
    _judge(scenario, calls, result)
    return result


def _judge(scenario: dict[str, Any], calls: list[tuple[str, dict[str, Any]]], r: Result) -> None:
    for expected in scenario.get("expect_calls") or []:
        if not any(
            n == expected["name"] and _subset(expected.get("arguments") or {}, a) for n, a in calls
        ):
            r.problems.append(f"no call {expected['name']}({expected.get('arguments')})")
    for name in scenario.get("forbid_calls") or []:
        if any(n == name for n, _ in calls):
            r.problems.append(f"called {name}, which it must not")
    final = r.said[-1] if r.said else ""
    for fact in scenario.get("expect_say") or []:
        if not re.search(fact, final, re.I):
            r.problems.append(f"answer lacks /{fact}/")
    r.passed = not r.problems  # a turn the fallback had to take is the provider's failure


async def evaluate(
    provider: DialogueProvider, line: SupportLine, scenarios: list[dict[str, Any]], verbose: bool
) -> list[Result]:
    results = []
    for scenario in scenarios:
        result = await run_scenario(scenario, line, provider, fallback=provider.name != "flow")
        results.append(result)
        if verbose or not result.passed:
            mark = "ok  " if result.passed else "FAIL"
            print(f"  {mark} {result.scenario}: {' | '.join(result.said)[:200]}")
            for problem in result.problems:
                print(f"         - {problem}")
    return results


def report(name: str, results: list[Result], seconds: float) -> None:
    passed = sum(r.passed for r in results)
    firsts = sorted(ms for r in results for ms in r.first_token_ms)
    p50 = statistics.median(firsts) if firsts else 0.0
    p95 = firsts[min(len(firsts) - 1, int(len(firsts) * 0.95))] if firsts else 0.0
    print(
        f"{name}: task success {passed}/{len(results)} = {100 * passed / len(results):.1f} %; "
        f"first token p50 {p50:.0f} ms, p95 {p95:.0f} ms; {seconds:.0f} s"
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--provider", choices=["flow", "llm"], action="append")
    parser.add_argument("--only")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    line = load_lines()["demo-retail"]
    scenarios = yaml.safe_load(SCENARIOS.read_text())["scenarios"]
    if args.only:
        scenarios = [s for s in scenarios if re.search(args.only, s["id"])]
    wanted = args.provider or ["flow", "llm"]
    summary: list[tuple[str, list[Result], float]] = []
    async with contextlib.AsyncExitStack() as stack:
        await _evaluate_all(wanted, line, scenarios, args.verbose, stack, summary)
    print()
    for name, results, seconds in summary:
        report(name, results, seconds)
    print(json.dumps({n: sum(r.passed for r in rs) / len(rs) for n, rs, _ in summary}))
    return 0


@contextlib.asynccontextmanager
async def embedded_model_server(timeout_s: float = 600.0) -> AsyncIterator[str]:
    """``python -m infra.llm`` on a free port for the eval's duration (no LLM_BASE_URL given)."""
    port = free_port()
    env = {**os.environ, "LLM_PORT": str(port)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "infra.llm", env=env, stdout=asyncio.subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        print("llm: starting the embedded model server (loading the model) ...")
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if process.returncode is not None:
                    raise RuntimeError("the embedded model server exited; see its stderr")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(base_url + "/models")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError("the embedded model server did not start in time")
                await asyncio.sleep(1.0)
        yield base_url
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _evaluate_all(
    wanted: list[str],
    line: SupportLine,
    scenarios: list[dict[str, Any]],
    verbose: bool,
    stack: contextlib.AsyncExitStack,
    summary: list[tuple[str, list[Result], float]],
) -> None:
    for name in wanted:
        provider: DialogueProvider
        if name == "flow":
            provider = FlowProvider(line)
        else:
            base_url = os.environ.get("LLM_BASE_URL") or await stack.enter_async_context(
                embedded_model_server()
            )
            provider = OpenAIChatProvider(
                base_url=base_url,
                model=os.environ.get("LLM_MODEL", "default"),
                api_key=os.environ.get("LLM_API_KEY"),
                read_timeout_s=120.0,
            )
        print(f"{name}: {len(scenarios)} scenarios")
        if name == "llm":
            await warm_up(provider, line, timeout_s=300)
        started = time.monotonic()
        results = await evaluate(provider, line, scenarios, verbose)
        summary.append((name, results, time.monotonic() - started))
        await provider.aclose()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
