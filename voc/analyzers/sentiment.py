"""Sentiment of each record, of its sentences (or dialog turns), and the client's mood over a call.

The document label of a dialog is the client's: its turns only. Sentences/turns of the whole batch are
scored in one call through the model contract (``TextClassifier.segment_proba``: a TF-IDF model sums its
segments' n-gram counts, so each character is vectorised once; an encoder scores segments and documents, a
one-sentence document costing one pass). Evidence (``TextClassifier.explain_spans``): what pushed the document
towards its label — n-grams for TF-IDF, occluded sentences/phrases for encoders — as spans of ``Feedback.text``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from spacy.tokens import Doc

from voc.analyzers.base import Analyzer, LazyModel
from voc.analyzers.nlp import findings_of, record_of, sentence_spans
from voc.analyzers.registry import register
from voc.schema import Evidence, Feedback, Findings, SentenceSentiment, SpeakerRole

SENTIMENT_LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class Segment:
    """A sentence or a dialog turn of one record; offsets into ``Feedback.text`` (None when not found)."""

    record: int
    text: str
    start: int | None
    end: int | None
    speaker: SpeakerRole | None
    in_document: bool  # counts towards the document label (client turns of a dialog; every sentence)
    reported: bool  # listed in Findings.sentences


def locate_turns(record: Feedback) -> list[tuple[int | None, int | None]]:
    """Character offsets of each dialog turn inside ``record.text`` ((None, None) where not found)."""
    return [span if span is not None else (None, None) for span in record.turn_spans()]


def _segments(i: int, doc: Doc, per_sentence: bool, max_sentences: int) -> list[Segment]:
    record: Feedback = record_of(doc)
    if record.turns:
        has_client = any(t.speaker == SpeakerRole.client for t in record.turns)
        return [Segment(i, t.text, s, e, t.speaker, (t.speaker == SpeakerRole.client) or not has_client,
                        per_sentence and k < max_sentences)
                for k, (t, (s, e)) in enumerate(zip(record.turns, locate_turns(record), strict=True))
                if t.text.strip()]
    text = record.text
    if not per_sentence:
        return [Segment(i, text, 0, len(text), None, True, False)]
    sents = sentence_spans(doc)
    if len(sents) > max_sentences:  # the tail is one segment: counted for the document, not listed
        tail_start = sents[max_sentences][1]
        return [Segment(i, t, a, b, None, True, True) for t, a, b in sents[:max_sentences]] + [
            Segment(i, text[tail_start:], tail_start, len(text), None, True, False)]
    return [Segment(i, t, a, b, None, True, True) for t, a, b in sents] or [
        Segment(i, text, 0, len(text), None, True, False)]


@register("sentiment")
class SentimentAnalyzer(Analyzer):
    """Document, sentence/turn and call-trajectory sentiment from a 3-class text classifier."""

    evidence_prefixes = ("sentiment:",)

    def __init__(self, model: str | None = None, per_sentence: bool = True, max_sentences: int = 20,
                 evidence_top_k: int = 3, profile: str = "default") -> None:
        self.lazy = LazyModel(model, "sentiment", profile)
        missing = [lab for lab in SENTIMENT_LABELS if lab not in self.lazy.labels]
        if missing or self.lazy.multilabel:
            raise ValueError(f"model {self.lazy.name} must be single-label over {SENTIMENT_LABELS}; "
                             f"it has {self.lazy.labels}")
        self.per_sentence = per_sentence
        self.max_sentences = max_sentences
        self.evidence_top_k = evidence_top_k
        self._neg = self.lazy.labels.index("negative")
        self._pos = self.lazy.labels.index("positive")

    @property
    def model(self) -> Any:
        return self.lazy.get()

    @property
    def version(self) -> str:
        return self.lazy.version

    def _score(self, proba: np.ndarray) -> np.ndarray:
        return np.clip(proba[:, self._pos] - proba[:, self._neg], -1.0, 1.0)

    def analyze_docs(self, docs: Sequence[Doc]) -> None:
        if not docs:
            return
        model = self.model
        labels = model.labels
        records = [record_of(d) for d in docs]
        segs = [s for i, d in enumerate(docs) for s in _segments(i, d, self.per_sentence, self.max_sentences)]
        scored = model.segment_proba([s.text for s in segs], [s.record if s.in_document else -1 for s in segs],
                                     [r.client_text() for r in records])
        seg_proba, doc_proba, doc_features = scored.segments, scored.documents, scored.features
        doc_label_idx = doc_proba.argmax(axis=1)
        doc_score = self._score(doc_proba)
        seg_score = self._score(seg_proba)
        evidence = self._evidence(records, doc_label_idx, doc_features, [r.client_spans() for r in records])
        per_record: list[list[int]] = [[] for _ in records]
        for k, s in enumerate(segs):
            per_record[s.record].append(k)
        for i, (rec, doc) in enumerate(zip(records, docs, strict=True)):
            f: Findings = findings_of(doc)
            f.sentiment = labels[doc_label_idx[i]]  # type: ignore[assignment]
            f.sentiment_score = round(float(doc_score[i]), 4)
            f.sentiment_confidence = round(float(doc_proba[i, doc_label_idx[i]]), 4)
            f.sentences = [
                SentenceSentiment(text=segs[k].text, start=segs[k].start, end=segs[k].end, speaker=segs[k].speaker,
                                  sentiment=labels[int(seg_proba[k].argmax())],  # type: ignore[arg-type]
                                  score=round(float(seg_score[k]), 4))
                for k in per_record[i] if segs[k].reported
            ]
            self.evidence(doc, evidence[i])
            if rec.turns:
                self._call_trajectory(rec, f, [float(seg_score[k]) for k in per_record[i]
                                               if segs[k].speaker == SpeakerRole.client])

    def _evidence(self, records: Sequence[Feedback], label_idx: np.ndarray, features: Any,
                  windows: list[list[tuple[int, int]] | None]) -> list[list[Evidence]]:
        if self.evidence_top_k <= 0:
            return [[] for _ in records]
        spans = self.model.explain_spans([r.text for r in records], label_idx, top_k=self.evidence_top_k,
                                         features=features, windows=windows)
        labels = self.model.labels
        return [[Evidence(label=f"sentiment:{labels[label_idx[i]]}", text=s.text, start=s.start,
                          end=s.end, weight=s.weight) for s in row] for i, row in enumerate(spans)]

    @staticmethod
    def _call_trajectory(record: Feedback, f: Findings, client_scores: list[float]) -> None:
        """Client sentiment at the start and the end of a call: mean score of the first/last third of turns."""
        base = f.call_metrics or record.call_metrics
        if base is None or not client_scores:
            return
        k = max(1, math.ceil(len(client_scores) / 3))
        f.call_metrics = base.model_copy(update={
            "client_sentiment_start": round(float(np.mean(client_scores[:k])), 4),
            "client_sentiment_end": round(float(np.mean(client_scores[-k:])), 4),
        })
