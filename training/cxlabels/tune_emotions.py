"""Choose how the shipped emotion head learns from the cxreal train rows, and its per-emotion thresholds, by
cross-validation on the cxreal **train** split only (the eval split is never read; its texts, and the cxreal train
texts, are dropped from every other source).

    python -m voc_training.cxlabels.tune_emotions [--alphas 0 0.25 0.5 0.75 1] [--C 1 4] [--offset-C 1 4 16]
                                              [--folds 5] [--out bench/results/cx_emotions_cv.json]

Two linear heads on the same TF-IDF features: the **shared** head of ``voc_training.train_defaults`` (cedr,
semeval2025_ru, ru_izard, silver благодарность rows, in-house train; features fitted on those texts) and a **cxreal**
head (one logistic regression per emotion on the cxreal train rows, all six emotions annotated). The shipped head is
their logit blend ``(1 − α)·shared + α·cxreal`` — again one linear model, so it ships as the same ``TfidfClassifier``
format; an emotion the cxreal rows cannot fit (one class only) keeps the shared head. Refitting the large shared
head per fold with the cxreal rows added (sample weights) was tried first: ~3 min per fold and weight on the shared
machine, too slow to cross-validate. Per fold of the cxreal rows (stratified by source file) the cxreal head is
fitted on the other folds; the shared head never sees a cxreal row. Per setting: micro-F1 with thresholds tuned on
the same out-of-fold probabilities (optimistic) and **nested** (each fold's thresholds tuned on the other folds'
rows) — the honest estimate the setting is chosen by (α = 0 is the shared head alone).

The **offset** method (decision 80) keeps the shared head whole and fits, per emotion, a correction of its logits on
the cxreal rows (``fit_offset_head``: the shared logits as a fixed offset, class-balanced, L2 ``1/C``): the cxreal
rows move the head only where they disagree with it, instead of halving both heads as a blend does. It ships as one
linear head too (the shared coefficients + the correction).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = REPO_ROOT / "bench" / "results" / "cx_emotions_cv.json"
ALPHA_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
C_GRID = (1.0, 4.0)
#: regularisation grid of the residual ("offset") head: a per-emotion correction of the shared head's logits
OFFSET_C_GRID = (1.0, 4.0, 16.0)
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.025), 3)
MAX_EMOTIONS = 3  # EmotionAnalyzer's default cap


def tune_thresholds(proba: np.ndarray, y: np.ndarray, grid: np.ndarray = THRESHOLD_GRID) -> np.ndarray:
    """Per label, the threshold maximising that label's F1 on the rows (0.5 for a label without positives)."""
    out = np.full(y.shape[1], 0.5)
    for j in range(y.shape[1]):
        if y[:, j].sum() == 0:
            continue
        scores = [f1_score(y[:, j], (proba[:, j] >= t).astype(int), zero_division=0) for t in grid]
        out[j] = float(grid[int(np.argmax(scores))])
    return out


def decide(proba: np.ndarray, thresholds: np.ndarray, max_labels: int = MAX_EMOTIONS) -> np.ndarray:
    """0/1 predictions as ``EmotionAnalyzer`` makes them: labels over their threshold, at most ``max_labels``."""
    out = np.zeros(proba.shape, dtype=int)
    for i, row in enumerate(proba):
        idx = np.flatnonzero(row >= thresholds)
        out[i, idx[np.argsort(-row[idx])][:max_labels]] = 1
    return out


def micro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    return round(float(f1_score(y, pred, average="micro", zero_division=0)), 4)


def nested_predictions(proba: np.ndarray, y: np.ndarray, fold_of: np.ndarray) -> np.ndarray:
    """Each fold decided with thresholds tuned on the other folds' rows only."""
    pred = np.zeros_like(y)
    for k in np.unique(fold_of):
        held, rest = fold_of == k, fold_of != k
        pred[held] = decide(proba[held], tune_thresholds(proba[rest], y[rest]))
    return pred


def emotion_training_rows(drop_texts: Sequence[str]) -> Any:
    """The emotion head's training rows (``train_defaults.train_emotions``) minus any text equal to ``drop_texts``
    (the cxreal and in-house texts: eval ones never train, train ones enter with their gold labels instead), and the
    number dropped; ``data.inhouse_positives`` = the in-house positives per emotion (``drop_sparse_annotations``)."""
    from voc_training.cxlabels.select import text_key
    from voc_training.data import INHOUSE_SOURCE, drop_sparse_annotations, load_emotions_train
    from voc_training.train_defaults import EMOTION_INHOUSE_MIN_POSITIVES

    data = load_emotions_train(inhouse=True)
    data.inhouse_positives = drop_sparse_annotations(data, INHOUSE_SOURCE, EMOTION_INHOUSE_MIN_POSITIVES)
    drop = {text_key(t) for t in drop_texts}
    keep = [i for i, (t, s) in enumerate(zip(data.texts, data.sources, strict=True))
            if s == INHOUSE_SOURCE or text_key(t) not in drop]
    dropped = len(data.texts) - len(keep)
    data.texts = [data.texts[i] for i in keep]
    data.labels = [data.labels[i] for i in keep]
    data.known = [data.known[i] for i in keep]  # type: ignore[index]
    data.sources = [data.sources[i] for i in keep]
    return data, dropped


@dataclass
class EmotionCV:
    """The shared head, its logits on the cxreal rows, and the cxreal head's out-of-fold logits per C."""

    labels: list[str]
    y: np.ndarray  # (cxreal rows, labels) gold 0/1
    fold_of: np.ndarray  # fold of each cxreal row (-1: a targeted row — in every fold's training rows, never scored)
    base: Any  # the shared head (TfidfClassifier), fitted without any cxreal row
    x_cx: Any  # TF-IDF features of the cxreal rows (the shared head's vectorizers)
    z_base: np.ndarray  # the shared head's logits on the cxreal rows
    z_cx: dict[float, np.ndarray]  # C → out-of-fold logits of the cxreal head
    fitted: dict[float, np.ndarray]  # C → per label: could the cxreal head be fitted in every fold
    z_off: dict[float, np.ndarray] = field(default_factory=dict)  # C → out-of-fold logits of the offset head


def fit_shared(data: Any, C: float = 4.0, source_weights: dict[str, float] | None = None) -> Any:
    """The shared emotion head (``voc_training.train_defaults`` recipe, no validation hold-out) on ``data``."""
    from voc.vocab import EMOTIONS
    from voc_models.base import ModelInfo
    from voc_models.tfidf import TfidfClassifier

    t0 = time.perf_counter()
    base = TfidfClassifier(ModelInfo(name="emotions-tfidf", version="0", task="emotions", kind="tfidf", labels=[]),
                           C=C)
    base.fit(data.texts, data.labels, label_set=list(EMOTIONS), multilabel=True, known=data.known,
             sample_weight=[(source_weights or {}).get(s, 1.0) for s in data.sources], val_fraction=0.0, seed=0)
    print(f"  emotions shared head fit {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return base


def fit_cx_head(x: Any, y: np.ndarray, C: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per label a balanced logistic regression on the cxreal rows: (coef, intercept, fitted) — ``fitted`` False
    (zeros) for a label with one class only."""
    from sklearn.linear_model import LogisticRegression

    coef = np.zeros((y.shape[1], x.shape[1]))
    intercept = np.zeros(y.shape[1])
    fitted = np.zeros(y.shape[1], dtype=bool)
    for j in range(y.shape[1]):
        if len(np.unique(y[:, j])) < 2:
            continue
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=0).fit(x, y[:, j])
        coef[j], intercept[j], fitted[j] = clf.coef_[0], clf.intercept_[0], True
    return coef, intercept, fitted


def fit_offset_head(x: Any, z_base: np.ndarray, y: np.ndarray, C: float) -> tuple[np.ndarray, np.ndarray]:
    """The residual head: per label a correction ``x·d + b`` of the shared head's logits ``z_base``, fitted on the
    cxreal rows by class-balanced logistic loss with ``‖d‖² / 2C`` (L-BFGS; ``z_base`` is a fixed offset, which
    scikit-learn's LogisticRegression cannot take). A label without positives gets no correction. The shipped
    head is then one linear head again: the shared coefficients + d, the intercept + b."""
    from scipy.optimize import minimize

    n, m = x.shape
    coef = np.zeros((y.shape[1], m))
    intercept = np.zeros(y.shape[1])
    for j in range(y.shape[1]):
        yj = y[:, j].astype(np.float64)
        pos = yj.mean()
        if pos in (0.0, 1.0):
            continue
        w = np.where(yj == 1, 0.5 / pos, 0.5 / (1.0 - pos))
        z0 = z_base[:, j]

        def loss(theta: np.ndarray, z0: np.ndarray = z0, yj: np.ndarray = yj, w: np.ndarray = w
                 ) -> tuple[float, np.ndarray]:
            d, b = theta[:-1], theta[-1]
            z = z0 + x @ d + b
            r = w * (1.0 / (1.0 + np.exp(-z)) - yj)
            value = float(np.sum(w * (np.logaddexp(0.0, z) - yj * z)) + d @ d / (2.0 * C))
            return value, np.concatenate([x.T @ r + d / C, [r.sum()]])

        theta = minimize(loss, np.zeros(m + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
        coef[j], intercept[j] = theta[:-1], theta[-1]
    return coef, intercept


def blend_logits(z_base: np.ndarray, z_cx: np.ndarray, fitted: np.ndarray, alpha: float) -> np.ndarray:
    """``(1 − α)·z_base + α·z_cx`` for the labels the cxreal head fitted, ``z_base`` for the others."""
    return np.where(fitted, (1.0 - alpha) * z_base + alpha * z_cx, z_base)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def cross_validate(base: Any, cx_texts: Sequence[str], cx_emotions: Sequence[Sequence[str]],
                   cx_groups: Sequence[str], c_grid: Sequence[float], n_folds: int = 5,
                   targeted: Sequence[bool] | None = None, offset_c: Sequence[float] = ()) -> EmotionCV:
    """Out-of-fold logits of the cxreal head per C in ``c_grid`` and of the offset head per C in ``offset_c``
    (folds stratified by ``cx_groups``) next to the shared head's. ``targeted`` rows (drawn by a model's scores,
    decision 74) are trained on in every fold and never held out."""
    from voc.vocab import EMOTIONS

    labels = list(EMOTIONS)
    x_cx = base.transform(list(cx_texts))
    y = np.array([[lab in ls for lab in labels] for ls in cx_emotions], dtype=np.int8)
    z_base = np.asarray(x_cx @ base.coef_.T, dtype=np.float64) + base.intercept_
    extra = np.flatnonzero(np.asarray(targeted, dtype=bool)) if targeted is not None else np.zeros(0, dtype=int)
    scored = np.setdiff1d(np.arange(len(y)), extra)
    groups = np.asarray(list(cx_groups))[scored]
    splits = [(np.sort(np.concatenate([scored[fit], extra])), scored[held]) for fit, held in
              StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=0).split(scored, groups)]
    fold_of = np.full(len(y), -1, dtype=int)
    for k, (_, held) in enumerate(splits):
        fold_of[held] = k
    z_cx: dict[float, np.ndarray] = {}
    fitted: dict[float, np.ndarray] = {}
    for C in c_grid:
        t0 = time.perf_counter()
        z_cx[C] = np.zeros(y.shape)
        fitted[C] = np.ones(len(labels), dtype=bool)
        for fit, held in splits:
            coef, intercept, ok = fit_cx_head(x_cx[fit], y[fit], C)
            z_cx[C][held] = np.asarray(x_cx[held] @ coef.T) + intercept
            fitted[C] &= ok
        print(f"  emotions cxreal head C={C}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    z_off: dict[float, np.ndarray] = {}
    for C in offset_c:
        t0 = time.perf_counter()
        z_off[C] = z_base.copy()
        for fit, held in splits:
            coef, intercept = fit_offset_head(x_cx[fit], z_base[fit], y[fit], C)
            z_off[C][held] += np.asarray(x_cx[held] @ coef.T) + intercept
        print(f"  emotions offset head C={C}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return EmotionCV(labels, y, fold_of, base, x_cx, z_base, z_cx, fitted, z_off)


def summary(cv: EmotionCV, alpha: float, C: float) -> dict[str, Any]:
    """Scores of one blend setting (see :func:`scores`)."""
    return {"method": "blend", "alpha": alpha, "C": C,
            **scores(cv, blend_logits(cv.z_base, cv.z_cx[C], cv.fitted[C], alpha))}


def summary_offset(cv: EmotionCV, C: float) -> dict[str, Any]:
    """Scores of the offset head at ``C`` (see :func:`scores`)."""
    return {"method": "offset", "C": C, **scores(cv, cv.z_off[C])}


def scores(cv: EmotionCV, logits: np.ndarray) -> dict[str, Any]:
    """Scores of out-of-fold logits: nested (the honest estimate), thresholds tuned on the same rows, fixed 0.5;
    and the thresholds tuned on all out-of-fold probabilities (what ships)."""
    scored = cv.fold_of >= 0  # targeted rows have no out-of-fold logits
    proba = sigmoid(logits)[scored]
    y = cv.y[scored]
    thr_all = tune_thresholds(proba, y)
    nested = nested_predictions(proba, y, cv.fold_of[scored])
    return {"micro_f1_nested": micro_f1(y, nested),
            "macro_f1_nested": round(float(f1_score(y, nested, average="macro", zero_division=0)), 4),
            "micro_f1_thresholds_on_same_rows": micro_f1(y, decide(proba, thr_all)),
            "micro_f1_at_0.5": micro_f1(y, decide(proba, np.full(len(cv.labels), 0.5))),
            "per_label_f1_nested": {lab: round(float(f1_score(y[:, j], nested[:, j], zero_division=0)), 4)
                                    for j, lab in enumerate(cv.labels)},
            "thresholds": {lab: float(t) for lab, t in zip(cv.labels, thr_all, strict=True)}}


def blended_head(cv: EmotionCV, alpha: float, C: float) -> Any:
    """The shipped head: the shared head's coefficients blended with a cxreal head fitted on every cxreal row."""
    from voc_models.tfidf import _round_f16

    coef, intercept, fitted = fit_cx_head(cv.x_cx, cv.y, C)
    fitted &= cv.fitted[C]
    base = cv.base
    w = np.where(fitted[:, None], (1.0 - alpha) * base.coef_.astype(np.float64) + alpha * coef, base.coef_)
    b = np.where(fitted, (1.0 - alpha) * base.intercept_ + alpha * intercept, base.intercept_)
    base.coef_, base.intercept_ = _round_f16(w.astype(np.float32)), b.astype(np.float32)
    return base


def offset_head(cv: EmotionCV, C: float) -> Any:
    """The shipped head of the offset method: the shared head plus the correction fitted on every cxreal row."""
    from voc_models.tfidf import _round_f16

    coef, intercept = fit_offset_head(cv.x_cx, cv.z_base, cv.y, C)
    base = cv.base
    base.coef_ = _round_f16((base.coef_.astype(np.float64) + coef).astype(np.float32))
    base.intercept_ = (base.intercept_.astype(np.float64) + intercept).astype(np.float32)
    return base


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alphas", type=float, nargs="+", default=list(ALPHA_GRID))
    parser.add_argument("--C", type=float, nargs="+", default=list(C_GRID))
    parser.add_argument("--offset-C", type=float, nargs="*", default=list(OFFSET_C_GRID),
                        help="regularisation grid of the offset head (none: blends only)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)

    from voc_datasets.inhouse import load_inhouse
    from voc_training.cxlabels.loader import load_cxreal
    from voc_training.train_cx_defaults import load_training_frame
    from voc_training.train_defaults import EMOTION_C, EMOTION_SOURCE_WEIGHTS

    frame, _ = load_training_frame()  # cxreal train minus any text equal to an eval text
    cx = frame[frame["source"] == "cxreal"].reset_index(drop=True)
    data, dropped = emotion_training_rows([*cx["text"], *load_cxreal("eval")["text"], *load_inhouse("eval")["text"]])
    print(f"emotion rows {len(data.texts)} (dropped {dropped} equal to a cxreal / in-house text); "
          f"cxreal train {len(cx)}", file=sys.stderr, flush=True)
    base = fit_shared(data, EMOTION_C, EMOTION_SOURCE_WEIGHTS)
    cv = cross_validate(base, list(cx["text"]), [list(v) for v in cx["emotions"]], list(cx["group"]), args.C,
                        args.folds, targeted=list(cx["targeted"]), offset_c=args.offset_C)
    res: dict[str, Any] = {"rows": len(cx), "scored_rows": int((cv.fold_of >= 0).sum()), "folds": args.folds,
                           "emotion_rows": len(data.texts),
                           "dropped_equal_to_cxreal_or_inhouse": dropped,
                           "settings": [*(summary(cv, a, C) for C in args.C for a in args.alphas),
                                        *(summary_offset(cv, C) for C in args.offset_C)]}
    for row in res["settings"]:
        print(json.dumps({k: v for k, v in row.items() if k != "thresholds"}, ensure_ascii=False), file=sys.stderr)
    best = max(res["settings"], key=lambda r: (r["micro_f1_nested"], -r.get("alpha", 0.0)))
    res["chosen"] = {"method": best["method"], "alpha": best.get("alpha"), "C": best["C"],
                     "micro_f1_nested": best["micro_f1_nested"],
                     "rule": "the highest nested micro-F1 (ties: the smaller alpha)"}
    res["command"] = "python -m voc_training.cxlabels.tune_emotions " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(res["chosen"], ensure_ascii=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
