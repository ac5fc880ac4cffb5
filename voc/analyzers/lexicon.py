"""Shared helpers of the analyzers (no analyzer imports another): lemma-phrase lexicons on spaCy's
``PhraseMatcher``, the customer's pieces of a record, cue weights, evidence from matches, mention sentiment.

A lexicon (:class:`PhraseIndex`) is a ``PhraseMatcher`` over ``LEMMA``: each label's keyword phrases are
lemmatised once into pattern Docs; a Doc's matches are read left to right and the longest phrase starting at
each word wins (all labels sharing it are kept), so «карта лояльности» counts for bonuses, not for bank cards.
A phrase matches consecutive words only: it no longer runs over punctuation or digits between them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from voc.analyzers.nlp import lemma_doc, record_of, shared_nlp, word_view
from voc.schema import Evidence, Feedback, SentenceSentiment, SpeakerRole
from voc.text import NEGATIONS, STOP_WORDS, normalize_phrase


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """One keyword phrase found in a text: its label, the words' char span, word position and length."""

    label: str
    phrase: tuple[str, ...]
    start: int
    end: int
    n_words: int
    pos: int = 0


def phrase_weight(n_words: int) -> float:
    """Weight of a cue of ``n_words`` words (its evidence weight and its share of a lexicon score)."""
    return 1.0 + 0.5 * (n_words - 1)


def match_confidence(strength: float) -> float:
    """Confidence of a label from its summed match strength: 1 match → 0.55, 2 → ~0.73, 3 → ~0.84."""
    return round(min(0.97, 1.0 - 0.45 * math.exp(-0.5 * (strength - 1.0))), 3)


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = np.exp((scores - scores.max()) * temperature)
    return z / z.sum()


class PhraseIndex:
    """Lemma phrases of several labels in one ``PhraseMatcher`` (attr ``LEMMA``), longest match first."""

    def __init__(self, phrases_by_label: dict[str, Iterable[str]], nlp: Language | None = None) -> None:
        self._phrases = {label: list(phrases) for label, phrases in phrases_by_label.items()}
        self.nlp = nlp or shared_nlp()
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LEMMA")
        self._rank: dict[int, int] = {}
        self._labels: dict[int, str] = {}
        self._size = 0
        for label, phrases in self._phrases.items():
            keys = list(dict.fromkeys(k for k in (normalize_phrase(p) for p in phrases) if k))
            if not keys:
                continue
            key = self.nlp.vocab.strings.add(label)
            self._rank[key], self._labels[key] = len(self._rank), label
            self._size += len(keys)
            self.matcher.add(label, [Doc(self.nlp.vocab, words=list(k), lemmas=list(k)) for k in keys])

    def __reduce__(self) -> tuple:
        return (PhraseIndex, (self._phrases,))  # rebuilt on the process's shared nlp

    def __len__(self) -> int:
        return self._size

    def matches(self, doc: Doc, window: tuple[int, int] | None = None) -> list[PhraseMatch]:
        """Non-overlapping longest matches in ``doc`` (inside the character ``window`` when given); all labels
        sharing the longest phrase at a word are kept, in the labels' order."""
        if not len(doc) or not self._size:
            return []
        lemmas, spans, index = word_view(doc)
        found = sorted(self.matcher(doc), key=lambda m: (m[1], m[1] - m[2], self._rank[m[0]]))
        out: list[PhraseMatch] = []
        free, at, best = -1, -1, 0
        for key, s, e in found:
            i = index[s]
            a, b = spans[i][0], spans[index[e - 1]][1]
            if window is not None and not (window[0] <= a and b <= window[1]):
                continue
            if s != at:
                if s < free:
                    continue
                at, best, free = s, e - s, e
            elif e - s < best:
                continue
            out.append(PhraseMatch(self._labels[key], tuple(lemmas[i : i + e - s]), a, b, e - s, i))
        return out

    def match_text(self, text: str) -> list[PhraseMatch]:
        """Matches in a raw text (tokenised and lemmatised here)."""
        return self.matches(lemma_doc(text, self.nlp))


def client_segments(rec: Feedback) -> list[tuple[int, str]]:
    """The customer's own words as (offset into ``rec.text``, text) pieces: client turns, else the text.

    A turn not found verbatim in ``rec.text`` gets offset -1 (its evidence then carries no offsets).
    """
    if not rec.turns or not any(t.speaker == SpeakerRole.client for t in rec.turns):
        return [(0, rec.text)]
    return [(span[0] if span is not None else -1, turn.text)
            for turn, span in zip(rec.turns, rec.turn_spans(), strict=True) if turn.speaker == SpeakerRole.client]


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of the customer's words: the Doc it is read from, its character window there, and its offset
    into ``Feedback.text`` (-1: a turn not found in the text, read from a Doc of its own)."""

    doc: Doc
    window: tuple[int, int]
    offset: int


def client_pieces(doc: Doc) -> list[Piece]:
    """:func:`client_segments` of the Doc's record as windows of the Doc (an unlocated turn: its own Doc)."""
    out = []
    for off, text in client_segments(record_of(doc)):
        if off >= 0:
            out.append(Piece(doc, (off, off + len(text)), off))
        else:
            out.append(Piece(lemma_doc(text), (0, len(text)), -1))
    return out


def piece_lemmas(piece: Piece) -> tuple[list[str], int]:
    """The lemmas of a piece's words and the word index its first word has in the Doc."""
    lemmas, spans, _ = word_view(piece.doc)
    a, b = piece.window
    idx = [k for k, (s, e) in enumerate(spans) if a <= s and e <= b]
    return [lemmas[k] for k in idx], (idx[0] if idx else 0)


def negated(match: PhraseMatch, lemma_seq: Sequence[str], window: int, first: int = 0) -> bool:
    """True when a negation precedes the match within ``window`` words of its piece (whose first word is
    ``first``) and the phrase is not itself negated."""
    if match.phrase[0] in NEGATIONS:
        return False
    return any(w in NEGATIONS for w in lemma_seq[max(first, match.pos - window) : match.pos])


def content_lemma_text(lemma_seq: Sequence[str]) -> str:
    """Lemmas without stop words, a negation glued to the next word («не_сообщить»), for TF-IDF."""
    out: list[str] = []
    negation = False
    for w in lemma_seq:
        if w in NEGATIONS:
            negation = True
            continue
        if w not in STOP_WORDS and len(w) > 1:
            out.append(f"не_{w}" if negation else w)
        negation = False
    return " ".join(out)


def match_evidence(label: str, text: str, match: PhraseMatch, located: bool = True) -> Evidence:
    """Evidence of a cue matched in ``text`` (the record's text); ``located=False`` for a cue of a turn not found
    in it (no offsets, the phrase as its text)."""
    if not located:
        return Evidence(label=label, text=" ".join(match.phrase), start=None, end=None,
                        weight=phrase_weight(match.n_words))
    return Evidence(label=label, text=text[match.start : match.end], start=match.start, end=match.end,
                    weight=phrase_weight(match.n_words))


def mention_sentiment(
    spans: Sequence[tuple[int, int | None]], sentences: Sequence[SentenceSentiment], doc: tuple[str, float]
) -> tuple[str, float]:
    """Sentiment of the sentences holding the mention spans (majority label, mean score; only a span's start is
    read)."""
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
