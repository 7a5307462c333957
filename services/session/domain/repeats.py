"""Whether an utterance repeats what was said before (pure, no I/O): the agent asking the same
question again or saying the same thing in other words, the caller saying the same thing again,
correcting the agent, saying the call goes round in circles or spelling a word out again.

``Repeats`` keeps only the normalised last few questions and statements of each side (and the
embeddings of the agent's last few statements).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from services.session.domain import cues, loop_cues
from services.session.domain.meaning import CallerMeaning

# Questions and statements compared for repeats: the last few of each side.
REPEAT_LOOKBACK = 4
# Two agent replies (with the same numbers and days) whose sentence embeddings are at least this
# similar (cosine) say the same thing: a policy sent again in other words scores 0.78 to 0.97
# with all-MiniLM-L6-v2; the different steps of the calm scripted calls stay below 0.68.
SIMILAR_COSINE = 0.75
# A caller utterance (with the same numbers and days) at least this similar to one of the
# caller's last few says the same thing again in other words (``python -m bench.caller_cues``).
CALLER_SIMILAR_COSINE = 0.75

Embed = Callable[[str], Sequence[float]]


@dataclass
class Repeats:
    """The recent questions and statements of one call, to tell a repeat."""

    questions: deque[str] = field(default_factory=lambda: deque(maxlen=REPEAT_LOOKBACK))
    statements: deque[str] = field(default_factory=lambda: deque(maxlen=REPEAT_LOOKBACK))
    # The content words (stems) of the caller's last few utterances.
    caller_words: deque[frozenset[str]] = field(
        default_factory=lambda: deque(maxlen=REPEAT_LOOKBACK)
    )
    # The caller's last few statements (normalised) with their embeddings, when known.
    caller_statements: deque[tuple[str, Sequence[float]]] = field(
        default_factory=lambda: deque(maxlen=REPEAT_LOOKBACK)
    )
    # What the agent's last replies said (normalised), with their embeddings when known.
    agent_statements: deque[tuple[str, Sequence[float] | None]] = field(
        default_factory=lambda: deque(maxlen=REPEAT_LOOKBACK)
    )

    def caller(self, text: str, meaning: CallerMeaning | None = None) -> bool:
        """Whether the caller's utterance is a loop from the caller's side: the same thing said
        again (in other words too, when ``meaning`` brings its embedding), a correction ("no,
        don't cancel it"), "you keep saying the same thing" (or ``meaning.loop_complaint``), or
        a word spelled out again that the caller said before ("address. delivery address.")."""
        repeated = loop_cues.is_correction(text) or loop_cues.is_loop_complaint(text)
        repeated |= meaning is not None and meaning.loop_complaint
        spelled = loop_cues.spelled_out(text)
        repeated |= any(spelled & earlier for earlier in self.caller_words)
        self.caller_words.append(loop_cues.stems(text))
        statement = cues.caller_statement(text)
        if statement is not None:
            repeated |= any(cues.same(statement, earlier) for earlier in self.statements)
            self.statements.append(statement)
            vector = meaning.vector if meaning is not None else None
            if vector is not None:
                repeated |= any(
                    caller_alike(statement, vector, *earlier) >= CALLER_SIMILAR_COSINE
                    for earlier in self.caller_statements
                )
                self.caller_statements.append((statement, vector))
        return repeated

    def agent(self, text: str, fallback_phrase: str = "", embed: Embed | None = None) -> bool:
        """Whether the agent's reply asks the same question again or says the same thing again
        in whatever words. ``embed`` (unit-length sentence embeddings) tells replies that say
        the same thing in other words; without it replies are compared word by word."""
        repeated = False
        question = cues.agent_question(text)
        if question is not None:
            repeated = any(cues.same(question, earlier) for earlier in self.questions)
            self.questions.append(question)
        statement = cues.agent_statement(text, fallback_phrase)
        if statement is not None:
            vector = embed(statement) if embed is not None else None
            repeated |= any(
                _alike(statement, vector, *earlier) for earlier in self.agent_statements
            )
            self.agent_statements.append((statement, vector))
        return repeated


def _alike(
    text: str, vector: Sequence[float] | None, other: str, other_vector: Sequence[float] | None
) -> bool:
    if cues.facts(text) != cues.facts(other):
        return False  # the same kind of answer about another order or day
    if vector is not None and other_vector is not None:
        return sum(a * b for a, b in zip(vector, other_vector, strict=True)) >= SIMILAR_COSINE
    return cues.same(text, other)


def caller_alike(
    text: str, vector: Sequence[float], other: str, other_vector: Sequence[float]
) -> float:
    """How alike two caller statements are: their cosine, 0 when both name numbers or days and
    these differ ("ORD 1 please" and "ORD 2 please" are two orders, not one said twice; "late
    check out tomorrow" and "late check out, please" may be one thing said again)."""
    facts, other_facts = cues.facts(text), cues.facts(other)
    if facts and other_facts and facts != other_facts:
        return 0.0
    return sum(a * b for a, b in zip(vector, other_vector, strict=True))
