"""TfidfClassifier: fit/save/load round trip, evidence spans, multilabel thresholds, partial labels."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.tinydata import sentiment_rows, tiny_sentiment_model
from hypothesis import given, settings
from hypothesis import strategies as st

from voc_models.base import ModelInfo
from voc_models.tfidf import TfidfClassifier, _locate, normalize


@pytest.fixture(scope="module")
def sentiment_model() -> TfidfClassifier:
    return tiny_sentiment_model()


def test_round_trip_predicts_identically(sentiment_model, tmp_path):
    texts = ["Ужасный сервис, деньги не вернули", "Спасибо, всё отлично", "Заказ оформил вчера"]
    sentiment_model.save(tmp_path / "m")
    loaded = TfidfClassifier.load(tmp_path / "m")
    assert loaded.labels == ["negative", "neutral", "positive"]
    np.testing.assert_array_equal(loaded.predict_proba(texts), sentiment_model.predict_proba(texts))
    assert loaded.predict(texts) == ["negative", "positive", "neutral"]
    assert {p.name for p in (tmp_path / "m").iterdir()} >= {"voc_model.json", "weights.npz", "README.md"}
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert "sentiment-tiny" in card and "Retrain" in card
    assert sum(p.stat().st_size for p in (tmp_path / "m").iterdir()) < 8 * 1024 * 1024


def test_proba_rows_sum_to_one(sentiment_model):
    proba = sentiment_model.predict_proba(["хорошо", "плохо", "", "12345"])
    assert proba.shape == (4, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert sentiment_model.predict_proba([]).shape == (0, 3)


def test_validation_metrics_recorded(sentiment_model):
    val = sentiment_model.info.metrics["validation"]
    assert val["rows"] > 0 and 0.0 <= val["macro_f1"] <= 1.0
    assert sentiment_model.info.training["n_features"] == sentiment_model.coef_.shape[1]


def test_explain_spans_slice_the_text(sentiment_model):
    texts = ["Честно говоря, ужасный сервис, деньги не вернули!", "Спасибо, прекрасное обслуживание"]
    spans = sentiment_model.explain_spans(texts, [0, 2], top_k=3)
    assert spans[0] and spans[1]
    for text, row in zip(texts, spans, strict=True):
        for s in row:
            assert text[s.start:s.end] == s.text and s.weight > 0
    words0 = " ".join(s.text.lower() for s in spans[0])
    assert "ужасный" in words0 or "не" in words0
    assert sentiment_model.explain(texts, [0, 2], top_k=2)[1][0][1] > 0


def test_explain_respects_windows(sentiment_model):
    text = "Ужасный сервис. Прекрасное обслуживание"
    spans = sentiment_model.explain_spans([text], [0], top_k=5, windows=[[(16, len(text))]])
    assert all(s.start >= 16 for s in spans[0])


def test_single_class_is_rejected():
    with pytest.raises(ValueError, match="at least 2 labels"):
        TfidfClassifier().fit(["a b", "c d"] * 20, ["x", "x"] * 20)


def test_unknown_label_names_row():
    texts, labels = sentiment_rows()
    with pytest.raises(ValueError, match="row 1: label"):
        TfidfClassifier().fit(texts, ["bogus", *labels[1:]], label_set=["negative", "neutral", "positive"])


def test_multilabel_thresholds_and_predictions(tmp_path, tiny_emotion_model):
    model = tiny_emotion_model
    assert set(model.info.thresholds) <= set(model.labels)
    assert all(0.0 < t < 1.0 for t in model.info.thresholds.values())
    model.save(tmp_path / "e")
    loaded = TfidfClassifier.load(tmp_path / "e")
    pred = loaded.predict(["Большое спасибо за заботу", "Бесит это хамство", "Оплата картой"])
    assert "благодарность" in pred[0] and "раздражение/гнев" in pred[1] and pred[2] == []


def test_partial_labels_keep_unknown_rows_out():
    texts, labels = sentiment_rows()
    multi = [[lab] for lab in labels]
    # "positive" is known only for the first half of the rows; the model still trains and predicts it.
    known = [["negative", "neutral", "positive"] if i % 2 == 0 else ["negative", "neutral"] for i in range(len(texts))]
    info = ModelInfo(name="p", version="1", task="t", kind="tfidf", labels=[])
    model = TfidfClassifier(info, C=10.0).fit(texts, multi, label_set=["negative", "neutral", "positive"],
                                              multilabel=True, known=known)
    assert "positive" in model.predict(["Отличный сервис, всё понравилось"])[0]


def test_load_missing_dir_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope")):
        TfidfClassifier.load(tmp_path / "nope")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="абвгдеёжзАБВЁ .,!-", min_size=1, max_size=40))
def test_locate_returns_a_span_holding_the_ngram(text):
    norm = normalize(text)
    assert len(norm) == len(text)
    word = norm.split()[0] if norm.split() else ""
    feature = f" {word[:3]}" if word else "зз"
    span = _locate(feature, False, norm, [(0, len(norm))])
    if span is not None:
        s, e = span
        assert feature.strip() in norm[s:e]


_VOCAB_TEXTS = ["Привет, мир! Всё хорошо", "ужасный  сервис\tи\nплохо", "я ок 😊", "a b c", "e-mail: test_1"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet="абвгдеёжЖ яо😊\t\n\u00a0.,!-_1a", max_size=30), min_size=1, max_size=6))
def test_char_counter_equals_sklearn(texts):
    from sklearn.feature_extraction.text import CountVectorizer

    from voc_models.tfidf import CharNgramCounter

    ref = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False, preprocessor=normalize)
    ref.fit(_VOCAB_TEXTS + texts[:1])
    counter = CharNgramCounter(list(ref.get_feature_names_out()))
    expected = ref.transform(texts).toarray()
    got = counter.transform([normalize(t) for t in texts]).toarray()
    np.testing.assert_array_equal(got, expected)


def test_sample_weight_is_validated_and_used():
    texts, labels = sentiment_rows()
    with pytest.raises(ValueError, match="one non-negative weight per text"):
        TfidfClassifier().fit(texts, labels, sample_weight=[1.0])
    weights = [0.0 if lab == "neutral" and i % 2 else 1.0 for i, lab in enumerate(labels)]
    model = TfidfClassifier(C=10.0).fit(texts, labels, sample_weight=weights)
    assert model.predict(["Заказ оформил вчера"]) == ["neutral"]


def test_blockwise_tfidf_equals_per_block_reference():
    """The one-pass TF-IDF (online fast path) gives the per-block sublinear TF-IDF + L2 of the reference."""
    import numpy as np
    import scipy.sparse as sp

    from voc_models.tfidf import _blockwise_tfidf, _sublinear_tfidf

    rng = np.random.default_rng(0)
    nw, nc = 40, 60
    dense = rng.integers(0, 4, size=(7, nw + nc)) * (rng.random((7, nw + nc)) < 0.2)
    dense[3] = 0  # an empty row
    dense[4, :nw] = 0  # a row with chars only
    counts = sp.csr_matrix(dense.astype(np.float32))
    word_idf = rng.random(nw).astype(np.float32) + 1
    char_idf = rng.random(nc).astype(np.float32) + 1
    ref = sp.hstack([_sublinear_tfidf(counts[:, :nw], word_idf), _sublinear_tfidf(counts[:, nw:], char_idf)],
                    format="csr")
    got = _blockwise_tfidf(counts, nw, word_idf, char_idf)
    assert got.shape == ref.shape and got.dtype == np.float32
    np.testing.assert_allclose(got.toarray(), ref.toarray(), rtol=1e-5, atol=1e-6)
    assert counts.toarray().tolist() == dense.astype(np.float32).tolist()  # the input is not changed
