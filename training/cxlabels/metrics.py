"""Scores of one method's predictions against the real-text CX labels (scikit-learn's metric definitions).

Gold and predictions use the same per-row shape: ``sentiment`` (str), ``cause`` / ``journey_stage`` (str, ``""``
= none), ``topics`` / ``emotions`` (lists). A method may leave a field out; that field is then not scored.

* **cause** — accuracy and macro-F1 on the *complaints* (rows whose gold cause is non-empty; predicting none
  there is wrong); macro over the causes that occur in the gold or predicted labels of those rows. Detection:
  cause empty vs non-empty on every row (binary precision/recall/F1 of "has a cause").
* **journey_stage** — accuracy and macro-F1 on the rows with a gold stage (same label rule); the empty-stage
  rows: how many got no stage (``empty_recall``) and the binary detection of "has a stage".
* **topics**, **emotions** — micro-F1 (and macro-F1 over the labels that occur) of the multi-label sets.
* **sentiment** — macro-F1 and accuracy.

Every group carries ``rows`` and ``correct`` counts so per-source numbers add up to the overall ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer

from voc.vocab import COMPLAINT_CAUSES, EMOTIONS, JOURNEY_STAGES, SENTIMENTS
from voc_training.cxlabels.loader import TOPICS

FIELDS: tuple[str, ...] = ("sentiment", "cause", "journey_stage", "topics", "emotions")
SINGLE_FIELDS = {"sentiment": SENTIMENTS, "cause": COMPLAINT_CAUSES, "journey_stage": JOURNEY_STAGES}
MULTI_FIELDS = {"topics": TOPICS, "emotions": EMOTIONS}
#: how an empty cause / stage is shown in confusion matrices
NONE = "—"
#: issue #11 targets on the real-text eval split: (field, metric) → minimum
TARGETS: dict[tuple[str, str], float] = {
    ("cause", "accuracy"): 0.75, ("cause", "macro_f1"): 0.60, ("journey_stage", "accuracy"): 0.80,
    ("topics", "micro_f1"): 0.75, ("emotions", "micro_f1"): 0.65,
}
BOOTSTRAP_SAMPLES = 200


@dataclass
class Predictions:
    """One method's predictions, row-aligned with the gold frame; ``fields`` holds only what it predicts."""

    method: str
    fields: dict[str, list[Any]]
    description: str = ""
    notes: dict[str, Any] = field(default_factory=dict)

    def subset(self, rows: Sequence[int]) -> Predictions:
        return Predictions(self.method, {k: [v[i] for i in rows] for k, v in self.fields.items()},
                           self.description, self.notes)


def _r(x: float) -> float:
    return round(float(x), 4)


def _present(gold: Sequence[str], pred: Sequence[str], vocab: Sequence[str]) -> list[str]:
    seen = set(gold) | set(pred)
    return [v for v in vocab if v in seen]


def single_scores(gold: Sequence[str], pred: Sequence[str], vocab: Sequence[str]) -> dict[str, Any]:
    """rows, correct, accuracy and macro-F1 over the vocabulary labels present in gold or predictions."""
    labels = _present(gold, pred, vocab)
    if not gold:
        return {"rows": 0, "correct": 0, "accuracy": None, "macro_f1": None}
    return {"rows": len(gold), "correct": int(sum(g == p for g, p in zip(gold, pred, strict=True))),
            "accuracy": _r(accuracy_score(gold, pred)),
            "macro_f1": _r(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)) if labels else None}


def detection_scores(gold: Sequence[bool], pred: Sequence[bool]) -> dict[str, Any]:
    """Binary "has a label" detection: counts, accuracy, precision, recall, F1 of the positive class."""
    g, p = np.asarray(gold, bool), np.asarray(pred, bool)
    out: dict[str, Any] = {"rows": len(g), "tp": int((g & p).sum()), "fp": int((~g & p).sum()),
                           "fn": int((g & ~p).sum()), "tn": int((~g & ~p).sum())}
    if len(g):
        prec, rec, f1, _ = precision_recall_fscore_support(g, p, average="binary", pos_label=True, zero_division=0)
        out.update(accuracy=_r(accuracy_score(g, p)), precision=_r(prec), recall=_r(rec), f1=_r(f1))
    return out


def multi_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], vocab: Sequence[str]) -> dict[str, Any]:
    """Micro/macro-F1, micro precision/recall and exact-set accuracy of multi-label sets over ``vocab``."""
    mlb = MultiLabelBinarizer(classes=list(vocab))
    y, p = mlb.fit_transform(gold), mlb.transform(pred)
    out: dict[str, Any] = {"rows": len(gold), "correct": int((y == p).all(axis=1).sum()) if len(gold) else 0,
                           "gold_labels": int(y.sum()), "predicted_labels": int(p.sum())}
    if not len(gold):
        return out
    present = np.flatnonzero(y.any(axis=0) | p.any(axis=0))
    prec, rec, f1, _ = precision_recall_fscore_support(y, p, average="micro", zero_division=0)
    out.update(micro_f1=_r(f1), precision=_r(prec), recall=_r(rec), macro_f1=None, exact=_r(accuracy_score(y, p)),
               per_label_f1={})
    if len(present):
        per_label = f1_score(y, p, labels=present, average=None, zero_division=0)
        out["macro_f1"] = _r(f1_score(y, p, labels=present, average="macro", zero_division=0))
        out["per_label_f1"] = {vocab[j]: _r(v) for j, v in zip(present, per_label, strict=True)}
    return out


def score(gold: pd.DataFrame, pred: Predictions) -> dict[str, Any]:
    """Every scored field of ``pred`` against ``gold`` (one row each, same order)."""
    out: dict[str, Any] = {"rows": len(gold)}
    f = pred.fields
    if "sentiment" in f:
        out["sentiment"] = single_scores(list(gold["sentiment"]), list(f["sentiment"]), SENTIMENTS)
    for name in ("cause", "journey_stage"):
        if name not in f:
            continue
        g_all, p_all = list(gold[name]), ["" if v is None else str(v) for v in f[name]]
        keep = [i for i, g in enumerate(g_all) if g]
        s = single_scores([g_all[i] for i in keep], [p_all[i] for i in keep], SINGLE_FIELDS[name])
        s["detection"] = detection_scores([bool(g) for g in g_all], [bool(p) for p in p_all])
        s["accuracy_all_rows"] = _r(accuracy_score(g_all, p_all)) if g_all else None
        empty = [i for i, g in enumerate(g_all) if not g]
        s["empty_rows"] = len(empty)
        s["empty_predicted_empty"] = sum(1 for i in empty if not p_all[i])
        s["empty_recall"] = _r(s["empty_predicted_empty"] / len(empty)) if empty else None
        out[name] = s
    for name, vocab in MULTI_FIELDS.items():
        if name in f:
            out[name] = multi_scores(list(gold[name]), [list(v) for v in f[name]], vocab)
    if "topics" in f and pred.notes.get("topic_vocabulary"):
        vocab = pred.notes["topic_vocabulary"]
        out["topics"]["micro_f1_on_method_vocabulary"] = multi_scores(
            [[t for t in g if t in vocab] for g in gold["topics"]], [list(v) for v in f["topics"]], vocab).get("micro_f1")
    return out


def confusion(gold: Sequence[str], pred: Sequence[str], vocab: Sequence[str]) -> dict[str, Any]:
    """Confusion matrix over every row, the empty label shown as ``—``: rows = gold, columns = predicted."""
    labels = [*vocab, NONE]
    g = [v or NONE for v in gold]
    p = [(v or NONE) if v is not None else NONE for v in pred]
    return {"labels": labels, "matrix": confusion_matrix(g, p, labels=labels).tolist()}


def targets_met(overall: dict[str, Any]) -> dict[str, Any]:
    """For each issue #11 target the method's value and whether it reaches it (None when not scored)."""
    out = {}
    for (fld, metric), minimum in TARGETS.items():
        value = overall.get(fld, {}).get(metric)
        out[f"{fld}.{metric}"] = {"target": minimum, "value": value,
                                  "met": None if value is None else bool(value >= minimum)}
    return out


def bootstrap_ci(gold: pd.DataFrame, pred: Predictions, n: int = BOOTSTRAP_SAMPLES,
                 seed: int = 0) -> dict[str, list[float] | None]:
    """95 % percentile bootstrap intervals (rows resampled with replacement) of the target metrics."""
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {f"{f}.{m}": [] for f, m in TARGETS}
    for _ in range(n):
        idx = rng.integers(0, len(gold), len(gold))
        s = score(gold.iloc[idx].reset_index(drop=True), pred.subset(idx.tolist()))
        for f, m in TARGETS:
            value = s.get(f, {}).get(m)
            if value is not None:
                draws[f"{f}.{m}"].append(value)
    return {k: [_r(np.percentile(v, 2.5)), _r(np.percentile(v, 97.5))] if v else None for k, v in draws.items()}


def score_all(gold: pd.DataFrame, pred: Predictions, by: Sequence[str] = ("source", "domain"),
              bootstrap: int = 0) -> dict[str, Any]:
    """Overall scores (with ``bootstrap`` resamples: 95 % intervals of the target metrics), the same per value of
    each ``by`` column, the cause and stage confusion matrices."""
    for name, values in pred.fields.items():
        if len(values) != len(gold):
            raise ValueError(f"{pred.method}: {len(values)} {name} predictions for {len(gold)} gold rows")
    overall = score(gold, pred)
    out: dict[str, Any] = {"overall": overall, "targets": targets_met(overall)}
    if bootstrap:
        for key, ci in bootstrap_ci(gold, pred, bootstrap).items():
            out["targets"][key]["ci95"] = ci
    for col in by:
        if col not in gold.columns:
            continue
        groups: dict[str, Any] = {}
        for value, idx in gold.groupby(col, sort=True).indices.items():
            rows = [int(i) for i in idx]
            groups[str(value)] = score(gold.iloc[rows].reset_index(drop=True), pred.subset(rows))
        out[f"by_{col}"] = groups
    out["confusion"] = {name: confusion(list(gold[name]), pred.fields[name], SINGLE_FIELDS[name])
                        for name in ("cause", "journey_stage") if name in pred.fields}
    return out
