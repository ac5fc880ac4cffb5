"""Taxonomy topics: multi-label topic detection by lemma keyword/phrase matching, with aspect sentiment.

Keywords of the (company-configurable) taxonomy are lemmatised once and indexed by their first lemma;
a record's word lemmas are scanned left to right and the longest keyword phrase starting at each word
wins (so «карта лояльности» counts for bonuses, not for bank cards). A topic's confidence grows with the
number and length of its matches. The sentiment of a mention is the sentiment of the sentence (or dialog
turn) that contains it, read from ``findings.sentences``; without sentences the document sentiment is used.

With a topic model (``model``: a path/name, or the profile's model — the shipped ``topics-tfidf`` head or the
multi-task encoder's ``topics`` head; ``model="lexicon"`` turns it off) the head decides the taxonomy topics it
knows (probability over its threshold; a topic whose keywords match the text needs only ``lexicon_factor`` × the
threshold, default 0.5, chosen by cross-validation on the cxreal train split; confidence = the probability;
``source="model"``) and the lexicon keeps the taxonomy topics the head does not know. Head topics outside the taxonomy are left out unless ``outside_taxonomy`` is set. Evidence for a
head topic: its keyword matches when the text has any, else the occluded phrases/sentences
(``TextClassifier.explain_spans``); the mention's sentiment is read from the sentences holding the evidence.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voc.analyzers.base import Analyzer, add_span_evidence, load_head_model
from voc.analyzers.registry import register
from voc.config import Taxonomy, load_taxonomy
from voc.schema import Evidence, Feedback, Findings, SentenceSentiment, TopicMention
from voc.text import lemma, normalize_phrase, words


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """One keyword phrase found in a text: its label, the words' char span, word position and length."""

    label: str
    phrase: tuple[str, ...]
    start: int
    end: int
    n_words: int
    pos: int = 0


class PhraseIndex:
    """Lemma phrases of several labels, indexed by first lemma for a fast longest-match scan."""

    def __init__(self, phrases_by_label: dict[str, Iterable[str]]) -> None:
        self._index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for label, phrases in phrases_by_label.items():
            for phrase in phrases:
                key = normalize_phrase(phrase)
                if not key:
                    continue
                bucket = self._index.setdefault(key[0], [])
                if (key, label) not in bucket:
                    bucket.append((key, label))
        for bucket in self._index.values():  # longest phrases first
            bucket.sort(key=lambda item: -len(item[0]))

    def __len__(self) -> int:
        return sum(len(b) for b in self._index.values())

    def scan(self, lemma_seq: Sequence[str], spans: Sequence[tuple[int, int]]) -> list[PhraseMatch]:
        """Non-overlapping longest matches (all labels sharing the longest phrase at a position are kept)."""
        index = self._index
        out: list[PhraseMatch] = []
        i, n = 0, len(lemma_seq)
        while i < n:
            bucket = index.get(lemma_seq[i])
            best = 0
            if bucket is not None:
                for phrase, label in bucket:
                    k = len(phrase)
                    if k < best:
                        break
                    if i + k <= n and (k == 1 or tuple(lemma_seq[i : i + k]) == phrase):
                        best = k
                        out.append(PhraseMatch(label, phrase, spans[i][0], spans[i + k - 1][1], k, i))
            i += best or 1
        return out

    def match_text(self, text: str) -> list[PhraseMatch]:
        """Matches in a raw text (lemmatised here)."""
        toks = words(text)
        return self.scan([lemma(t.text) for t in toks], [(t.start, t.end) for t in toks])


def lemmatize_with_spans(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Word lemmas of ``text`` and their character spans."""
    toks = words(text)
    return [lemma(t.text) for t in toks], [(t.start, t.end) for t in toks]


def match_confidence(strength: float) -> float:
    """Confidence of a label from its summed match strength: 1 match → 0.55, 2 → ~0.73, 3 → ~0.84."""
    return round(min(0.97, 1.0 - 0.45 * math.exp(-0.5 * (strength - 1.0))), 3)


def _mention_sentiment(
    spans: list[tuple[int, int]], sentences: Sequence[SentenceSentiment], doc: tuple[str, float]
) -> tuple[str, float]:
    """Sentiment of the sentences holding the mention spans (majority label, mean score)."""
    hits: list[SentenceSentiment] = []
    for start, _ in spans:
        for s in sentences:
            if s.start is not None and s.end is not None and s.start <= start < s.end:
                if s not in hits:
                    hits.append(s)
                break
    if not hits:
        return doc
    score = sum(s.score for s in hits) / len(hits)
    counts = Counter(s.sentiment for s in hits).most_common()
    top = [lab for lab, c in counts if c == counts[0][1]]
    if len(top) == 1:
        label = top[0]
    else:  # tie: the label of the strongest sentence among the tied labels
        label = max((s for s in hits if s.sentiment in top), key=lambda s: abs(s.score)).sentiment
    return label, round(score, 4)


@register("topics")
class TopicAnalyzer(Analyzer):
    """Multi-label taxonomy topics with aspect sentiment and matched-phrase evidence."""

    requires = ("sentiment",)

    def __init__(self, taxonomy: str | Path | Taxonomy | None = None, min_strength: float = 1.0,
                 model: str | None = None, profile: str = "default", outside_taxonomy: bool = False,
                 evidence_top_k: int = 2, lexicon_factor: float = 0.5) -> None:
        if not 0.0 < lexicon_factor <= 1.0:
            raise ValueError(f"topics: lexicon_factor must be in (0, 1], got {lexicon_factor!r}")
        self.lexicon_factor = lexicon_factor
        self.taxonomy = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        self.min_strength = min_strength
        self.index_ = PhraseIndex({t.name: t.keywords for t in self.taxonomy.topics})
        self.model = load_head_model(model, "topics", profile)
        self.evidence_top_k = evidence_top_k
        names = [t.name for t in self.taxonomy.topics]
        self.head_topics_: dict[str, int] = {}  # topic → column of the head that decides it
        if self.model is not None:
            if not self.model.multilabel:
                raise ValueError(f"topics model {self.model.version} is single-label; a multi-label head is needed")
            self.head_topics_ = {lab: j for j, lab in enumerate(self.model.labels)
                                 if outside_taxonomy or lab in names}
            self._thresholds = np.array([self.model.info.thresholds.get(lab, self.model.info.threshold)
                                         for lab in self.model.labels])
        self._evidence_labels = frozenset(f"topic:{n}" for n in [*names, *self.head_topics_])

    @property
    def version(self) -> str:
        return f"{self.model.version}+rules-1" if self.model is not None else "rules-1"

    def detect(self, text: str) -> dict[str, list[PhraseMatch]]:
        """Topic name → its keyword matches in ``text`` (topics below ``min_strength`` dropped)."""
        by_topic: dict[str, list[PhraseMatch]] = {}
        for m in self.index_.match_text(text):
            by_topic.setdefault(m.label, []).append(m)
        return {t: ms for t, ms in by_topic.items() if self._strength(ms) >= self.min_strength}

    @staticmethod
    def _strength(matches: list[PhraseMatch]) -> float:
        # distinct phrases count fully, repeats of the same phrase add a little; longer phrases weigh more
        seen: set[tuple[str, ...]] = set()
        total = 0.0
        for m in matches:
            weight = 1.0 + 0.5 * (m.n_words - 1)
            total += weight if m.phrase not in seen else 0.25 * weight
            seen.add(m.phrase)
        return total

    def __call__(self, records: Sequence[Feedback], findings: Sequence[Findings]) -> None:
        found_by_lexicon = [self._detect_client(rec) for rec in records]
        head = self._head_topics(records, found_by_lexicon)
        explain: list[tuple[int, int, str]] = []
        pending: list[tuple[int, str, float]] = []  # head topics whose evidence comes from the model
        for i, (rec, f) in enumerate(zip(records, findings, strict=True)):
            detected = found_by_lexicon[i]
            windows = rec.client_spans()
            doc = (f.sentiment or "neutral", f.sentiment_score if f.sentiment_score is not None else 0.0)
            found: list[tuple[str, float, list[PhraseMatch], str]] = [
                (name, match_confidence(self._strength(ms)), ms, "taxonomy")
                for name, ms in detected.items() if name not in self.head_topics_]
            for name, conf in head[i]:
                matches = detected.get(name) or self._all_matches(rec.text, name, windows)
                found.append((name, conf, matches, "model"))
                if not matches:
                    explain.append((i, self.head_topics_[name], f"topic:{name}"))
                    pending.append((i, name, conf))
            mentions: list[TopicMention] = []
            evidence: list[Evidence] = []
            for name, conf, matches, source in sorted(found, key=lambda x: -x[1]):
                if source == "model" and not matches:
                    continue  # added after the model's evidence is in
                sentiment, score = _mention_sentiment([(m.start, m.end) for m in matches], f.sentences, doc)
                mentions.append(TopicMention(name=name, confidence=conf, sentiment=sentiment,  # type: ignore[arg-type]
                                             sentiment_score=score, source=source))  # type: ignore[arg-type]
                evidence += [Evidence(label=f"topic:{name}", text=rec.text[m.start : m.end], start=m.start,
                                      end=m.end, weight=1.0 + 0.5 * (m.n_words - 1)) for m in matches]
            f.topics = [t for t in f.topics if t.source not in ("taxonomy", "model")] + mentions
            f.evidence = [e for e in f.evidence if e.label not in self._evidence_labels] + evidence
            f.model_versions[self.name] = self.version
        if self.model is not None:
            add_span_evidence(self.model, records, findings, explain, self.evidence_top_k)
        for i, name, conf in pending:
            f = findings[i]
            spans = [(e.start, e.end) for e in f.evidence if e.label == f"topic:{name}" and e.start is not None]
            doc = (f.sentiment or "neutral", f.sentiment_score if f.sentiment_score is not None else 0.0)
            sentiment, score = _mention_sentiment(spans, f.sentences, doc)
            f.topics.append(TopicMention(name=name, confidence=conf, sentiment=sentiment,  # type: ignore[arg-type]
                                         sentiment_score=score, source="model"))
        for i in sorted({i for i, _, _ in pending}):  # others' topics first, as they were; ours by confidence
            findings[i].topics.sort(key=lambda t: (t.source in ("taxonomy", "model"),
                                                   -t.confidence if t.source in ("taxonomy", "model") else 0.0))

    def _detect_client(self, rec: Feedback) -> dict[str, list[PhraseMatch]]:
        """``detect`` over the record's text; in dialogs only matches inside the customer's turns count (topics
        are what the customer talks about, not the operator's script)."""
        detected = self.detect(rec.text)
        windows = rec.client_spans()
        if windows is not None:
            detected = {k: kept for k, v in detected.items()
                        if (kept := [m for m in v if any(a <= m.start < b for a, b in windows)])}
        return detected

    def _head_topics(self, records: Sequence[Feedback],
                     detected: Sequence[dict[str, list[PhraseMatch]]]) -> list[list[tuple[str, float]]]:
        """Per record, the head's topics over their thresholds (× ``lexicon_factor`` for a topic whose keywords
        matched; only topics this analyzer lets it decide)."""
        if self.model is None or not records or not self.head_topics_:
            return [[] for _ in records]
        proba = self.model.predict_proba([r.client_text() for r in records])
        matched = np.array([[lab in d for lab in self.model.labels] for d in detected], dtype=bool)
        fired = proba >= self._thresholds * np.where(matched, self.lexicon_factor, 1.0)
        return [[(self.model.labels[j], round(float(proba[i, j]), 4)) for j in np.flatnonzero(fired[i])
                 if self.model.labels[j] in self.head_topics_] for i in range(len(records))]

    def _all_matches(self, text: str, name: str, windows: list[tuple[int, int]] | None) -> list[PhraseMatch]:
        """Keyword matches of one topic below ``min_strength`` too (evidence for a head topic)."""
        return [m for m in self.index_.match_text(text)
                if m.label == name and (windows is None or any(a <= m.start < b for a, b in windows))]
