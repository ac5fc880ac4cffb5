"""The analyzer contract: one interface for every component of the pipeline.

An analyzer is built from config (constructor keyword arguments), takes a batch of Feedback records
with their Findings, and fills in its own fields of each Findings (labels + confidence + evidence).
It must vectorise over the batch; per-row Python loops only where unavoidable.

Analyzers that can run on a model head (cause, journey stage, topics) take ``model`` (a path/name,
``"lexicon"`` for none, or None: the profile's model of the task, ``models.registry.task_model_path``) and
``profile``; :class:`TaskHead` is their shared view of a single-label head with a "—" (none) class.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from models.base import NONE_LABEL, TextClassifier
from voc.schema import Evidence, Feedback, Findings

LOG = logging.getLogger("voc.analyzers")
#: the ``model`` option value that keeps an analyzer on its lexicon whatever the profile says
LEXICON = "lexicon"


class Analyzer(ABC):
    """Base class of every pipeline component (sentiment, emotions, topics, cause, journey stage, …)."""

    #: registry name, e.g. "sentiment"; set by @register
    name: ClassVar[str] = ""
    #: names of analyzers whose output this one reads (they must run earlier in the pipeline)
    requires: ClassVar[tuple[str, ...]] = ()

    @property
    def version(self) -> str:
        """Model/version string recorded in Findings.model_versions and the report."""
        return "rules-1"

    @abstractmethod
    def __call__(self, records: Sequence[Feedback], findings: Sequence[Findings]) -> None:
        """Fill this analyzer's fields of ``findings[i]`` for ``records[i]``, in place."""

    def close(self) -> None:  # noqa: B027 - optional hook, not abstract  # pragma: no cover
        """Release resources (threads, sessions)."""


def load_head_model(model: str | None, task: str, profile: str) -> TextClassifier | None:
    """The model of ``task`` for an analyzer with a lexicon path: None for ``model="lexicon"`` or when the
    profile has no model of the task."""
    if model == LEXICON:
        return None
    from models.registry import load_task_model

    return load_task_model(model, task, profile)


def add_span_evidence(model: TextClassifier, records: Sequence[Feedback], findings: Sequence[Findings],
                      items: Sequence[tuple[int, int, str]], top_k: int) -> None:
    """Append the model's evidence spans (``explain_spans`` over the client's words) to ``findings[i].evidence``
    for each ``(row i, label column, evidence label)``, in one batched call."""
    if not items or top_k <= 0:
        return
    spans = model.explain_spans([records[i].text for i, _, _ in items], [j for _, j, _ in items], top_k=top_k,
                                windows=[records[i].client_spans() for i, _, _ in items])
    for (i, _, label), row in zip(items, spans, strict=True):
        findings[i].evidence += [Evidence(label=label, text=s.text, start=s.start, end=s.end, weight=s.weight)
                                 for s in row]


@dataclass(frozen=True, slots=True)
class HeadChoice:
    """The label a head picked for a record: its name, column in the model's labels and probability."""

    label: str
    column: int
    confidence: float


class TaskHead:
    """A single-label model (cause, journey stage) read over the labels a config knows, "—" meaning none."""

    def __init__(self, model: TextClassifier, task: str, allowed: Sequence[str]) -> None:
        if model.multilabel:
            raise ValueError(f"{task} model {model.version} is multi-label; a single-label head is needed")
        self.model = model
        self.known = frozenset(model.labels) & frozenset(allowed)
        if not self.known:
            raise ValueError(f"{task} model {model.version}: none of its labels {model.labels} is a configured "
                             f"{task} ({list(allowed)}); use model: lexicon or a matching config")
        self._cols = np.array([j for j, lab in enumerate(model.labels) if lab in self.known or lab == NONE_LABEL])
        nones = [k for k, j in enumerate(self._cols) if model.labels[j] == NONE_LABEL]
        self._none: int | None = nones[0] if nones else None

    @classmethod
    def load(cls, model: str | None, task: str, profile: str, allowed: Sequence[str]) -> TaskHead | None:
        """The head of ``task``; a profile's model that knows none of the configured labels (a company's own
        causes/stages) leaves the analyzer on its lexicon with a logged note, a named one is an error."""
        loaded = load_head_model(model, task, profile)
        if loaded is None:
            return None
        if model is None and not frozenset(loaded.labels) & frozenset(allowed):
            LOG.info("%s model %s knows none of the configured labels; the %s analyzer uses its lexicon",
                     task, loaded.version, task)
            return None
        return cls(loaded, task, allowed)

    @property
    def version(self) -> str:
        return self.model.version

    def proba(self, records: Sequence[Feedback]) -> np.ndarray:
        """The head's probabilities over the client's words, renormalised over ``columns`` (the known labels + «—»)."""
        if not records:
            return np.zeros((0, len(self._cols)))
        proba = self.model.predict_proba([r.client_text() for r in records])[:, self._cols]
        return proba / np.maximum(proba.sum(axis=1, keepdims=True), 1e-12)

    def none_proba(self, row: np.ndarray) -> float:
        """P(«—») of one row of :meth:`proba` (0 when the model has no «—» class)."""
        return float(row[self._none]) if self._none is not None else 0.0

    def pick(self, row: np.ndarray, force: bool = False) -> HeadChoice | None:
        """The top label of one row of :meth:`proba`; None where it is «—», unless ``force`` (then the best label)."""
        if force and self._none is not None:
            row = row.copy()
            row[self._none] = -1.0
        k = int(row.argmax())
        col = int(self._cols[k])
        label = self.model.labels[col]
        return None if label == NONE_LABEL else HeadChoice(label, col, round(float(row[k]), 4))

    def choose(self, records: Sequence[Feedback], force: bool = False) -> list[HeadChoice | None]:
        """The head's label per record (over the client's words); None where it answers "—" (unless ``force``)."""
        return [self.pick(row, force) for row in self.proba(records)]
