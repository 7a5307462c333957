"""The embedded model server: first-token latency, generation speed, tool-call correctness.

For each embedded model, a real ``python -m infra.llm`` process is asked what the demo-retail
line's dialogue asks it: the line's system prompt and its nine CRM tools, ``tool_choice:
"auto"``, streamed. Figures:

- first token, cold: the first request after start (the system prompt and tools, about 1,500
  tokens, are evaluated once);
- first token, cached prefix: the median over the later requests, which share that prefix;
  the first text delta, or the first ``delta.tool_calls`` (the call's name is chosen by then);
- generation speed: streamed deltas (one per token) per second after the first, on a longer
  spoken answer (``tool_choice: "none"``);
- tool calls: prompts with the expected tool and arguments (or none), plus the answer to a tool
  result. A case passes when the name matches and every expected argument has that value.

``python -m bench.llm`` (part of ``make bench``); ``--models qwen2.5-0.5b`` picks models.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from infra.localstack.infrastructure import free_port
from shared.lines import load_lines
from tests.support.openai_stream import StreamedReply, stream_chat
from tests.support.processes import ServiceProcess

MODELS = ("qwen2.5-coder-1.5b", "qwen2.5-0.5b")


@dataclass(frozen=True)
class Case:
    prompt: str
    tool: str | None  # None: a spoken answer, no tool
    arguments: dict[str, str]


CASES = (
    Case("Where is my order ORD-77315?", "order_status", {"order_id": "ORD-77315"}),
    Case("Has my package ORD-88120 shipped yet?", "order_status", {"order_id": "ORD-88120"}),
    Case("Can you cancel order ORD-10042? I don't need it anymore.", "cancel_order",
         {"order_id": "ORD-10042"}),
    Case("I want to return order ORD-55501, it arrived damaged.", "start_return",
         {"order_id": "ORD-55501", "reason": "damaged"}),
    Case("The shoes in order ORD-31337 don't fit, I'd like to send them back.", "start_return",
         {"order_id": "ORD-31337", "reason": "does_not_fit"}),
    Case("Please ship order ORD-20001 to 12 Oak Street, Springfield, Illinois 62704 instead.",
         "change_shipping_address", {"order_id": "ORD-20001", "zip": "62704"}),
    Case("My email is jane.doe@example.com, can you find my account?", "find_customer",
         {"email": "jane.doe@example.com"}),
    Case("What time are you open on Saturday?", "store_info", {"topic": "hours"}),
    Case("What's your return policy?", "store_info", {"topic": "returns"}),
    Case("Hi, how are you doing today?", None, {}),
    Case("Can you hear me?", None, {}),
    Case("Thanks, that's everything. Bye!", None, {}),
)  # fmt: skip
TOOL_RESULT = {"order_id": "ORD-77315", "status": "shipped", "carrier": "UPS",
               "expected_delivery": "2025-06-12"}  # fmt: skip
STORY = "Tell me, in about eighty words, how a parcel travels from our warehouse to a customer."


def _passes(case: Case, reply: StreamedReply) -> bool:
    if case.tool is None:
        return not reply.tool_name and bool(reply.text.strip())
    if reply.tool_name != case.tool:
        return False
    try:
        arguments = reply.tool_arguments
    except json.JSONDecodeError:
        return False
    return all(arguments.get(k) == v for k, v in case.arguments.items())


def bench_model(model: str, system: str, tools: list[dict[str, Any]]) -> dict[str, Any]:
    logs = Path(tempfile.mkdtemp(prefix="bench-llm-"))
    proc = ServiceProcess("llm", free_port(), {"LLM_MODEL": model}, logs, module="infra.llm")
    proc.start()
    try:
        proc.wait_ready(180)
        base = f"{proc.url}/v1"
        with httpx.Client() as http:

            def ask(
                messages: list[dict[str, Any]], max_tokens: int = 80, choice: str = "auto"
            ) -> StreamedReply:
                body = {"messages": messages, "tools": tools, "max_tokens": max_tokens}
                return stream_chat(http, base, {**body, "tool_choice": choice}, timeout_s=300)

            results = []
            for case in CASES:
                messages = [
                    {"role": "system", "content": system},
                    {"role": "user", "content": case.prompt},
                ]
                reply = ask(messages)
                results.append((case, reply, _passes(case, reply)))
            call = results[0][1]
            follow = ask(
                [
                    {"role": "system", "content": system},
                    {"role": "user", "content": CASES[0].prompt},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "order_status", "arguments": call.arguments},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(TOOL_RESULT)},
                ]
            )
            story = ask(
                [{"role": "system", "content": system}, {"role": "user", "content": STORY}],
                max_tokens=160,
                choice="none",  # text: the speed of a spoken answer
            )
    finally:
        proc.stop()
    cached = [r.first_token_s or 0.0 for _, r, _ in results[1:]]
    tool_ms = [1000 * (r.first_token_s or 0) for c, r, _ in results[1:] if c.tool]
    text_ms = [1000 * (r.first_token_s or 0) for c, r, _ in results[1:] if not c.tool]
    speed = (story.pieces - 1) / max(1e-6, story.total_s - (story.first_token_s or 0))
    return {
        "model": model,
        "cold_first_token_ms": 1000 * (results[0][1].first_token_s or 0),
        "cached_first_token_ms_p50": 1000 * statistics.median(cached),
        "cached_first_token_ms_tool_p50": statistics.median(tool_ms),
        "cached_first_token_ms_text_p50": statistics.median(text_ms),
        "tool_result_answer_first_token_ms": 1000 * (follow.first_token_s or 0),
        "tokens_per_s": speed,
        "correct": sum(ok for _, _, ok in results),
        "cases": len(results),
        "answer_uses_result": "shipped" in follow.text.lower() and not follow.tool_name,
        "details": [
            (c.prompt, r.tool_name or "-", r.arguments or r.text[:60], ok) for c, r, ok in results
        ],
        "follow_up": follow.text,
    }


def _print(figures: dict[str, Any]) -> None:
    print(f"\nllm: {figures['model']} (demo-retail prompt, 9 tools, streamed, 2 threads)")
    print(f"  first token, cold prefix         {figures['cold_first_token_ms']:8.0f} ms")
    print(f"  first token, cached prefix p50   {figures['cached_first_token_ms_p50']:8.0f} ms")
    print(f"    tool call / spoken answer p50  {figures['cached_first_token_ms_tool_p50']:5.0f}"
          f" / {figures['cached_first_token_ms_text_p50']:.0f} ms")  # fmt: skip
    print(f"  answer after a tool result       {figures['tool_result_answer_first_token_ms']:8.0f}"
          " ms to first token")  # fmt: skip
    print(f"  generation                       {figures['tokens_per_s']:8.1f} tokens/s")
    print(f"  tool calls correct               {figures['correct']:5d} / {figures['cases']}")
    print(f"  answer uses the tool result      {figures['answer_uses_result']}")
    for prompt, tool, said, ok in figures["details"]:
        print(f"    {'ok ' if ok else 'BAD'} {prompt[:52]:52} -> {tool}: {said}")
    print(f"    after the tool result: {figures['follow_up']!r}")


async def main(models: tuple[str, ...] = MODELS) -> None:
    line = load_lines()["demo-retail"]
    tools = [spec.as_function() for spec in line.tools]
    for model in models:
        figures = await asyncio.to_thread(bench_model, model, line.system_prompt, tools)
        _print(figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.llm", description=__doc__)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    asyncio.run(main(tuple(parser.parse_args().models)))
