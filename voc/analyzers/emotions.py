"""CX emotions of each record (multi-label): labels over their thresholds, or «нет эмоции».

For dialogs only the client's words count. Evidence (``emotion:<name>``) is what pushed the record towards
each emotion found (``TextClassifier.explain_spans``: n-grams for TF-IDF, occluded sentences/phrases for
encoders), as character spans of ``Feedback.text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from spacy.tokens import Doc

from voc.analyzers.base import Analyzer, LazyModel, thresholds
from voc.analyzers.nlp import findings_of, record_of
from voc.analyzers.registry import register
from voc.schema import Evidence, Feedback, Label
from voc.vocab import NO_EMOTION


@register("emotions")
class EmotionAnalyzer(Analyzer):
    """Multi-label CX emotions from a multilabel text classifier with per-label thresholds."""

    evidence_prefixes = ("emotion:",)

    def __init__(self, model: str | None = None, evidence_top_k: int = 2, max_emotions: int = 3,
                 profile: str = "default") -> None:
        self.lazy = LazyModel(model, "emotions", profile)
        if not self.lazy.multilabel:
            raise ValueError(f"model {self.lazy.name} is single-label; the emotion analyzer needs a multilabel one")
        self.evidence_top_k = evidence_top_k
        self.max_emotions = max_emotions

    @property
    def model(self) -> Any:
        return self.lazy.get()

    @property
    def version(self) -> str:
        return self.lazy.version

    def analyze_docs(self, docs: Sequence[Doc]) -> None:
        if not docs:
            return
        model = self.model
        records = [record_of(d) for d in docs]
        features = model.featurize([r.client_text() for r in records])
        proba = model.proba_from_features(features)
        fired = proba >= thresholds(model, np.float32)
        chosen: list[list[int]] = []
        for i in range(len(records)):
            idx = np.flatnonzero(fired[i])
            chosen.append([int(j) for j in idx[np.argsort(-proba[i, idx])][: self.max_emotions]])
        evidence = self._evidence(records, chosen, features)
        for i, doc in enumerate(docs):
            f = findings_of(doc)
            if chosen[i]:
                f.emotions = [Label(name=model.labels[j], confidence=round(float(proba[i, j]), 4)) for j in chosen[i]]
            else:
                f.emotions = [Label(name=NO_EMOTION, confidence=round(float(1.0 - proba[i].max()), 4))]
            self.evidence(doc, evidence[i])

    def _evidence(self, records: Sequence[Feedback], chosen: list[list[int]], features: Any) -> list[list[Evidence]]:
        out: list[list[Evidence]] = [[] for _ in records]
        pairs = [(i, j) for i, js in enumerate(chosen) for j in js]
        if not pairs or self.evidence_top_k <= 0:
            return out
        rows = [i for i, _ in pairs]
        spans = self.model.explain_spans([records[i].text for i in rows], [j for _, j in pairs],
                                         top_k=self.evidence_top_k, features=features[rows],
                                         windows=[records[i].client_spans() for i in rows])
        for (i, j), row in zip(pairs, spans, strict=True):
            name = self.model.labels[j]
            out[i] += [Evidence(label=f"emotion:{name}", text=s.text, start=s.start, end=s.end, weight=s.weight)
                       for s in row]
        return out
