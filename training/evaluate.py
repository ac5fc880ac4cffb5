"""Evaluation of text classifiers: per-class P/R/F1, macro-F1, confusion matrix, calibration, paired tests.

Numbers follow scikit-learn's definitions (zero_division=0). Calibration is the expected calibration error
over 10 equal-width bins: of the top-class confidence (single-label), or of every per-label probability
against its 0/1 outcome (multilabel).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from voc_models.base import TextClassifier
from voc_training.data import DataError, LabelledTexts

N_BINS = 10


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = N_BINS) -> float:
    """ECE: Σ_bins (n_bin / N) · |accuracy_bin − mean confidence_bin|, bins of equal width on [0, 1]."""
    confidence = np.asarray(confidence, dtype=np.float64).ravel()
    correct = np.asarray(correct, dtype=np.float64).ravel()
    if confidence.size == 0:
        return 0.0
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            total += sel.sum() / confidence.size * abs(correct[sel].mean() - confidence[sel].mean())
    return float(total)


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        r = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        f = np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-12), 0.0)
    return p, r, f


def single_label_report(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str],
                        proba: np.ndarray | None = None) -> dict[str, Any]:
    """Per-class precision/recall/F1/support, macro-F1, accuracy, confusion matrix (rows = true), ECE."""
    idx = {lab: i for i, lab in enumerate(labels)}
    t = np.array([idx[y] for y in y_true])
    p = np.array([idx[y] for y in y_pred])
    k = len(labels)
    cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(float)
    prec, rec, f1 = _prf(tp, cm.sum(axis=0) - tp, cm.sum(axis=1) - tp)
    report: dict[str, Any] = {
        "rows": int(len(t)),
        "accuracy": float((t == p).mean()) if len(t) else 0.0,
        "macro_f1": float(f1.mean()),
        "per_class": {lab: {"precision": float(prec[i]), "recall": float(rec[i]), "f1": float(f1[i]),
                            "support": int(cm[i].sum())} for i, lab in enumerate(labels)},
        "confusion_matrix": {"labels": list(labels), "matrix": cm.tolist()},
    }
    if proba is not None:
        report["ece"] = expected_calibration_error(proba.max(axis=1), proba.argmax(axis=1) == t)
    return report


def multilabel_report(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str],
                      proba: np.ndarray | None = None) -> dict[str, Any]:
    """Per-label precision/recall/F1/support and macro-F1 over 0/1 matrices (rows × labels), ECE."""
    y_true, y_pred = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    tp = (y_true & y_pred).sum(axis=0).astype(float)
    fp = (~y_true & y_pred).sum(axis=0).astype(float)
    fn = (y_true & ~y_pred).sum(axis=0).astype(float)
    prec, rec, f1 = _prf(tp, fp, fn)
    report: dict[str, Any] = {
        "rows": int(y_true.shape[0]),
        "macro_f1": float(f1.mean()) if len(labels) else 0.0,
        "exact_match": float((y_true == y_pred).all(axis=1).mean()) if len(y_true) else 0.0,
        "per_class": {lab: {"precision": float(prec[j]), "recall": float(rec[j]), "f1": float(f1[j]),
                            "support": int(y_true[:, j].sum())} for j, lab in enumerate(labels)},
    }
    if proba is not None:
        report["ece"] = expected_calibration_error(proba, y_true)
    return report


def _multilabel_matrices(model: TextClassifier, data: LabelledTexts,
                         label_set: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    missing = [lab for lab in label_set if lab not in model.labels]
    if missing:
        raise DataError(f"labels {missing} of the evaluation data are not labels of model {model.version} "
                        f"({model.labels})")
    cols = [model.labels.index(lab) for lab in label_set]
    proba = model.predict_proba(data.texts)[:, cols]
    thr = np.array([model.info.thresholds.get(lab, model.info.threshold) for lab in label_set])
    pred = proba >= thr
    pos = {lab: j for j, lab in enumerate(label_set)}
    truth = np.zeros_like(pred)
    for i, labs in enumerate(data.labels):
        for lab in labs:
            if lab in pos:
                truth[i, pos[lab]] = True
    return truth, pred, proba


def evaluate(model: TextClassifier, data: LabelledTexts, none_label: str | None = None) -> dict[str, Any]:
    """Evaluate ``model`` on labelled texts. Multilabel: over ``data.label_set`` (labels the data annotates);
    ``none_label`` adds a column that is true when no label of the set is (predicted) true."""
    if not data.texts:
        raise DataError("no rows to evaluate")
    if model.multilabel != data.multilabel:
        raise DataError(f"model {model.version} is {'multi' if model.multilabel else 'single'}-label but the data "
                        f"is {'multi' if data.multilabel else 'single'}-label")
    if not model.multilabel:
        unknown = sorted(set(data.labels) - set(model.labels))
        if unknown:
            raise DataError(f"labels {unknown} of the evaluation data are not labels of model {model.version} "
                            f"({model.labels})")
        proba = model.predict_proba(data.texts)
        pred = [model.labels[i] for i in proba.argmax(axis=1)]
        return single_label_report(data.labels, pred, model.labels, proba)
    label_set = data.label_set or model.labels
    truth, pred, proba = _multilabel_matrices(model, data, label_set)
    report = multilabel_report(truth, pred, label_set, proba)
    if none_label:
        with_none = multilabel_report(np.c_[truth, ~truth.any(axis=1)], np.c_[pred, ~pred.any(axis=1)],
                                      [*label_set, none_label])
        report["macro_f1_with_none"] = with_none["macro_f1"]
        report["per_class"][none_label] = with_none["per_class"][none_label]
    return report


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, Any]:
    """McNemar's test on paired correctness; exact binomial when the discordant pairs are fewer than 25."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    n = only_a + only_b
    if n == 0:
        p = 1.0
        method = "none (no discordant pairs)"
    elif n < 25:
        p = float(stats.binomtest(only_a, n, 0.5).pvalue)
        method = "exact binomial"
    else:
        chi2 = (abs(only_a - only_b) - 1) ** 2 / n
        p = float(stats.chi2.sf(chi2, 1))
        method = "chi-square with continuity correction"
    return {"test": "mcnemar", "method": method, "only_a_correct": only_a, "only_b_correct": only_b, "p_value": p}


def paired_bootstrap_macro_f1(truth: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray,
                              n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Paired bootstrap over rows of the macro-F1 difference (A − B); two-sided p-value."""
    truth, pred_a, pred_b = (np.asarray(m, dtype=bool) for m in (truth, pred_a, pred_b))
    n = truth.shape[0]
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)  # (B, n)

    def macro(pred: np.ndarray, w: np.ndarray) -> np.ndarray:
        tp = w @ (truth & pred)
        fp = w @ (~truth & pred)
        fn = w @ (truth & ~pred)
        return _prf(tp, fp, fn)[2].mean(axis=-1)

    ones = np.ones(n)
    observed = float(macro(pred_a, ones) - macro(pred_b, ones))
    diffs = macro(pred_a, weights) - macro(pred_b, weights)
    if observed >= 0:
        p = 2 * float((diffs <= 0).mean())
    else:
        p = 2 * float((diffs >= 0).mean())
    return {"test": "paired bootstrap (macro-F1)", "n_boot": n_boot, "macro_f1_diff": observed,
            "ci95": [float(np.quantile(diffs, 0.025)), float(np.quantile(diffs, 0.975))], "p_value": min(1.0, p)}


def compare(model_a: TextClassifier, model_b: TextClassifier, rows: LabelledTexts,
            n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Both models' reports on ``rows`` and a paired significance test of their difference."""
    report_a, report_b = evaluate(model_a, rows), evaluate(model_b, rows)
    if rows.multilabel:
        label_set = rows.label_set or model_a.labels
        truth, pred_a, _ = _multilabel_matrices(model_a, rows, label_set)
        _, pred_b, _ = _multilabel_matrices(model_b, rows, label_set)
        test = paired_bootstrap_macro_f1(truth, pred_a, pred_b, n_boot=n_boot, seed=seed)
    else:
        truth_arr = np.asarray(rows.labels)
        correct_a = np.asarray(model_a.predict(rows.texts)) == truth_arr
        correct_b = np.asarray(model_b.predict(rows.texts)) == truth_arr
        test = mcnemar(correct_a, correct_b)
    return {"a": {"model": model_a.version, **report_a}, "b": {"model": model_b.version, **report_b},
            "macro_f1_diff": report_a["macro_f1"] - report_b["macro_f1"], "significance": test}
