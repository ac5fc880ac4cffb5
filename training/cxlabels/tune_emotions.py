"""Choose the cxreal sample weight and the per-emotion thresholds of the shipped emotion head by cross-validation
on the cxreal **train** split only (the eval split is never read, and its texts are dropped from every source).

    python -m training.cxlabels.tune_emotions [--weights 0 5 20] [--folds 5] [--out bench/results/cx_emotions_cv.json]

The emotion head (``training.train_defaults``: cedr, semeval2025_ru, ru_izard, silver благодарность rows, in-house
train) is refitted with the cxreal train rows added at sample weight ``w`` (all six emotions annotated). The TF-IDF
features are fitted once, on the non-cxreal rows; per fold of the cxreal rows (stratified by source file, the same
folds as ``training.train_cx_defaults``) the logistic regressions are refitted without the held-out fold and score it.
Weight 0 = the head without cxreal rows (the shipped recipe). Per weight: micro-F1 with thresholds tuned on the
same out-of-fold probabilities (optimistic) and **nested** (each fold's thresholds tuned on the other folds' rows —
the honest estimate used to choose).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = REPO_ROOT / "bench" / "results" / "cx_emotions_cv.json"
WEIGHT_GRID = (0.0, 5.0, 20.0)
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
    from training.cxlabels.select import text_key
    from training.data import INHOUSE_SOURCE, drop_sparse_annotations, load_emotions_train
    from training.train_defaults import EMOTION_INHOUSE_MIN_POSITIVES

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
    """Out-of-fold emotion probabilities of the cxreal rows per cxreal weight, and what produced them."""

    labels: list[str]
    y: np.ndarray  # (cxreal rows, labels) gold 0/1
    fold_of: np.ndarray  # fold of each cxreal row
    oof: dict[float, np.ndarray]
    base: Any  # the head fitted without cxreal rows (its TF-IDF features were used for every fold)


def cross_validate(data: Any, cx_texts: Sequence[str], cx_emotions: Sequence[Sequence[str]],
                   cx_groups: Sequence[str], weights: Sequence[float], n_folds: int = 5, C: float = 4.0,
                   source_weights: dict[str, float] | None = None) -> EmotionCV:
    """Fit the head on ``data`` (the non-cxreal rows, features fitted on them once), then per fold of the cxreal
    rows (stratified by ``cx_groups``) refit the logistic regressions with the other folds' cxreal rows added at
    each weight, and score the held-out fold. Weight 0: the head without cxreal rows."""
    from models.base import ModelInfo
    from models.tfidf import TfidfClassifier
    from voc.vocab import EMOTIONS

    labels = list(EMOTIONS)
    t0 = time.perf_counter()
    base = TfidfClassifier(ModelInfo(name="emotions-cv", version="0", task="emotions", kind="tfidf", labels=[]), C=C)
    w_base = np.array([(source_weights or {}).get(s, 1.0) for s in data.sources])
    base.fit(data.texts, data.labels, label_set=labels, multilabel=True, known=data.known, sample_weight=w_base,
             val_fraction=0.0, seed=0)
    print(f"  emotions base fit {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    x_base = base.transform(data.texts)
    y_base = np.array([[lab in ls for lab in labels] for ls in data.labels], dtype=np.int8)
    m_base = np.array([[lab in ks for lab in labels] for ks in data.known], dtype=bool)
    x_cx = base.transform(list(cx_texts))
    y_cx = np.array([[lab in ls for lab in labels] for ls in cx_emotions], dtype=np.int8)
    splits = list(StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=0).split(x_cx, list(cx_groups)))
    fold_of = np.zeros(len(y_cx), dtype=int)
    for k, (_, held) in enumerate(splits):
        fold_of[held] = k
    fitted = (base.coef_, base.intercept_)
    oof: dict[float, np.ndarray] = {}
    for w in weights:
        if w == 0:
            oof[w] = base.proba_from_features(x_cx)
            continue
        oof[w] = np.zeros(y_cx.shape, dtype=np.float32)
        for k, (fit, held) in enumerate(splits, start=1):
            t1 = time.perf_counter()
            base._fit_multilabel(sp.vstack([x_base, x_cx[fit]], format="csr"), np.vstack([y_base, y_cx[fit]]),
                                 np.vstack([m_base, np.ones((len(fit), len(labels)), dtype=bool)]),
                                 np.concatenate([w_base, np.full(len(fit), w)]), 0)
            oof[w][held] = base.proba_from_features(x_cx[held])
            print(f"  emotions w={w} fold {k}: {time.perf_counter() - t1:.0f} s", file=sys.stderr, flush=True)
    base.coef_, base.intercept_ = fitted
    return EmotionCV(labels, y_cx, fold_of, oof, base)


def summary(cv: EmotionCV, w: float) -> dict[str, Any]:
    """Scores of one weight: nested (the honest estimate), thresholds tuned on the same rows, fixed 0.5."""
    proba, y = cv.oof[w], cv.y
    thr_all = tune_thresholds(proba, y)
    nested = nested_predictions(proba, y, cv.fold_of)
    return {"cxreal_weight": w, "micro_f1_nested": micro_f1(y, nested),
            "macro_f1_nested": round(float(f1_score(y, nested, average="macro", zero_division=0)), 4),
            "micro_f1_thresholds_on_same_rows": micro_f1(y, decide(proba, thr_all)),
            "micro_f1_at_0.5": micro_f1(y, decide(proba, np.full(len(cv.labels), 0.5))),
            "per_label_f1_nested": {lab: round(float(f1_score(y[:, j], nested[:, j], zero_division=0)), 4)
                                    for j, lab in enumerate(cv.labels)},
            "thresholds": {lab: float(t) for lab, t in zip(cv.labels, thr_all, strict=True)}}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=float, nargs="+", default=list(WEIGHT_GRID))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)

    from datasets.inhouse import load_inhouse
    from training.cxlabels.loader import load_cxreal
    from training.train_cx_defaults import load_training_frame
    from training.train_defaults import EMOTION_C, EMOTION_SOURCE_WEIGHTS

    frame, _ = load_training_frame()  # cxreal train minus any text equal to an eval text
    cx = frame[frame["source"] == "cxreal"].rename(columns={"group": "source_file"}).reset_index(drop=True)
    cx_eval = load_cxreal("eval")
    data, dropped = emotion_training_rows([*cx["text"], *cx_eval["text"], *load_inhouse("eval")["text"]])
    print(f"emotion rows {len(data.texts)} (dropped {dropped} equal to a cxreal / in-house text); "
          f"cxreal train {len(cx)}", file=sys.stderr, flush=True)
    cv = cross_validate(data, list(cx["text"]), list(cx["emotions"]), list(cx["source_file"]), args.weights, args.folds,
                        EMOTION_C, EMOTION_SOURCE_WEIGHTS)
    res: dict[str, Any] = {"rows": len(cx), "folds": args.folds, "emotion_rows": len(data.texts),
                           "dropped_equal_to_cxreal_or_inhouse": dropped,
                           "weights": [summary(cv, w) for w in args.weights]}
    for row in res["weights"]:
        print(json.dumps(row, ensure_ascii=False), file=sys.stderr, flush=True)
    best = max(res["weights"], key=lambda r: r["micro_f1_nested"])
    res["chosen"] = {"cxreal_weight": best["cxreal_weight"], "micro_f1_nested": best["micro_f1_nested"],
                     "rule": "the highest nested micro-F1"}
    res["command"] = "python -m training.cxlabels.tune_emotions " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(res["chosen"], ensure_ascii=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
