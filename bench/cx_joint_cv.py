"""The cause head with the analyzers' lexicon scores as extra features in one regression (the ``tfidf+lexicon``
method of ``voc_training.cxlabels.evaluate``), measured by cross-validation on the cxreal random train rows.

    VOC_DATASETS_DIR=../shared/datasets python bench/cx_joint_cv.py [--out bench/results/cx_joint_cv.json]

Per fold of ``voc_training.train_cx_defaults.folds`` (targeted rows trained on, never scored): the shipped recipe's
TF-IDF cause head is fitted on the other folds; its TF-IDF features plus ``w`` × ``methods.lexicon_features`` (cause
cue and similarity scores, stage cue strengths, taxonomy topic strengths) feed one balanced logistic regression (C as
the head's). Scored as the forced cause on the complaints (accuracy, macro-F1), next to the head alone. ~30 min on
2 cores (three weights). Decision 79: macro-F1 +1.7 points, accuracy −0.3. Shipped since decision 82: the shipped
cause head is the joint one at weight 1.0 (``train_cx_defaults.SIDE_FEATURES``), so "head alone" here is the TF-IDF
head without its side block (``head_data(..., side=False)``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.machine import describe  # noqa: E402
from voc_training.cxlabels.methods import lexicon_features  # noqa: E402
from voc_training.train_cx_defaults import (  # noqa: E402
    HEAD_C,
    NONE_LABEL,
    fit_head,
    folds,
    forced_cause_scores,
    head_data,
    load_training_frame,
    scored_rows,
)

WEIGHTS = (0.5, 1.0, 2.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "cx_joint_cv.json")
    args = parser.parse_args()
    t0 = time.perf_counter()
    frame, _ = load_training_frame()
    data = head_data(frame, "cause", side=False)
    labels = np.array(data.label_set)
    lex = lexicon_features()(data.texts)
    gold = np.array(data.labels)
    rows = scored_rows(frame)
    has = gold[rows] != NONE_LABEL
    joint = {w: np.zeros((len(gold), len(labels))) for w in WEIGHTS}
    head = np.zeros((len(gold), len(labels)))
    for fit, held in folds(frame):
        model = fit_head(data, "cause", HEAD_C["cause"], fit)
        head[held] = model.predict_proba([data.texts[i] for i in held])
        x_fit = model.transform([data.texts[i] for i in fit])
        x_held = model.transform([data.texts[i] for i in held])
        for w in WEIGHTS:
            clf = LogisticRegression(C=HEAD_C["cause"], class_weight="balanced", max_iter=2000, random_state=0).fit(
                sp.hstack([x_fit, sp.csr_matrix(w * lex[fit])], format="csr"), gold[fit],
                sample_weight=data.weights[fit])
            cols = [data.label_set.index(c) for c in clf.classes_]
            joint[w][np.ix_(held, cols)] = clf.predict_proba(sp.hstack([x_held, sp.csr_matrix(w * lex[held])],
                                                                       format="csr"))

    def score(p: np.ndarray) -> dict[str, float]:
        return forced_cause_scores(p[rows], gold[rows], data.label_set)

    results = {"head alone": score(head), **{f"joint tfidf+lexicon w {w}": score(p) for w, p in joint.items()}}
    out = {"benchmark": __doc__.splitlines()[0], "command": "python bench/cx_joint_cv.py", "machine": describe(),
           "date": datetime.now(UTC).isoformat(), "scored_rows": len(rows), "complaints": int(has.sum()),
           "results": results, "seconds": round(time.perf_counter() - t0, 1)}
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
