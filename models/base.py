"""The text-classifier contract shared by every model kind (TF-IDF linear, HF BERT, ONNX).

scikit-learn style: ``predict_proba(texts) -> (n, n_labels)`` float array; ``labels`` in column order;
``multilabel`` says whether rows are independent sigmoids (emotions, topics) or a softmax (sentiment).
A model is a directory (Hugging Face habit): ``voc_model.json`` (see ModelInfo) + weights + ``README.md`` card.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

MODEL_INFO_FILE = "voc_model.json"


class ModelInfo(BaseModel):
    """Contents of ``voc_model.json``: what a model directory holds."""

    name: str = Field(description="registry name, e.g. 'sentiment-tfidf'")
    version: str = Field(description="e.g. '2026.12.04-1'")
    task: str = Field(description="sentiment | emotions | topics | cause | journey_stage")
    kind: str = Field(description="tfidf | hf | onnx | multitask | multitask-onnx")
    labels: list[str]
    multilabel: bool = False
    threshold: float = Field(0.5, description="decision threshold for multilabel outputs")
    thresholds: dict[str, float] = Field(default_factory=dict, description="per-label thresholds (multilabel)")
    heads: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="multitask kinds: head → {labels, multilabel, threshold(s)}")
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

    def explain(self, texts: Sequence[str], label_indices: Sequence[int], top_k: int = 3) -> list[list[tuple[str, float]]]:
        """Words/phrases of each text that pushed it towards the given label, with weights.

        Default: none (models without a cheap attribution return empty lists).
        """
        return [[] for _ in texts]

    @abstractmethod
    def save(self, model_dir: str | Path) -> None:
        """Write the model directory (weights + voc_model.json + card)."""
