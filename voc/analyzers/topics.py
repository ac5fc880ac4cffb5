"""Taxonomy topics: multi-label topic detection by lemma keyword/phrase matching, with aspect sentiment.

Keywords of the (company-configurable) taxonomy are lemmatised once and indexed by their first lemma;
a record's word lemmas are scanned left to right and the longest keyword phrase starting at each word
wins (so «карта лояльности» counts for bonuses, not for bank cards). A topic's confidence grows with the
number and length of its matches. The sentiment of a mention is the sentiment of the sentence (or dialog
turn) that contains it, read from ``findings.sentences``; without sentences the document sentiment is used.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from voc.analyzers.base import Analyzer
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

    def __init__(self, taxonomy: str | Path | Taxonomy | None = None, min_strength: float = 1.0) -> None:
        self.taxonomy = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        self.min_strength = min_strength
        self.index_ = PhraseIndex({t.name: t.keywords for t in self.taxonomy.topics})
        self._evidence_labels = frozenset(f"topic:{t.name}" for t in self.taxonomy.topics)

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
        for rec, f in zip(records, findings, strict=True):
            detected = self.detect(rec.text)
            windows = rec.client_spans()
            if windows is not None:  # dialogs: topics are what the customer talks about, not the operator's script
                detected = {k: kept for k, v in detected.items()
                            if (kept := [m for m in v if any(a <= m.start < b for a, b in windows)])}
            doc = (f.sentiment or "neutral", f.sentiment_score if f.sentiment_score is not None else 0.0)
            mentions: list[TopicMention] = []
            evidence: list[Evidence] = []
            for name, matches in sorted(detected.items(), key=lambda kv: -self._strength(kv[1])):
                strength = self._strength(matches)
                spans = [(m.start, m.end) for m in matches]
                sentiment, score = _mention_sentiment(spans, f.sentences, doc)
                mentions.append(
                    TopicMention(
                        name=name,
                        confidence=match_confidence(strength),
                        sentiment=sentiment,  # type: ignore[arg-type]
                        sentiment_score=score,
                        source="taxonomy",
                    )
                )
                for m in matches:
                    evidence.append(
                        Evidence(
                            label=f"topic:{name}",
                            text=rec.text[m.start : m.end],
                            start=m.start,
                            end=m.end,
                            weight=1.0 + 0.5 * (m.n_words - 1),
                        )
                    )
            f.topics = [t for t in f.topics if t.source != "taxonomy"] + mentions
            f.evidence = [e for e in f.evidence if e.label not in self._evidence_labels] + evidence
            f.model_versions[self.name] = self.version
