"""The analyzer contract: every component of the pipeline is a spaCy component over Docs of records.

An analyzer is built from config (constructor keyword arguments) and fills its own fields of each row's Findings
(``Doc._.findings``; readable as ``Doc._.sentiment``, ``Doc._.topics``, …) with labels, confidence and evidence.
It works on a batch of Docs at once (``analyze_docs``), vectorised over the batch; ``voc.analyzers.components``
registers each one with ``Language.factory`` (what it assigns and requires) and ``voc.pipeline`` runs them
with ``nlp.pipe``. Called on records (``analyzer(records, findings)``) an analyzer makes the Docs itself, clears
its own evidence first and records its version: inside a pipeline both are the pipeline's work.

Model-backed analyzers reach their model through :class:`LazyModel` — one interface (``voc_models.base.TextClassifier``)
for every model kind: the model directory is found and checked (task, labels) when the analyzer is built, the
weights load on first use. ``model``: a path/name, ``"lexicon"`` for none, or None (the profile's model of the
task, ``voc_models.registry.task_model_path``). :class:`TaskHead` is the shared view of a single-label head with a
"—" (none) class (cause, journey stage).
"""

from __future__ import annotations

import logging
import threading
from abc import ABC
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from spacy.tokens import Doc

from voc.analyzers.nlp import add_evidence, findings_of, make_docs, record_of
from voc.schema import Evidence, Feedback, Findings
from voc_models import side as side_blocks
from voc_models.base import NONE_LABEL, ModelInfo, TextClassifier

LOG = logging.getLogger("voc.analyzers")
#: the ``model`` option value that keeps an analyzer on its lexicon whatever the profile says
LEXICON = "lexicon"


class Analyzer(ABC):  # noqa: B024 - subclasses override analyze_docs or __call__
    """Base class of every pipeline component (sentiment, emotions, topics, cause, journey stage, …).

    A subclass overrides :meth:`analyze_docs` (Docs → Findings) or, for a component that needs no Doc,
    ``__call__(records, findings)``; each default calls the other.
    """

    #: registry name, e.g. "sentiment"; set by @register
    name: ClassVar[str] = ""
    #: names of analyzers whose output this one reads (they must run earlier in the pipeline)
    requires: ClassVar[tuple[str, ...]] = ()
    #: labels of this analyzer's evidence start with one of these (cleared when it runs on records again)
    evidence_prefixes: ClassVar[tuple[str, ...]] = ()

    @property
    def version(self) -> str:
        """Model/version string recorded in Findings.model_versions and the report."""
        return "rules-1"

    def analyze_docs(self, docs: Sequence[Doc]) -> None:
        """Fill this analyzer's fields of ``doc._.findings`` for every Doc of the batch, in place."""
        self.__call__([record_of(d) for d in docs], [findings_of(d) for d in docs])

    def __call__(self, records: Sequence[Feedback], findings: Sequence[Findings]) -> None:
        """Fill this analyzer's fields of ``findings[i]`` for ``records[i]``, in place (Docs made here)."""
        if type(self).analyze_docs is Analyzer.analyze_docs:
            raise NotImplementedError(f"{type(self).__name__} implements neither analyze_docs nor __call__")
        if self.evidence_prefixes:
            for f in findings:
                f.evidence = [e for e in f.evidence if not e.label.startswith(self.evidence_prefixes)]
        self.analyze_docs(make_docs(records, findings))
        version = self.version
        for f in findings:
            f.model_versions[self.name] = version

    def warm_up(self) -> None:
        """Load what loads lazily (models, fitted lexicon parts) now: before forking workers that should share it."""
        for value in vars(self).values():
            if isinstance(value, LazyModel) and value:
                value.get()
            elif isinstance(value, TaskHead):
                value.lazy.get()

    def evidence(self, doc: Doc, items: Sequence[Evidence]) -> None:
        """Add this analyzer's evidence to a row (Findings + the Doc's span group)."""
        add_evidence(doc, self.name, items)

    def close(self) -> None:  # noqa: B027 - optional hook, not abstract  # pragma: no cover
        """Release resources (threads, sessions)."""


def _declared(info: ModelInfo, task: str) -> tuple[list[str], bool]:
    """Labels and multi-label flag a model directory declares for ``task`` (a multi-task model: its head)."""
    head = info.heads.get(task)
    if head is not None:
        return list(head.get("labels", [])), bool(head.get("multilabel", False))
    return list(info.labels), info.multilabel


class LazyModel:
    """The model of one task: found and checked when built, loaded on first use (``get``), shared by threads."""

    def __init__(self, model: str | Path | None, task: str, profile: str = "default", *, required: bool = True) -> None:
        from voc_models.registry import MULTITASK_KINDS, resolve, task_model_path

        self.task = task
        target = model if model is not None else task_model_path(task, profile)
        if target is None:
            if required:
                raise ValueError(f"profile {profile!r} has no {task!r} model; name one with the analyzer's model option")
            self.path: Path | None = None
            self.labels: list[str] = []
            self.multilabel = False
            return
        self.path = resolve(target)
        info = ModelInfo.read(self.path)
        if info.kind in MULTITASK_KINDS:
            if task not in info.heads:
                raise ValueError(f"multi-task model {info.name}@{info.version} ({target}) has no {task!r} head")
        elif info.task != task:
            raise ValueError(f"model {info.name}@{info.version} ({target}) is a {info.task!r} model, not {task!r}")
        self.labels, self.multilabel = _declared(info, task)
        self.name = f"{info.name}@{info.version}"
        self._model: TextClassifier | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, model: TextClassifier) -> LazyModel:
        """A LazyModel around a model already in memory (tests, notebooks)."""
        lazy = cls.__new__(cls)
        lazy.task, lazy.path, lazy._model = model.info.task, Path(f"<in memory: {model.version}>"), model
        lazy.labels, lazy.multilabel, lazy.name = list(model.labels), model.multilabel, model.version
        lazy._lock = threading.Lock()
        return lazy

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return self.path is not None

    def get(self) -> TextClassifier:
        """The loaded model (weights read on the first call; ``voc_models.registry`` caches them per process)."""
        model = self._model
        if model is None:
            if self.path is None:
                raise ValueError(f"no {self.task!r} model")
            with self._lock:
                model = self._model
                if model is None:
                    from voc_models.registry import load_task_model

                    model = load_task_model(self.path, self.task)
                    if model is None:  # not reached: with a path given it loads or raises
                        raise ValueError(f"no {self.task!r} model at {self.path}")
                    self._model = model
        return model

    @property
    def loaded(self) -> bool:
        return self._model is not None if self.path is not None else False

    @property
    def version(self) -> str:
        return self.get().version


def load_head_model(model: str | None, task: str, profile: str) -> LazyModel | None:
    """The lazily loaded model of ``task`` for an analyzer with a lexicon path: None for ``model="lexicon"`` or
    when the profile has no model of the task."""
    if model == LEXICON:
        return None
    lazy = LazyModel(model, task, profile, required=False)
    return lazy if lazy else None


def thresholds(model: TextClassifier, dtype: type = np.float64) -> np.ndarray:
    """Per-label decision thresholds of a multi-label model, in label order."""
    return np.array([model.info.thresholds.get(lab, model.info.threshold) for lab in model.labels], dtype=dtype)


def add_span_evidence(analyzer: Analyzer, model: TextClassifier, docs: Sequence[Doc],
                      items: Sequence[tuple[int, int, str]], top_k: int) -> None:
    """Add the model's evidence spans (``explain_spans`` over the client's words) to ``docs[i]`` for each
    ``(row i, label column, evidence label)``, in one batched call."""
    if not items or top_k <= 0:
        return
    records = [record_of(d) for d in docs]
    spans = model.explain_spans([records[i].text for i, _, _ in items], [j for _, j, _ in items], top_k=top_k,
                                windows=[records[i].client_spans() for i, _, _ in items])
    for (i, _, label), row in zip(items, spans, strict=True):
        analyzer.evidence(docs[i], [Evidence(label=label, text=s.text, start=s.start, end=s.end, weight=s.weight)
                                    for s in row])


@dataclass(frozen=True, slots=True)
class HeadChoice:
    """The label a head picked for a record: its name, column in the model's labels and probability."""

    label: str
    column: int
    confidence: float


class TaskHead:
    """A single-label model (cause, journey stage) read over the labels a config knows, "—" meaning none.

    Built from the model directory's declared labels; the weights load on the first ``proba``."""

    def __init__(self, model: LazyModel, task: str, allowed: Sequence[str]) -> None:
        if model.multilabel:
            raise ValueError(f"{task} model {model.name} is multi-label; a single-label head is needed")
        self.lazy = model
        self.labels = model.labels
        self.known = frozenset(model.labels) & frozenset(allowed)
        if not self.known:
            raise ValueError(f"{task} model {model.name}: none of its labels {model.labels} is a configured "
                             f"{task} ({list(allowed)}); use model: lexicon or a matching config")
        self._cols = np.array([j for j, lab in enumerate(model.labels) if lab in self.known or lab == NONE_LABEL])
        nones = [k for k, j in enumerate(self._cols) if model.labels[j] == NONE_LABEL]
        self._none: int | None = nones[0] if nones else None

    @classmethod
    def load(cls, model: str | None, task: str, profile: str, allowed: Sequence[str]) -> TaskHead | None:
        """The head of ``task``; a profile's model that knows none of the configured labels (a company's own
        causes/stages) leaves the analyzer on its lexicon with a logged note, a named one is an error."""
        lazy = load_head_model(model, task, profile)
        if lazy is None:
            return None
        if model is None and not frozenset(lazy.labels) & frozenset(allowed):
            LOG.info("%s model %s knows none of the configured labels; the %s analyzer uses its lexicon",
                     task, lazy.name, task)
            return None
        return cls(lazy, task, allowed)

    @property
    def model(self) -> TextClassifier:
        return self.lazy.get()

    @property
    def version(self) -> str:
        return self.lazy.version

    def proba(self, records: Sequence[Feedback], docs: Sequence[Doc] | None = None) -> np.ndarray:
        """The head's probabilities over the client's words, renormalised over ``columns`` (the known labels + «—»).

        ``docs``: the records' lemmatised Docs, handed to the side feature blocks the model reads (where the
        client's words are the whole text), so they are not lemmatised again."""
        if not records:
            return np.zeros((0, len(self._cols)))
        model = self.model
        texts = [r.client_text() for r in records]
        if docs is not None:
            whole = [d for d, r, t in zip(docs, records, texts, strict=True) if t == r.text]
            for name in model.side_blocks():
                from_docs = getattr(side_blocks.get(name), "from_docs", None)
                if from_docs is not None and whole:
                    from_docs(whole)
        proba = model.predict_proba(texts)[:, self._cols]
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
        label = self.labels[col]
        return None if label == NONE_LABEL else HeadChoice(label, col, round(float(row[k]), 4))

    def choose(self, records: Sequence[Feedback], force: bool = False) -> list[HeadChoice | None]:
        """The head's label per record (over the client's words); None where it answers "—" (unless ``force``)."""
        return [self.pick(row, force) for row in self.proba(records)]
