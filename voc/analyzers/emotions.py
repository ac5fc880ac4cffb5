"""CX emotions of each record (multi-label): labels over their thresholds, or «нет эмоции».

For dialogs only the client's words count. Evidence (``emotion:<name>``) is what pushed the record towards
each emotion found (``TextClassifier.explain_spans``: n-grams for TF-IDF, occluded sentences/phrases for
encoders), as character spans of ``Feedback.text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from voc.analyzers.base import Analyzer
from voc.analyzers.registry import register
from voc.analyzers.sentiment import client_windows, load_task_model
from voc.schema import Evidence, Feedback, Findings, Label
from voc.vocab import NO_EMOTION


@register("emotions")
class EmotionAnalyzer(Analyzer):
    """Multi-label CX emotions from a multilabel text classifier with per-label thresholds."""

    def __init__(self, model: str | None = None, evidence_top_k: int = 2, max_emotions: int = 3,
                 profile: str = "default") -> None:
        self.model = load_task_model(model, "emotions", profile)
        if not self.model.multilabel:
            raise ValueError(f"model {self.model.version} is single-label; the emotion analyzer needs a multilabel one")
        self.evidence_top_k = evidence_top_k
        self.max_emotions = max_emotions
        self._thresholds = np.array([self.model.info.thresholds.get(lab, self.model.info.threshold)
                                     for lab in self.model.labels], dtype=np.float32)

    @property
    def version(self) -> str:
        return self.model.version

    def __call__(self, records: Sequence[Feedback], findings: Sequence[Findings]) -> None:
        if not records:
            return
        features = self.model.featurize([r.client_text() for r in records])
        proba = self.model.proba_from_features(features)
        fired = proba >= self._thresholds
        chosen: list[list[int]] = []
        for i in range(len(records)):
            idx = np.flatnonzero(fired[i])
            chosen.append([int(j) for j in idx[np.argsort(-proba[i, idx])][: self.max_emotions]])
        evidence = self._evidence(records, chosen, features)
        for i, f in enumerate(findings):
            if chosen[i]:
                f.emotions = [Label(name=self.model.labels[j], confidence=round(float(proba[i, j]), 4))
                              for j in chosen[i]]
            else:
                f.emotions = [Label(name=NO_EMOTION, confidence=round(float(1.0 - proba[i].max()), 4))]
            f.evidence = [e for e in f.evidence if not e.label.startswith("emotion:")] + evidence[i]
            f.model_versions["emotions"] = self.version

    def _evidence(self, records: Sequence[Feedback], chosen: list[list[int]], features: Any) -> list[list[Evidence]]:
        out: list[list[Evidence]] = [[] for _ in records]
        pairs = [(i, j) for i, js in enumerate(chosen) for j in js]
        if not pairs or self.evidence_top_k <= 0:
            return out
        rows = [i for i, _ in pairs]
        spans = self.model.explain_spans([records[i].text for i in rows], [j for _, j in pairs],
                                         top_k=self.evidence_top_k, features=features[rows],
                                         windows=[client_windows(records[i]) for i in rows])
        for (i, j), row in zip(pairs, spans, strict=True):
            name = self.model.labels[j]
            out[i] += [Evidence(label=f"emotion:{name}", text=s.text, start=s.start, end=s.end, weight=s.weight)
                       for s in row]
        return out
