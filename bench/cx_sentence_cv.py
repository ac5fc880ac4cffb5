"""Sentence-level reading of the complaint cause, measured by cross-validation on the cxreal random train rows.

    VOC_DATASETS_DIR=../shared/datasets python bench/cx_sentence_cv.py [--out bench/results/cx_sentence_cv.json]

The TF-IDF cause head of ``voc_training.train_cx_defaults`` (5 folds, targeted rows trained on, never scored) is
run on each text and on each of its sentences (razdel, ≥ 15 characters); a text's cause probabilities become
its own + λ × an aggregate over its sentences (mean, max, last sentence, the most complaint-like sentence). Scored
as the cause forced on the complaints (accuracy, macro-F1). Decision 74: no variant beat the whole text.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from razdel import sentenize

from voc_training.train_cx_defaults import (
    HEAD_C,
    NONE_LABEL,
    fit_head,
    folds,
    forced_cause_scores,
    head_data,
    load_training_frame,
    scored_rows,
)

LAMBDAS = (0.25, 0.5, 1.0, 2.0)
AGGREGATES = ("mean", "max", "last", "most_complaint")
MIN_SENTENCE_CHARS = 15


def aggregate(sentences: np.ndarray, how: str, none: int) -> np.ndarray:
    """One probability row from a text's sentence rows."""
    if how == "mean":
        return sentences.mean(axis=0)
    if how == "max":
        return sentences.max(axis=0)
    if how == "last":
        return sentences[-1]
    return sentences[int(np.argmin(sentences[:, none]))]  # the sentence least likely to be «no cause»


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "cx_sentence_cv.json")
    args = parser.parse_args()
    t0 = time.perf_counter()
    frame, _ = load_training_frame()
    data = head_data(frame, "cause", side=False)
    labels = np.array(data.label_set)
    none = data.label_set.index(NONE_LABEL)
    doc = np.zeros((len(frame), len(labels)))
    sentences: dict[int, np.ndarray] = {}
    for fit, held in folds(frame):
        model = fit_head(data, "cause", HEAD_C["cause"], fit)
        doc[held] = model.predict_proba([data.texts[i] for i in held])
        pieces = [(i, s.text) for i in held for s in sentenize(data.texts[i]) if len(s.text) >= MIN_SENTENCE_CHARS]
        proba = model.predict_proba([t for _, t in pieces]) if pieces else np.zeros((0, len(labels)))
        owners = np.array([i for i, _ in pieces])
        for i in set(owners.tolist()):
            sentences[i] = proba[owners == i]
    rows = scored_rows(frame)
    gold = np.array([data.labels[i] for i in rows])
    has = gold != NONE_LABEL

    def score(p: np.ndarray) -> dict[str, float]:
        return forced_cause_scores(p, gold, data.label_set)

    results = {"whole text": score(doc[rows])}
    for lam in LAMBDAS:
        for how in AGGREGATES:
            p = np.array([doc[i] + lam * aggregate(sentences[i], how, none) if len(sentences.get(i, ())) >= 2
                          else doc[i] for i in rows])
            results[f"{how} @ λ {lam}"] = score(p)
    out = {"benchmark": __doc__.splitlines()[0], "command": "python bench/cx_sentence_cv.py",
           "machine": {"cpu": platform.processor() or platform.machine()}, "date": datetime.now(UTC).isoformat(),
           "scored_rows": len(rows), "complaints": int(has.sum()),
           "multi_sentence_rows": sum(1 for i in rows if len(sentences.get(int(i), ())) >= 2),
           "results": results, "seconds": round(time.perf_counter() - t0, 1)}
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
