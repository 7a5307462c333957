"""The models and word lists an escalation engine reads, loaded once per process and shared.

The live consumer, the rule backtest and the eval bench all build their engines from one
``EscalationModels``, so a backtest judges calls exactly as the live rules would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from services.session.adapters.better_profanity_counter import BetterProfanityCounter
from services.session.adapters.minilm_caller_cues import MiniLmCallerCues
from services.session.adapters.minilm_sentiment import (
    MiniLmEncoder,
    MiniLmSentenceEmbedder,
    VaderMiniLmSentimentScorer,
)
from services.session.domain.rules import EscalationEngine
from shared.lines import SupportLine


@dataclass(frozen=True)
class EscalationModels:
    scorer: VaderMiniLmSentimentScorer
    profanity: BetterProfanityCounter
    embedder: MiniLmSentenceEmbedder
    caller_cues: MiniLmCallerCues

    @classmethod
    def load(cls) -> EscalationModels:
        """About a second and 100 MB: one MiniLM encoder (shared, cached) and the word lists."""
        encoder = MiniLmEncoder()
        return cls(
            scorer=VaderMiniLmSentimentScorer(encoder),
            profanity=BetterProfanityCounter(),
            embedder=MiniLmSentenceEmbedder(encoder),
            caller_cues=MiniLmCallerCues(encoder),
        )

    def engine(
        self, lines: Mapping[str, SupportLine] | Callable[[], Mapping[str, SupportLine]]
    ) -> EscalationEngine:
        """A fresh engine over ``lines`` (a mapping, or a callable read at every event)."""
        return EscalationEngine(
            self.scorer,
            lines,
            self.profanity,
            embedder=self.embedder,
            caller_cues=self.caller_cues,
        )
