"""Train the shipped CX heads — complaint cause, journey stage, topics — on real hand-labelled texts.

    python -m voc_training.train_cx_defaults [--only cause|journey_stage|topics|emotions] [--labels FILE] [--out-dir DIR]

Training rows: the ``datasets/cxreal`` **train** split (texts joined from ``$VOC_DATASETS_DIR``) + the in-house
``train.csv``; any row whose normalised text equals an eval text (cxreal eval, in-house eval) is dropped. The eval
splits are never trained or tuned on. Each head is a ``TfidfClassifier`` (word 1–2 + char 2–5 TF-IDF, logistic
regression): cause and stage single-label over the default causes / stages + «—» (none), topics multi-label
over the labelling vocabulary (the default taxonomy + «вклады и накопления», «безопасность/мошенничество»; the
in-house rows do not annotate those two, so they are not their negatives). Every head is scored by
``FOLDS``-fold cross-validation on the training rows (reported in its card); the topic thresholds are tuned on
the out-of-fold probabilities of the cxreal rows. The final heads are fitted on all training rows and written to
``models/shipped/{cause,journey-stage,topics}-tfidf`` (each must stay under 8 MB). The cause and stage heads get
the label biases ``LABEL_BIAS`` (their «none» gate and class priors, chosen by ``voc_training.cxlabels.tune_bias``)
added to their intercepts.

``emotions``: the emotion head of ``voc_training.train_defaults`` (shared emotion sets + in-house train) with a
per-emotion correction of its logits fitted on the cxreal train rows (``EMOTION_METHOD`` ``offset``; or the older logit
blend with a cxreal head, ``EMOTION_ALPHA``; chosen by ``voc_training.cxlabels.tune_emotions``), per-emotion thresholds
tuned on the cxreal rows' out-of-fold probabilities → ``models/shipped/emotions-tfidf``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer
from sklearn.model_selection import StratifiedKFold

from voc.vocab import COMPLAINT_CAUSES, JOURNEY_STAGES
from voc_models.base import NONE_LABEL, ModelInfo
from voc_models.registry import SHIPPED_DIR
from voc_models.tfidf import TfidfClassifier, _tune_thresholds
from voc_training.cxlabels.loader import LABELS_FILE, TOPICS
from voc_training.data import DataError
from voc_training.shipped import save_shipped

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_FILE = REPO_ROOT / "bench" / "results" / "cx_heads_train.json"
TASKS = ("cause", "journey_stage", "topics")
ALL_TASKS = (*TASKS, "emotions")
MODEL_NAMES = {"cause": "cause-tfidf", "journey_stage": "journey-stage-tfidf", "topics": "topics-tfidf",
               "emotions": "emotions-tfidf"}
#: regularisation per head (grid 2, 4, 8), chosen with the analyzers' combination rules by cross-validation on the
#: cxreal train rows (``python -m voc_training.cxlabels.tune_heads``, bench/results/cx_heads_cv.json)
HEAD_C: dict[str, float] = {"cause": 4.0, "journey_stage": 8.0, "topics": 8.0}
#: bias added to the intercepts (log-probabilities) of the single-label heads, label → bias (others 0): «—» is the
#: «no cause / no stage» gate, the rest are class priors. Chosen with the analyzers' decision rules by nested
#: cross-validation on the cxreal train rows (``python -m voc_training.cxlabels.tune_bias``, bench/results/cx_bias_cv.json)
LABEL_BIAS: dict[str, dict[str, float]] = {"cause": {}, "journey_stage": {}}
#: heads fitted with a side block (``voc_models.side``) in the same regression as their n-grams: the cause reads the
#: default lexicons' scores (decision 82; cross-validated by bench/cx_joint_cv.py)
SIDE_FEATURES: dict[str, str] = {"cause": "voc.cx-lexicon/1"}
#: how the emotion head learns from the cxreal rows (``voc_training.cxlabels.tune_emotions``, chosen there by nested
#: cross-validation, bench/results/cx_emotions_cv.json): ``offset`` = the shared head + a per-emotion correction of
#: its logits fitted on the cxreal rows (L2 1/``EMOTION_OFFSET_C``; decision 80), ``blend`` = (1 − α)·shared head +
#: α·cxreal head in logit space (α ``EMOTION_ALPHA``, the cxreal head's C ``EMOTION_CX_C``; rounds 1–4)
EMOTION_METHOD = "offset"
EMOTION_OFFSET_C = 4.0
EMOTION_ALPHA = 0.5  # the blend: kept at 0.5 with rounds 1–4, higher α collapsed the general sets (decision 75)
EMOTION_CX_C = 4.0
#: sample weight of the in-house rows (texts written in the project) next to the real cxreal rows (1.0)
INHOUSE_WEIGHT = 1.0
#: topics the in-house set does not annotate (its vocabulary is the default taxonomy)
INHOUSE_UNANNOTATED_TOPICS = ("вклады и накопления", "безопасность/мошенничество")
FOLDS = 5
SEED = 0
RETRAIN = "python -m voc_training.train_cx_defaults --only {task}"
LICENCE = ("Labels: the project's own (datasets/cxreal, datasets/inhouse; Apache-2.0). Texts: the cxreal rows are "
           "real feedback from train-side files of ../shared/datasets (sravni, otzovik, banki.ru, Gazprombank "
           "reviews, Wildberries, marketplace and app reviews, SentiRuEval-2015, RuSentiTweet); several of those "
           "sources are research-only / non-commercial or have no stated licence (see each source's CARD.md), so "
           "treat these weights as research / non-commercial until retrained on texts you may use. The in-house "
           "texts were written in the project. The vocabulary files hold word uni/bigrams and char n-grams seen at "
           "least twice in the training texts.")


@dataclass
class HeadData:
    """Training rows of one head: texts, targets, label set, per-row known labels (multi-label), weights."""

    texts: list[str]
    labels: list
    label_set: list[str]
    multilabel: bool
    known: list[list[str]] | None
    weights: np.ndarray
    sources: list[str]
    #: the side block of every row when the head reads one (``SIDE_FEATURES``)
    side: np.ndarray | None = None


def load_training_frame(labels_file: Path = LABELS_FILE, root: Path | None = None) -> tuple[pd.DataFrame, int]:
    """cxreal train + in-house train (column ``source``: cxreal | inhouse, ``group``: the cxreal source file,
    ``targeted``: a round-3 row, drawn by a model's scores), minus rows equal to an eval text; and the number
    dropped. A bad labels file is a DataError naming its line."""
    from voc_datasets.inhouse import load_inhouse
    from voc_training.cxlabels.loader import load_cxreal
    from voc_training.cxlabels.methods import training_frame

    cx_train = load_cxreal("train", root=root, labels_file=labels_file)
    cx_eval = load_cxreal("eval", root=root, labels_file=labels_file)
    inhouse_train, inhouse_eval = load_inhouse("train"), load_inhouse("eval")
    frame, dropped = training_frame(cx_train, inhouse_train, [*cx_eval["text"], *inhouse_eval["text"]])
    groups = [*cx_train["source"], *["inhouse"] * len(inhouse_train)]
    frame["group"] = _kept(groups, cx_train, inhouse_train, frame)
    draws = [*cx_train["draw"], *["random"] * len(inhouse_train)]
    frame["targeted"] = [d == "targeted" for d in _kept(draws, cx_train, inhouse_train, frame)]
    return frame, dropped


def _kept(groups: list[str], cx_train: pd.DataFrame, inhouse_train: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """``groups`` (one per concatenated row) restricted to the rows ``training_frame`` kept, by text key."""
    from voc_training.cxlabels.select import text_key

    by_key: dict[str, str] = {}
    for text, group in zip([*cx_train["text"], *inhouse_train["text"]], groups, strict=True):
        by_key.setdefault(text_key(text), group)
    return [by_key[text_key(t)] for t in frame["text"]]


def head_data(frame: pd.DataFrame, task: str, inhouse_weight: float = INHOUSE_WEIGHT,
              side: bool = True) -> HeadData:
    """The targets of ``task`` for the frame's rows (cause / stage: "" → «—»); with ``side``, the side block of
    every row when the shipped head reads one (``SIDE_FEATURES``)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    sources = list(frame["source"])
    weights = np.array([inhouse_weight if s == "inhouse" else 1.0 for s in sources])
    texts = list(frame["text"])
    if task == "topics":
        full = list(TOPICS)
        reduced = [t for t in TOPICS if t not in INHOUSE_UNANNOTATED_TOPICS]
        known = [reduced if s == "inhouse" else full for s in sources]
        return HeadData(texts, [list(v) for v in frame["topics"]], full, True, known, weights, sources)
    vocab = COMPLAINT_CAUSES if task == "cause" else JOURNEY_STAGES
    labels = [v or NONE_LABEL for v in frame[task]]
    bad = sorted({v for v in labels if v not in vocab and v != NONE_LABEL})
    if bad:
        raise DataError(f"training rows: field '{task}' has labels outside the vocabulary: {bad}")
    block = side_block(task) if side else None
    return HeadData(texts, labels, [*vocab, NONE_LABEL], False, None, weights, sources,
                    block(texts) if block is not None else None)


def side_block(task: str) -> Any:
    """The side feature block the shipped ``task`` head reads (``voc_models.side``), or None."""
    from voc_models import side

    name = SIDE_FEATURES.get(task)
    return side.get(name) if name else None


def new_model(task: str, C: float, training: dict[str, Any] | None = None, side: bool = False) -> TfidfClassifier:
    block = side_block(task) if side else None
    info = ModelInfo(name=MODEL_NAMES[task], version=datetime.now(UTC).strftime("%Y.%m.%d") + "-1", task=task,
                     kind="tfidf", labels=[], training=training or {},
                     side_features={"name": SIDE_FEATURES[task], "names": list(block.names)} if block else None)
    return TfidfClassifier(info, C=C)


def fit_head(data: HeadData, task: str, C: float, rows: Sequence[int] | None = None,
             training: dict[str, Any] | None = None) -> TfidfClassifier:
    """A head fitted on ``rows`` of ``data`` (all rows by default), no validation hold-out; it reads the side block
    when ``data`` holds one."""
    idx = list(range(len(data.texts))) if rows is None else [int(i) for i in rows]
    return new_model(task, C, training, side=data.side is not None).fit(
        [data.texts[i] for i in idx], [data.labels[i] for i in idx], label_set=data.label_set,
        multilabel=data.multilabel, known=[data.known[i] for i in idx] if data.known is not None else None,
        sample_weight=data.weights[idx], val_fraction=0.0, seed=SEED,
        side=data.side[idx] if data.side is not None else None)


def head_features(model: TfidfClassifier, data: HeadData, rows: Sequence[int]) -> Any:
    """``model.featurize`` of ``rows`` of ``data``, the side block taken from ``data`` instead of recomputed."""
    import scipy.sparse as sp

    x = model.transform([data.texts[int(i)] for i in rows])
    if data.side is None:
        return x
    return sp.hstack([x, sp.csr_matrix(data.side[np.asarray(rows, dtype=int)])], format="csr", dtype=np.float32)


def folds(frame: pd.DataFrame, n: int = FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified (by source file) folds, fixed seed. Targeted rows (column ``targeted``) are in every fold's
    training rows and never held out: their draw followed a model's scores, so scoring on them would not estimate
    the score on feedback as it comes (decision 74). Without targeted rows: folds over all rows, as before."""
    targeted = frame["targeted"].to_numpy(bool) if "targeted" in frame.columns else np.zeros(len(frame), bool)
    scored, extra = np.flatnonzero(~targeted), np.flatnonzero(targeted)
    split = StratifiedKFold(n_splits=n, shuffle=True, random_state=SEED).split(scored, frame["group"].iloc[scored])
    return [(np.sort(np.concatenate([scored[fit], extra])), scored[held]) for fit, held in split]


def scored_rows(frame: pd.DataFrame) -> np.ndarray:
    """The rows cross-validation scores: cxreal rows of the random draws (not in-house, not targeted)."""
    targeted = frame["targeted"].to_numpy(bool) if "targeted" in frame.columns else np.zeros(len(frame), bool)
    return np.flatnonzero((frame["source"].to_numpy() == "cxreal") & ~targeted)


def oof_proba(data: HeadData, task: str, C: float, splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Out-of-fold probabilities (n_rows, n_labels): each row scored by the head fitted without its fold."""
    out = np.zeros((len(data.texts), len(data.label_set)), dtype=np.float32)
    for k, (fit_rows, held) in enumerate(splits, start=1):
        t0 = time.perf_counter()
        model = fit_head(data, task, C, fit_rows)
        out[held] = model.proba_from_features(head_features(model, data, held))
        typer.echo(f"  {task} fold {k}/{len(splits)}: {time.perf_counter() - t0:.0f} s", err=True)
    return out


def cv_scores(data: HeadData, proba: np.ndarray, rows: np.ndarray, thresholds: np.ndarray | None = None) -> dict:
    """Cross-validated scores of the head alone on ``rows``: accuracy / macro-F1 (single-label, all rows and
    rows with a label) or micro/macro-F1 (multi-label, over the labels each row's source annotates)."""
    from sklearn.metrics import accuracy_score, f1_score

    if not data.multilabel:
        gold = [data.labels[i] for i in rows]
        pred = [data.label_set[j] for j in proba[rows].argmax(axis=1)]
        labelled = [k for k, g in enumerate(gold) if g != NONE_LABEL]
        named = [lab for lab in data.label_set if lab != NONE_LABEL]
        return {"rows": len(rows), "accuracy_all_rows": round(float(accuracy_score(gold, pred)), 4),
                "labelled_rows": len(labelled),
                "accuracy": round(float(accuracy_score([gold[k] for k in labelled], [pred[k] for k in labelled])), 4),
                "macro_f1": round(float(f1_score([gold[k] for k in labelled], [pred[k] for k in labelled],
                                                  labels=named, average="macro", zero_division=0)), 4)}
    assert thresholds is not None
    y = np.array([[lab in data.labels[i] for lab in data.label_set] for i in rows], dtype=int)
    p = (proba[rows] >= thresholds).astype(int)
    return {"rows": len(rows), "micro_f1": round(float(f1_score(y, p, average="micro", zero_division=0)), 4),
            "macro_f1": round(float(f1_score(y, p, average="macro", zero_division=0)), 4)}


def forced_cause_scores(proba: np.ndarray, gold: np.ndarray, label_set: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 of the best cause other than «—» on the rows whose gold is not «—» (the cause analyzer
    forces a cause on every complaint): how the cause benches score out-of-fold probabilities."""
    from sklearn.metrics import f1_score

    forced = np.asarray(proba, dtype=np.float64).copy()
    forced[:, list(label_set).index(NONE_LABEL)] = -np.inf
    pred = np.asarray(label_set)[forced.argmax(axis=1)]
    has = gold != NONE_LABEL
    return {"accuracy": round(float((pred[has] == gold[has]).mean()), 4),
            "macro_f1": round(float(f1_score(gold[has], pred[has], average="macro")), 4)}


def topic_thresholds(data: HeadData, proba: np.ndarray, rows: np.ndarray) -> dict[str, float]:
    """Per-topic thresholds maximising F1 on the out-of-fold probabilities of ``rows``."""
    y = np.array([[lab in data.labels[i] for lab in data.label_set] for i in rows], dtype=int)
    mask = np.array([[lab in data.known[i] for lab in data.label_set] for i in rows], dtype=bool) \
        if data.known is not None else np.ones_like(y, dtype=bool)
    tuned = _tune_thresholds(proba[rows], y, mask)
    return {data.label_set[j]: float(t) for j, t in tuned.items()}


def label_bias(label_set: Sequence[str], bias: dict[str, float]) -> np.ndarray:
    """The bias vector over ``label_set`` (0 for labels not named); a named label outside it is an error."""
    unknown = sorted(set(bias) - set(label_set))
    if unknown:
        raise DataError(f"LABEL_BIAS names labels the head does not have: {unknown}")
    return np.array([float(bias.get(lab, 0.0)) for lab in label_set])


def apply_bias(proba: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Softmax probabilities with ``bias`` added to the logits (what a head with shifted intercepts gives)."""
    if not bias.any():
        return proba
    z = np.log(np.maximum(proba.astype(np.float64), 1e-12)) + bias
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def card_notes(info: ModelInfo) -> str:
    """Extra card sections appended to the generated README.md."""
    return "\n".join([
        "## How it is used", "",
        f"`FAST_DEFAULTS['{info.task}']` in `models/registry.py`: `voc analyze` runs the {info.task} analyzer on "
        "this head (profile `fast`, and `default` until an encoder is shipped), combined with the analyzer's "
        "lexicon as docs/cause_and_stage.md describes; the lexicon also supplies evidence.", "",
        "## Data", "",
        "- `cxreal` = `datasets/cxreal` train split (real texts, hand-labelled; the texts are joined at run time "
        "from `../shared/datasets`, never stored with the labels); `inhouse` = `datasets/inhouse/train.csv`.",
        "- Rows equal to a cxreal or in-house eval text are dropped; the eval splits are never trained or tuned on.",
        f"- In-house sample weight: {info.training.get('inhouse_weight')}.",
        *([f"- The in-house rows do not annotate {', '.join(info.training['inhouse_not_annotating'])}: they are "
           "not used as negatives of those topics."] if info.training.get("inhouse_not_annotating") else []), "",
        f"`cv:cxreal_train` = the head alone, {info.training.get('folds')}-fold cross-validation on the training "
        "rows, scored on the cxreal rows" + (" (topic thresholds tuned on the same out-of-fold probabilities)"
                                             if info.multilabel else "") + ". The real-text eval scores of the "
        "analyzers are in docs/cx_quality.md.", ""])


def train(task: str, frame: pd.DataFrame, dropped: int, out_dir: Path, n_folds: int = FOLDS) -> dict[str, Any]:
    """Cross-validate, then fit the head on every training row and write its model directory."""
    t0 = time.perf_counter()
    data = head_data(frame, task)
    cx_rows = scored_rows(frame)
    bias = label_bias(data.label_set, LABEL_BIAS.get(task, {}))
    proba = apply_bias(oof_proba(data, task, HEAD_C[task], folds(frame, n_folds)), bias)
    thresholds = topic_thresholds(data, proba, cx_rows) if data.multilabel else {}
    thr = np.array([thresholds[lab] for lab in data.label_set]) if thresholds else None
    cv = cv_scores(data, proba, cx_rows, thr)
    counts = pd.Series(data.sources).value_counts()
    training = {"data": {**{k: int(v) for k, v in counts.items()}, "total": len(data.texts),
                         "dropped_equal_to_eval": dropped},
                "retrain": RETRAIN.format(task=task), "licence": LICENCE, "inhouse_weight": INHOUSE_WEIGHT,
                "folds": n_folds, "hardware": platform.processor() or platform.machine(),
                **({"inhouse_not_annotating": list(INHOUSE_UNANNOTATED_TOPICS)} if data.multilabel else {})}
    if bias.any():
        training["label_bias"] = {lab: float(b) for lab, b in zip(data.label_set, bias, strict=True) if b}
        training["label_bias_chosen_by"] = "python -m voc_training.cxlabels.tune_bias (bench/results/cx_bias_cv.json)"
    model = fit_head(data, task, HEAD_C[task], training=training)
    if bias.any():
        model.intercept_ = (model.intercept_ + bias).astype(model.intercept_.dtype)
    update: dict[str, Any] = {"metrics": {**model.info.metrics, "cv:cxreal_train": cv}}
    if thresholds:
        update["thresholds"] = thresholds
    model.info = model.info.model_copy(update=update)
    size = save_shipped(model, out_dir, card_notes(model.info))
    typer.echo(f"wrote {out_dir} ({size / 1e6:.2f} MB); cv {cv}")
    return {"model": model.version, "bytes": size, "cv": cv, "thresholds": thresholds,
            "train_rows": training["data"], "seconds": round(time.perf_counter() - t0, 1)}


def train_emotions(frame: pd.DataFrame, dropped: int, out_dir: Path, n_folds: int = FOLDS) -> dict[str, Any]:
    """The emotion head of ``voc_training.train_defaults`` (shared sets) blended in logit space with a head fitted on the
    cxreal train rows (``EMOTION_ALPHA``, ``EMOTION_CX_C``); per-emotion thresholds tuned on the cxreal rows'
    out-of-fold probabilities (``n_folds`` folds, stratified by source file)."""
    from voc.vocab import NO_EMOTION
    from voc_datasets.inhouse import load_inhouse
    from voc_training.cxlabels.loader import load_cxreal
    from voc_training.cxlabels.tune_emotions import (
        blended_head,
        cross_validate,
        emotion_training_rows,
        fit_shared,
        offset_head,
        summary,
        summary_offset,
    )
    from voc_training.data import load_emotion_eval, load_inhouse_emotions
    from voc_training.evaluate import evaluate
    from voc_training.train_defaults import (
        EMOTION_C,
        EMOTION_INHOUSE_MIN_POSITIVES,
        EMOTION_SOURCE_WEIGHTS,
        _summary,
    )
    from voc_training.train_defaults import LICENCE as EMOTION_LICENCE

    t0 = time.perf_counter()
    cx = frame[frame["source"] == "cxreal"].reset_index(drop=True)
    cx_texts, cx_emotions = list(cx["text"]), [list(v) for v in cx["emotions"]]
    eval_texts = [*load_cxreal("eval")["text"], *load_inhouse("eval")["text"]]
    data, dropped_shared = emotion_training_rows([*cx_texts, *eval_texts])
    alpha, c_cx, offset = EMOTION_ALPHA, EMOTION_CX_C, EMOTION_METHOD == "offset"
    base = fit_shared(data, EMOTION_C, EMOTION_SOURCE_WEIGHTS)
    cv = cross_validate(base, cx_texts, cx_emotions, list(cx["group"]), [] if offset else [c_cx], n_folds,
                        targeted=list(cx["targeted"]) if "targeted" in cx.columns else None,
                        offset_c=[EMOTION_OFFSET_C] if offset else [])
    scores = summary_offset(cv, EMOTION_OFFSET_C) if offset else summary(cv, alpha, c_cx)
    thresholds = scores.pop("thresholds")
    method = {"method": "offset", "offset_C": EMOTION_OFFSET_C} if offset else \
        {"method": "blend", "alpha": alpha, "cxreal_head_C": c_cx}
    training = {**base.info.training,
                "data": {**data.counts(), "cxreal": len(cx_texts), "total": len(data.texts) + len(cx_texts),
                         "dropped_equal_to_cxreal_or_inhouse_text": dropped_shared,
                         "cxreal_dropped_equal_to_eval": dropped},
                "retrain": RETRAIN.format(task="emotions"), "licence": EMOTION_LICENCE + " " + LICENCE,
                "label_mapping": "training/emotion_mapping.py", "source_weights": EMOTION_SOURCE_WEIGHTS,
                "inhouse_positives": data.inhouse_positives,
                "inhouse_not_annotating": sorted(lab for lab, n in data.inhouse_positives.items()
                                                 if n < EMOTION_INHOUSE_MIN_POSITIVES),
                "method_note": (
                    "the shared TF-IDF logistic-regression head plus a per-emotion correction of its logits fitted "
                    "on the cxreal rows (class-balanced, L2), on the shared head's features (word1-2 + char_wb2-5, "
                    "sublinear tf), per-label thresholds" if offset else
                    "logit blend (1 - alpha)·shared + alpha·cxreal of two TF-IDF logistic-regression heads on the "
                    "shared head's features (word1-2 + char_wb2-5, sublinear tf), per-label thresholds"),
                **method, "folds": n_folds,
                "hardware": platform.processor() or platform.machine()}
    model = offset_head(cv, EMOTION_OFFSET_C) if offset else blended_head(cv, alpha, c_cx)
    model.info = model.info.model_copy(update={
        "name": MODEL_NAMES["emotions"], "version": datetime.now(UTC).strftime("%Y.%m.%d") + "-1",
        "training": training, "thresholds": thresholds, "metrics": {}})
    reports = {"test:cedr": evaluate(model, load_emotion_eval("cedr", "test"), none_label=NO_EMOTION),
               "dev:semeval2025_ru": evaluate(model, load_emotion_eval("semeval2025_ru", "dev"), none_label=NO_EMOTION),
               "test:ru_izard": evaluate(model, load_emotion_eval("ru_izard", "test"), none_label=NO_EMOTION),
               "eval:inhouse": evaluate(model, load_inhouse_emotions("eval"), none_label=NO_EMOTION)}
    scores = {"rows": len(cx_texts), **scores}
    metrics = {"cv:cxreal_train": scores, **{k: _summary(r) for k, r in reports.items()}}
    model.info = model.info.model_copy(update={"metrics": metrics})
    size = save_shipped(model, out_dir, "\n".join([
        "## Data", "",
        ("One logistic-regression head on one TF-IDF feature space: the **shared** head plus a per-emotion "
         "correction of its logits fitted on the **cxreal** rows (the shared logits a fixed offset, class-balanced, "
         f"L2 1/{EMOTION_OFFSET_C}; decision 80)." if offset else
         "Two logistic-regression heads on one TF-IDF feature space, blended in logit space into this one head: "
         f"(1 − {alpha})·**shared** + {alpha}·**cxreal** (cxreal head C {c_cx}).") + " Shared: the emotion sets of `voc_training.train_defaults` "
        "(cedr, semeval2025_ru, ru_izard mapped onto the CX emotions, silver благодарность rows from the train-side "
        f"sentiment texts, in-house train; source weights {EMOTION_SOURCE_WEIGHTS}; the features are fitted on these "
        f"texts). cxreal: the `datasets/cxreal` train rows (all six emotions annotated). Any text equal "
        f"to a cxreal or in-house text is dropped from the shared rows ({dropped_shared}): eval texts never train.",
        "",
        f"`cv:cxreal_train`: {n_folds}-fold cross-validation over the cxreal train rows (stratified by source file; "
        "the cxreal part fitted on the other folds, the shared head never sees a cxreal row); `micro_f1_nested` "
        "decides each fold with thresholds tuned on the other folds. The shipped thresholds are tuned on all "
        "out-of-fold probabilities. The method and C were chosen by `python -m voc_training.cxlabels.tune_emotions` "
        "(bench/results/cx_emotions_cv.json); the real-text eval scores are in docs/cx_quality.md.", ""]))
    typer.echo(f"wrote {out_dir} ({size / 1e6:.2f} MB); cv {scores}")
    return {"model": model.version, "bytes": size, "cv": scores, "thresholds": thresholds,
            "train_rows": training["data"], "seconds": round(time.perf_counter() - t0, 1)}


app = typer.Typer(add_completion=False)


@app.command()
def main(only: str | None = typer.Option(None, help="train only this head: cause, journey_stage, topics or emotions"),
         labels: Path = typer.Option(LABELS_FILE, help="the cxreal labels file"),
         out_dir: Path = typer.Option(SHIPPED_DIR, help="where the model directories go"),
         n_folds: int = typer.Option(FOLDS, "--folds", min=2, help="cross-validation folds")) -> None:
    """Train the shipped cause, journey-stage and topic heads and record their cross-validated scores."""
    if only not in (None, *ALL_TASKS):
        raise typer.BadParameter(f"expected one of {', '.join(ALL_TASKS)}", param_hint="--only")
    try:
        frame, dropped = load_training_frame(labels)
        results: dict[str, Any] = {}
        for task in ALL_TASKS:
            if only in (None, task):
                run = train_emotions if task == "emotions" else partial(train, task)
                results[task] = run(frame, dropped, out_dir / MODEL_NAMES[task], n_folds)
    except DataError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if out_dir.resolve() == SHIPPED_DIR.resolve():
        old = json.loads(RESULTS_FILE.read_text(encoding="utf-8")) if RESULTS_FILE.is_file() else {}
        RESULTS_FILE.write_text(json.dumps({**old, **results, "command": " ".join(["python -m voc_training.train_cx_defaults",
                                                                                    *sys.argv[1:]])},
                                           ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        typer.echo(f"wrote {RESULTS_FILE}")


if __name__ == "__main__":
    app()
