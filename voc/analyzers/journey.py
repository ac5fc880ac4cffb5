"""Customer-journey stage of each record, with where it came from (``journey_stage_source``).

Precedence: the record's own stage (``record.journey_stage``, matched case/ё/spacing-insensitively to a
configured stage; an unknown value falls through) → source ``record``; else the linked ticket's category
(``record.ticket.category``, put there by ``voc.link``) mapped by the config's
``ticket_categories`` → source ``ticket``; else predicted from the text → source ``predicted``.

Prediction scores every stage by its keyword and touchpoint cues in the customer's words (lemma phrases),
the record's ``touchpoint`` field, and topic hints (a taxonomy topic already found in ``findings.topics``
that the stage lists under ``topics``). The best stage wins; with no cue at all the config's
``default_stage`` is given with low confidence.

With a stage model (``model``: a path/name, or the profile's model — the shipped ``journey-stage-tfidf`` head or
the multi-task encoder's ``journey_stage`` head; ``model="lexicon"`` turns it off) the prediction step asks the
head first: a configured stage it knows wins with its probability as confidence. When the head answers "—"
(none), the record gets **no stage** (``head_none="none"``, the default: on real feedback the head's "—" is right
far more often than the lexicon's guess — cross-validated on the cxreal train split, docs/cause_and_stage.md) or,
with ``head_none="lexicon"``, the lexicon prediction above (``default_stage`` when no cue). A lexicon cue for a
configured stage the head does not know always wins. Evidence for a head's stage: the stage's lexicon cues in
the text, else the occluded phrases/sentences (``TextClassifier.explain_spans``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from spacy.tokens import Doc

from voc.analyzers.base import Analyzer, TaskHead, add_span_evidence
from voc.analyzers.lexicon import (
    PhraseIndex,
    PhraseMatch,
    client_pieces,
    match_evidence,
    phrase_weight,
    softmax,
)
from voc.analyzers.nlp import findings_of, make_docs, record_of
from voc.analyzers.registry import register
from voc.config import JourneyConfig, load_journey, normalize_name
from voc.schema import Feedback, Findings, JourneyStageSource

RECORD_CONFIDENCE = 1.0
TICKET_CONFIDENCE = 0.9
DEFAULT_CONFIDENCE = 0.2
#: what a record gets when the stage head answers "—": no stage, or the lexicon's prediction
HEAD_NONE = ("none", "lexicon")
#: a stage cue: the match and whether it lies in the record's text (False: a turn not found in it)
Cue = tuple[PhraseMatch, bool]


@register("journey_stage")
class JourneyStageAnalyzer(Analyzer):
    """Fills ``journey_stage``, ``journey_stage_source`` and ``journey_stage_confidence``."""

    evidence_prefixes = ("journey_stage:",)

    def __init__(
        self,
        journey: str | Path | JourneyConfig | None = None,
        topic_weight: float = 0.8,
        touchpoint_weight: float = 2.0,
        temperature: float = 2.0,
        model: str | None = None,
        profile: str = "default",
        evidence_top_k: int = 2,
        head_none: str = "none",
    ) -> None:
        if head_none not in HEAD_NONE:
            raise ValueError(f"journey_stage: head_none must be one of {', '.join(HEAD_NONE)}, got {head_none!r}")
        self.head_none = head_none
        self.config = journey if isinstance(journey, JourneyConfig) else load_journey(journey)
        self.head = TaskHead.load(model, "journey_stage", profile, [s.name for s in self.config.stages])
        self.evidence_top_k = evidence_top_k
        self.topic_weight = topic_weight
        self.touchpoint_weight = touchpoint_weight
        self.temperature = temperature
        self.labels_ = [s.name for s in self.config.stages]
        self._col = {name: j for j, name in enumerate(self.labels_)}
        self.by_name_ = self.config.stage_by_name()
        self.by_ticket_category_ = self.config.stage_by_ticket_category()
        self.index_ = PhraseIndex({s.name: [*s.keywords, *s.touchpoints] for s in self.config.stages})
        self.by_touchpoint_: dict[str, list[str]] = {}
        for s in self.config.stages:
            for tp in s.touchpoints:
                self.by_touchpoint_.setdefault(normalize_name(tp), []).append(s.name)
        self.by_topic_: dict[str, list[str]] = {}
        for s in self.config.stages:
            for t in s.topics:
                self.by_topic_.setdefault(t, []).append(s.name)

    @property
    def version(self) -> str:
        return f"{self.head.version}+rules-1" if self.head else "rules-1"

    def from_record(self, rec: Feedback) -> str | None:
        """The configured stage named by the record itself, if any."""
        if rec.journey_stage and rec.journey_stage.strip():
            return self.by_name_.get(normalize_name(rec.journey_stage))
        return None

    def from_ticket(self, rec: Feedback) -> str | None:
        """The stage of the linked ticket's category (or a category that is itself a stage name)."""
        category = rec.ticket.category if rec.ticket is not None else None
        if not isinstance(category, str) or not category.strip():
            return None
        key = normalize_name(category)
        return self.by_ticket_category_.get(key) or self.by_name_.get(key)

    def given(self, rec: Feedback) -> tuple[str, JourneyStageSource, float] | None:
        """The stage the record or its ticket gives (stage, source, confidence), else None."""
        stage = self.from_record(rec)
        if stage is not None:
            return stage, "record", RECORD_CONFIDENCE
        stage = self.from_ticket(rec)
        if stage is not None:
            return stage, "ticket", TICKET_CONFIDENCE
        return None

    def _doc_cues(self, doc: Doc) -> list[Cue]:
        """Keyword/touchpoint phrase matches of every stage in the client's words."""
        return [(m, p.offset >= 0) for p in client_pieces(doc) for m in self.index_.matches(p.doc, p.window)]

    def _cues(self, rec: Feedback) -> list[Cue]:
        """:meth:`_doc_cues` of a record (its Doc made here)."""
        return self._doc_cues(make_docs([rec], [Findings(feedback_id=rec.id)])[0])

    def predict(self, rec: Feedback, findings: Findings | None = None,
                cues: list[Cue] | None = None) -> tuple[str | None, float, list[Cue]]:
        """Stage predicted from the text (+ touchpoint, topics), its confidence, and the cue matches."""
        if cues is None:
            cues = self._cues(rec)
        scores = np.zeros(len(self.labels_))
        for m, _ in cues:
            scores[self._col[m.label]] += phrase_weight(m.n_words)
        if rec.touchpoint:
            for stage in self.by_touchpoint_.get(normalize_name(rec.touchpoint), []):
                scores[self._col[stage]] += self.touchpoint_weight
        if findings is not None:
            for topic in findings.topics:
                for stage in self.by_topic_.get(topic.name, []):
                    scores[self._col[stage]] += self.topic_weight * topic.confidence
        if scores.max() <= 0:
            return self.config.default_stage, DEFAULT_CONFIDENCE, []
        best = int(scores.argmax())
        conf = float(softmax(scores, self.temperature)[best]) * (1.0 - np.exp(-scores[best]))
        stage = self.labels_[best]
        return stage, round(max(conf, DEFAULT_CONFIDENCE + 0.01), 3), [c for c in cues if c[0].label == stage]

    def fill_given(self, docs: Sequence[Doc]) -> list[int]:
        """Set the stage of rows whose record or linked ticket gives it; the indices of the other rows."""
        todo: list[int] = []
        for i, doc in enumerate(docs):
            given = self.given(record_of(doc))
            if given is None:
                todo.append(i)
            else:
                f = findings_of(doc)
                f.journey_stage, f.journey_stage_source, f.journey_stage_confidence = given
        return todo

    def analyze_docs(self, docs: Sequence[Doc]) -> None:
        todo = self.fill_given(docs)
        choices = self.head.choose([record_of(docs[i]) for i in todo]) if self.head else [None] * len(todo)
        explain: list[tuple[int, int, str]] = []
        for i, choice in zip(todo, choices, strict=True):
            doc = docs[i]
            rec, f = record_of(doc), findings_of(doc)
            all_cues = self._doc_cues(doc)
            stage, conf, cues = self.predict(rec, f, all_cues)
            lexicon_only = stage is not None and conf > DEFAULT_CONFIDENCE and self.head and stage not in self.head.known
            if choice is not None and not lexicon_only:
                cues = [c for c in all_cues if c[0].label == choice.label]
                stage, conf = choice.label, choice.confidence
                if not cues:
                    explain.append((i, choice.column, f"journey_stage:{stage}"))
            elif self.head and not lexicon_only and self.head_none == "none":
                stage, cues = None, []
            f.journey_stage = stage
            f.journey_stage_source = "predicted" if stage is not None else None
            f.journey_stage_confidence = conf if stage is not None else None
            self.evidence(doc, [match_evidence(f"journey_stage:{stage}", rec.text, m, located) for m, located in cues])
        if self.head:
            add_span_evidence(self, self.head.model, docs, explain, self.evidence_top_k)
