"""What the dialogue model is shown: the line's instructions and the recent conversation."""

from __future__ import annotations

from datetime import UTC, datetime

from services.gateway.dialogue.base import Message
from services.gateway.dialogue.speech_style import written_ids
from shared.lines import SupportLine

VOICE_RULES = (
    "You are talking with a caller on the phone; everything you write is spoken aloud. "
    "Answer in one or two short sentences. Never use lists, markdown, emoji or JSON. "
    "Use a tool whenever you need a fact about an order or a customer, and never guess one. "
    "If you do not have the caller's order number yet, ask for it. "
    "After a tool answers, tell the caller the result plainly. If a tool says to ask the "
    "caller for something, ask for it. If a tool fails, say you could not reach the system "
    "and offer another way to help. If you cannot help, offer a person."
)
# The model sees at most this many recent messages (the session keeps more for the record);
# older turns rarely matter on a call and only slow the first token.
MAX_PROMPT_MESSAGES = 40


def system_prompt(line: SupportLine, session_prompt: str = "") -> str:
    parts = [VOICE_RULES, line.system_prompt.strip(), session_prompt.strip()]
    if line.policies:
        facts = " ".join(f"{topic.replace('_', ' ').title()}: {text}" for topic, text in
                         line.policies.items())  # fmt: skip
        parts.append("Facts you may quote: " + facts)
    parts.append(f"Today is {datetime.now(UTC):%A, %B %d, %Y}.")
    return "\n\n".join(p for p in parts if p)


def model_messages(
    line: SupportLine,
    context: list[Message],
    *,
    session_prompt: str = "",
    instructions: str | None = None,
) -> list[Message]:
    """The system prompt and the recent conversation, with spelled ids written out."""
    recent = context[-MAX_PROMPT_MESSAGES:]
    while recent and recent[0].get("role") == "tool":
        recent = recent[1:]  # a tool result without its call is refused by chat APIs
    messages: list[Message] = [{"role": "system", "content": system_prompt(line, session_prompt)}]
    for message in recent:
        if message.get("role") == "user":
            message = {**message, "content": written_ids(str(message.get("content") or ""))}
        messages.append(message)
    if instructions:
        messages.append({"role": "system", "content": instructions})
    return messages
