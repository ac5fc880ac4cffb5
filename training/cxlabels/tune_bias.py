"""Calibrate the label biases of the shipped cause and journey-stage heads — and with them the «no cause» /
«no stage» gate — by cross-validation on the cxreal **train** split only (the eval split is never read).

    python -m voc_training.cxlabels.tune_bias [--folds 5] [--cache DIR] [--out bench/results/cx_bias_cv.json]

A bias ``b`` per label is added to the head's log-probabilities (= to the logistic regression's intercepts, so the
shipped head keeps its format): ``b[«—»]`` moves the line between «some cause / stage» and «none» — the gate —, the
others re-weight the labels against each other (class priors). The out-of-fold probabilities of
``voc_training.cxlabels.tune_heads`` (each fold's head fitted on the other folds) go through the analyzers' own
decision rules (``cause_rule``, ``stage_rule``) on the cxreal train rows as ``voc analyze`` sees them (redacted text,
the shipped sentiment label, the lexicons). Biases are fitted by coordinate ascent over a grid; the estimate that
chooses is **nested**: each fold decided with the biases fitted on the other folds' rows.

``stacking`` also scores a small logistic regression over the heads' and lexicons' outputs, nested the same way
(measured only: shipping it would need an analyzer change).

Objectives, fixed before looking: cause — accuracy over all rows with «no cause» as a label (a right cause for a
complaint, none for the rest: LABELLING.md's gate), stage — accuracy over all rows with «no stage» as a label (the
rule ``tune_heads`` chose the stage setting by).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voc_training.cxlabels.tune_heads import (
    CAUSE_LABELS,
    STAGE_LABELS,
    cause_rule,
    score_cause,
    score_stage,
    stage_rule,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = REPO_ROOT / "bench" / "results" / "cx_bias_cv.json"
BIAS_GRID = np.round(np.arange(-2.0, 2.01, 0.25), 2)


def shift(proba: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Probabilities with ``bias`` added to the log-probabilities, renormalised (= intercepts + bias)."""
    z = np.log(np.maximum(proba, 1e-12)) + bias
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def all_rows_accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    return float(np.mean([g == p for g, p in zip(gold, pred, strict=True)]))


def labelled_accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Accuracy on the rows with a gold label (none there is wrong): the target metric of cause and stage."""
    pairs = [(g, p) for g, p in zip(gold, pred, strict=True) if g]
    return float(np.mean([g == p for g, p in pairs])) if pairs else 0.0


def detection_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    """F1 of «has a label» vs none over all rows."""
    g, p = np.array([bool(x) for x in gold]), np.array([bool(x) for x in pred])
    tp, fp, fn = int((g & p).sum()), int((~g & p).sum()), int((g & ~p).sum())
    return 2 * tp / max(2 * tp + fp + fn, 1)


#: the objectives the biases are fitted to (each reported; the one shipped is named in train_cx_defaults.LABEL_BIAS)
CAUSE_OBJECTIVES: dict[str, Callable[[Sequence[str], Sequence[str]], float]] = {
    "all-rows accuracy": all_rows_accuracy,
    "accuracy on complaints": labelled_accuracy,
    "accuracy on complaints + detection F1": lambda g, p: labelled_accuracy(g, p) + detection_f1(g, p),
}
STAGE_OBJECTIVES: dict[str, Callable[[Sequence[str], Sequence[str]], float]] = {
    "all-rows accuracy": all_rows_accuracy,
    "accuracy on rows with a stage": labelled_accuracy,
}


def _show(name: str, entry: dict[str, Any]) -> None:
    short = {k: {kk: vv for kk, vv in v.items() if kk != "fold_biases"} if isinstance(v, dict) else v
             for k, v in entry.items()}
    print(name, json.dumps(short, ensure_ascii=False), file=sys.stderr, flush=True)


def fit_bias(proba: np.ndarray, objective: Callable[[np.ndarray], float], rounds: int = 2,
             grid: np.ndarray = BIAS_GRID) -> np.ndarray:
    """Coordinate ascent: each label's bias in turn set to the grid value maximising ``objective(shifted)``
    (ties → the smallest |bias|); ``rounds`` passes over the labels, starting from zero."""
    bias = np.zeros(proba.shape[1])
    order = np.argsort(np.abs(grid), kind="stable")
    for _ in range(rounds):
        for j in range(proba.shape[1]):
            best, best_v = bias[j], -1.0
            for v in grid[order]:
                trial = bias.copy()
                trial[j] = v
                score = objective(shift(proba, trial))
                if score > best_v + 1e-9:
                    best, best_v = v, score
            bias[j] = best
    return bias


def nested(proba: np.ndarray, fold_of: np.ndarray, fit: Callable[[np.ndarray, np.ndarray], np.ndarray],
           decide: Callable[[np.ndarray, np.ndarray], list[str]]) -> tuple[list[str], list[list[float]]]:
    """Each fold decided with the biases ``fit`` finds on the other folds' rows (row indices given to both)."""
    pred: list[str] = [""] * len(proba)
    biases = []
    for k in np.unique(fold_of):
        rest, held = np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)
        bias = fit(proba, rest)
        biases.append([round(float(b), 2) for b in bias])
        for i, p in zip(held, decide(shift(proba[held], bias), held), strict=True):
            pred[i] = p
    return pred, biases


def stacking(p_cause: np.ndarray, p_stage: np.ndarray, ctx: dict[str, Any], sent: np.ndarray, lex: np.ndarray,
             gold_cause: Sequence[str], gold_stage: Sequence[str], fold_of: np.ndarray) -> dict[str, Any]:
    """A small multinomial logistic regression over [log head probabilities, lexicon stage cue scores, the cause
    lexicon's label and the sentiment (one-hot)], fitted on the other folds' out-of-fold rows and scored on the
    held-out fold — would the analyzers gain from stacking the lexicons onto the heads? (Shipping it needs an
    analyzer change; measured only.)"""
    from sklearn.linear_model import LogisticRegression

    def onehot(values: np.ndarray, vocab: Sequence[str]) -> np.ndarray:
        return np.array([[v == w for w in vocab] for v in values], dtype=float)

    feats = np.hstack([np.log(np.maximum(p_cause, 1e-6)), np.log(np.maximum(p_stage, 1e-6)), ctx["stage_cues"],
                       onehot(lex, CAUSE_LABELS[:-1]), onehot(sent, ["negative", "neutral", "positive"])])
    out: dict[str, Any] = {"features": "log P(cause head), log P(stage head), stage cue scores, cause lexicon label, "
                                       "sentiment"}
    for field, gold, labels in (("cause", gold_cause, CAUSE_LABELS), ("journey_stage", gold_stage, STAGE_LABELS)):
        y = np.array([labels.index(g or "—") for g in gold])
        for C in (0.1, 1.0):
            pred = [""] * len(y)
            for k in np.unique(fold_of):
                rest, held = fold_of != k, np.flatnonzero(fold_of == k)
                clf = LogisticRegression(C=C, max_iter=3000).fit(feats[rest], y[rest])
                for i, j in zip(held, clf.predict(feats[held]), strict=True):
                    pred[i] = "" if labels[j] == "—" else labels[j]
            score = score_cause(gold, pred) if field == "cause" else score_stage(gold, pred)
            out[f"{field} C={C}"] = {**score, "accuracy_all_rows": round(all_rows_accuracy(gold, pred), 4)}
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=None, help="keep/reuse the out-of-fold arrays and context here")
    parser.add_argument("--out", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    import pickle

    from voc_training.cxlabels.tune_heads import oof_all, production_context, stage_hints
    from voc_training.train_cx_defaults import HEAD_C, folds, load_training_frame, scored_rows

    frame, _ = load_training_frame()
    splits = folds(frame, args.folds)
    cache = args.cache / f"bias-{args.folds}.pkl" if args.cache else None
    if cache is not None and cache.is_file():
        oof, ctx = pickle.loads(cache.read_bytes())
    else:
        oof = {**oof_all(frame, splits, [HEAD_C["cause"]], ["cause"]),
               **oof_all(frame, splits, [HEAD_C["journey_stage"]], ["journey_stage"])}
        cx_rows = list(scored_rows(frame))
        ctx = production_context([frame["text"].iloc[i] for i in cx_rows])
        ctx["topics_lexicon"] = [dict(d) for d in ctx["topics_lexicon"]]
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(pickle.dumps((oof, ctx)))
    cx = scored_rows(frame)
    fold_of_all = np.zeros(len(frame), dtype=int)
    for k, (_, held) in enumerate(splits):
        fold_of_all[held] = k
    fold_of = fold_of_all[cx]
    gold_cause = list(frame["cause"].iloc[cx])
    gold_stage = list(frame["journey_stage"].iloc[cx])
    sent, lex = np.array(ctx["sentiment"]), np.array(ctx["cause_lexicon"])
    res: dict[str, Any] = {"rows": len(cx), "folds": args.folds, "C": HEAD_C, "cause": {}, "journey_stage": {}}

    p_cause = oof[f"cause@{HEAD_C['cause']}"][cx]
    for rule_name, neg_none in (("shipped rule (negatives forced, others_min 0.5)", "forced"),
                                ("gate: «—» → none for every record (needs an analyzer change)", "none")):
        def decide(p: np.ndarray, rows: np.ndarray, neg_none: str = neg_none) -> list:
            return cause_rule(p, sent[rows], lex[rows], negative_none=neg_none, other_to_lexicon=True,
                              others_min=0.5)

        base = decide(p_cause, np.arange(len(cx)))
        entry: dict[str, Any] = {"no_bias": {**score_cause(gold_cause, base),
                                             "accuracy_all_rows": round(all_rows_accuracy(gold_cause, base), 4)}}
        for obj_name, objective in CAUSE_OBJECTIVES.items():
            def fit(p: np.ndarray, rows: np.ndarray, decide: Callable = decide, objective: Callable = objective):
                g = [gold_cause[i] for i in rows]
                return fit_bias(p[rows], lambda q: objective(g, decide(q, rows)))

            pred, biases = nested(p_cause, fold_of, fit, decide)
            full = fit(p_cause, np.arange(len(cx)))
            entry[f"nested, objective {obj_name}"] = {
                **score_cause(gold_cause, pred), "accuracy_all_rows": round(all_rows_accuracy(gold_cause, pred), 4),
                "fold_biases": biases,
                "bias_all_rows": dict(zip(CAUSE_LABELS, [round(float(b), 2) for b in full], strict=True))}
        res["cause"][rule_name] = entry
        _show(rule_name, entry)

    p_stage = oof[f"journey_stage@{HEAD_C['journey_stage']}"][cx]
    zeros = stage_hints([[] for _ in cx], [{} for _ in cx], {})

    def decide_stage(p: np.ndarray, rows: np.ndarray) -> list[str]:
        return stage_rule(p, ctx["stage_cues"][rows], zeros[rows], none_min=0.0, none_to="none")

    base = decide_stage(p_stage, np.arange(len(cx)))
    entry = {"no_bias": {**score_stage(gold_stage, base)}}
    for obj_name, objective in STAGE_OBJECTIVES.items():
        def fit_stage(p: np.ndarray, rows: np.ndarray, objective: Callable = objective) -> np.ndarray:
            g = [gold_stage[i] for i in rows]
            return fit_bias(p[rows], lambda q: objective(g, decide_stage(q, rows)))

        pred, biases = nested(p_stage, fold_of, fit_stage, decide_stage)
        full = fit_stage(p_stage, np.arange(len(cx)))
        entry[f"nested, objective {obj_name}"] = {
            **score_stage(gold_stage, pred), "fold_biases": biases,
            "bias_all_rows": dict(zip(STAGE_LABELS, [round(float(b), 2) for b in full], strict=True))}
    res["journey_stage"]["shipped rule («—» → no stage)"] = entry
    _show("stage", entry)
    res["stacking"] = stacking(p_cause, p_stage, ctx, sent, lex, gold_cause, gold_stage, fold_of)
    _show("stacking", res["stacking"])
    res["command"] = "python -m voc_training.cxlabels.tune_bias " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
