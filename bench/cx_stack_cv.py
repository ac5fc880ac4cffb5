"""Stacking the cause / stage TF-IDF head with the analyzers' lexicon scores, measured by cross-validation on the
cxreal random train rows.

    VOC_DATASETS_DIR=../shared/datasets python bench/cx_stack_cv.py [--task cause|journey_stage] [--out FILE]

Level 1: the head of ``voc_training.train_cx_defaults`` (5 folds, targeted rows trained on, never scored) gives
out-of-fold probabilities. Level 2 (the variants below) reads them with the production analyzer's lexicon scores
of the same text (cause: lexicon cue strength and description similarity per cause; stage: cue strength per
stage) (a multinomial logistic regression over [log P(head), lexicon parts]; "recalibration only" reads log P alone) is itself scored by a second 5-fold split over the scored rows (fitted on four folds'
out-of-fold rows, scored on the fifth; mean of three seeds), so no row scores a model that saw it. Cause: the forced cause of the complaints (accuracy,
macro-F1); stage: the argmax with «—» (accuracy, macro-F1 over the rows).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.machine import describe  # noqa: E402
from voc_training.train_cx_defaults import (  # noqa: E402
    HEAD_C,
    NONE_LABEL,
    folds,
    forced_cause_scores,
    head_data,
    load_training_frame,
    oof_proba,
    scored_rows,
)

SEEDS = (1, 2, 3)


def lexicon_features(task: str, texts: list[str], label_set: list[str]) -> np.ndarray:
    """The analyzer's lexicon scores in ``label_set`` order (0 for labels it does not score)."""
    from voc.analyzers.cause import CauseAnalyzer
    from voc.analyzers.journey import JourneyStageAnalyzer
    from voc.analyzers.lexicon import phrase_weight
    from voc.analyzers.nlp import lemma_doc

    out = np.zeros((len(texts), 2 * len(label_set)))
    col = {lab: j for j, lab in enumerate(label_set)}
    if task == "cause":
        cause = CauseAnalyzer(model="lexicon")
        got = cause.score_parts(texts)
        lex, sim = got["lexicon"], got["similarity"]
        for k, name in enumerate(cause.labels_):
            out[:, col[name]] = lex[:, k]
            out[:, len(label_set) + col[name]] = sim[:, k]
        return out
    stage = JourneyStageAnalyzer(model="lexicon")
    for i, text in enumerate(texts):
        for m in stage.index_.matches(lemma_doc(text), (0, len(text))):
            out[i, col[m.label]] += phrase_weight(m.n_words)
    out[:, : len(label_set)] = 1.0 - np.exp(-0.7 * out[:, : len(label_set)])
    return out[:, : len(label_set)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="cause", choices=("cause", "journey_stage"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out_file = args.out or Path(__file__).parent / "results" / f"cx_stack_cv_{args.task}.json"
    t0 = time.perf_counter()
    frame, _ = load_training_frame()
    data = head_data(frame, args.task, side=False)
    labels = np.array(data.label_set)
    splits = folds(frame)
    proba = oof_proba(data, args.task, HEAD_C[args.task], splits)
    rows = scored_rows(frame)
    lex = lexicon_features(args.task, [data.texts[i] for i in rows], data.label_set)
    p = proba[rows].astype(float)
    gold = np.array([data.labels[i] for i in rows])
    has = gold != NONE_LABEL
    logp = np.log(np.clip(p, 1e-6, 1.0))

    def score(q: np.ndarray) -> dict[str, float]:
        if args.task == "cause":
            return forced_cause_scores(q, gold, data.label_set)
        pred = labels[q.argmax(axis=1)]
        return {"accuracy": round(float((pred == gold).mean()), 4),
                "macro_f1": round(float(f1_score(gold, pred, average="macro")), 4)}

    n_lab = len(labels)
    parts = {"lexicon": lex[:, :n_lab], **({"similarity": lex[:, n_lab:]} if lex.shape[1] > n_lab else {})}

    def cross(use: list[str], C: float) -> dict[str, float]:
        """Nested: the stack fitted on four folds of the scored rows, scored on the fifth; mean over seeds."""
        runs = []
        for seed in SEEDS:
            q = np.zeros_like(p)
            for fit, held in StratifiedKFold(n_splits=5, shuffle=True, random_state=seed).split(rows, gold):
                x = np.hstack([logp, *(parts[k] for k in use)])
                stack = LogisticRegression(C=C, max_iter=5000).fit(x[fit], gold[fit])
                q[np.ix_(held, [data.label_set.index(c) for c in stack.classes_])] = stack.predict_proba(x[held])
            runs.append(score(np.log(np.maximum(q, 1e-12))))
        return {k: round(float(np.mean([r[k] for r in runs])), 4) for k in runs[0]}

    results: dict[str, dict[str, float]] = {"head alone": score(p)}
    for w in (0.25, 0.5, 1.0, 2.0):
        results[f"log p + {w}·lexicon"] = score(logp + w * parts["lexicon"])
        if "similarity" in parts:
            results[f"log p + {w}·(lexicon + 4·similarity)"] = score(logp + w * (parts["lexicon"]
                                                                                + 4 * parts["similarity"]))
    for C in (0.1, 0.3, 1.0):
        results[f"stack[log p] C {C} (recalibration only)"] = cross([], C)
        results[f"stack[log p, lexicon] C {C}"] = cross(["lexicon"], C)
        if "similarity" in parts:
            results[f"stack[log p, lexicon, similarity] C {C}"] = cross(["lexicon", "similarity"], C)
    best = max(results, key=lambda k: results[k]["accuracy"] + results[k]["macro_f1"])
    out = {"benchmark": __doc__.splitlines()[0], "command": f"python bench/cx_stack_cv.py --task {args.task}",
           "machine": describe(), "date": datetime.now(UTC).isoformat(),
           "task": args.task, "scored_rows": len(rows), "complaints": int(has.sum()), "best": best,
           "results": results, "seconds": round(time.perf_counter() - t0, 1)}
    out_file.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for k, v in results.items():
        print(f"{v['accuracy']:.4f} {v['macro_f1']:.4f}  {k}")


if __name__ == "__main__":
    main()
