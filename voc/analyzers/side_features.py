"""Dense feature blocks voc computes for models that read them next to their own features (``voc_models.side``).

``voc.cx-lexicon/1`` — the default lexicons' scores of a text, which the shipped cause head reads beside its
TF-IDF n-grams (decision 82): per cause (fallback excepted) the lexicon analyzer's score (squashed cue strength +
4 × the similarity to the cause's description, ``CauseAnalyzer.score``), per journey stage the squashed cue
strength, per taxonomy topic the squashed keyword strength. That is the block cross-validated in
``bench/cx_joint_cv.py``; the two cause parts as separate columns, or the cause columns alone, did worse there. They come from the **default** configs, not a company's own: a model reads the
features it was trained on. The Docs the pipeline has already lemmatised are handed over by
``TaskHead.proba(records, docs)`` (:meth:`CxLexiconFeatures.from_docs`), so the pipeline does not lemmatise twice;
a text seen alone is lemmatised here. Declared to ``voc_models.side`` as an entry point (pyproject.toml).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from spacy.tokens import Doc

from voc.analyzers.cause import CauseAnalyzer
from voc.analyzers.journey import JourneyStageAnalyzer
from voc.analyzers.lexicon import phrase_weight
from voc.analyzers.nlp import doc_text, lemma_doc
from voc.analyzers.topics import TopicAnalyzer

CX_LEXICON = "voc.cx-lexicon/1"


class CxLexiconFeatures:
    """The ``voc.cx-lexicon/1`` block (module docstring); results are kept for the last ``cache_size`` texts."""

    def __init__(self, cache_size: int = 4096) -> None:
        self.cause = CauseAnalyzer(model="lexicon")
        self.journey = JourneyStageAnalyzer(model="lexicon")
        self.topics = TopicAnalyzer(model="lexicon")
        self.topic_names = self.topics.taxonomy.names()
        self.names = ([f"cause:{c}" for c in self.cause.labels_] + [f"stage:{s}" for s in self.journey.labels_]
                      + [f"topic:{t}" for t in self.topic_names])
        self._stage_col = {s: j for j, s in enumerate(self.journey.labels_)}
        self._topic_col = {t: j for j, t in enumerate(self.topic_names)}
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def from_docs(self, docs: Sequence[Doc]) -> np.ndarray:
        """The block of lemmatised Docs (each read whole), float32 (len(docs), len(names)); remembered by text."""
        if not docs:
            return np.zeros((0, len(self.names)), dtype=np.float32)
        texts = [doc_text(d) for d in docs]
        cause = self.cause.score_docs(docs)
        stage = np.zeros((len(docs), len(self._stage_col)))
        topic = np.zeros((len(docs), len(self._topic_col)))
        for i, doc in enumerate(docs):
            for m in self.journey.index_.matches(doc):
                stage[i, self._stage_col[m.label]] += phrase_weight(m.n_words)
            for name, strength in self.topics.strengths(doc).items():
                topic[i, self._topic_col[name]] = strength
        out = np.hstack([cause, 1.0 - np.exp(-stage), 1.0 - np.exp(-topic)]).astype(np.float32)
        with self._lock:
            for text, row in zip(texts, out, strict=True):
                self._cache[text] = row
                self._cache.move_to_end(text)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return out

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """The block of raw texts (lemmatised here unless :meth:`from_docs` saw them)."""
        with self._lock:
            cached = [self._cache.get(t) for t in texts]
        missing = [i for i, row in enumerate(cached) if row is None]
        fresh = self.from_docs([lemma_doc(texts[i]) for i in missing]) if missing else None
        out = np.zeros((len(texts), len(self.names)), dtype=np.float32)
        for i, row in enumerate(cached):
            if row is not None:
                out[i] = row
        if fresh is not None:
            out[missing] = fresh
        return out

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

