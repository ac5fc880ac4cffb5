"""A fast linear baseline: word 1–2-gram + char_wb 2–5-gram TF-IDF with logistic regression.

Single-label tasks (sentiment) use a multinomial LogisticRegression with balanced class weights;
multilabel tasks (emotions) use one LogisticRegression per label with a decision threshold per label tuned
on a validation split. Labels may be *partially known* (a dataset that does not annotate a label neither
confirms nor denies it): such rows are left out of that label's classifier only.

The model directory holds ``voc_model.json`` (ModelInfo), ``weights.npz`` (float16 coefficients,
float32 idf), ``vocab_word.txt`` / ``vocab_char.txt`` (one feature per line) and a ``README.md`` card.
No pickles: the directory loads with any scikit-learn version.

A model may also read a **side block** (``ModelInfo.side_features``, ``voc_models.side``): a named dense feature
block appended after the n-gram columns and fitted in the same regression (the cause head reads voc's lexicon scores
this way, decision 82). Its coefficients are the last columns of ``coef_``; evidence stays the n-grams'.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from voc_models import side as side_blocks
from voc_models.base import ModelInfo, SegmentProba, TextClassifier
from voc_models.evidence import EvidenceSpan
from voc_models.text import STOP_WORDS

WEIGHTS_FILE = "weights.npz"
WORD_VOCAB_FILE = "vocab_word.txt"
CHAR_VOCAB_FILE = "vocab_char.txt"
CARD_FILE = "README.md"

_WORD_TOKEN = r"(?u)\b\w\w+\b"
_WORD_TOKEN_RE = re.compile(_WORD_TOKEN)
#: negations are widened to the word they negate ("не вернули"), never shown alone
_NEGATIONS = frozenset({"не", "нет", "ни", "без"})


def normalize(text: str) -> str:
    """Lower-case and fold ё→е; keeps the length, so offsets into the result are offsets into ``text``."""
    return text.lower().replace("ё", "е")


def _vectorizers(word_vocab: Sequence[str] | None = None, char_vocab: Sequence[str] | None = None,
                 max_word: int | None = None, max_char: int | None = None,
                 min_df: int = 2) -> tuple[CountVectorizer, CountVectorizer]:
    common: dict[str, Any] = {"lowercase": False, "preprocessor": normalize, "dtype": np.float32}
    word = CountVectorizer(ngram_range=(1, 2), token_pattern=_WORD_TOKEN, vocabulary=word_vocab,
                           max_features=max_word, min_df=1 if word_vocab else min_df, **common)
    char = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5), vocabulary=char_vocab,
                           max_features=max_char, min_df=1 if char_vocab else min_df, **common)
    return word, char


def _idf(counts: sp.csr_matrix) -> np.ndarray:
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)


def _l2_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms).dot(m), dtype=np.float32)


def _sublinear_tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    m = counts.astype(np.float32, copy=True).tocsr()
    m.data = (1.0 + np.log(m.data)) * idf[m.indices]
    return _l2_rows(m)


def _blockwise_tfidf(counts: sp.spmatrix, nw: int, word_idf: np.ndarray, char_idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF-IDF of the word block (columns < ``nw``) and the char block, each row of each block
    L2-normalised: :func:`_sublinear_tfidf` per block, computed on the CSR arrays in one pass (no column
    slicing, diagonal products or stacking: scipy's per-call overhead dominated small, online batches)."""
    m = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    m.sum_duplicates()
    if m.nnz == 0:
        return m
    idx = m.indices
    is_char = idx >= nw
    idf = np.where(is_char, char_idf[np.maximum(idx - nw, 0)], word_idf[np.minimum(idx, nw - 1)])
    data = (1.0 + np.log(m.data.astype(np.float64))) * idf
    block = np.repeat(np.arange(m.shape[0]) * 2, np.diff(m.indptr)) + is_char
    norms = np.sqrt(np.bincount(block, weights=data * data, minlength=2 * m.shape[0]))
    norms[norms == 0] = 1.0
    m.data = (data / norms[block]).astype(np.float32)
    return m


class CharNgramCounter:
    """Vectorised (numpy) char_wb 2–5-gram counting over a fixed vocabulary.

    Gives exactly the counts of scikit-learn's ``CountVectorizer(analyzer="char_wb")`` for the same
    vocabulary, several times faster: each character is mapped to a small code (its rank among the characters
    of the vocabulary; 0 = none of them) and every n-gram (n ≤ 5) is packed into one uint64 key.
    """

    def __init__(self, vocabulary: Sequence[str], ngram_range: tuple[int, int] = (2, 5)) -> None:
        self.ngram_range = ngram_range
        chars = sorted(set("".join(vocabulary)) | {" "})
        self.chars = np.array([ord(c) for c in chars], dtype=np.uint32)
        self.bits = max(1, int(np.ceil(np.log2(len(chars) + 1))))
        if self.bits * ngram_range[1] > 64:
            raise ValueError("too many distinct characters to pack an n-gram into 64 bits")
        self.space = np.uint64(int(np.searchsorted(self.chars, ord(" "))) + 1)
        keys = self._keys(vocabulary)
        self.order = np.argsort(keys, kind="stable")
        self.sorted_keys = keys[self.order]
        self.n_features = len(vocabulary)

    def _key(self, feature: str) -> int:
        key = 0
        for k, ch in enumerate(feature):
            key |= (int(np.searchsorted(self.chars, ord(ch))) + 1) << (self.bits * k)
        return key

    def _keys(self, vocabulary: Sequence[str]) -> np.ndarray:
        """``_key`` of every feature, vectorised (the per-feature loop dominated loading a large vocabulary)."""
        lengths = np.fromiter((len(f) for f in vocabulary), dtype=np.int64, count=len(vocabulary))
        keys = np.zeros(len(vocabulary), dtype=np.uint64)
        if not lengths.sum():
            return keys
        cp = np.frombuffer("".join(vocabulary).encode("utf-32-le"), dtype=np.uint32)
        code = (np.searchsorted(self.chars, cp) + 1).astype(np.uint64)
        starts = np.cumsum(lengths) - lengths
        owner = np.repeat(np.arange(len(vocabulary)), lengths)
        shift = ((np.arange(len(cp)) - starts[owner]) * self.bits).astype(np.uint64)
        filled = lengths > 0
        keys[filled] = np.bitwise_or.reduceat(code << shift, starts[filled])
        return keys

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Counts, shape (len(texts), n_features), float32; ``texts`` already normalised."""
        n_docs = len(texts)
        if n_docs == 0:
            return sp.csr_matrix((0, self.n_features), dtype=np.float32)
        big = "\x00 " + " \x00 ".join(t.replace("\x00", " ") for t in texts) + " \x00"
        cp = np.frombuffer(big.encode("utf-32-le"), dtype=np.uint32)
        uniq, inverse = np.unique(cp, return_inverse=True)
        is_space = np.array([chr(c).isspace() for c in uniq.tolist()], dtype=bool)[inverse]
        keep = ~(is_space & np.r_[False, is_space[:-1]])  # collapse runs of whitespace to one space
        cp, is_space = cp[keep], is_space[keep]
        doc = np.cumsum(cp == 0) - 1
        pos = np.searchsorted(self.chars, cp)
        pos_clipped = np.minimum(pos, len(self.chars) - 1)
        code = np.where(self.chars[pos_clipped] == cp, pos_clipped + 1, 0).astype(np.uint64)
        code[is_space] = self.space
        size = len(code)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        lo, hi = self.ngram_range
        for n in range(lo, hi + 1):
            m = size - n + 1
            if m <= 0:
                break
            valid = np.ones(m, dtype=bool)
            key = np.zeros(m, dtype=np.uint64)
            for k in range(n):
                ck = code[k:k + m]
                valid &= ck > 0
                if 0 < k < n - 1:
                    valid &= ~is_space[k:k + m]  # a space may only pad the ends: the n-gram stays in one word
                key |= ck << np.uint64(self.bits * k)
            if n == 2:
                valid &= ~(is_space[:m] & is_space[1:m + 1])
            idx = np.flatnonzero(valid)
            found = np.searchsorted(self.sorted_keys, key[idx])
            found_clipped = np.minimum(found, len(self.sorted_keys) - 1)
            hit = self.sorted_keys[found_clipped] == key[idx] if len(self.sorted_keys) else np.zeros(len(idx), bool)
            rows.append(doc[idx[hit]])
            cols.append(self.order[found_clipped[hit]])
        r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        out = sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(n_docs, self.n_features))
        out.sum_duplicates()
        return out


class _Union:
    """Counters over the union of the vocabularies of the registered models (an immutable snapshot)."""

    def __init__(self, models: Sequence[TfidfClassifier]) -> None:
        self.word_index = {f: j for j, f in enumerate(dict.fromkeys(
            itertools.chain.from_iterable(m.word_vocab_ for m in models)))}
        self.char_index = {f: j for j, f in enumerate(dict.fromkeys(
            itertools.chain.from_iterable(m.char_vocab_ for m in models)))}
        self.char = CharNgramCounter(list(self.char_index))  # ValueError: exotic vocabulary, no sharing
        self.word: CountVectorizer | None = None
        if self.word_index:
            self.word, _ = _vectorizers(list(self.word_index), None)
            self.word._validate_vocabulary()
        self.n_word = len(self.word_index)

    def counts(self, texts: list[str]) -> sp.csr_matrix:
        if self.word is None:
            words = sp.csr_matrix((len(texts), 0), dtype=np.float32)
        else:
            words = self.word.transform(texts)
        return sp.hstack([words, self.char.transform([normalize(t) for t in texts])], format="csr",
                         dtype=np.float32)

    def covers(self, model: TfidfClassifier) -> bool:
        return all(f in self.word_index for f in model.word_vocab_) and \
            all(f in self.char_index for f in model.char_vocab_)

    def column_map(self, model: TfidfClassifier) -> np.ndarray:
        """Union column → the model's column (-1: not in the model's vocabulary)."""
        out = np.full(self.n_word + len(self.char_index), -1, dtype=np.int64)
        n_model_word = len(model.word_vocab_)
        out[np.fromiter((self.word_index[f] for f in model.word_vocab_), dtype=np.int64, count=n_model_word)] = \
            np.arange(n_model_word)
        out[self.n_word + np.fromiter((self.char_index[f] for f in model.char_vocab_), dtype=np.int64,
                                      count=len(model.char_vocab_))] = n_model_word + np.arange(len(model.char_vocab_))
        return out


class SharedNgramCounts:
    """One n-gram count per text per batch for every loaded TF-IDF model.

    The analyzer settings (``_vectorizers``: ``normalize``, word 1–2-grams of ``_WORD_TOKEN``, char_wb 2–5-grams,
    no stop words) are the same for every model, only the vocabularies differ. So the registered models' texts
    are counted once over the union of their vocabularies, and each model takes its own columns: counts over a
    fixed vocabulary do not depend on the other features, so the result equals the model's own counting.
    The union counts of the last few batches (keyed by the tuple of texts; a call on some texts of a memoised
    batch takes its rows) are memoised, bounded by ``max_batches`` and ``max_nnz`` stored entries; a model
    with new vocabulary registering after a batch rebuilds the union.
    """

    def __init__(self, max_batches: int = 4, max_nnz: int = 4_000_000) -> None:
        self.max_batches, self.max_nnz = max_batches, max_nnz
        self._lock = threading.Lock()
        self._models: weakref.WeakSet[TfidfClassifier] = weakref.WeakSet()
        self._union: _Union | None = None
        self._broken = False  # the union cannot be packed (exotic characters): every model counts on its own
        #: texts of a batch → [its union counts, text → row (built on first use)]
        self._cache: OrderedDict[tuple[str, ...], list[Any]] = OrderedDict()
        self._cached_nnz = 0

    def register(self, model: TfidfClassifier) -> None:
        with self._lock:
            self._models.add(model)
            if self._union is not None and self._union.covers(model):
                return  # same vocabularies as a model already registered (e.g. topics / cause / journey)
            self._union = None
            self._broken = False
            self._cache.clear()
            self._cached_nnz = 0

    def clear_cache(self) -> None:
        """Drop the memoised batches."""
        with self._lock:
            self._cache.clear()
            self._cached_nnz = 0

    def _lookup(self, key: tuple[str, ...]) -> sp.csr_matrix | None:
        """The memoised union counts of ``key``: the batch itself, or its rows of a batch holding all of its
        texts (e.g. evidence for the texts given one label). Call with the lock held."""
        entry = self._cache.get(key)
        if entry is not None:
            self._cache.move_to_end(key)
            return entry[0]
        for batch, entry in reversed(self._cache.items()):
            if entry[1] is None:
                entry[1] = {t: i for i, t in enumerate(batch)}
            index = entry[1]
            if all(t in index for t in key):
                return entry[0][[index[t] for t in key]]
        return None

    def _current(self) -> _Union | None:
        with self._lock:
            if self._union is None and not self._broken:
                try:
                    self._union = _Union(list(self._models))
                except ValueError:
                    self._broken = True
            return self._union

    def counts(self, model: TfidfClassifier, texts: list[str]) -> sp.csr_matrix | None:
        """The model's raw counts of ``texts`` (as ``TfidfClassifier.own_counts``); None: not shareable."""
        if model not in self._models:  # e.g. unpickled in a worker process
            self.register(model)
        union = self._current()
        if union is None:
            return None
        key = tuple(texts)
        with self._lock:
            full = self._lookup(key) if self._union is union else None
        if full is None:
            full = union.counts(texts)
            with self._lock:
                if self._union is union and full.nnz <= self.max_nnz:
                    old = self._cache.pop(key, None)
                    self._cached_nnz += full.nnz - (old[0].nnz if old is not None else 0)
                    self._cache[key] = [full, None]
                    while len(self._cache) > self.max_batches or self._cached_nnz > self.max_nnz:
                        self._cached_nnz -= self._cache.popitem(last=False)[1][0].nnz
        cached = model.__dict__.get("_shared_map")  # absent on a model unpickled from an older version
        if cached is None or cached[0] is not union:
            cached = (union, union.column_map(model))
            model._shared_map = cached
        cols = cached[1][full.indices]
        keep = cols >= 0
        n = len(texts)
        rows = np.repeat(np.arange(n), np.diff(full.indptr))[keep]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        out = sp.csr_matrix((full.data[keep], cols[keep].astype(np.int32), indptr.astype(np.int32)),
                            shape=(n, len(model.word_vocab_) + len(model.char_vocab_)), dtype=np.float32)
        out.sort_indices()
        return out


class PhraseIndex:
    """Feature columns of evidence phrases over one (word, char) vocabulary, cached per phrase.

    Models loaded with equal vocabularies (e.g. topics, cause and journey stage) share one index
    (:func:`phrase_index`): a phrase is split into n-grams and looked up once for all of them. :meth:`prepare`
    computes the char n-grams of many new phrases at once with a :class:`CharNgramCounter`.
    """

    #: phrases kept; the cache starts over when full
    max_phrases = 50_000

    def __init__(self, word_vocab: Sequence[str], char_vocab: Sequence[str]) -> None:
        self.vocab = (tuple(word_vocab), tuple(char_vocab))
        self.n_word = len(word_vocab)
        self.word_index = {f: j for j, f in enumerate(word_vocab)}
        self.char_index = {f: len(word_vocab) + j for j, f in enumerate(char_vocab)}
        self._cache: dict[str, np.ndarray] = {}
        self._counter: CharNgramCounter | None = None
        self._counter_built = False  # a vocabulary that cannot be packed leaves the counter None

    def features(self, phrase: str) -> np.ndarray:
        """Sorted column indices (int64) of the distinct word and char n-gram features inside ``phrase``."""
        ids = self._cache.get(phrase)
        if ids is None:
            words, chars = _phrase_ngrams(phrase)
            found: set[int | None] = set(map(self.word_index.get, words))
            found.update(map(self.char_index.get, chars))
            found.discard(None)
            ids = np.array(sorted(found), dtype=np.int64)  # type: ignore[type-var]  # None discarded
            self._store(phrase, ids)
        return ids

    def prepare(self, phrases: Iterable[str]) -> None:
        """Cache the features of the ``phrases`` not cached yet, their char n-grams counted in one vectorised
        pass (the same columns as :meth:`features`; much faster than one phrase at a time)."""
        cache = self._cache
        new = [p for p in dict.fromkeys(phrases) if p not in cache and "\x00" not in p]
        counter = self._char_counter() if len(new) > 1 else None
        if counter is None:
            return  # features() computes them one by one
        chars = counter.transform(new)
        char_ids = chars.indices.astype(np.int64) + self.n_word
        bounds = chars.indptr.tolist()
        word_index = self.word_index
        for k, phrase in enumerate(new):
            cols = char_ids[bounds[k]:bounds[k + 1]]
            words = {j for j in map(word_index.get, _phrase_words(phrase)) if j is not None}
            self._store(phrase, np.concatenate([np.array(sorted(words), dtype=np.int64), cols]) if words else cols)

    def _store(self, phrase: str, ids: np.ndarray) -> None:
        if len(self._cache) >= self.max_phrases:
            self._cache.clear()
        self._cache[phrase] = ids

    def _char_counter(self) -> CharNgramCounter | None:
        """A counter over the char vocabulary (None when it cannot be packed: exotic characters)."""
        if not self._counter_built:
            try:
                self._counter = CharNgramCounter(self.vocab[1])
            except ValueError:
                self._counter = None
            self._counter_built = True
        return self._counter


_PHRASE_INDEXES: weakref.WeakValueDictionary[tuple[int, int, int], PhraseIndex] = weakref.WeakValueDictionary()
_PHRASE_INDEXES_LOCK = threading.Lock()


def phrase_index(word_vocab: Sequence[str], char_vocab: Sequence[str]) -> PhraseIndex:
    """The process's :class:`PhraseIndex` of these vocabularies (made on first request, kept while used)."""
    vocab = (tuple(word_vocab), tuple(char_vocab))
    key = (len(word_vocab), len(char_vocab), hash(vocab))
    with _PHRASE_INDEXES_LOCK:
        index = _PHRASE_INDEXES.get(key)
        if index is None or index.vocab != vocab:
            index = PhraseIndex(word_vocab, char_vocab)
            _PHRASE_INDEXES[key] = index
        return index


class _SpanScorer:
    """The per-row work of ``explain_spans``: each row's strongest features → candidate spans of its text
    (:meth:`candidates`), then the candidates weighed and the best non-overlapping ones kept (:meth:`spans`)."""

    def __init__(self, feature_names: Sequence[str], n_word: int, phrases: PhraseIndex, n_features: int) -> None:
        self.feature_names = feature_names
        self.n_word = n_word
        self.phrases = phrases
        #: one row's tfidf × coefficient, scattered while the row is scored: a span's weight is one gather
        self.dense = np.zeros(n_features, dtype=np.float64)

    def candidates(self, norm: str, best: Sequence[int], windows: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        """The words (widened past a negation) holding each feature of ``best``, distinct, in set order; features
        not found are skipped; stop words and one-letter spans are left out."""
        names, n_word = self.feature_names, self.n_word
        found_spans: set[tuple[int, int]] = set()
        for j in best:
            found = _locate(names[j], j < n_word, norm, windows)
            if found is not None:
                found_spans.add(_widen_negation(norm, *found, windows))
        return [(s, e) for s, e in found_spans if len(norm[s:e]) >= 2 and norm[s:e] not in STOP_WORDS]

    def spans(self, text: str, norm: str, candidates: Sequence[tuple[int, int]], row_columns: np.ndarray,
              row_contrib: np.ndarray, top_k: int) -> list[EvidenceSpan]:
        """The ``top_k`` non-overlapping candidates with the highest positive weight: the sum of the row's
        contributions (``row_contrib`` at ``row_columns``) of the features inside the span."""
        dense, features = self.dense, self.phrases.features
        scored = []
        dense[row_columns] = row_contrib
        try:
            for s, e in candidates:
                weight = float(np.add.reduce(dense[features(norm[s:e])]))  # = .sum(dtype=np.float64)
                if weight > 0:
                    scored.append((s, e, weight))
        finally:
            dense[row_columns] = 0.0
        chosen: list[tuple[int, int, float]] = []
        for s, e, w in sorted(scored, key=lambda t: (-t[2], t[0])):
            if all(e <= cs or s >= ce for cs, ce, _ in chosen):  # no overlapping spans
                chosen.append((s, e, w))
                if len(chosen) == top_k:
                    break
        return [EvidenceSpan(text[s:e], s, e, round(w, 4)) for s, e, w in chosen]


#: the process-wide sharing of n-gram counts between TF-IDF models loaded from disk
SHARED_COUNTS = SharedNgramCounts()


class TfidfClassifier(TextClassifier):
    """Word + char TF-IDF logistic regression (see module docstring)."""

    def __init__(self, info: ModelInfo | None = None, *, max_word_features: int = 60_000,
                 max_char_features: int = 120_000, C: float = 4.0, min_df: int = 2) -> None:
        self.info = info or ModelInfo(name="tfidf", version="0", task="custom", kind="tfidf", labels=[])
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.C = C
        self.min_df = min_df
        self.word_vocab_: list[str] = []
        self.char_vocab_: list[str] = []
        self.word_idf_: np.ndarray | None = None
        self.char_idf_: np.ndarray | None = None
        self.coef_: np.ndarray | None = None  # (n_labels, n_features) float32
        self.intercept_: np.ndarray | None = None  # (n_labels,)
        self._word: CountVectorizer | None = None
        self._char: CountVectorizer | CharNgramCounter | None = None
        #: (vocabulary key, its PhraseIndex), built on the first ``explain_spans``
        self._phrases: tuple[tuple[int, int, int, int], PhraseIndex] | None = None
        #: count n-grams through ``SHARED_COUNTS`` (set by ``load``; a model being fitted counts on its own)
        self.share_ngrams = False
        self._shared_map: tuple[_Union, np.ndarray] | None = None  # (union, its column → this model's column)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_shared_map"] = None  # the union's counters stay in this process
        state["_phrases"] = None  # rebuilt on first use; shared with the process's other models
        return state

    # ------------------------------------------------------------------ features
    def _ensure_vectorizers(self) -> tuple[CountVectorizer, CountVectorizer | CharNgramCounter]:
        if self._word is None or self._char is None:
            if not self.word_vocab_ and not self.char_vocab_:
                raise RuntimeError("the model is not fitted")
            word, char = _vectorizers(self.word_vocab_, self.char_vocab_)
            word._validate_vocabulary()  # a vectorizer with a fixed vocabulary needs no fit
            try:
                self._char = CharNgramCounter(self.char_vocab_)
            except ValueError:  # exotic vocabulary (thousands of distinct characters): scikit-learn's path
                char._validate_vocabulary()
                self._char = char
            self._word = word
        return self._word, self._char

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Raw n-gram counts (word block then char block); rows may be summed before ``tfidf``.

        A loaded model shares the counting with the other loaded models (``SharedNgramCounts``)."""
        texts = list(texts)
        if self.share_ngrams:
            if not texts:
                return sp.csr_matrix((0, len(self.word_vocab_) + len(self.char_vocab_)), dtype=np.float32)
            shared = SHARED_COUNTS.counts(self, texts)
            if shared is not None:
                return shared
        return self.own_counts(texts)

    def own_counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """``counts`` with this model's own vectorizers (no sharing)."""
        word, char = self._ensure_vectorizers()
        texts = list(texts)
        chars = char.transform([normalize(t) for t in texts] if isinstance(char, CharNgramCounter) else texts)
        return sp.hstack([word.transform(texts), chars], format="csr", dtype=np.float32)

    def tfidf(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear TF-IDF, each block (word, char) L2-normalised on its own."""
        assert self.word_idf_ is not None and self.char_idf_ is not None
        return _blockwise_tfidf(counts, len(self.word_vocab_), self.word_idf_, self.char_idf_)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF feature matrix of ``texts`` (the n-grams only, without a side block)."""
        return self.tfidf(self.counts(texts))

    @property
    def n_ngram_features(self) -> int:
        return len(self.word_vocab_) + len(self.char_vocab_)

    @property
    def side_names(self) -> list[str]:
        """The side block's feature names (empty without one)."""
        block = self.info.side_features
        return list(block["names"]) if block else []

    def side_blocks(self) -> list[str]:
        block = self.info.side_features
        return [block["name"]] if block else []

    def side(self, texts: Sequence[str]) -> np.ndarray:
        """The side block of ``texts`` (n_texts, len(side_names)), computed by its registered provider."""
        block = self.info.side_features
        if not block:
            return np.zeros((len(texts), 0), dtype=np.float32)
        provider = side_blocks.check_names(block["name"], block["names"], self.version)
        out = np.asarray(provider(list(texts)), dtype=np.float32)
        if out.shape != (len(texts), len(block["names"])):
            raise ValueError(f"{self.version}: side features {block['name']!r} returned shape {out.shape}, "
                             f"expected {(len(texts), len(block['names']))}")
        return out

    def featurize(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The TF-IDF matrix, then the side block's columns when the model has one (rows indexable, reused by
        ``explain_spans``)."""
        x = self.transform(texts)
        if not self.side_names:
            return x
        return sp.hstack([x, sp.csr_matrix(self.side(texts))], format="csr", dtype=np.float32)

    def segment_proba(self, segments: Sequence[str], owners: Sequence[int], documents: Sequence[str]) -> SegmentProba:
        """Segments are vectorised once; a document's n-gram counts are the sums of its segments' counts."""
        if self.side_names:  # a side block is not additive over segments: score the documents themselves
            return super().segment_proba(segments, owners, documents)
        counts = self.counts(segments)
        member = [k for k, o in enumerate(owners) if o >= 0]
        group = sp.csr_matrix((np.ones(len(member), dtype=np.float32), ([owners[k] for k in member], member)),
                              shape=(len(documents), len(segments)))
        doc_features = self.tfidf(group @ counts)
        return SegmentProba(self.proba_from_features(self.tfidf(counts)), self.proba_from_features(doc_features),
                            doc_features)

    def _coef_t(self) -> np.ndarray:
        """``coef_.T`` as a C-contiguous array, kept while ``coef_`` is the same object: scipy's sparse @ dense
        ravels (copies) a transposed view on every call, the largest per-call cost of a one-text batch."""
        assert self.coef_ is not None
        cached = self.__dict__.get("_coef_t_cache")
        if cached is None or cached[0] is not self.coef_:
            cached = (self.coef_, np.ascontiguousarray(self.coef_.T))
            self._coef_t_cache = cached
        return cached[1]

    def proba_from_features(self, features: sp.csr_matrix) -> np.ndarray:
        """Probabilities from ``featurize``'s matrix (softmax for single-label, sigmoid per label for multilabel)."""
        if self.coef_ is None or self.intercept_ is None:
            raise RuntimeError("the model is not fitted")
        if features.shape[1] != self.coef_.shape[1]:
            raise ValueError(f"{self.version}: features have {features.shape[1]} columns, the model reads "
                             f"{self.coef_.shape[1]}" + (" (n-grams + its side block: use featurize)"
                                                         if self.side_names else ""))
        z = np.asarray(features @ self._coef_t(), dtype=np.float64) + self.intercept_
        if self.multilabel:
            return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self.proba_from_features(self.featurize(texts))

    # ------------------------------------------------------------------ training
    def fit(self, texts: Sequence[str], labels: Sequence[str] | Sequence[Sequence[str]], *,
            label_set: Sequence[str] | None = None, multilabel: bool = False,
            known: Sequence[Sequence[str]] | None = None, sample_weight: Sequence[float] | None = None,
            val_fraction: float = 0.1, seed: int = 0, side: np.ndarray | None = None) -> TfidfClassifier:
        """Fit vectorizers and classifier(s).

        ``labels``: one label per text (single-label) or a list of labels per text (multilabel, may be empty).
        ``known``: multilabel only — per text, the labels its source annotates (None = all). A text whose
        source does not annotate label L is not used as a negative (or positive) for L.
        ``sample_weight``: optional weight per text (e.g. to down-weight a large, noisier source).
        ``val_fraction`` of the rows is held out to tune per-label thresholds (multilabel) and to report
        validation scores in ``info.metrics['validation']``.
        ``side``: the side block of ``texts`` when ``info.side_features`` names one (computed by its provider
        when not given), fitted in the same regression as the n-grams.
        """
        t0 = time.perf_counter()
        texts = list(texts)
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        weights = np.ones(len(texts)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if self.side_names:
            side = self.side(texts) if side is None else np.asarray(side, dtype=np.float32)
            if side.shape != (len(texts), len(self.side_names)):
                raise ValueError(f"side block has shape {side.shape}, expected {(len(texts), len(self.side_names))}")
        elif side is not None:
            raise ValueError("a side block was given but the model's info names no side_features")
        if weights.shape != (len(texts),) or (weights < 0).any():
            raise ValueError(f"sample_weight must hold one non-negative weight per text ({len(texts)})")
        if multilabel:
            label_lists = [list(ls) for ls in labels]  # type: ignore[arg-type]
            names = list(label_set) if label_set else sorted({lab for ls in label_lists for lab in ls})
        else:
            label_lists = [[str(lab)] for lab in labels]
            names = list(label_set) if label_set else sorted({ls[0] for ls in label_lists})
        if len(names) < (1 if multilabel else 2):
            raise ValueError(f"need at least {1 if multilabel else 2} labels to train, got {names}")
        index = {name: i for i, name in enumerate(names)}
        y = np.zeros((len(texts), len(names)), dtype=np.int8)
        for r, ls in enumerate(label_lists):
            for lab in ls:
                if lab not in index:
                    raise ValueError(f"row {r + 1}: label {lab!r} is not in the label set {names}")
                y[r, index[lab]] = 1
        mask = np.ones_like(y, dtype=bool)
        if known is not None:
            if not multilabel:
                raise ValueError("'known' is only meaningful for multilabel training")
            mask[:] = False
            for r, ks in enumerate(known):
                for lab in ks:
                    if lab in index:
                        mask[r, index[lab]] = True

        rows = np.arange(len(texts))
        strat = None if multilabel else y.argmax(axis=1)
        if strat is not None and np.bincount(strat)[np.unique(strat)].min() < 2:
            strat = None  # a class with a single row cannot be stratified
        if 0 < val_fraction < 1 and len(texts) >= 20:
            train_idx, val_idx = train_test_split(rows, test_size=val_fraction, random_state=seed, stratify=strat)
        else:
            train_idx, val_idx = rows, rows[:0]

        word, char = _vectorizers(max_word=self.max_word_features, max_char=self.max_char_features,
                                  min_df=self.min_df if len(train_idx) >= 50 else 1)
        train_texts = [texts[i] for i in train_idx]
        wc = word.fit_transform(train_texts)
        cc = char.fit_transform(train_texts)
        self.word_vocab_ = _vocab_list(word)
        self.char_vocab_ = _vocab_list(char)
        self.word_idf_, self.char_idf_ = _idf(sp.csr_matrix(wc)), _idf(sp.csr_matrix(cc))
        self._word, self._char = None, None
        x_train = self.tfidf(sp.hstack([wc, cc], format="csr"))
        if side is not None:
            x_train = sp.hstack([x_train, sp.csr_matrix(side[train_idx])], format="csr", dtype=np.float32)

        self.info = self.info.model_copy(update={"labels": names, "multilabel": multilabel, "kind": "tfidf"})
        if multilabel:
            self._fit_multilabel(x_train, y[train_idx], mask[train_idx], weights[train_idx], seed)
        else:
            self._fit_single(x_train, y[train_idx].argmax(axis=1), weights[train_idx], seed)

        metrics: dict[str, Any] = {}
        if len(val_idx):
            x_val = self.transform([texts[i] for i in val_idx])
            if side is not None:
                x_val = sp.hstack([x_val, sp.csr_matrix(side[val_idx])], format="csr", dtype=np.float32)
            proba = self.proba_from_features(x_val)
            if multilabel:
                thresholds = _tune_thresholds(proba, y[val_idx], mask[val_idx])
                self.info = self.info.model_copy(update={"thresholds": {names[j]: t for j, t in thresholds.items()}})
                thr = np.array([self.info.thresholds.get(n, self.info.threshold) for n in names])
                pred = (proba >= thr).astype(int)
                f1s = [f1_score(y[val_idx][mask[val_idx][:, j], j], pred[mask[val_idx][:, j], j], zero_division=0)
                       for j in range(len(names)) if mask[val_idx][:, j].any()]
                metrics["macro_f1"] = float(np.mean(f1s)) if f1s else None
            else:
                metrics["macro_f1"] = float(f1_score(y[val_idx].argmax(axis=1), proba.argmax(axis=1), average="macro"))
            metrics["rows"] = len(val_idx)
        training = dict(self.info.training)
        training.update({
            "method": "tfidf word1-2 + char_wb2-5, sublinear tf, "
                      + ("one-vs-rest LogisticRegression, per-label thresholds" if multilabel
                         else "multinomial LogisticRegression, class_weight=balanced"),
            "C": self.C, "max_word_features": self.max_word_features, "max_char_features": self.max_char_features,
            "min_df": self.min_df, "train_rows": len(train_idx), "val_rows": len(val_idx), "seed": seed,
            "n_features": self.n_ngram_features + len(self.side_names),
            **({"side_features": self.side_blocks()[0]} if self.side_names else {}),
            "fit_seconds": round(time.perf_counter() - t0, 1),
        })
        info_metrics = dict(self.info.metrics)
        if metrics:
            info_metrics["validation"] = metrics
        self.info = self.info.model_copy(update={"training": training, "metrics": info_metrics,
                                                 "created_at": datetime.now(UTC).isoformat(timespec="seconds")})
        return self

    def _fit_single(self, x: sp.csr_matrix, y: np.ndarray, w: np.ndarray, seed: int) -> None:
        n_labels = len(self.labels)
        present = np.unique(y)
        if len(present) < 2:
            raise ValueError(f"only one class ({self.labels[present[0]]!r}) in the training rows; need at least two")
        clf = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000, random_state=seed)
        clf.fit(x, y, sample_weight=w)
        coef = np.zeros((n_labels, x.shape[1]), dtype=np.float32)
        intercept = np.full(n_labels, -30.0, dtype=np.float32)  # absent classes get ~0 probability
        if len(clf.classes_) == 2:  # binary LR: sigmoid(z) == softmax([-z/2, z/2])
            coef[clf.classes_[0]], coef[clf.classes_[1]] = -clf.coef_[0] / 2, clf.coef_[0] / 2
            intercept[clf.classes_[0]], intercept[clf.classes_[1]] = -clf.intercept_[0] / 2, clf.intercept_[0] / 2
        else:
            coef[clf.classes_] = clf.coef_
            intercept[clf.classes_] = clf.intercept_
        self.coef_, self.intercept_ = _round_f16(coef), intercept

    def _fit_multilabel(self, x: sp.csr_matrix, y: np.ndarray, mask: np.ndarray, w: np.ndarray, seed: int) -> None:
        n_labels = y.shape[1]
        coef = np.zeros((n_labels, x.shape[1]), dtype=np.float32)
        intercept = np.full(n_labels, -30.0, dtype=np.float32)
        for j in range(n_labels):
            rows = np.flatnonzero(mask[:, j])
            yj = y[rows, j]
            if len(np.unique(yj)) < 2:
                continue  # never (or always) seen: the label never fires
            clf = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000, random_state=seed)
            clf.fit(x[rows], yj, sample_weight=w[rows])
            coef[j], intercept[j] = clf.coef_[0], clf.intercept_[0]
        self.coef_, self.intercept_ = _round_f16(coef), intercept

    # ------------------------------------------------------------------ evidence
    def explain(self, texts: Sequence[str], label_indices: Sequence[int],
                top_k: int = 3) -> list[list[tuple[str, float]]]:
        return [[(s.text, s.weight) for s in spans]
                for spans in self.explain_spans(texts, label_indices, top_k=top_k)]

    def explain_spans(self, texts: Sequence[str], label_indices: Sequence[int], top_k: int = 3,
                      features: sp.csr_matrix | None = None,
                      windows: Sequence[Sequence[tuple[int, int]] | None] | None = None) -> list[list[EvidenceSpan]]:
        """Top evidence spans per text for the given label: n-grams ranked by tfidf × coefficient.

        Each n-gram is mapped back to the words of the text that contain it (character offsets); the weights
        of n-grams falling on the same span add up. ``features`` lets a caller reuse a TF-IDF matrix of
        ``texts``; ``windows`` restricts the search per text to (start, end) ranges (e.g. the client turns).
        """
        assert self.coef_ is not None
        x = self.transform(texts) if features is None else sp.csr_matrix(features)
        if x.shape[1] > self.n_ngram_features:  # featurize's side block: evidence is the n-grams'
            x = x[:, : self.n_ngram_features]
        if not x.has_sorted_indices:
            x = x.sorted_indices()
        label_array = np.asarray(label_indices, dtype=np.int64)
        row_of = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        contrib = x.data * self.coef_[label_array[row_of], x.indices]
        neg_contrib = -contrib  # argsort key: the same values as negating each row's slice
        positive = np.flatnonzero(contrib > 0)
        bounds = np.searchsorted(positive, x.indptr).tolist()  # row i's positive entries: positive[b[i]:b[i+1]]
        indptr = x.indptr.tolist()
        scorer = _SpanScorer(self.feature_names(), len(self.word_vocab_), self._phrase_index(), x.shape[1])
        rows: list[tuple[int, str, list[tuple[int, int]]]] = []  # (row, normalised text, candidate spans)
        for i, text in enumerate(texts):
            if bounds[i] == bounds[i + 1]:
                continue
            pos = positive[bounds[i]:bounds[i + 1]]
            best = pos[np.argsort(neg_contrib[pos])[: top_k * 4]]  # entry numbers, strongest first
            norm = normalize(text)
            if len(norm) != len(text):  # exotic case-folding changed lengths: offsets unusable
                norm = text
            wins = (windows[i] if windows is not None else None) or [(0, len(text))]
            rows.append((i, norm, scorer.candidates(norm, x.indices[best].tolist(), wins)))
        scorer.phrases.prepare(norm[s:e] for _, norm, spans in rows for s, e in spans)
        out: list[list[EvidenceSpan]] = [[] for _ in texts]
        for i, norm, spans in rows:
            lo, hi = indptr[i], indptr[i + 1]
            out[i] = scorer.spans(texts[i], norm, spans, x.indices[lo:hi], contrib[lo:hi], top_k)
        return out

    def _phrase_index(self) -> PhraseIndex:
        """The :class:`PhraseIndex` of this model's vocabularies (shared with models loaded with equal ones)."""
        key = (id(self.word_vocab_), len(self.word_vocab_), id(self.char_vocab_), len(self.char_vocab_))
        cached = self.__dict__.get("_phrases")
        if cached is None or cached[0] != key:
            cached = (key, phrase_index(self.word_vocab_, self.char_vocab_))
            self._phrases = cached
        return cached[1]

    def _phrase_features(self, phrase: str) -> np.ndarray:
        """Sorted indices of the distinct word and char n-gram features inside ``phrase`` (cached)."""
        return self._phrase_index().features(phrase)

    def feature_names(self) -> list[str]:
        """Word then char n-grams in column order (cached: the online path calls this per request)."""
        key = (id(self.word_vocab_), len(self.word_vocab_), id(self.char_vocab_), len(self.char_vocab_))
        cached = getattr(self, "_feature_names_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, self.word_vocab_ + self.char_vocab_)
            self._feature_names_cache = cached
        return cached[1]

    # ------------------------------------------------------------------ persistence
    def save(self, model_dir: str | Path) -> None:
        if self.coef_ is None or self.intercept_ is None or self.word_idf_ is None or self.char_idf_ is None:
            raise RuntimeError("cannot save a model that is not fitted")
        d = Path(model_dir)
        d.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(d / WEIGHTS_FILE, coef=self.coef_.astype(np.float16), intercept=self.intercept_,
                            word_idf=self.word_idf_, char_idf=self.char_idf_)
        (d / WORD_VOCAB_FILE).write_text("\n".join(self.word_vocab_), encoding="utf-8")
        (d / CHAR_VOCAB_FILE).write_text("\n".join(self.char_vocab_), encoding="utf-8")
        self.info.write(d)
        (d / CARD_FILE).write_text(model_card(self.info), encoding="utf-8")

    @classmethod
    def load(cls, model_dir: str | Path) -> TfidfClassifier:
        d = Path(model_dir)
        if not (d / WEIGHTS_FILE).is_file():
            raise FileNotFoundError(f"not a TF-IDF model directory (no {WEIGHTS_FILE}): {d}")
        info = ModelInfo.read(d)
        if info.kind != "tfidf":
            raise ValueError(f"{d}: model kind is {info.kind!r}, expected 'tfidf'")
        model = cls(info)
        with np.load(d / WEIGHTS_FILE, allow_pickle=False) as w:
            model.coef_ = w["coef"].astype(np.float32)
            model.intercept_ = w["intercept"].astype(np.float32)
            model.word_idf_ = w["word_idf"].astype(np.float32)
            model.char_idf_ = w["char_idf"].astype(np.float32)
        model.word_vocab_ = _read_vocab(d / WORD_VOCAB_FILE)
        model.char_vocab_ = _read_vocab(d / CHAR_VOCAB_FILE)
        n_features = len(model.word_vocab_) + len(model.char_vocab_) + len(model.side_names)
        if model.coef_.shape != (len(info.labels), n_features):
            raise ValueError(f"{d}: weights have shape {model.coef_.shape}, expected "
                             f"({len(info.labels)}, {n_features}) from the labels, vocabularies and side block")
        model.share_ngrams = True
        SHARED_COUNTS.register(model)
        return model


def _vocab_list(vec: CountVectorizer) -> list[str]:
    return [str(t) for t in vec.get_feature_names_out()]


def _read_vocab(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return text.split("\n") if text else []


def _round_f16(a: np.ndarray) -> np.ndarray:
    """Round to what will be stored (float16), so a loaded model predicts exactly like the fitted one."""
    return a.astype(np.float16).astype(np.float32)


def _tune_thresholds(proba: np.ndarray, y: np.ndarray, mask: np.ndarray) -> dict[int, float]:
    """Per label, the threshold on the validation rows that maximises F1 (0.5 when a label has no positives)."""
    grid = np.round(np.arange(0.05, 0.96, 0.025), 3)
    out: dict[int, float] = {}
    for j in range(y.shape[1]):
        rows = mask[:, j]
        yj, pj = y[rows, j], proba[rows, j]
        if yj.sum() == 0:
            out[j] = 0.5
            continue
        scores = [f1_score(yj, (pj >= t).astype(int), zero_division=0) for t in grid]
        out[j] = float(grid[int(np.argmax(scores))])
    return out


def _phrase_words(phrase: str) -> set[str]:
    """The distinct word unigrams and bigrams of ``phrase``, as the word vectorizer would count them."""
    tokens = _WORD_TOKEN_RE.findall(phrase)
    return {*tokens, *(f"{a} {b}" for a, b in itertools.pairwise(tokens))}


@lru_cache(maxsize=8_192)
def _phrase_ngrams(phrase: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The word uni/bigrams and char_wb 2–5-grams inside ``phrase`` (distinct, in no particular order), as the
    vectorizers would count them; shared by every loaded TF-IDF model (each maps them to its own columns)."""
    chars = {padded[o:o + n]
             for padded in (f" {word} " for word in phrase.split())
             for n in range(2, min(5, len(padded)) + 1)
             for o in range(len(padded) - n + 1)}
    return tuple(_phrase_words(phrase)), tuple(chars)


def _widen_negation(text: str, start: int, end: int, windows: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """A lone negation word becomes the negation plus the next word; other spans are returned as they are."""
    if text[start:end] not in _NEGATIONS:
        return start, end
    hi = next((h for lo, h in windows if lo <= start < h), len(text))
    gap = end
    while gap < hi and not _is_word_char(text, gap):
        gap += 1
    stop = gap
    while stop < hi and _is_word_char(text, stop):
        stop += 1
    return (start, stop) if stop > gap else (start, end)


#: a run of word characters (``\w``: ``str.isalnum()`` or «_», as :func:`_is_word_char`) / of other characters
_WORD_RUN_RE = re.compile(r"\w*")
_GAP_RUN_RE = re.compile(r"\W*")


def _locate(feature: str, is_word: bool, norm_text: str,
            windows: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """Character span of the word(s) of ``norm_text`` holding the n-gram ``feature`` (first hit in a window).

    Word n-grams match whole tokens with any non-word characters between them; char_wb n-grams
    (space-padded at word edges) match inside a word and are widened to the whole word.
    """
    if is_word:
        return _locate_words(feature.split(" "), norm_text, windows)
    needle = feature.strip()
    if not needle:
        return None
    word_start, word_end = feature.startswith(" "), feature.endswith(" ")
    for lo, hi in windows:
        at = norm_text.find(needle, lo, hi)
        while at != -1:
            end = at + len(needle)
            ok_start = not word_start or not _is_word_char(norm_text, at - 1)
            ok_end = not word_end or not _is_word_char(norm_text, end)
            if ok_start and ok_end:
                s = at
                while s > lo and (norm_text[s - 1].isalnum() or norm_text[s - 1] == "_"):  # _is_word_char
                    s -= 1
                return s, _run_end(_WORD_RUN_RE, norm_text, end, hi)
            at = norm_text.find(needle, at + 1, hi)
    return None


def _run_end(run: re.Pattern[str], text: str, start: int, stop: int) -> int:
    """End of the run of ``run`` characters from ``start`` (at most ``stop``): a C loop, not a Python one."""
    m = run.match(text, start, stop)
    return m.end() if m is not None else start


def _is_word_char(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


def _locate_words(tokens: list[str], text: str, windows: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """Span of the whole-word token sequence ``tokens`` (any non-word characters between them)."""
    first = tokens[0]
    for lo, hi in windows:
        at = text.find(first, lo, hi)
        while at != -1:
            end = at + len(first)
            ok = not _is_word_char(text, at - 1) and not _is_word_char(text, end)
            for tok in tokens[1:]:
                if not ok:
                    break
                gap = _run_end(_GAP_RUN_RE, text, end, hi)
                ok = gap > end and text.startswith(tok, gap) and gap + len(tok) <= hi \
                    and not _is_word_char(text, gap + len(tok))
                end = gap + len(tok)
            if ok:
                return at, end
            at = text.find(first, at + 1, hi)
    return None


def model_card(info: ModelInfo) -> str:
    """The README.md of a model directory: data, method, scores, how to retrain."""
    lines = [f"# {info.name} {info.version}", "",
             f"Task: **{info.task}** ({'multilabel' if info.multilabel else 'single-label'}), kind `{info.kind}`.",
             f"Labels: {', '.join(info.labels)}.", "", "## Method", "",
             str(info.training.get("method", "")), "",
             f"Features: {info.training.get('n_features', '?')} "
             f"(word ≤ {info.training.get('max_word_features')}, char ≤ {info.training.get('max_char_features')}"
             + (f", + {len(info.side_features['names'])} side features `{info.side_features['name']}`"
                if info.side_features else "") + f"), C = {info.training.get('C')}; weights stored as float16.", ""]
    if info.multilabel and info.thresholds:
        lines += ["Per-label thresholds (tuned on the validation split):", ""]
        lines += [f"- {k}: {v}" for k, v in info.thresholds.items()] + [""]
    data = info.training.get("data")
    if data:
        lines += ["## Training data", ""]
        lines += [f"- {k}: {v}" for k, v in data.items()] if isinstance(data, dict) else [str(data)]
        lines.append("")
    if info.training.get("licence"):
        lines += ["## Licence of the training data", "", str(info.training["licence"]), ""]
    lines += ["## Scores", ""]
    for name, value in info.metrics.items():
        if isinstance(value, dict):
            summary = {k: v for k, v in value.items() if not isinstance(v, dict | list)}
            lines.append(f"- **{name}**: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in summary.items()))
        else:
            lines.append(f"- **{name}**: {_fmt(value)}")
    lines += ["", "## Retrain", "", info.training.get("retrain", "python -m voc_training.train_defaults"), ""]
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)
