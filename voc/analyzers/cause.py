"""Complaint cause of negative feedback, by weak supervision from the cause config (no labelled training data).

For each cause (except the fallback) two scores are computed from the customer's own words:

* **lexicon** — keyword/phrase cues of the cause matched on lemmas; a cue preceded (within
  ``negation_window`` words) by a negation («не», «нет», «без», …) is dropped unless the keyword itself
  starts with the negation («не предупредили»). Strength = Σ(1 + 0.5·(words − 1)), squashed to
  ``1 − exp(−0.7·strength)``;
* **similarity** — cosine similarity between TF-IDF vectors (lemma uni+bigrams) of the text and of the
  cause's description + examples + keywords.

``score = lexicon + similarity_weight · similarity``; the best cause wins when its score reaches
``min_score``, else the record gets the fallback cause («другое») with low confidence. Confidence is the
softmax of the scores. Evidence = the cue words with character offsets (label ``cause:<name>``).

With a cause model (``model``: a path/name, or the profile's model — the shipped ``cause-tfidf`` head or the
multi-task encoder's ``cause`` head; ``model="lexicon"`` turns it off) the head decides among the configured causes
it knows, its probability being the confidence:

* a record whose ``findings.sentiment`` is negative always gets a cause: the head's top cause; when the head's top
  label is "—" (none), its best cause (``head_none="forced"``, the default) or the lexicon's (``"lexicon"``);
* a record that is not negative gets the head's best cause when the head's probability of *some* cause
  (1 − P("—")) reaches ``others_min`` (default 0.4; None: only negative records get a cause) — the labelling
  rule "a cause for every complaint, including a complaint inside a positive text";
* the lexicon still decides for configured causes the head does not know, and — with ``other_to_lexicon``
  (default off since the 2,600-row train split, on before) — when the head's cause is the fallback («другое»)
  and the lexicon has a specific cause.

The defaults were chosen by cross-validation on the cxreal train split (``voc_training.cxlabels.tune_heads``,
docs/cause_and_stage.md). Evidence for a head's cause: its lexicon cue words when the text has any, else the
occluded phrases/sentences that lowered the head's probability most (``TextClassifier.explain_spans``).
Without a model only negative records get a cause.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from spacy.tokens import Doc

from voc.analyzers.base import Analyzer, HeadChoice, TaskHead, add_span_evidence
from voc.analyzers.lexicon import (
    PhraseIndex,
    PhraseMatch,
    Piece,
    client_pieces,
    client_segments,
    content_lemma_text,
    match_evidence,
    negated,
    phrase_weight,
    piece_lemmas,
    softmax,
)
from voc.analyzers.nlp import doc_text, findings_of, lemma_doc, record_of, word_view
from voc.analyzers.registry import register
from voc.config import CauseConfig, load_causes
from voc.schema import Label
from voc.text import lemmas

__all__ = ["CauseAnalyzer", "client_segments", "content_lemma_text", "softmax"]

FALLBACK_CONFIDENCE = 0.3
#: what a negative record gets when the cause head's top label is "—": its best cause, or the lexicon's
HEAD_NONE = ("forced", "lexicon")


@register("cause")
class CauseAnalyzer(Analyzer):
    """Complaint cause (``findings.cause``): every negative record; with a head, also confident complaints in
    other records (module docstring)."""

    requires = ("sentiment",)
    evidence_prefixes = ("cause:",)

    def __init__(
        self,
        causes: str | Path | CauseConfig | None = None,
        model: str | None = None,
        similarity_weight: float = 4.0,
        min_score: float = 0.2,
        negation_window: int = 2,
        temperature: float = 4.0,
        profile: str = "default",
        evidence_top_k: int = 2,
        head_none: str = "forced",
        others_min: float | None = 0.4,
        other_to_lexicon: bool = False,
    ) -> None:
        if head_none not in HEAD_NONE:
            raise ValueError(f"cause: head_none must be one of {', '.join(HEAD_NONE)}, got {head_none!r}")
        if others_min is not None and not 0.0 < others_min <= 1.0:
            raise ValueError(f"cause: others_min must be in (0, 1] or None, got {others_min!r}")
        self.head_none = head_none
        self.others_min = others_min
        self.other_to_lexicon = other_to_lexicon
        self.config = causes if isinstance(causes, CauseConfig) else load_causes(causes)
        self.head = TaskHead.load(model, "cause", profile, [c.name for c in self.config.causes])
        self.evidence_top_k = evidence_top_k
        self.similarity_weight = similarity_weight
        self.min_score = min_score
        self.negation_window = negation_window
        self.temperature = temperature
        self._scored = [c for c in self.config.causes if c.name != self.config.fallback]
        if not self._scored:
            raise ValueError("causes config: needs at least one cause besides the fallback")
        self.labels_ = [c.name for c in self._scored]
        self._col = {name: j for j, name in enumerate(self.labels_)}
        self.index_ = PhraseIndex({c.name: c.keywords for c in self._scored})
        self._similarity: tuple[Any, Any] | None = None

    @property
    def version(self) -> str:
        lexicon = "weak-lexicon-tfidf-1"
        return f"{self.head.version}+{lexicon}" if self.head else lexicon

    def warm_up(self) -> None:
        super().warm_up()
        self.similarity()

    def similarity(self) -> tuple[Any, Any]:
        """The TF-IDF vectorizer (lemma uni+bigrams) and the causes' vectors, fitted on first use."""
        if self._similarity is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            docs = [content_lemma_text(lemmas(" . ".join([c.description, *c.examples, *c.keywords])))
                    for c in self._scored]
            vectorizer = TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2),
                                         sublinear_tf=True, lowercase=False)
            self._similarity = (vectorizer, vectorizer.fit_transform(docs))
        return self._similarity

    def score(self, texts: Sequence[str]) -> tuple[np.ndarray, list[list[PhraseMatch]]]:
        """Combined scores, shape (len(texts), len(labels_)), and the non-negated cue matches per text."""
        pieces = [Piece(d, (0, len(t)), 0) for d, t in ((lemma_doc(t), t) for t in texts)]
        return self._score_pieces(pieces)

    def score_docs(self, docs: Sequence[Doc]) -> np.ndarray:
        """:meth:`score`'s scores of lemmatised Docs, each read whole."""
        return self._score_pieces([Piece(d, (0, len(doc_text(d))), 0) for d in docs])[0]

    def score_parts(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The two parts of :meth:`score`, each (texts, labels_): ``lexicon`` (squashed cue strength) and
        ``similarity`` (to the cause descriptions, before ``similarity_weight``)."""
        lex, sim, _ = self._parts([Piece(lemma_doc(t), (0, len(t)), 0) for t in texts])
        return {"lexicon": lex, "similarity": sim}

    def _score_pieces(self, pieces: Sequence[Piece]) -> tuple[np.ndarray, list[list[PhraseMatch]]]:
        lex, sim, cues = self._parts(pieces)
        return lex + self.similarity_weight * sim, cues

    def _parts(self, pieces: Sequence[Piece]) -> tuple[np.ndarray, np.ndarray, list[list[PhraseMatch]]]:
        lex = np.zeros((len(pieces), len(self.labels_)))
        cues: list[list[PhraseMatch]] = []
        lemma_texts: list[str] = []
        for i, piece in enumerate(pieces):
            seq, first = piece_lemmas(piece)
            lemma_texts.append(content_lemma_text(seq))
            all_lemmas = word_view(piece.doc)[0]
            kept = [m for m in self.index_.matches(piece.doc, piece.window)
                    if not negated(m, all_lemmas, self.negation_window, first)]
            for m in kept:
                lex[i, self._col[m.label]] += phrase_weight(m.n_words)
            cues.append(kept)
        lex = 1.0 - np.exp(-0.7 * lex)
        vectorizer, cause_vectors = self.similarity()
        sim = (vectorizer.transform(lemma_texts) @ cause_vectors.T).toarray()
        return lex, sim, cues

    def predict(self, texts: Sequence[str]) -> list[Label]:
        """Cause label with confidence for each (negative) text."""
        scores, _ = self.score(texts)
        return [self._label(row) for row in scores]

    def _label(self, row: np.ndarray) -> Label:
        best = int(row.argmax())
        if row[best] < self.min_score:
            return Label(name=self.config.fallback, confidence=FALLBACK_CONFIDENCE)
        proba = softmax(row, self.temperature)
        conf = float(proba[best]) * (1.0 - math.exp(-3.0 * float(row[best])))
        return Label(name=self.labels_[best], confidence=round(max(conf, FALLBACK_CONFIDENCE + 0.01), 3))

    def analyze_docs(self, docs: Sequence[Doc]) -> None:
        records = [record_of(d) for d in docs]
        findings = [findings_of(d) for d in docs]
        proba = self.head.proba(records, docs) if self.head else None
        others: set[int] = set()
        if self.head is not None and proba is not None and self.others_min is not None:
            others = {i for i, f in enumerate(findings)
                      if f.sentiment != "negative" and 1.0 - self.head.none_proba(proba[i]) >= self.others_min}
        rows = [i for i, f in enumerate(findings) if f.sentiment == "negative" or i in others]
        for i, f in enumerate(findings):
            if f.sentiment != "negative" and i not in others:
                f.cause = None
        if not rows:
            return
        pieces: list[tuple[int, Piece]] = [(i, p) for i in rows for p in client_pieces(docs[i])]
        scores, cues = self._score_pieces([p for _, p in pieces])
        per_row: dict[int, np.ndarray] = {}
        per_row_cues: dict[int, list[tuple[PhraseMatch, bool]]] = {}
        for k, (i, p) in enumerate(pieces):
            per_row[i] = np.maximum(per_row[i], scores[k]) if i in per_row else scores[k]
            per_row_cues.setdefault(i, []).extend((m, p.offset >= 0) for m in cues[k])
        choices = self._head_choices(rows, per_row, proba, others)
        explain: list[tuple[int, int, str]] = []
        for i in rows:
            f = findings[i]
            choice = choices.get(i)
            label = Label(name=choice.label, confidence=choice.confidence) if choice else self._label(per_row[i])
            f.cause = label
            tag = f"cause:{label.name}"
            cue_evidence = [match_evidence(tag, records[i].text, m, located)
                            for m, located in per_row_cues[i] if m.label == label.name]
            self.evidence(docs[i], cue_evidence)
            if choice and not cue_evidence:
                explain.append((i, choice.column, tag))
        if self.head:
            add_span_evidence(self, self.head.model, docs, explain, self.evidence_top_k)

    def _head_choices(self, rows: list[int], lexicon: dict[int, np.ndarray], proba: np.ndarray | None,
                      others: set[int]) -> dict[int, HeadChoice]:
        """Rows whose cause the head decides (see the module docstring); the others stay with the lexicon."""
        if self.head is None or proba is None:
            return {}
        fallback = self.config.fallback
        out: dict[int, HeadChoice] = {}
        for i in rows:
            choice = self.head.pick(proba[i], force=i in others or self.head_none == "forced")
            lex = self._label(lexicon[i]).name
            if lex != fallback and (lex not in self.head.known or choice is None
                                    or (self.other_to_lexicon and choice.label == fallback)):
                continue  # a lexicon cue for a cause the head does not know, or the head has no specific cause
            if choice is not None:
                out[i] = choice
        return out
