"""Discovered topics analyzer: each record's nearest topic of a fitted topic model (``voc topics fit``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from voc.analyzers.base import Analyzer
from voc.analyzers.registry import register
from voc.schema import Feedback, Findings


@register("discovered_topics")
class DiscoveredTopicsAnalyzer(Analyzer):
    """Sets ``findings.discovered_topic`` (topic name; ``None`` for outliers) from a topic model dir."""

    def __init__(self, model: str | Path) -> None:
        from voc.topics.model import TopicModel

        self.model = TopicModel.load(model)

    @property
    def version(self) -> str:
        return self.model.version

    def __call__(self, records: Sequence[Feedback], findings: Sequence[Findings]) -> None:
        assigned = self.model.assign([r.client_text() for r in records])
        for f, (_, name, _) in zip(findings, assigned, strict=True):
            f.discovered_topic = name
            f.model_versions[self.name] = self.version
