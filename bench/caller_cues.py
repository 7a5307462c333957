"""``python -m bench.caller_cues FILE...``: where the caller-cue thresholds come from.

For the scripted conversations in FILE (default tests/escalation/conversations.yaml) it prints
the distributions the semantic caller cues (``adapters/minilm_caller_cues.py``) are set on:

- requests for a person: the request utterance of each ``asks_for_person`` conversation (its
  ``trigger_turn``) against every caller utterance of the calm conversations (``calm``,
  ``calm_complaint``); for each, the piece (utterance or sentence) nearest to a request:
  similarity to the nearest request anchor and margin over the nearest look-alike;
- loop complaints: the caller utterances of ``loop`` conversations after the first, up to the
  trigger, against the same calm utterances;
- the caller saying the same thing again in other words: cosine with the most similar of the
  caller's last few utterances (same numbers and days, ``domain/repeats.py``), loop
  conversations against calm ones.

Each line ends with ``regex`` when the text rules already catch it, and ``CUE`` when the
semantic cue at the current thresholds does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.escalation_eval import DEFAULT_FILE, Conversation, load_conversations
from services.session.adapters.minilm_caller_cues import (
    LOOP_MARGIN,
    LOOP_MIN,
    PERSON_MARGIN,
    PERSON_MIN,
    FamilyNearness,
    MiniLmCallerCues,
)
from services.session.adapters.minilm_sentiment import MiniLmEncoder
from services.session.domain import cues
from services.session.domain.loop_cues import is_correction, is_loop_complaint
from services.session.domain.person_cues import asks_for_person
from services.session.domain.repeats import CALLER_SIMILAR_COSINE, REPEAT_LOOKBACK, caller_alike

CALM_KINDS = ("calm", "calm_complaint")
SHOWN = 12  # nearest calm utterances shown per family


def _callers(conversation: Conversation) -> list[str]:
    return [t.caller for t in conversation.turns if t.caller is not None]


def _best(
    reader: MiniLmCallerCues,
    text: str,
    family: Callable[..., FamilyNearness],
    thresholds: tuple[float, float],
) -> tuple[FamilyNearness, str]:
    """The piece of ``text`` the cue holds on with the largest margin, else the piece with the
    largest margin; and the piece."""
    found = [(family(vector), piece) for piece, vector in reader.pieces(text)]
    if not found:
        return FamilyNearness(0.0, 0.0), ""
    return max(found, key=lambda n: (n[0].holds(*thresholds), n[0].margin, n[0].near))


def _line(
    best: tuple[FamilyNearness, str], text: str, regex: bool, minimum: float, margin: float
) -> str:
    n, piece = best
    flags = ("regex " if regex else "") + ("CUE" if n.holds(minimum, margin) else "")
    shown = text[:70] if piece == text else f"{text[:40]}.. [{piece[:40]}]"
    return f"  near {n.near:.3f} margin {n.margin:+.3f}  {flags:<9} {shown!r}"


def _family(
    title: str,
    reader: MiniLmCallerCues,
    positives: list[str],
    calm: list[str],
    family: Callable[..., FamilyNearness],
    regex: Callable[[str], bool],
    thresholds: tuple[float, float],
) -> None:
    minimum, margin = thresholds
    print(f"== {title}: min {minimum}, margin {margin}")
    scored = sorted(
        ((_best(reader, t, family, thresholds), t) for t in positives), key=lambda x: x[0][0].margin
    )
    caught = sum(n[0].holds(minimum, margin) or regex(t) for n, t in scored)
    print(f"positives ({len(scored)}; caught by either {caught}):")
    for n, text in scored:
        print(_line(n, text, regex(text), minimum, margin))
    calm_scored = [(_best(reader, t, family, thresholds), t) for t in calm]
    false = [t for n, t in calm_scored if n[0].holds(minimum, margin)]
    print(f"calm utterances ({len(calm)}; cue holds on {len(false)}), nearest by margin:")
    for n, text in sorted(calm_scored, key=lambda x: -x[0][0].margin)[:SHOWN]:
        print(_line(n, text, regex(text), minimum, margin))
    print("calm utterances nearest by similarity:")
    for n, text in sorted(calm_scored, key=lambda x: -x[0][0].near)[:SHOWN]:
        print(_line(n, text, regex(text), minimum, margin))


def _repeats(encoder: MiniLmEncoder, conversations: list[tuple[str, list[str]]]) -> None:
    print(f"== caller says the same again in other words: cosine >= {CALLER_SIMILAR_COSINE}")
    for label in ("loop", "calm"):
        rows = []
        for kind, callers in conversations:
            if kind != label:
                continue
            earlier: list[tuple[str, list[float]]] = []
            for text in callers:
                statement = cues.caller_statement(text)
                vector = [float(x) for x in encoder.embed(text)]
                if statement is not None:
                    best = max((caller_alike(statement, vector, *e) for e in earlier), default=0.0)
                    rows.append((best, text))
                    earlier = [*earlier, (statement, vector)][-REPEAT_LOOKBACK:]
        rows.sort(key=lambda r: -r[0])
        print(f"{label} utterances ({len(rows)}), most similar to an earlier one:")
        for best, text in rows[: SHOWN * 2 if label == "loop" else SHOWN]:
            print(f"  cosine {best:.3f}  {text[:90]!r}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="*", type=Path, default=[DEFAULT_FILE])
    args = parser.parse_args(argv)
    conversations = [c for path in args.files for c in load_conversations(path)]
    encoder = MiniLmEncoder()
    reader = MiniLmCallerCues(encoder)
    calm = [t for c in conversations if c.kind in CALM_KINDS for t in _callers(c)]
    requests = [
        _callers(c)[(c.trigger_turn or 1) - 1] for c in conversations if c.kind == "asks_for_person"
    ]
    loops = [
        t for c in conversations if c.kind == "loop" for t in _callers(c)[1 : c.trigger_turn or 1]
    ]
    _family(
        "requests for a person",
        reader,
        requests,
        calm,
        reader.person,
        asks_for_person,
        (PERSON_MIN, PERSON_MARGIN),
    )
    _family(
        "loop complaints",
        reader,
        loops,
        calm,
        reader.loop,
        lambda t: is_loop_complaint(t) or is_correction(t),
        (LOOP_MIN, LOOP_MARGIN),
    )
    by_kind = [
        ("loop" if c.kind == "loop" else "calm", _callers(c)[: c.trigger_turn or None])
        for c in conversations
        if c.kind == "loop" or c.kind in CALM_KINDS
    ]
    _repeats(encoder, by_kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
