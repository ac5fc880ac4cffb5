"""Evaluation numbers equal scikit-learn's; ECE, McNemar and the paired bootstrap behave."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from voc_training.data import LabelledTexts
from voc_training.evaluate import (
    compare,
    evaluate,
    expected_calibration_error,
    mcnemar,
    multilabel_report,
    paired_bootstrap_macro_f1,
    single_label_report,
)

LABELS = ["negative", "neutral", "positive"]


def test_single_label_equals_sklearn():
    rng = np.random.default_rng(1)
    y_true = list(rng.choice(LABELS, 300))
    y_pred = list(rng.choice(LABELS, 300, p=[0.5, 0.3, 0.2]))
    rep = single_label_report(y_true, y_pred, LABELS)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=LABELS, zero_division=0)
    for i, lab in enumerate(LABELS):
        assert rep["per_class"][lab]["precision"] == pytest.approx(p[i])
        assert rep["per_class"][lab]["recall"] == pytest.approx(r[i])
        assert rep["per_class"][lab]["f1"] == pytest.approx(f[i])
        assert rep["per_class"][lab]["support"] == s[i]
    assert rep["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=LABELS, average="macro"))
    assert rep["confusion_matrix"]["matrix"] == confusion_matrix(y_true, y_pred, labels=LABELS).tolist()


def test_single_label_absent_class_zero_division():
    rep = single_label_report(["a", "a", "b"], ["a", "a", "a"], ["a", "b", "c"])
    assert rep["macro_f1"] == pytest.approx(f1_score(["a", "a", "b"], ["a", "a", "a"], labels=["a", "b", "c"],
                                                     average="macro", zero_division=0))


def test_multilabel_equals_sklearn():
    rng = np.random.default_rng(2)
    truth = rng.random((200, 4)) < 0.3
    pred = rng.random((200, 4)) < 0.35
    rep = multilabel_report(truth, pred, list("abcd"))
    assert rep["macro_f1"] == pytest.approx(f1_score(truth, pred, average="macro", zero_division=0))
    p, r, f, _ = precision_recall_fscore_support(truth, pred, zero_division=0)
    assert [rep["per_class"][k]["recall"] for k in "abcd"] == pytest.approx(list(r))


def test_ece_by_hand():
    conf = np.array([0.95, 0.95, 0.55, 0.55])
    correct = np.array([1, 0, 1, 1])
    # bin 9: acc .5 vs conf .95 → .45 * 2/4; bin 5: acc 1 vs .55 → .45 * 2/4
    assert expected_calibration_error(conf, correct) == pytest.approx(0.45)
    assert expected_calibration_error(np.array([1.0]), np.array([1])) == pytest.approx(0.0)


def test_mcnemar_exact_and_chi2():
    a = np.array([True] * 10 + [False] * 2 + [True] * 50)
    b = np.array([False] * 10 + [True] * 2 + [True] * 50)
    res = mcnemar(a, b)
    assert res["method"] == "exact binomial" and res["only_a_correct"] == 10 and res["p_value"] < 0.05
    big_a = np.array([True] * 40 + [False] * 40)
    big_b = np.array([False] * 40 + [True] * 40)
    assert mcnemar(big_a, big_b)["p_value"] == pytest.approx(1.0, abs=0.1)
    assert mcnemar(a, a)["p_value"] == 1.0


def test_bootstrap_same_predictions_is_not_significant():
    rng = np.random.default_rng(3)
    truth = rng.random((100, 3)) < 0.3
    res = paired_bootstrap_macro_f1(truth, truth, truth, n_boot=200)
    assert res["macro_f1_diff"] == 0.0 and res["p_value"] == 1.0
    better = paired_bootstrap_macro_f1(truth, truth, ~truth, n_boot=200)
    assert better["macro_f1_diff"] > 0.5 and better["p_value"] < 0.01


def test_evaluate_and_compare_models(tiny_sentiment_model):
    model = tiny_sentiment_model
    rows = LabelledTexts(["Ужасный сервис", "Спасибо, всё понравилось", "Заказ оформил вчера"],
                         ["negative", "positive", "neutral"], False, LABELS)
    rep = evaluate(model, rows)
    assert rep["macro_f1"] == pytest.approx(f1_score(rows.labels, model.predict(rows.texts), average="macro"))
    assert 0.0 <= rep["ece"] <= 1.0
    cmp = compare(model, model, rows)
    assert cmp["macro_f1_diff"] == 0.0 and cmp["significance"]["test"] == "mcnemar"


def test_evaluate_multilabel_with_none(tiny_emotion_model):
    model = tiny_emotion_model
    rows = LabelledTexts(["Бесит это хамство", "Оплата картой"], [["раздражение/гнев"], []], True,
                         ["раздражение/гнев", "удивление"])
    rep = evaluate(model, rows, none_label="нет эмоции")
    assert set(rep["per_class"]) == {"раздражение/гнев", "удивление", "нет эмоции"}
    assert "macro_f1_with_none" in rep
    assert compare(model, model, rows, n_boot=50)["significance"]["p_value"] == 1.0
