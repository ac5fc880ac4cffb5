"""Choose how the analyzers combine the shipped heads with their lexicons, by cross-validation on the cxreal
**train** split only (the eval split is never read here).

    python -m voc_training.cxlabels.tune_heads [--folds 5] [--C 2 4 8] [--cache DIR] [--out bench/results/cx_heads_cv.json]

1. Out-of-fold head probabilities: the training rows of ``voc_training.train_cx_defaults`` (cxreal train + in-house
   train) in stratified folds; each fold's heads (cause, journey stage, topics) are fitted on the other folds, for
   every C of the grid (the TF-IDF features are fitted once per fold).
2. The production context of each cxreal train row, as ``voc analyze`` sees it: the redacted text, the shipped
   sentiment model's label, the cause lexicon's label, the stage lexicon's cue scores and the taxonomy topics.
3. The combination rules (``cause_rule``, ``stage_rule``, ``topics_rule`` — the same decisions the analyzers
   take, written over arrays) are scored on the cxreal rows for a small grid of settings, with the eval
   split's metrics (``voc_training.cxlabels.metrics``). The chosen settings are the defaults of the analyzers
   (docs/cause_and_stage.md); ``--verify`` re-runs the real analyzers on the folds to check the simulation.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from voc.vocab import COMPLAINT_CAUSES, JOURNEY_STAGES
from voc_models.base import NONE_LABEL
from voc_training.cxlabels.loader import TOPICS
from voc_training.cxlabels.metrics import multi_scores, single_scores

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = REPO_ROOT / "bench" / "results" / "cx_heads_cv.json"
C_GRID = (2.0, 4.0, 8.0)


# ---------------------------------------------------------------- 1. out-of-fold probabilities
def oof_all(frame: pd.DataFrame, splits: Sequence[tuple[np.ndarray, np.ndarray]], c_grid: Sequence[float],
            tasks: Sequence[str]) -> dict[str, np.ndarray]:
    """``{f"{task}@{C}": (n_rows, n_labels)}`` out-of-fold probabilities; features fitted once per fold/task."""
    from voc_training.train_cx_defaults import fit_head, head_data, head_features

    out: dict[str, np.ndarray] = {}
    for task in tasks:
        data = head_data(frame, task)
        for C in c_grid:
            out[f"{task}@{C}"] = np.zeros((len(frame), len(data.label_set)), dtype=np.float32)
        for k, (fit_rows, held) in enumerate(splits, start=1):
            t0 = time.perf_counter()
            model = fit_head(data, task, c_grid[0], fit_rows)
            x_fit = head_features(model, data, fit_rows)
            x_held = head_features(model, data, held)
            for C in c_grid:
                if C != c_grid[0]:
                    _refit(model, data, fit_rows, x_fit, C)
                out[f"{task}@{C}"][held] = model.proba_from_features(x_held)
            print(f"  {task} fold {k}/{len(splits)}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return out


def _refit(model: Any, data: Any, rows: np.ndarray, x: Any, C: float) -> None:
    """Refit the classifier of a fitted TfidfClassifier with another C on the same features."""
    labels = data.label_set
    y = np.array([[lab in (data.labels[i] if data.multilabel else [data.labels[i]]) for lab in labels]
                  for i in rows], dtype=np.int8)
    model.C = C
    if data.multilabel:
        mask = np.array([[lab in data.known[i] for lab in labels] for i in rows], dtype=bool)
        model._fit_multilabel(x, y, mask, data.weights[rows], 0)
    else:
        model._fit_single(x, y.argmax(axis=1), data.weights[rows], 0)


# ---------------------------------------------------------------- 2. production context
def production_context(texts: Sequence[str]) -> dict[str, Any]:
    """Redacted texts, the shipped sentiment label, the cause lexicon's label, the stage lexicon's cue scores
    (text cues only) and the taxonomy topics (name → confidence) of each text."""
    from voc.analyzers.cause import CauseAnalyzer
    from voc.analyzers.journey import JourneyStageAnalyzer
    from voc.analyzers.topics import TopicAnalyzer, match_confidence
    from voc.pipeline import Pipeline
    from voc.schema import Feedback

    pipe = Pipeline.load(components=["sentiment"], profile="fast")
    records, findings = pipe.analyze([Feedback(id=str(i), text=t) for i, t in enumerate(texts)])
    redacted = [r.text for r in records]
    cause = CauseAnalyzer(model="lexicon")
    scores, _ = cause.score(redacted)
    journey = JourneyStageAnalyzer(model="lexicon")
    col = {s: j for j, s in enumerate(journey.labels_)}
    stage = np.zeros((len(texts), len(journey.labels_)))
    for i, rec in enumerate(records):
        for m, _ in journey._cues(rec):
            stage[i, col[m.label]] += 1.0 + 0.5 * (m.n_words - 1)
    topics = TopicAnalyzer(model="lexicon")
    lex_topics = [{name: match_confidence(topics._strength(ms)) for name, ms in topics.detect(t).items()}
                  for t in redacted]
    return {"texts": redacted, "sentiment": [f.sentiment for f in findings],
            "cause_lexicon": [cause._label(row).name for row in scores],
            "stage_cues": stage, "stage_labels": journey.labels_, "stage_topics": journey.by_topic_,
            "topics_lexicon": lex_topics}


# ---------------------------------------------------------------- 3. the combination rules
CAUSE_LABELS = [*COMPLAINT_CAUSES, NONE_LABEL]
STAGE_LABELS = [*JOURNEY_STAGES, NONE_LABEL]
FALLBACK_CAUSE = "другое"


def cause_rule(proba: np.ndarray, sentiment: Sequence[str], lexicon: Sequence[str], *, negative_none: str,
               other_to_lexicon: bool, others_min: float | None) -> list[str]:
    """The cause per row ("" = none), as ``CauseAnalyzer`` decides it.

    Negative rows: the head's top cause; when its top label is «—», ``negative_none`` decides — ``lexicon`` (the
    lexicon's cause: the old rule), ``forced`` (the head's best cause) or ``none``. Other rows: the head's best
    cause when its probability of «some cause» (1 − P(«—»)) reaches ``others_min`` (None: never — the old rule).
    With ``other_to_lexicon`` a head «другое» gives way to a specific lexicon cause."""
    none = CAUSE_LABELS.index(NONE_LABEL)
    out = []
    for row, sent, lex in zip(proba, sentiment, lexicon, strict=True):
        best = CAUSE_LABELS[int(np.delete(row, none).argmax())]
        top = CAUSE_LABELS[int(row.argmax())]
        if sent == "negative":
            label = top if top != NONE_LABEL else {"lexicon": lex, "forced": best, "none": ""}[negative_none]
        elif others_min is not None and 1.0 - row[none] >= others_min:
            label = best
        else:
            out.append("")
            continue
        if other_to_lexicon and label == FALLBACK_CAUSE and lex != FALLBACK_CAUSE:
            label = lex
        out.append(label)
    return out


def stage_rule(proba: np.ndarray, cues: np.ndarray, topic_hint: np.ndarray, *, none_min: float,
               none_to: str, default_stage: str = "обслуживание/поддержка") -> list[str]:
    """The stage per row ("" = none): the head's stage; the head's «—» counts only when P(«—») ≥ ``none_min``
    (else its best stage; > 1: never). After a «—», ``none_to`` decides: ``lexicon`` (cue + topic-hint scores, no cue →
    ``default_stage``: the old rule), ``lexicon_cues`` (the lexicon stage only when it has a cue, else none),
    ``none``."""
    none = STAGE_LABELS.index(NONE_LABEL)
    out = []
    for row, cue, hint in zip(proba, cues, topic_hint, strict=True):
        score = cue + hint
        if row.argmax() == none and row[none] >= none_min:
            if none_to == "none":
                out.append("")
            elif score.max() > 0:
                out.append(STAGE_LABELS[int(score.argmax())])
            else:
                out.append(default_stage if none_to == "lexicon" else "")
        else:
            out.append(STAGE_LABELS[int(np.delete(row, none).argmax())])
    return out


def topics_rule(proba: np.ndarray, thresholds: np.ndarray, lexicon: Sequence[dict[str, float]],
                vocabulary: Sequence[str], *, mode: str, lexicon_factor: float = 1.0) -> list[list[str]]:
    """Topics per row over ``vocabulary`` (the taxonomy's names): ``head`` — the head decides every topic it
    knows; ``union`` — head ∪ lexicon; ``boost`` — a lexicon match lowers the head's threshold to
    ``lexicon_factor`` × threshold."""
    col = {t: j for j, t in enumerate(TOPICS)}
    out = []
    for row, lex in zip(proba, lexicon, strict=True):
        found = []
        for name in vocabulary:
            j = col[name]
            thr = thresholds[j] * (lexicon_factor if mode == "boost" and name in lex else 1.0)
            if row[j] >= thr or (mode == "union" and name in lex):
                found.append(name)
        out.append(found)
    return out


def stage_hints(topics: Sequence[Sequence[str]], confidences: Sequence[dict[str, float]],
                by_topic: dict[str, list[str]], weight: float = 0.8) -> np.ndarray:
    """The stage analyzer's topic-hint scores (``topic_weight`` × topic confidence) per row."""
    col = {s: j for j, s in enumerate(JOURNEY_STAGES)}
    out = np.zeros((len(topics), len(JOURNEY_STAGES)))
    for i, (names, conf) in enumerate(zip(topics, confidences, strict=True)):
        for name in names:
            for stage in by_topic.get(name, []):
                out[i, col[stage]] += weight * conf.get(name, 0.7)
    return out


# ---------------------------------------------------------------- scoring
def score_cause(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    keep = [i for i, g in enumerate(gold) if g]
    s = single_scores([gold[i] for i in keep], [pred[i] for i in keep], COMPLAINT_CAUSES)
    g, p = np.array([bool(x) for x in gold]), np.array([bool(x) for x in pred])
    tp, fp, fn = int((g & p).sum()), int((~g & p).sum()), int((g & ~p).sum())
    return {"accuracy": s["accuracy"], "macro_f1": s["macro_f1"],
            "detection_f1": round(2 * tp / max(2 * tp + fp + fn, 1), 4), "given": int(p.sum())}


def score_stage(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    keep = [i for i, g in enumerate(gold) if g]
    s = single_scores([gold[i] for i in keep], [pred[i] for i in keep], JOURNEY_STAGES)
    empty = [i for i, g in enumerate(gold) if not g]
    return {"accuracy": s["accuracy"], "macro_f1": s["macro_f1"],
            "empty_recall": round(sum(1 for i in empty if not pred[i]) / max(len(empty), 1), 4),
            "accuracy_all_rows": round(float(np.mean([g == p for g, p in zip(gold, pred, strict=True)])), 4)}


def score_topics(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, Any]:
    s = multi_scores(gold, pred, TOPICS)
    return {k: s[k] for k in ("micro_f1", "macro_f1", "precision", "recall")}


# ---------------------------------------------------------------- the grid
def tune(frame: pd.DataFrame, oof: dict[str, np.ndarray], ctx: dict[str, Any], c_grid: Sequence[float]) -> dict:
    """Every setting of the grid scored on the cxreal rows; the best per field by its key metric."""
    from voc_training.train_cx_defaults import (
        INHOUSE_UNANNOTATED_TOPICS,
        head_data,
        scored_rows,
        topic_thresholds,
    )

    cx = scored_rows(frame)
    gold = frame.iloc[cx].reset_index(drop=True)
    sent, lex_cause = ctx["sentiment"], ctx["cause_lexicon"]
    res: dict[str, Any] = {"rows": len(cx), "cause": [], "journey_stage": [], "topics": []}
    for C in c_grid:
        p = oof[f"cause@{C}"][cx]
        for neg_none, other, others_min in itertools.product(("lexicon", "forced", "none"), (True, False),
                                                             (None, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)):
            pred = cause_rule(p, sent, lex_cause, negative_none=neg_none, other_to_lexicon=other, others_min=others_min)
            res["cause"].append({"C": C, "negative_none": neg_none, "other_to_lexicon": other,
                                 "others_min": others_min, **score_cause(list(gold["cause"]), pred)})
    old_taxonomy = [t for t in TOPICS if t not in INHOUSE_UNANNOTATED_TOPICS]  # the 15 topics before issue #11
    data = head_data(frame, "topics")
    topic_sets: dict[tuple, list[list[str]]] = {}
    for C in c_grid:
        p_all = oof[f"topics@{C}"]
        tuned = topic_thresholds(data, p_all, cx)
        thr = np.array([tuned[t] for t in TOPICS])
        for vocab_name, vocab in (("15 topics", old_taxonomy), ("17 topics", list(TOPICS))):
            for mode, factor in (("head", 1.0), ("union", 1.0), ("boost", 0.75), ("boost", 0.5), ("lexicon", 1.0)):
                if mode == "lexicon":
                    pred = [[t for t in vocab if t in lex] for lex in ctx["topics_lexicon"]]
                else:
                    pred = topics_rule(p_all[cx], thr, ctx["topics_lexicon"], vocab, mode=mode, lexicon_factor=factor)
                topic_sets[(C, vocab_name, mode, factor)] = pred
                res["topics"].append({"C": C, "vocabulary": vocab_name, "mode": mode, "lexicon_factor": factor,
                                      **score_topics(list(gold["topics"]), pred)})
    head_conf = [{t: 0.7 for t in TOPICS}] * len(cx)
    for C in c_grid:
        p = oof[f"journey_stage@{C}"][cx]
        for hint_from in ("lexicon", "head"):
            if hint_from == "lexicon":
                hints = stage_hints([list(d) for d in ctx["topics_lexicon"]], ctx["topics_lexicon"], ctx["stage_topics"])
            else:
                hints = stage_hints(topic_sets[(4.0 if 4.0 in c_grid else c_grid[0], "17 topics", "head", 1.0)],
                                    head_conf, ctx["stage_topics"])
            for none_min, none_to in itertools.product((0.0, 0.5, 0.6, 0.7, 0.8, 1.01),
                                                       ("lexicon", "lexicon_cues", "none")):
                pred = stage_rule(p, ctx["stage_cues"], hints, none_min=none_min, none_to=none_to)
                res["journey_stage"].append({"C": C, "topic_hints": hint_from, "none_min": none_min,
                                             "none_to": none_to, **score_stage(list(gold["journey_stage"]), pred)})
    return res


def choose(res: dict[str, Any]) -> dict[str, Any]:
    """The chosen setting per field, by rules fixed before looking: cause — the highest accuracy on complaints
    whose detection F1 is not below the old rule's (no worse at telling complaints from the rest); stage — the
    highest accuracy over all rows, «no stage» counting as a label; topics — the highest micro-F1."""
    old = [r for r in res["cause"] if r["negative_none"] == "lexicon" and r["other_to_lexicon"] and r["others_min"] is None]
    floor = max(r["detection_f1"] for r in old)
    cause = max((r for r in res["cause"] if r["detection_f1"] >= floor), key=lambda r: (r["accuracy"], r["macro_f1"]))
    stage = max(res["journey_stage"], key=lambda r: (r["accuracy_all_rows"], r["accuracy"]))
    topics = max(res["topics"], key=lambda r: r["micro_f1"])
    return {"cause": cause, "journey_stage": stage, "topics": topics, "cause_detection_floor": floor}


def verify(frame: pd.DataFrame, splits: Sequence[tuple[np.ndarray, np.ndarray]], oof: dict[str, np.ndarray]) -> dict:
    """The real pipeline (``Pipeline.load()`` defaults, profile fast, redaction on) over each fold's held-out cxreal
    rows, with that fold's heads (``HEAD_C``; topic thresholds from the out-of-fold tuning) saved as model
    directories: the analyzers' own combination with their default settings, not a simulation."""
    import tempfile

    from voc.pipeline import ComponentSpec, Pipeline, PipelineConfig
    from voc.schema import Feedback
    from voc_training.train_cx_defaults import (
        HEAD_C,
        TASKS,
        fit_head,
        head_data,
        scored_rows,
        topic_thresholds,
    )

    cx = scored_rows(frame)
    data = {task: head_data(frame, task) for task in TASKS}
    thresholds = topic_thresholds(data["topics"], oof[f"topics@{HEAD_C['topics']}"], cx)
    cause, stage, topics = [""] * len(frame), [""] * len(frame), [[] for _ in range(len(frame))]
    with tempfile.TemporaryDirectory() as tmp:
        for k, (fit_rows, held) in enumerate(splits):
            dirs = {}
            for task in TASKS:
                model = fit_head(data[task], task, HEAD_C[task], fit_rows)
                if task == "topics":
                    model.info = model.info.model_copy(update={"thresholds": thresholds})
                dirs[task] = Path(tmp) / f"{task}-{k}"
                model.save(dirs[task])
            cfg = PipelineConfig(components=[
                ComponentSpec(name="sentiment"), ComponentSpec(name="emotions"),
                *[ComponentSpec(name=task, config={"model": str(dirs[task])}) for task in ("topics", "cause")],
                ComponentSpec(name="journey_stage", config={"model": str(dirs["journey_stage"])})], profile="fast")
            rows = [int(i) for i in held if frame["source"].iloc[i] == "cxreal"]
            _, found = Pipeline.load(config=cfg).analyze([Feedback(id=str(i), text=frame["text"].iloc[i]) for i in rows])
            for i, f in zip(rows, found, strict=True):
                cause[i] = f.cause.name if f.cause else ""
                stage[i] = f.journey_stage or ""
                topics[i] = [t.name for t in f.topics if t.source in ("taxonomy", "model") and t.name in TOPICS]
            print(f"  verify fold {k + 1}/{len(splits)}", file=sys.stderr, flush=True)
    return {"C": HEAD_C,
            "cause": score_cause([frame["cause"].iloc[i] for i in cx], [cause[i] for i in cx]),
            "journey_stage": score_stage([frame["journey_stage"].iloc[i] for i in cx], [stage[i] for i in cx]),
            "topics": score_topics([frame["topics"].iloc[i] for i in cx], [topics[i] for i in cx])}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--C", type=float, nargs="+", default=list(C_GRID))
    parser.add_argument("--cache", type=Path, default=None, help="keep/reuse the out-of-fold arrays here")
    parser.add_argument("--out", type=Path, default=RESULTS_FILE)
    parser.add_argument("--verify", action="store_true",
                        help="also run the real analyzers (their defaults, HEAD_C) on the folds")
    args = parser.parse_args(argv)
    from voc_training.data import DataError
    from voc_training.train_cx_defaults import TASKS, folds, load_training_frame, scored_rows

    try:
        frame, _ = load_training_frame()
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    cache = args.cache / f"oof-{args.folds}.npz" if args.cache else None
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            oof = {k: z[k] for k in z.files}
    else:
        oof = oof_all(frame, folds(frame, args.folds), args.C, TASKS)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cache, **oof)
    cx = list(scored_rows(frame))
    ctx = production_context([frame["text"].iloc[i] for i in cx])
    res = tune(frame, oof, ctx, args.C)
    res["folds"] = args.folds
    res["command"] = "python -m voc_training.cxlabels.tune_heads " + " ".join(sys.argv[1:] if argv is None else argv)
    res["chosen"] = choose(res)
    print(json.dumps(res["chosen"], ensure_ascii=False, indent=1))
    if args.verify:
        res["verified"] = verify(frame, folds(frame, args.folds), oof)
        print(json.dumps(res["verified"], ensure_ascii=False, indent=1))
    args.out.write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
