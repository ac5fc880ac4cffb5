"""Shared n-gram counting (``SharedNgramCounts``): every loaded TF-IDF model gets exactly the counts, TF-IDF and
probabilities of its own vectorizers, on the shipped models and on models with different vocabularies."""

from __future__ import annotations

import pickle
import random
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from helpers.tinydata import tiny_sentiment_model

from voc_models.tfidf import SHARED_COUNTS, TfidfClassifier

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "shipped"
TASKS = ["sentiment", "emotions", "topics", "cause", "journey-stage"]
_WORDS = ("деньги вернули не сервис ужасный Спасибо ОТЛИЧНО ёлка Ёж приложение банк карта оператор ждал час "
          "доставка курьер опоздал заказ кредит вклад сбер тариф связь интернет поддержка чат звонок отделение "
          "очередь кэшбэк комиссия списали перевод СМС код пароль app ok 100 руб 24/7 😡 👍 №5 т.е. и/или").split()
_GLUE = [" ", " ", " ", ", ", ". ", "! ", "?! ", " — ", "  ", "\n", "\t", "...", " (", ") ", ":", "«", "»"]


def made_up_texts(n: int = 400, seed: int = 3) -> list[str]:
    """Russian-like feedback texts of 0–60 words: case, ё, punctuation, emoji, digits, runs of whitespace."""
    rng = random.Random(seed)
    out = ["", " ", "  \n ", "ё", "Ё!", "не", "\x00 нет", "Очень-очень плохо!!!"]
    while len(out) < n:
        words = [rng.choice(_WORDS) for _ in range(rng.randint(1, 60))]
        out.append("".join(w + rng.choice(_GLUE) for w in words).strip(rng.choice(["", " ", "."])))
    return out


def sentences(texts: list[str]) -> list[str]:
    return [s for t in texts for s in re.split(r"(?<=[.!?])\s+", t) if s]


def assert_same_counts(model: TfidfClassifier, texts: list[str]) -> None:
    shared, own = model.counts(texts), model.own_counts(texts)
    assert shared.shape == own.shape and shared.dtype == own.dtype
    np.testing.assert_array_equal(shared.indptr, own.indptr)
    np.testing.assert_array_equal(shared.indices, own.indices)
    np.testing.assert_array_equal(shared.data, own.data)
    side = sp.csr_matrix(model.side(texts))  # a head with a side block (the cause) reads it after the n-grams
    p_shared = model.proba_from_features(sp.hstack([model.tfidf(shared), side], format="csr"))
    p_own = model.proba_from_features(sp.hstack([model.tfidf(own), side], format="csr"))
    np.testing.assert_allclose(p_shared, p_own, rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def shipped() -> list[TfidfClassifier]:
    return [TfidfClassifier.load(SHIPPED / f"{task}-tfidf") for task in TASKS]


def test_shipped_models_share_identical_counts(shipped):
    texts = made_up_texts()
    assert all(m.share_ngrams for m in shipped)
    for batch in (texts, sentences(texts), texts[:1], texts[5:6]):
        for model in shipped:
            assert_same_counts(model, batch)


def test_shipped_segment_proba_and_evidence_identical(shipped):
    texts = made_up_texts(200, seed=11)
    segs = sentences(texts)
    owners = [i for i, t in enumerate(texts) for s in re.split(r"(?<=[.!?])\s+", t) if s]
    sentiment = shipped[0]
    shared = sentiment.segment_proba(segs, owners, texts)
    sentiment.share_ngrams = False
    try:
        own = sentiment.segment_proba(segs, owners, texts)
        own_spans = sentiment.explain_spans(texts, [0] * len(texts))
    finally:
        sentiment.share_ngrams = True
    np.testing.assert_allclose(shared.segments, own.segments, rtol=0, atol=1e-9)
    np.testing.assert_allclose(shared.documents, own.documents, rtol=0, atol=1e-9)
    assert sentiment.explain_spans(texts, [0] * len(texts)) == own_spans


def test_one_count_per_batch_is_reused(shipped, monkeypatch):
    texts = made_up_texts(50, seed=5)
    SHARED_COUNTS.clear_cache()
    shipped[0].counts(texts)  # builds the union if needed
    SHARED_COUNTS.clear_cache()
    calls: list[int] = []
    union = SHARED_COUNTS._current()
    assert union is not None
    real = union.counts
    monkeypatch.setattr(union, "counts", lambda batch: calls.append(len(batch)) or real(batch))
    for model in shipped:
        model.counts(texts)
    subset = [texts[7], texts[3], texts[7], texts[40]]  # e.g. evidence for the texts given one label
    for model in shipped:
        assert_same_counts(model, subset)
    assert calls == [50]
    shipped[0].counts(texts[:3] + ["текст не из этой пачки"])
    assert calls == [50, 4]


def test_models_with_different_vocabularies(tmp_path):
    a = tiny_sentiment_model()
    a.save(tmp_path / "a")
    b = tiny_sentiment_model()
    b.word_vocab_ = b.word_vocab_[: len(b.word_vocab_) // 2] + ["зонтик", "синий зонтик", "😡"]
    b.char_vocab_ = ["зо", " зон", "ик ", "😡 ", "q"] + b.char_vocab_[::3]
    b.word_idf_ = np.ones(len(b.word_vocab_), dtype=np.float32)
    b.char_idf_ = np.ones(len(b.char_vocab_), dtype=np.float32)
    rng = np.random.default_rng(0)
    b.coef_ = rng.normal(size=(3, len(b.word_vocab_) + len(b.char_vocab_))).astype(np.float16).astype(np.float32)
    b.save(tmp_path / "b")
    loaded = [TfidfClassifier.load(tmp_path / "a"), TfidfClassifier.load(tmp_path / "b")]
    texts = made_up_texts(300, seed=7) + ["синий зонтик 😡", "Зонтик, зонтик!"]
    for model in loaded:
        assert_same_counts(model, texts)
        assert_same_counts(model, sentences(texts))
    np.testing.assert_allclose(loaded[0].predict_proba(texts), a.predict_proba(texts), rtol=0, atol=1e-9)


def test_unpickled_model_registers_again(tmp_path):
    tiny_sentiment_model().save(tmp_path / "m")
    model = TfidfClassifier.load(tmp_path / "m")
    texts = made_up_texts(40, seed=9)
    model.counts(texts)
    copy = pickle.loads(pickle.dumps(model))
    assert copy._shared_map is None
    assert_same_counts(copy, texts)


def test_empty_batch_keeps_its_shape(shipped):
    for model in shipped:
        assert model.counts([]).shape == (0, len(model.word_vocab_) + len(model.char_vocab_))
        assert model.predict_proba([]).shape == (0, len(model.labels))
