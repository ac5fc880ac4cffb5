"""The text-classifier contract shared by every model kind (TF-IDF linear, HF BERT, ONNX, multi-task heads).

scikit-learn style: ``predict_proba(texts) -> (n, n_labels)`` float array; ``labels`` in column order;
``multilabel`` says whether rows are independent sigmoids (emotions, topics) or a softmax (sentiment).
A model is a directory (Hugging Face habit): ``voc_model.json`` (see ModelInfo) + weights + ``README.md`` card.

The analyzers call only this contract, never a model class:

* ``featurize(texts)`` → model input that ``proba_from_features`` scores and ``explain_spans`` may reuse;
  it can be indexed by a list of rows (default: the texts; TF-IDF: its sparse matrix);
* ``segment_proba(segments, owners, documents)`` → probabilities of sentences/turns and of the documents they
  make up (default: two predictions; TF-IDF: a document's n-gram counts are the sums of its segments');
* ``explain_spans(texts, labels, windows=…)`` → evidence as character spans of the texts (default: occlusion of
  sentences / word windows, ``voc_models.evidence``; TF-IDF: its n-gram weights).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

MODEL_INFO_FILE = "voc_model.json"
#: the "none of these" class of single-label heads (cause, journey stage)
NONE_LABEL = "—"


class TextFeatures:
    """The default model input: the texts themselves, indexable by a list of rows like a sparse matrix."""

    __slots__ = ("texts",)

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = list(texts)

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, rows: Sequence[int]) -> TextFeatures:
        return TextFeatures([self.texts[int(i)] for i in rows])


@dataclass
class SegmentProba:
    """Probabilities of segments and of the documents made of them, plus the documents' features."""

    segments: np.ndarray  # (n_segments, n_labels)
    documents: np.ndarray  # (n_documents, n_labels)
    features: Any  # featurize(documents) or an equivalent; feeds explain_spans


class ModelInfo(BaseModel):
    """Contents of ``voc_model.json``: what a model directory holds."""

    name: str = Field(description="registry name, e.g. 'sentiment-tfidf'")
    version: str = Field(description="e.g. '2026.12.04-1'")
    task: str = Field(description="sentiment | emotions | topics | cause | journey_stage")
    kind: str = Field(description="tfidf | hf | onnx | multitask | multitask-onnx | ensemble")
    labels: list[str]
    multilabel: bool = False
    threshold: float = Field(0.5, description="decision threshold for multilabel outputs")
    thresholds: dict[str, float] = Field(default_factory=dict, description="per-label thresholds (multilabel)")
    heads: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="multitask kinds: head → {labels, multilabel, threshold(s)}")
    members: list[dict[str, Any]] = Field(
        default_factory=list, description="kind ensemble: [{model: path (relative to the directory) or name, weight}]")
    side_features: dict[str, Any] | None = Field(
        None, description="kind tfidf: a dense block read next to the n-grams, {name, names} (voc_models.side)")
    metrics: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict, description="data fingerprints, hyper-parameters, time, hardware")
    created_at: str | None = None

    @classmethod
    def read(cls, model_dir: str | Path) -> ModelInfo:
        return cls.model_validate_json((Path(model_dir) / MODEL_INFO_FILE).read_text(encoding="utf-8"))

    def write(self, model_dir: str | Path) -> None:
        Path(model_dir).mkdir(parents=True, exist_ok=True)
        (Path(model_dir) / MODEL_INFO_FILE).write_text(self.model_dump_json(indent=2), encoding="utf-8")


class TextClassifier(ABC):
    """A trained text classifier loaded from a model directory."""

    info: ModelInfo

    @property
    def labels(self) -> list[str]:
        return self.info.labels

    @property
    def multilabel(self) -> bool:
        return self.info.multilabel

    @property
    def version(self) -> str:
        return f"{self.info.name}@{self.info.version}"

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, shape (len(texts), len(labels))."""

    def predict(self, texts: Sequence[str]) -> list[str] | list[list[str]]:
        """Top label per text (single-label) or the labels over threshold (multilabel)."""
        proba = self.predict_proba(texts)
        if not self.multilabel:
            return [self.labels[i] for i in proba.argmax(axis=1)]
        thr = np.array([self.info.thresholds.get(lab, self.info.threshold) for lab in self.labels])
        return [[self.labels[j] for j in np.flatnonzero(row >= thr)] for row in proba]

    def side_blocks(self) -> list[str]:
        """Names of the side feature blocks this model reads (``voc_models.side``); a caller that already holds
        the lemmatised texts may hand them to those blocks first."""
        return []

    # -- the fast-path contract the analyzers use (defaults work for any model) -------------------------------
    def featurize(self, texts: Sequence[str]) -> Any:
        """Model input for ``texts``, indexable by a list of rows; ``proba_from_features`` scores it."""
        return TextFeatures(texts)

    def proba_from_features(self, features: Any) -> np.ndarray:
        """Probabilities of what ``featurize`` returned."""
        return self.predict_proba(features.texts)

    def segment_proba(self, segments: Sequence[str], owners: Sequence[int], documents: Sequence[str]) -> SegmentProba:
        """Probabilities of ``segments`` (sentences, turns) and of ``documents``; ``owners[k]`` is the document
        segment ``k`` counts towards (-1: none). Default: each list predicted on its own (a model with a cache
        or a shared runner pays once for a segment equal to its document)."""
        features = self.featurize(documents)
        return SegmentProba(self.predict_proba(list(segments)), self.proba_from_features(features), features)

    def explain_spans(self, texts: Sequence[str], label_indices: Sequence[int], top_k: int = 3,
                      features: Any = None,
                      windows: Sequence[Sequence[tuple[int, int]] | None] | None = None) -> list[list[Any]]:
        """Evidence spans (``voc_models.evidence.EvidenceSpan``: text, start, end, weight) per text for its label.

        ``windows`` restricts each text to (start, end) ranges (a dialog's client turns); ``features`` may be
        reused by a model (default: unused). Default: occlusion of sentences or word windows.
        """
        from voc_models.evidence import plan_occlusion, select_spans

        if len(label_indices) != len(texts):
            raise ValueError(f"label_indices has {len(label_indices)} items, texts has {len(texts)}")
        plans = [plan_occlusion(t, windows[i] if windows is not None else None) for i, t in enumerate(texts)]
        base, occluded = self.occlusion_proba([p.view for p in plans], [p.variants for p in plans])
        out = []
        for i, (text, plan) in enumerate(zip(texts, plans, strict=True)):
            j = int(label_indices[i])
            drops = base[i, j] - occluded[i][:, j] if len(plan.spans) else np.zeros(0)
            out.append(select_spans(text, plan.spans, drops, top_k))
        return out

    def occlusion_proba(self, views: Sequence[str],
                        variants: Sequence[Sequence[str]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Probabilities of each view and of each of its occluded variants, in one batched call."""
        flat = [v for vs in variants for v in vs]
        proba = self.predict_proba(list(views) + flat)
        base, rest = proba[: len(views)], proba[len(views):]
        out, at = [], 0
        for vs in variants:
            out.append(rest[at : at + len(vs)])
            at += len(vs)
        return base, out

    def explain(self, texts: Sequence[str], label_indices: Sequence[int], top_k: int = 3) -> list[list[tuple[str, float]]]:
        """Words/phrases of each text that pushed it towards the given label, with weights (``explain_spans``)."""
        return [[(s.text, s.weight) for s in row] for row in self.explain_spans(texts, label_indices, top_k=top_k)]

    @abstractmethod
    def save(self, model_dir: str | Path) -> None:
        """Write the model directory (weights + voc_model.json + card)."""
