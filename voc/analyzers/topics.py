"""Taxonomy topics: multi-label topic detection by lemma keyword/phrase matching, with aspect sentiment.

Keywords of the (company-configurable) taxonomy are lemmatised once and indexed by their first lemma;
a record's word lemmas are scanned left to right and the longest keyword phrase starting at each word
wins (so «карта лояльности» counts for bonuses, not for bank cards). A topic's confidence grows with the
number and length of its matches. The sentiment of a mention is the sentiment of the sentence (or dialog
turn) that contains it, read from ``findings.sentences``; without sentences the document sentiment is used.

With a topic model (``model``: a path/name, or the profile's model — the shipped ``topics-tfidf`` head or the
multi-task encoder's ``topics`` head; ``model="lexicon"`` turns it off) the head decides the taxonomy topics it
knows (probability over its threshold; a topic whose keywords match the text needs only ``lexicon_factor`` × the
threshold, default 0.75, chosen by cross-validation on the cxreal train split; confidence = the probability;
``source="model"``) and the lexicon keeps the taxonomy topics the head does not know. Head topics outside the taxonomy are left out unless ``outside_taxonomy`` is set. Evidence for a
head topic: its keyword matches when the text has any, else the occluded phrases/sentences
(``TextClassifier.explain_spans``); the mention's sentiment is read from the sentences holding the evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from spacy.tokens import Doc

from voc.analyzers.base import Analyzer, add_span_evidence, load_head_model, thresholds
from voc.analyzers.lexicon import (
    PhraseIndex,
    PhraseMatch,
    match_confidence,
    match_evidence,
    mention_sentiment,
    phrase_weight,
)
from voc.analyzers.nlp import findings_of, lemma_doc, record_of
from voc.analyzers.registry import register
from voc.config import Taxonomy, load_taxonomy
from voc.schema import Feedback, TopicMention

__all__ = ["PhraseIndex", "PhraseMatch", "TopicAnalyzer", "match_confidence"]


def _by_label(matches: Sequence[PhraseMatch]) -> dict[str, list[PhraseMatch]]:
    out: dict[str, list[PhraseMatch]] = {}
    for m in matches:
        out.setdefault(m.label, []).append(m)
    return out


def _in_windows(m: PhraseMatch, windows: list[tuple[int, int]] | None) -> bool:
    return windows is None or any(a <= m.start < b for a, b in windows)


@register("topics")
class TopicAnalyzer(Analyzer):
    """Multi-label taxonomy topics with aspect sentiment and matched-phrase evidence."""

    requires = ("sentiment",)
    evidence_prefixes = ("topic:",)

    def __init__(self, taxonomy: str | Path | Taxonomy | None = None, min_strength: float = 1.0,
                 model: str | None = None, profile: str = "default", outside_taxonomy: bool = False,
                 evidence_top_k: int = 2, lexicon_factor: float = 0.75) -> None:
        if not 0.0 < lexicon_factor <= 1.0:
            raise ValueError(f"topics: lexicon_factor must be in (0, 1], got {lexicon_factor!r}")
        self.lexicon_factor = lexicon_factor
        self.taxonomy = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        self.min_strength = min_strength
        self.index_ = PhraseIndex({t.name: t.keywords for t in self.taxonomy.topics})
        self.lazy = load_head_model(model, "topics", profile)
        self.evidence_top_k = evidence_top_k
        names = [t.name for t in self.taxonomy.topics]
        self.head_topics_: dict[str, int] = {}  # topic → column of the head that decides it
        if self.lazy is not None:
            if not self.lazy.multilabel:
                raise ValueError(f"topics model {self.lazy.name} is single-label; a multi-label head is needed")
            self.head_topics_ = {lab: j for j, lab in enumerate(self.lazy.labels) if outside_taxonomy or lab in names}

    @property
    def model(self) -> Any:
        return self.lazy.get() if self.lazy is not None else None

    @property
    def version(self) -> str:
        return f"{self.lazy.version}+rules-1" if self.lazy is not None else "rules-1"

    def detect(self, text: str) -> dict[str, list[PhraseMatch]]:
        """Topic name → its keyword matches in ``text`` (topics below ``min_strength`` dropped)."""
        return self.detect_doc(lemma_doc(text))

    def detect_doc(self, doc: Doc) -> dict[str, list[PhraseMatch]]:
        """:meth:`detect` of a lemmatised Doc, read whole."""
        return self._strong(_by_label(self.index_.matches(doc)))

    def strengths(self, doc: Doc) -> dict[str, float]:
        """Topic name → keyword strength in a lemmatised Doc, read whole (topics below ``min_strength`` dropped)."""
        return {name: self._strength(ms) for name, ms in self.detect_doc(doc).items()}

    def _strong(self, by_topic: dict[str, list[PhraseMatch]]) -> dict[str, list[PhraseMatch]]:
        return {t: ms for t, ms in by_topic.items() if self._strength(ms) >= self.min_strength}

    @staticmethod
    def _strength(matches: list[PhraseMatch]) -> float:
        # distinct phrases count fully, repeats of the same phrase add a little; longer phrases weigh more
        seen: set[tuple[str, ...]] = set()
        total = 0.0
        for m in matches:
            weight = phrase_weight(m.n_words)
            total += weight if m.phrase not in seen else 0.25 * weight
            seen.add(m.phrase)
        return total

    def analyze_docs(self, docs: Sequence[Doc]) -> None:
        records: list[Feedback] = [record_of(d) for d in docs]
        windows = [r.client_spans() for r in records]
        all_matches = [self.index_.matches(d) for d in docs]
        # in dialogs only matches inside the customer's turns count (topics are what the customer talks about)
        found_by_lexicon = [{k: kept for k, v in self._strong(_by_label(ms)).items()
                             if (kept := [m for m in v if _in_windows(m, w)])}
                            for ms, w in zip(all_matches, windows, strict=True)]
        head = self._head_topics(records, found_by_lexicon)
        explain: list[tuple[int, int, str]] = []
        pending: list[tuple[int, str, float]] = []  # head topics whose evidence comes from the model
        for i, (rec, doc) in enumerate(zip(records, docs, strict=True)):
            f = findings_of(doc)
            detected = found_by_lexicon[i]
            doc_sent = (f.sentiment or "neutral", f.sentiment_score if f.sentiment_score is not None else 0.0)
            found: list[tuple[str, float, list[PhraseMatch], str]] = [
                (name, match_confidence(self._strength(ms)), ms, "taxonomy")
                for name, ms in detected.items() if name not in self.head_topics_]
            for name, conf in head[i]:
                matches = detected.get(name) or [m for m in all_matches[i]
                                                 if m.label == name and _in_windows(m, windows[i])]
                found.append((name, conf, matches, "model"))
                if not matches:
                    explain.append((i, self.head_topics_[name], f"topic:{name}"))
                    pending.append((i, name, conf))
            mentions: list[TopicMention] = []
            for name, conf, matches, source in sorted(found, key=lambda x: -x[1]):
                if source == "model" and not matches:
                    continue  # added after the model's evidence is in
                sentiment, score = mention_sentiment([(m.start, m.end) for m in matches], f.sentences, doc_sent)
                mentions.append(TopicMention(name=name, confidence=conf, sentiment=sentiment,  # type: ignore[arg-type]
                                             sentiment_score=score, source=source))  # type: ignore[arg-type]
                self.evidence(doc, [match_evidence(f"topic:{name}", rec.text, m) for m in matches])
            f.topics = [t for t in f.topics if t.source not in ("taxonomy", "model")] + mentions
        if self.lazy is not None:
            add_span_evidence(self, self.model, docs, explain, self.evidence_top_k)
        for i, name, conf in pending:
            f = findings_of(docs[i])
            spans = [(e.start, e.end) for e in f.evidence if e.label == f"topic:{name}" and e.start is not None]
            doc_sent = (f.sentiment or "neutral", f.sentiment_score if f.sentiment_score is not None else 0.0)
            sentiment, score = mention_sentiment(spans, f.sentences, doc_sent)
            f.topics.append(TopicMention(name=name, confidence=conf, sentiment=sentiment,  # type: ignore[arg-type]
                                         sentiment_score=score, source="model"))
        for i in sorted({i for i, _, _ in pending}):  # others' topics first, as they were; ours by confidence
            findings_of(docs[i]).topics.sort(key=lambda t: (t.source in ("taxonomy", "model"),
                                                          -t.confidence if t.source in ("taxonomy", "model") else 0.0))

    def _head_topics(self, records: Sequence[Feedback],
                     detected: Sequence[dict[str, list[PhraseMatch]]]) -> list[list[tuple[str, float]]]:
        """Per record, the head's topics over their thresholds (× ``lexicon_factor`` for a topic whose keywords
        matched; only topics this analyzer lets it decide)."""
        if self.lazy is None or not records or not self.head_topics_:
            return [[] for _ in records]
        model = self.model
        proba = model.predict_proba([r.client_text() for r in records])
        matched = np.array([[lab in d for lab in model.labels] for d in detected], dtype=bool)
        fired = proba >= thresholds(model) * np.where(matched, self.lexicon_factor, 1.0)
        return [[(model.labels[j], round(float(proba[i, j]), 4)) for j in np.flatnonzero(fired[i])
                 if model.labels[j] in self.head_topics_] for i in range(len(records))]
