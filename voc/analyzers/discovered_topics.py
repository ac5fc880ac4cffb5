"""Discovered topics analyzer: each record's nearest topic of a fitted topic model (``voc topics fit``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spacy.tokens import Doc

from voc.analyzers.base import Analyzer
from voc.analyzers.nlp import findings_of, record_of
from voc.analyzers.registry import register


@register("discovered_topics")
class DiscoveredTopicsAnalyzer(Analyzer):
    """Sets ``findings.discovered_topic`` (topic name; ``None`` for outliers) from a topic model dir, loaded on
    first use (a missing directory is an error when the analyzer is built)."""

    def __init__(self, model: str | Path) -> None:
        from voc.topics.model import TOPICS_FILE

        self.path = Path(model)
        if not (self.path / TOPICS_FILE).is_file():
            raise FileNotFoundError(f"{self.path}: not a topic model directory ({TOPICS_FILE} missing)")
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            from voc.topics.model import TopicModel

            self._model = TopicModel.load(self.path)
        return self._model

    def warm_up(self) -> None:
        _ = self.model

    @property
    def version(self) -> str:
        return self.model.version

    def analyze_docs(self, docs: Sequence[Doc]) -> None:
        assigned = self.model.assign([record_of(d).client_text() for d in docs])
        for doc, (_, name, _) in zip(docs, assigned, strict=True):
            findings_of(doc).discovered_topic = name
