"""The analyzers as spaCy components: ``Language.factory`` registrations with what each assigns and requires.

Every built-in analyzer has a factory ``voc_<name>`` (``voc_sentiment``, ``voc_emotions``, ``voc_topics``,
``voc_cause``, ``voc_journey_stage``, ``voc_discovered_topics``); ``voc_redact`` masks PII and comes first;
``voc_analyzer`` wraps any other :class:`~voc.analyzers.base.Analyzer`. In a plain spaCy pipeline::

    nlp = make_nlp()                                    # blank ru + voc_lemmatizer + voc_sentencizer
    nlp.add_pipe("voc_sentiment", config={"options": {"profile": "fast"}})
    nlp.add_pipe("voc_topics", config={"options": {"taxonomy": "taxonomy.yaml"}})

``options`` are the analyzer's constructor arguments (``method`` picks an alternative such as ``zeroshot``).
``voc.pipeline.Pipeline`` hands already built analyzers over with ``instance`` (a key of :func:`stash`).
A component's ``pipe`` runs its analyzer over batches of Docs (vectorised inside the batch) and adds the seconds
spent to ``timings``. Which component decides which label: docs/components.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from voc.analyzers.base import Analyzer
from voc.analyzers.nlp import attach, findings_of, record_of
from voc.analyzers.registry import create

_STASH: dict[str, Any] = {}

#: built-in analyzer → (what it assigns, what it requires), in spaCy's attribute notation
SPECS: dict[str, tuple[list[str], list[str]]] = {
    "sentiment": (["doc._.sentiment", "doc._.sentiment_score", "doc._.sentiment_confidence", "doc._.sentences",
                   "doc._.call_metrics", "doc.spans"], ["doc.sents"]),
    "emotions": (["doc._.emotions", "doc.spans"], []),
    "topics": (["doc._.topics", "doc.spans"], ["doc._.sentiment", "doc._.sentences", "token.lemma"]),
    "cause": (["doc._.cause", "doc.spans"], ["doc._.sentiment", "token.lemma"]),
    "journey_stage": (["doc._.journey_stage", "doc._.journey_stage_source", "doc._.journey_stage_confidence",
                       "doc.spans"], ["token.lemma"]),
    "discovered_topics": (["doc._.discovered_topic"], []),
}


def stash(obj: Any) -> str:
    """Keep a built object for a factory to pick up (``config={"instance": key}``); spaCy configs hold values."""
    key = f"{type(obj).__name__}-{id(obj)}"
    _STASH[key] = obj
    return key


def _take(key: str) -> Any:
    if key not in _STASH:
        raise KeyError(f"no stashed component {key!r}")
    return _STASH.pop(key)


def factory_name(analyzer_name: str) -> str:
    """The spaCy factory of an analyzer name (``voc_analyzer`` for one that is not built in)."""
    return f"voc_{analyzer_name}" if analyzer_name in SPECS else "voc_analyzer"


class AnalyzerComponent:
    """An analyzer as a spaCy pipeline component: ``__call__(doc)`` and batched ``pipe(docs)``."""

    def __init__(self, analyzer: Analyzer, batch_size: int = 1000) -> None:
        self.analyzer = analyzer
        self.batch_size = batch_size
        self.timings: dict[str, float] = {}

    def _run(self, docs: list[Doc]) -> None:
        t0 = time.perf_counter()
        self.analyzer.analyze_docs(docs)
        name = self.analyzer.name
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0

    def __call__(self, doc: Doc) -> Doc:
        self._run([doc])
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        for batch in minibatch(docs, size=batch_size or self.batch_size):
            self._run(batch)
            yield from batch


def _build(name: str, options: dict[str, Any], instance: str | None) -> AnalyzerComponent:
    return AnalyzerComponent(_take(instance) if instance else create(name, **options))


def _factory_of(analyzer: str) -> Any:
    def factory(nlp: Language, name: str, options: dict[str, Any], instance: str | None) -> AnalyzerComponent:  # noqa: ARG001
        return _build(analyzer, options, instance)

    factory.__name__ = f"make_{analyzer}"
    return factory


for _name, (_assigns, _requires) in SPECS.items():
    Language.factory(f"voc_{_name}", assigns=_assigns, requires=_requires,
                     default_config={"options": {}, "instance": None}, func=_factory_of(_name))


@Language.factory("voc_analyzer", default_config={"instance": None, "analyzer": "", "options": {}})
def make_analyzer(nlp: Language, name: str, instance: str | None, analyzer: str,  # noqa: ARG001
                  options: dict[str, Any]) -> AnalyzerComponent:
    """Any registered or stashed analyzer (``analyzer``: its registry name)."""
    return _build(analyzer, options, instance)


class RedactComponent:
    """PII masking (``voc.redact.Redactor``) of the Doc's record; a masked text gets a new Doc (spaCy Docs are
    immutable), with the record, its Findings and the counts of masked spans per kind."""

    def __init__(self, nlp: Language, redactor: Any) -> None:
        self.make_doc = nlp.make_doc
        self.redactor = redactor
        self.timings: dict[str, float] = {}

    @property
    def version(self) -> str:
        return getattr(self.redactor, "version", "rules-1")

    def __call__(self, doc: Doc) -> Doc:
        t0 = time.perf_counter()
        original = record_of(doc)
        record, counts = self.redactor.redact_record(original)
        findings = findings_of(doc)
        findings.pii_masked = counts
        if record.text != original.text:
            doc = attach(self.make_doc(record.text), record, findings, "voc_no_spans" not in doc.user_data)
        else:
            doc._.record = record
        self.timings["redact"] = self.timings.get("redact", 0.0) + time.perf_counter() - t0
        return doc


@Language.factory("voc_redact", assigns=["doc._.record"], default_config={"instance": None, "options": {}})
def make_redact(nlp: Language, name: str, instance: str | None, options: dict[str, Any]) -> RedactComponent:  # noqa: ARG001
    """``options``: ``voc.redact.Redactor`` arguments (``names``, ``name_engine``), or a stashed redactor."""
    if instance:
        return RedactComponent(nlp, _take(instance))
    from voc.redact import Redactor

    return RedactComponent(nlp, Redactor(**options))
