"""Does the e5 student's output help the shipped cause head? A stack, scored where the student saw no labels.

    VOC_DATASETS_DIR=../shared/datasets python bench/cx_student_stack_cv.py   # ~9 min on 2 cores

Out-of-fold probabilities of the shipped cause recipe (TF-IDF + the lexicon side block, ``train_cx_defaults``
folds), then a small logistic regression over [log P(head)] (recalibration only) or [log P(head), log P of the
shipped ``mt-student`` heads], scored by a nested 5-fold split (three seeds) as the forced cause on the complaints.
The student's cause head was refitted on rounds 1–4 (decision 75), so the scores on every random row are optimistic
for it; the 1,231 round-5 rows (698 complaints) are the honest measure. Decision 84.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from voc_models.multitask import MultiTaskRunner  # noqa: E402
from voc_training.cxlabels.select import text_key  # noqa: E402
from voc_training.train_cx_defaults import (  # noqa: E402
    HEAD_C,
    folds,
    forced_cause_scores,
    head_data,
    load_training_frame,
    oof_proba,
    scored_rows,
)

SEEDS = (0, 1, 2)


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, 1e-6, 1.0))


def nested_stack(x: np.ndarray, gold: np.ndarray, groups: np.ndarray, label_set: list[str], C: float) -> np.ndarray:
    """Out-of-fold probabilities of a logistic regression over ``x`` (5 folds by group, mean of ``SEEDS``)."""
    out = np.zeros((len(gold), len(label_set)))
    for seed in SEEDS:
        for fit, held in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, groups):
            clf = LogisticRegression(C=C, max_iter=3000).fit(x[fit], gold[fit])
            cols = [label_set.index(c) for c in clf.classes_]
            out[np.ix_(held, cols)] += clf.predict_proba(x[held]) / len(SEEDS)
    return out


def main() -> None:
    t0 = time.perf_counter()
    frame, _ = load_training_frame()
    data = head_data(frame, "cause")
    rows = scored_rows(frame)
    texts = [data.texts[i] for i in rows]
    gold = np.array(data.labels)[rows]
    groups = frame["group"].to_numpy()[rows]
    round5 = set(pd.read_csv(ROOT / "datasets/cxreal/round5_uids.csv", dtype=str)["text_sha1"])
    unseen = np.array([text_key(t) in round5 for t in texts])
    student = MultiTaskRunner(ROOT / "models/shipped/mt-student", backend="onnx").proba(texts, cache=False)
    head = oof_proba(data, "cause", HEAD_C["cause"], folds(frame))[rows]

    def scores(p: np.ndarray) -> dict[str, dict[str, float]]:
        return {"all": forced_cause_scores(p, gold, data.label_set),
                "round5": forced_cause_scores(p[unseen], gold[unseen], data.label_set)}

    features = {"head log P (recalibration)": _log(head),
                "+ student cause head": np.hstack([_log(head), _log(student["cause"])]),
                "+ student every head": np.hstack([_log(head)] + [_log(student[h]) for h in sorted(student)])}
    results = {"head as is": scores(head)}
    for name, x in features.items():
        for C in (0.1, 1.0):
            results[f"{name} C{C}"] = scores(nested_stack(x, gold, groups, data.label_set, C))
    results["n"] = {"rows": len(rows), "complaints": int((gold != "—").sum()), "round5": int(unseen.sum()),
                    "round5_complaints": int(((gold != "—") & unseen).sum())}
    out = {"benchmark": __doc__.splitlines()[0], "command": "python bench/cx_student_stack_cv.py",
           "machine": describe(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
           "seconds": round(time.perf_counter() - t0, 1), "results": results}
    (ROOT / "bench/results/cx_student_stack_cv.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n",
                                                                 encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
