"""Model-agnostic evidence: occlusion of sentences or word windows, as character spans of the input text.

Any classifier gets evidence a person can check: remove a piece of the text, re-run the model, and the pieces
whose removal lowers the label's probability most are the evidence (weight = the drop). Pieces are the
sentences of a multi-sentence text, or windows of ``phrase_words`` words (stride about half a window) for a
one-sentence text; at most ``max_units`` pieces per text (windows widen to stay under it). In a dialog only the
client's windows of the text are read: the model sees them joined by newlines (the same string as
``Feedback.client_text()``), and spans are offsets into the full text.

Cost: one extra forward pass per piece (≤ ``max_units`` per text), all pieces of a batch in one call; the
multi-task runner computes every head per piece once and shares them across analyzers (``docs/models.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voc_models.text import NEGATIONS, sentences, words

MAX_UNITS = 12
PHRASE_WORDS = 3
#: a piece is evidence when removing it lowers the probability by at least this much …
MIN_DROP = 0.01
#: … and by at least this share of the best piece's drop (no faint runners-up)
MIN_SHARE = 0.2


@dataclass(frozen=True, slots=True)
class EvidenceSpan:
    """A stretch of the input text that pushed a prediction towards a label."""

    text: str
    start: int
    end: int
    weight: float


@dataclass(frozen=True, slots=True)
class OcclusionPlan:
    """What the model reads for one text (``view``), the pieces to remove and the view without each of them."""

    view: str
    spans: list[tuple[int, int]]  # pieces as offsets into the original text
    variants: list[str]  # the view with the piece removed, one per span


def _pieces(text: str, windows: Sequence[tuple[int, int]] | None) -> list[tuple[int, int]]:
    if not windows:
        return [(0, len(text))]
    return [(max(0, a), min(len(text), b)) for a, b in windows if b > a]


def _phrase_units(tokens: list[tuple[int, int, str]], phrase_words: int, max_units: int) -> list[tuple[int, int]]:
    """Windows of words (stride ~ half a window); a window never ends on a negation («не» + its word)."""
    n = len(tokens)
    if n <= phrase_words:  # short texts: single words (a negation joins the next one)
        out = []
        for k, (s, e, w) in enumerate(tokens):
            if w in NEGATIONS and k + 1 < n:
                out.append((s, tokens[k + 1][1]))
            elif not (k and tokens[k - 1][2] in NEGATIONS):
                out.append((s, e))
        return out
    width = phrase_words
    while True:
        stride = max(1, math.ceil(width / 2))
        starts = list(range(0, n - width + 1, stride))
        if starts[-1] != n - width:
            starts.append(n - width)
        if len(starts) <= max_units:
            break
        width += 1
    units = []
    for s in starts:
        end = s + width - 1
        while end + 1 < n and tokens[end][2] in NEGATIONS:
            end += 1
        units.append((tokens[s][0], tokens[end][1]))
    return units


def plan_occlusion(text: str, windows: Sequence[tuple[int, int]] | None = None, *, max_units: int = MAX_UNITS,
                   phrase_words: int = PHRASE_WORDS) -> OcclusionPlan:
    """The pieces of ``text`` (inside ``windows``, if given) to occlude, and the occluded views."""
    pieces = _pieces(text, windows)
    view_at: list[int] = []  # view offset of each piece
    pos = 0
    for a, b in pieces:
        view_at.append(pos)
        pos += (b - a) + 1
    view = "\n".join(text[a:b] for a, b in pieces)
    sents = [(a + s.start, a + s.end) for a, b in pieces for s in sentences(text[a:b]) if s.text.strip()]
    if len(sents) >= 2:
        units = sents[:max_units]
    else:
        toks = [(a + w.start, a + w.end, w.text) for a, b in pieces for w in words(text[a:b])]
        units = _phrase_units(toks, phrase_words, max_units)

    def to_view(offset: int) -> int:
        for (a, b), at in zip(pieces, view_at, strict=True):
            if a <= offset <= b:
                return at + offset - a
        return len(view)  # pragma: no cover - units always lie in a piece

    variants = []
    for s, e in units:
        vs, ve = to_view(s), to_view(e)
        variants.append((view[:vs].rstrip(" ") + " " + view[ve:].lstrip(" ")).strip())
    return OcclusionPlan(view, units, variants)


def select_spans(text: str, spans: Sequence[tuple[int, int]], drops: np.ndarray, top_k: int) -> list[EvidenceSpan]:
    """The pieces with the largest drops (≥ ``MIN_DROP`` and ≥ ``MIN_SHARE`` of the best), best first, never
    overlapping each other."""
    chosen: list[EvidenceSpan] = []
    drops = np.asarray(drops, dtype=np.float64)
    floor = max(MIN_DROP, MIN_SHARE * float(drops.max())) if len(drops) else MIN_DROP
    for k in np.argsort(-drops, kind="stable"):
        drop = float(drops[k])
        if drop < floor or len(chosen) >= top_k:
            break
        s, e = spans[k]
        if all(e <= c.start or s >= c.end for c in chosen):
            chosen.append(EvidenceSpan(text[s:e], s, e, round(drop, 4)))
    return chosen
