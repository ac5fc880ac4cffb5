"""Zero-shot cause, journey stage and topics from the YAML configs alone (``voc.zeroshot``, e5 similarity).

Chosen per component in ``pipeline.yaml`` — the component keeps its name, so ``--taxonomy/--journey/--causes``
reach it as usual::

    components:
      - sentiment
      - name: topics
        config: {method: zeroshot}
      - name: cause
        config: {method: zeroshot, lexical_weight: 0.5}
      - name: journey_stage
        config: {method: zeroshot}

Each label is described by its ``description``, ``examples`` and ``keywords`` in the config (stages take
``examples`` too). Evidence is the best-scoring sentence of the customer's words, as a character span.
How scores are built and calibrated: ``voc/zeroshot.py`` and docs/zeroshot.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from spacy.tokens import Doc

from voc.analyzers.base import Analyzer
from voc.analyzers.cause import FALLBACK_CONFIDENCE
from voc.analyzers.journey import DEFAULT_CONFIDENCE, JourneyStageAnalyzer
from voc.analyzers.lexicon import client_segments, mention_sentiment
from voc.analyzers.nlp import findings_of, record_of
from voc.analyzers.registry import register
from voc.config import CauseConfig, JourneyConfig, Taxonomy, load_causes, load_taxonomy
from voc.schema import Evidence, Feedback, Findings, Label, TopicMention
from voc.zeroshot import Encoder, Prediction, Unit, ZeroShotClassifier, config_digest, label_specs, text_units


def record_units(rec: Feedback, max_sentences: int) -> list[Unit]:
    """The customer's words of a record (client turns, else the text) cut into scored units."""
    units: list[Unit] = []
    for off, text in client_segments(rec):
        units.extend(text_units(text, off if off >= 0 else None, max_sentences))
    return units


def _classifier(where: object, default: str, labels: list, **kwargs: object) -> ZeroShotClassifier:
    """A ZeroShotClassifier whose definition errors name the config file they come from."""
    try:
        return ZeroShotClassifier(labels, **kwargs)  # type: ignore[arg-type]
    except ValueError as exc:
        name = str(where) if isinstance(where, str | Path) else default
        raise ValueError(f"{name}: {exc}") from None


def _evidence(label: str, unit: Unit, weight: float) -> Evidence:
    text = unit.text.strip()
    lead = len(unit.text) - len(unit.text.lstrip())
    start = unit.start + lead if unit.start is not None else None
    end = start + len(text) if start is not None else None
    return Evidence(label=label, text=text, start=start, end=end, weight=round(weight, 3))


class _ZeroShotMixin:
    classifier: ZeroShotClassifier

    @property
    def version(self) -> str:
        return f"zeroshot-e5-1+{config_digest(self.classifier.labels)}"

    def _predict(self, records: Sequence[Feedback]) -> list[Prediction]:
        return self.classifier.predict_units([record_units(r, self.classifier.max_sentences) for r in records])


@register("cause", method="zeroshot")
class ZeroShotCauseAnalyzer(_ZeroShotMixin, Analyzer):
    """Complaint cause of negative records by e5 similarity to the causes' descriptions and examples.

    The fallback cause is not scored: it is given (confidence 0.3) when the best cause scores no higher than
    a median topic-free text does (``margin=0`` at the background median): a negative text is a complaint,
    so the fallback is kept for texts that resemble no cause at all.
    """

    requires = ("sentiment",)
    evidence_prefixes = ("cause:",)

    def __init__(
        self,
        causes: str | Path | CauseConfig | None = None,
        margin: float = 0.0,
        background_quantile: float = 0.5,
        sentence_weight: float | None = None,
        lexical_weight: float = 0.5,
        max_sentences: int = 12,
        encoder: Encoder | None = None,
    ) -> None:
        self.config = causes if isinstance(causes, CauseConfig) else load_causes(causes)
        labels = label_specs(self.config.causes, skip=[self.config.fallback])
        if not labels:
            raise ValueError("causes config: needs at least one cause besides the fallback")
        self.classifier = _classifier(causes, "causes config", labels, multi_label=False, encoder=encoder,
                                      margin=margin, background_quantile=background_quantile,
                                      sentence_weight=sentence_weight, lexical_weight=lexical_weight,
                                      max_sentences=max_sentences)

    def predict(self, records: Sequence[Feedback]) -> list[Label]:
        """The cause of each record (read as a complaint)."""
        return [self._label(p) for p in self._predict(records)]

    def _label(self, pred: Prediction) -> Label:
        if not pred.labels:
            return Label(name=self.config.fallback, confidence=FALLBACK_CONFIDENCE)
        name, conf = pred.labels[0]
        return Label(name=name, confidence=max(conf, FALLBACK_CONFIDENCE + 0.01))

    def analyze_docs(self, docs: Sequence[Doc]) -> None:
        records: list[Feedback] = [record_of(d) for d in docs]
        findings: list[Findings] = [findings_of(d) for d in docs]
        rows = [i for i, f in enumerate(findings) if f.sentiment == "negative"]
        for f in findings:
            if f.sentiment != "negative":
                f.cause = None
        if not rows:
            return
        preds = self._predict([records[i] for i in rows])
        for i, pred in zip(rows, preds, strict=True):
            f = findings[i]
            f.cause = self._label(pred)
            if f.cause.name in pred.evidence:
                self.evidence(docs[i], [_evidence(f"cause:{f.cause.name}", pred.evidence[f.cause.name],
                                                  f.cause.confidence)])


@register("journey_stage", method="zeroshot")
class ZeroShotJourneyStageAnalyzer(_ZeroShotMixin, JourneyStageAnalyzer):
    """Journey stage: the record's own stage, else its ticket's category, else e5 similarity to the stages.

    A text close to no stage gets the config's ``default_stage`` (confidence 0.2), as in the lexicon path.
    """

    def __init__(
        self,
        journey: str | Path | JourneyConfig | None = None,
        margin: float = 0.5,
        sentence_weight: float | None = None,
        lexical_weight: float = 0.5,
        max_sentences: int = 12,
        encoder: Encoder | None = None,
    ) -> None:
        super().__init__(journey)
        self.classifier = _classifier(journey, "journey config", label_specs(self.config.stages), multi_label=False,
                                      encoder=encoder, margin=margin, sentence_weight=sentence_weight,
                                      lexical_weight=lexical_weight, max_sentences=max_sentences)

    def analyze_docs(self, docs: Sequence[Doc]) -> None:
        todo = self.fill_given(docs)
        if not todo:
            return
        preds = self._predict([record_of(docs[i]) for i in todo])
        for i, pred in zip(todo, preds, strict=True):
            f = findings_of(docs[i])
            stage: str | None
            if pred.labels:
                stage, conf = pred.labels[0]
                conf = max(conf, DEFAULT_CONFIDENCE + 0.01)
                self.evidence(docs[i], [_evidence(f"journey_stage:{stage}", pred.evidence[stage], conf)])
            else:
                stage, conf = self.config.default_stage, DEFAULT_CONFIDENCE
            f.journey_stage = stage
            f.journey_stage_source = "predicted" if stage is not None else None
            f.journey_stage_confidence = round(conf, 3) if stage is not None else None


@register("topics", method="zeroshot")
class ZeroShotTopicAnalyzer(_ZeroShotMixin, Analyzer):
    """Multi-label taxonomy topics by e5 similarity to the topics' descriptions and examples, with aspect
    sentiment read from the sentence that carries the topic."""

    requires = ("sentiment",)
    evidence_prefixes = ("topic:",)

    def __init__(
        self,
        taxonomy: str | Path | Taxonomy | None = None,
        margin: float = 0.5,
        sentence_weight: float | None = None,
        lexical_weight: float = 0.5,
        max_sentences: int = 12,
        encoder: Encoder | None = None,
    ) -> None:
        self.taxonomy = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        self.classifier = _classifier(taxonomy, "taxonomy", label_specs(self.taxonomy.topics), multi_label=True,
                                      encoder=encoder, margin=margin, sentence_weight=sentence_weight,
                                      lexical_weight=lexical_weight, max_sentences=max_sentences)

    def analyze_docs(self, docs: Sequence[Doc]) -> None:
        preds = self._predict([record_of(d) for d in docs])
        for doc, pred in zip(docs, preds, strict=True):
            f = findings_of(doc)
            doc_sent = (f.sentiment or "neutral", f.sentiment_score if f.sentiment_score is not None else 0.0)
            mentions: list[TopicMention] = []
            evidence: list[Evidence] = []
            for name, conf in pred.labels:
                unit = pred.evidence[name]
                spans = [(unit.start, unit.end)] if unit.start is not None and unit.end is not None else []
                sentiment, score = mention_sentiment(spans, f.sentences, doc_sent)
                mentions.append(TopicMention(name=name, confidence=conf, sentiment=sentiment,  # type: ignore[arg-type]
                                             sentiment_score=score, source="taxonomy"))
                evidence.append(_evidence(f"topic:{name}", unit, conf))
            f.topics = [t for t in f.topics if t.source != "taxonomy"] + mentions
            self.evidence(doc, evidence)
