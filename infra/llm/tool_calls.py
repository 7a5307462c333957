"""Reliable, streamed tool calls for Qwen2.5 under ``llama_cpp.server``.

llama-cpp-python 0.3.36 has no handler for this. The model's own template (GGUF
``tokenizer.chat_template``) renders the tools but returns the model's output as plain text, and
``chatml-function-calling`` uses a prompt format Qwen was not trained on and refuses
``tool_choice: "auto"`` with ``stream: true``. Measured here, Qwen2.5-Coder-1.5B rarely opens a
call with its ``<tool_call>`` token: it writes the call as a JSON or Markdown code block, or
explains which function one could call; its first token does not tell a call from small talk.

So this handler, registered under ``CHAT_FORMAT``, keeps the model's own prompt format (two edits:
``_BRACE_FIXES``, ``_RESULT_INSTRUCTION``) and asks the model to choose, under grammars:

1. choose: the prompt offers one more function, ``reply`` ("say something without another
   function"); the generation is opened as a call (``<tool_call>{"name": "``) and a grammar lets
   the model write only an offered name. A real name is a tool call; ``reply`` is an answer.
2. arguments: a grammar built from the chosen tool's JSON schema
   (``LlamaGrammar.from_json_schema``) writes them, streamed as OpenAI ``delta.tool_calls``
   argument fragments.
3. answer: the reply is generated from the unchanged prompt and streamed as ``delta.content``,
   with tokens that open markup (``{``, ``<``, backticks) banned: spoken text needs none.

Each step's prompt extends the previous one, so llama.cpp's prefix reuse evaluates only new
tokens. One tool call per turn: a voice agent acts one step at a time.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, cast

import llama_cpp
import numpy as np
import numpy.typing as npt
from llama_cpp.llama_chat_format import Jinja2ChatFormatter
from llama_cpp.llama_grammar import LlamaGrammar
from llama_cpp.llama_types import CreateCompletionStreamResponse

from infra.llm.tool_schema import grammar_schema

CHAT_FORMAT = "switchboard-qwen2.5-tools"
TOOL_CALL_TOKEN = "<tool_call>"
END_OF_TURN = ["<|im_end|>", "<|endoftext|>"]
REPLY = "reply"
REPLY_TOOL = {
    "type": "function",
    "function": {
        "name": REPLY,
        "description": (
            "Say something to the user without calling another function: small talk, answers "
            "you already know, or asking for details the user has not given yet (like an order "
            "number)."
        ),
        "parameters": {"type": "object", "properties": {}},
    },
}
# Edits of the model's own template. Some Qwen2.5 GGUF templates (the 1.5B one here) show the
# call format as {{"name": ...}}, a Python-format escape that a Jinja literal keeps, and the model
# copies the doubled braces: shown as Qwen documents it, where present.
_BRACE_FIXES = (
    ('{{\\"name\\"', '{\\"name\\"'),
    ("<args-json-object>}}", "<args-json-object>}"),
)
# One sentence more in the tools instructions: without it the 1.5B model answered 0 of 6 probe
# tool results with what they said ("Done", "You may call one or more functions ..."); with it,
# 6 of 6.
_INSTRUCTIONS_END = '</tool_call><|im_end|>\\n" }}'
_RESULT_INSTRUCTION = (
    "</tool_call>\\n\\nWhen a <tool_response> arrives, tell the user in one or two sentences "
    'what it says.<|im_end|>\\n" }}'
)
_MARKUP_STARTS = ("{", "<", "`")
MAX_NAME_TOKENS = 48
# Grammars compiled from tool schemas, by schema text. At the bound the oldest is dropped.
GRAMMAR_CACHE_SIZE = 64

Chunk = dict[str, Any]


class ToolCallHandler:
    """A llama-cpp-python chat completion handler (see the module docstring)."""

    def __init__(self, *, model: str, max_tokens: int, max_argument_tokens: int = 200) -> None:
        self.model = model  # the id responses carry
        # Every generation is bounded: a request's max_tokens is capped at max_tokens.
        self.max_tokens = max_tokens
        self.max_argument_tokens = max_argument_tokens
        self._models: dict[int, _ModelFacts] = {}
        self._grammars: OrderedDict[str, LlamaGrammar] = OrderedDict()

    def __call__(
        self,
        *,
        llama: llama_cpp.Llama,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        temperature: float = 0.2,
        top_p: float = 0.95,
        top_k: int = 40,
        min_p: float = 0.05,
        stop: str | list[str] | None = None,
        seed: int | None = None,
        presence_penalty: float = 0.0,
        frequency_penalty: float = 0.0,
        repeat_penalty: float = 1.0,
        **_unused: Any,  # logprobs, response_format, ...: not offered by this server
    ) -> Chunk | Iterator[Chunk]:
        facts = self._facts(llama)
        offered = [t for t in tools or [] if t.get("type") == "function"]
        if any(t["function"]["name"] == REPLY for t in offered):
            raise ValueError(f"a tool may not be named {REPLY!r} on this server")
        shown = [*offered, REPLY_TOOL] if offered else []
        rendered = facts.formatter(
            messages=[_for_template(m) for m in messages],  # type: ignore[misc]
            tools=shown or None,  # type: ignore[arg-type]
        )
        prompt = llama.tokenize(rendered.prompt.encode(), add_bos=False, special=True)
        budget = min(max_tokens or self.max_tokens, self.max_tokens)
        if len(prompt) + budget > llama.n_ctx():
            # The wording matches llama_cpp.server's context-length error (-> HTTP 400).
            raise ValueError(
                f"Requested tokens ({len(prompt) + budget}) exceed context window of "
                f"{llama.n_ctx()}"
            )
        sampling: dict[str, Any] = {
            "temperature": temperature,
            "top_p": top_p,
            "top_k": top_k,
            "min_p": min_p,
            "seed": seed,
            "presence_penalty": presence_penalty,
            "frequency_penalty": frequency_penalty,
            "repeat_penalty": repeat_penalty,
        }
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        turn = _Turn(
            self.model, llama, facts, prompt, offered, sampling, stops + END_OF_TURN, budget
        )
        turn.after_tool_result = bool(messages) and messages[-1].get("role") == "tool"
        choices = _choices(tool_choice, offered)
        chunks = self._run(turn, choices)
        return chunks if stream else _collect(chunks, len(prompt))

    # -- steps ----------------------------------------------------------------------------------

    def _run(self, turn: _Turn, choices: list[str]) -> Iterator[Chunk]:
        head = [*turn.prompt, turn.facts.call_token, *_text_tokens(turn.llama, '\n{"name": "')]
        if turn.after_tool_result and REPLY in choices:
            name = REPLY  # see _choices
        elif len(choices) == 1:
            name = choices[0]
        else:
            name = self._choose(turn, head, choices)
        if name == REPLY:
            yield from self._answer(turn)
        else:
            yield from self._tool_call(turn, head, name)

    def _choose(self, turn: _Turn, head: list[int], names: list[str]) -> str:
        """The name the model writes under a grammar of ``names``.

        Stops as soon as one name fits what is written: the grammar would force the rest, and
        each forced token is a model step (about 80 ms here) before the first delta.
        """
        grammar = self._grammar(
            "root ::= (" + " | ".join(json.dumps(n) for n in names) + ') "\\""', is_gbnf=True
        )
        written = b""
        tokens = turn.llama.generate(head, temp=0.0, top_k=1, grammar=grammar)
        try:
            for _, token in zip(range(MAX_NAME_TOKENS), tokens, strict=False):
                if llama_cpp.llama_vocab_is_eog(turn.llama._model.vocab, token):
                    break
                written += turn.llama.detokenize([token])
                text = written.decode(errors="ignore")
                if text.endswith('"'):
                    return text[:-1]
                fits = [name for name in names if name.startswith(text)]
                if len(fits) == 1:
                    return fits[0]
        finally:
            tokens.close()
        raise ValueError("the model wrote no tool name")  # the grammar makes this unreachable

    def _answer(self, turn: _Turn) -> Iterator[Chunk]:
        markup, end = turn.facts.markup_tokens, turn.facts.end_tokens
        first = len(turn.prompt)

        def spoken_text(
            ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]
        ) -> npt.NDArray[np.single]:
            scores[markup] = -np.inf
            if len(ids) <= first:  # at least one token: an empty answer is silence on a call
                scores[end] = -np.inf
            return scores

        stream = cast(
            Iterator[CreateCompletionStreamResponse],
            turn.llama.create_completion(
                prompt=turn.prompt,
                max_tokens=turn.budget,
                stop=turn.stop,
                stream=True,
                logits_processor=llama_cpp.LogitsProcessorList([spoken_text]),
                **turn.sampling,
            ),
        )
        yield turn.chunk({"role": "assistant", "content": ""})
        finish = "stop"
        for part in stream:
            choice = part["choices"][0]
            if choice["text"]:
                yield turn.chunk({"content": choice["text"]})
            finish = choice["finish_reason"] or finish
        yield turn.chunk({}, finish)

    def _tool_call(self, turn: _Turn, head: list[int], name: str) -> Iterator[Chunk]:
        llama = turn.llama
        tool = turn.tool(name)
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        yield turn.chunk(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }
                ],
            }
        )
        stream = cast(
            Iterator[CreateCompletionStreamResponse],
            llama.create_completion(
                prompt=[*head, *_text_tokens(llama, f'{name}", "arguments": ')],
                max_tokens=self.max_argument_tokens,
                temperature=0.0,  # ids and enums: the most likely value, every time
                stream=True,
                grammar=self._arguments_grammar(tool["function"].get("parameters") or {}),
            ),
        )
        for part in stream:
            text = part["choices"][0]["text"]
            if text:
                yield turn.chunk({"tool_calls": [{"index": 0, "function": {"arguments": text}}]})
        yield turn.chunk({}, "tool_calls")

    def _arguments_grammar(self, schema: dict[str, Any]) -> LlamaGrammar:
        # Not sort_keys: the grammar writes properties in the schema's order.
        return self._grammar(json.dumps(grammar_schema(schema)), is_gbnf=False)

    def _grammar(self, source: str, *, is_gbnf: bool) -> LlamaGrammar:
        grammar = self._grammars.get(source)
        if grammar is None:
            if is_gbnf:
                grammar = LlamaGrammar.from_string(source, verbose=False)
            else:
                grammar = LlamaGrammar.from_json_schema(source, verbose=False)
            self._grammars[source] = grammar
            if len(self._grammars) > GRAMMAR_CACHE_SIZE:
                self._grammars.popitem(last=False)
        self._grammars.move_to_end(source)
        return grammar

    def _facts(self, llama: llama_cpp.Llama) -> _ModelFacts:
        facts = self._models.get(id(llama))
        if facts is None:
            facts = self._models[id(llama)] = _ModelFacts.read(llama)
        return facts


class _ModelFacts:
    """What the handler needs from one loaded model, read once."""

    def __init__(
        self,
        formatter: Jinja2ChatFormatter,
        call_token: int,
        markup_tokens: npt.NDArray[np.intp],
        end_tokens: npt.NDArray[np.intp],
    ) -> None:
        self.formatter, self.call_token = formatter, call_token
        self.markup_tokens, self.end_tokens = markup_tokens, end_tokens

    @classmethod
    def read(cls, llama: llama_cpp.Llama) -> _ModelFacts:
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError("the model file has no chat template")
        for old, new in _BRACE_FIXES:
            template = template.replace(old, new)
        if _INSTRUCTIONS_END not in template:
            raise ValueError("the model's chat template is not the Qwen2.5 one this handler edits")
        template = template.replace(_INSTRUCTIONS_END, _RESULT_INSTRUCTION)
        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=_token_text(llama, llama.token_eos()),
            bos_token=_token_text(llama, llama.token_bos()),
        )
        call = llama.tokenize(TOOL_CALL_TOKEN.encode(), add_bos=False, special=True)
        if len(call) != 1:
            raise ValueError("this model has no single tool-call token (not a Qwen2.5 model?)")
        vocab = llama._model.vocab
        end, markup = [], []
        for token in range(llama.n_vocab()):
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                end.append(token)
            elif _token_text(llama, token).lstrip().startswith(_MARKUP_STARTS):
                markup.append(token)
        return cls(formatter, call[0], np.array(markup, np.intp), np.array(end, np.intp))


class _Turn:
    """One request's fixed inputs and its response envelope."""

    def __init__(
        self,
        model: str,
        llama: llama_cpp.Llama,
        facts: _ModelFacts,
        prompt: list[int],
        offered: list[dict[str, Any]],
        sampling: dict[str, Any],
        stop: list[str],
        budget: int,
    ) -> None:
        self.llama, self.facts, self.prompt, self.offered = llama, facts, prompt, offered
        self.sampling, self.stop, self.budget = sampling, stop, budget
        self.after_tool_result = False
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def tool(self, name: str) -> dict[str, Any]:
        return next(t for t in self.offered if t["function"]["name"] == name)

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> Chunk:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }


def _choices(choice: str | dict[str, Any] | None, offered: list[dict[str, Any]]) -> list[str]:
    """The names the model may write: tools, and ``reply`` unless a call is required.

    With "auto", right after a tool result the model replies (``_run``): measured here, Qwen2.5-
    Coder-1.5B repeats the call it has just seen answered, or calls another tool, when it may.
    One round of tool calls per user turn; a client that wants a chain asks with tool_choice.
    """
    names = [str(t["function"]["name"]) for t in offered]
    if not names or choice == "none":
        return [REPLY]
    if choice == "required":
        return names
    if isinstance(choice, dict):
        name = str(choice.get("function", {}).get("name", ""))
        if name not in names:
            raise ValueError("tool_choice names a tool that is not in tools")
        return [name]
    return [*names, REPLY]  # "auto", the default


def _for_template(message: dict[str, Any]) -> dict[str, Any]:
    """A message as Qwen's template reads it.

    The template joins ``content`` as a string (OpenAI also allows a list of parts, or null) and
    writes ``arguments | tojson`` (it wants an object; OpenAI sends a JSON string).
    """
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    message = {**message, "content": content or ""}
    calls = message.get("tool_calls")
    if not calls:
        return message
    fixed = []
    for call in calls:
        function = dict(call.get("function", {}))
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            try:
                function["arguments"] = json.loads(arguments)
            except json.JSONDecodeError:
                pass  # shown to the model as the string it was
        fixed.append({**call, "function": function})
    return {**message, "tool_calls": fixed}


def _collect(chunks: Iterator[Chunk], prompt_tokens: int) -> Chunk:
    """A non-streamed response from the chunks of a streamed one."""
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    first: Chunk | None = None
    finish = "stop"
    pieces = 0  # one chunk per generated token
    for chunk in chunks:
        first = first or chunk
        choice = chunk["choices"][0]
        delta = choice["delta"]
        text.append(delta.get("content") or "")
        fragments = [c.get("function", {}).get("arguments") for c in delta.get("tool_calls") or []]
        pieces += bool(delta.get("content") or any(fragments))
        for call in delta.get("tool_calls") or []:
            held = calls.setdefault(
                call["index"],
                {
                    "id": call.get("id"),
                    "type": "function",
                    "function": {"name": "", "arguments": ""},
                },
            )
            function = call.get("function", {})
            held["function"]["name"] += function.get("name", "")
            held["function"]["arguments"] += function.get("arguments", "")
        finish = choice["finish_reason"] or finish
    assert first is not None
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return {
        "id": first["id"],
        "object": "chat.completion",
        "created": first["created"],
        "model": first["model"],
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": pieces,
            "total_tokens": prompt_tokens + pieces,
        },
    }


def _text_tokens(llama: llama_cpp.Llama, text: str) -> list[int]:
    return llama.tokenize(text.encode(), add_bos=False, special=False)


def _token_text(llama: llama_cpp.Llama, token: int) -> str:
    return "" if token < 0 else llama.detokenize([token], special=True).decode(errors="replace")
