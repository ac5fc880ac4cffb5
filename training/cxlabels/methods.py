"""The methods scored on the real-text CX set, each turning texts into :class:`Predictions`.

* ``production`` — voc's default pipeline as ``voc analyze`` runs it (PII redaction, then the shipped sentiment
  and emotion TF-IDF models, the shipped topic / cause / journey-stage heads combined with the analyzers'
  lexicons — or the lexicons alone where no head is shipped);
* ``tfidf`` — one TF-IDF + logistic-regression head per field (``voc_models.tfidf.TfidfClassifier``, as
  ``training/train_defaults.py`` uses it) trained on the cxreal train split + the in-house train set;
* ``tfidf+lexicon`` — the same TF-IDF features plus the production analyzers' lexicon scores (cause cue and
  similarity scores, stage cue strengths, taxonomy topic strengths) for cause, stage and topics;
* ``encoder`` — a multi-task encoder directory (``voc_models.multitask.runner_for(dir).proba``).

Predictions files (any other method, e.g. zero-shot) are read by ``voc_training.cxlabels.predictions``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from voc.vocab import EMOTIONS, NO_EMOTION
from voc_training.cxlabels.loader import TOPICS
from voc_training.cxlabels.metrics import MULTI_FIELDS, NONE, SINGLE_FIELDS, Predictions
from voc_training.cxlabels.select import text_key

#: TF-IDF heads: regularisation of TfidfClassifier's default (not tuned on the eval split)
TFIDF_C = 4.0
#: weight of the lexicon block next to the (L2-normalised) word and char TF-IDF blocks
LEXICON_WEIGHT = 1.0
LEXICON_FIELDS = ("cause", "journey_stage", "topics")
SEED = 0


def _channel(value: str) -> str:
    from voc.schema import Channel

    return value if value in Channel.__members__ else "review"


# ---------------------------------------------------------------- a. production
def production(frame: pd.DataFrame, profile: str | None = None, config: str | Path | None = None) -> Predictions:
    """voc's pipeline as ``voc analyze`` runs it (``Pipeline.load(profile=..., config=...)``, redaction on; no
    arguments: the defaults) over Feedback records made from the texts. The method is named ``production``, with
    ``@<profile>`` and ``+<config file stem>`` when they are given."""
    from voc.pipeline import Pipeline
    from voc.schema import Feedback

    pipe = Pipeline.load(profile=profile, config=config)
    channels = frame["channel"] if "channel" in frame.columns else ["review"] * len(frame)
    records = [Feedback(id=str(i), text=t, channel=_channel(str(c)))
               for i, (t, c) in enumerate(zip(frame["text"], channels, strict=True))]
    _, findings = pipe.analyze(records)
    taxonomy = next(a for a in pipe.analyzers if a.name == "topics").taxonomy.names()  # type: ignore[attr-defined]
    shared = [t for t in taxonomy if t in TOPICS]
    fields = {
        "sentiment": [f.sentiment for f in findings],
        "cause": [f.cause.name if f.cause else "" for f in findings],
        "journey_stage": [f.journey_stage or "" for f in findings],
        "topics": [[t.name for t in f.topics if t.source in ("taxonomy", "model") and t.name in TOPICS]
                   for f in findings],
        "emotions": [[e.name for e in f.emotions if e.name in EMOTIONS] for f in findings],
    }
    notes = {"versions": pipe.versions, "topic_vocabulary": shared,
             "rows_from_model_training_sources": _seen_sources(pipe, frame),
             "labels_not_in_taxonomy": [t for t in TOPICS if t not in taxonomy],
             "taxonomy_not_in_labels": [t for t in taxonomy if t not in TOPICS],
             "cause_rule": _rule(pipe, "cause"), "stage_rule": _rule(pipe, "journey_stage")}
    pipe.close()
    heads = [a.name for a in pipe.analyzers if a.name in ("topics", "cause", "journey_stage")
             and (getattr(a, "head", None) or getattr(a, "model", None)) is not None]
    description = ("voc analyze defaults: redaction, shipped TF-IDF sentiment/emotions, "
                   + (f"shipped TF-IDF heads for {', '.join(heads)} combined with the lexicons" if heads else
                      "taxonomy keyword topics, weakly supervised cause and journey stage"))
    if profile or config:
        description = f"voc analyze with profile {profile or 'of the config'}" + (
            f" and pipeline config {config}" if config else "") + f" ({', '.join(f'{k} {v}' for k, v in pipe.versions.items())})"
    name = "production" + (f"@{profile}" if profile else "") + (f"+{Path(config).stem}" if config else "")
    return Predictions(name, fields, description, notes)


def _rule(pipe: Any, name: str) -> str:
    """How the pipeline's cause / stage analyzer decides, in a line (for the results notes)."""
    analyzer = next((a for a in pipe.analyzers if a.name == name), None)
    head = getattr(analyzer, "head", None)
    if analyzer is None:
        return "not in the pipeline"
    if name == "cause":
        if head is None:
            return "lexicon: a cause only for records the sentiment model calls negative (fallback другое)"
        return (f"head {head.version}: negative records always get a cause (head «—» → {analyzer.head_none}); "
                f"other records when 1 − P(«—») ≥ {analyzer.others_min}"
                + ("; head «другое» → a specific lexicon cause" if analyzer.other_to_lexicon else ""))
    if head is None:
        return "lexicon: never empty (no cue → default_stage)"
    return f"head {head.version}: head «—» → {analyzer.head_none}"


def _seen_sources(pipe: Any, frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per shipped model (sentiment, emotions): eval rows whose source dataset it was trained on (the shipped
    models learnt from the same train-side files the cxreal set was drawn from, with the sources' own labels)."""
    if "source" not in frame.columns:
        return {}
    datasets = [Path(s).parts[1] if len(Path(s).parts) > 2 else Path(s).stem for s in frame["source"]]
    out: dict[str, dict[str, int]] = {}
    for analyzer in pipe.analyzers:
        trained = _trained_on(getattr(analyzer, "model", None))
        seen = [d for d in datasets if d in trained]
        if seen:
            out[analyzer.name] = {d: seen.count(d) for d in sorted(set(seen))}
    return out


def _trained_on(model: Any) -> set[str]:
    """The source datasets a model learnt from: its card's ``training.data`` (TF-IDF heads) or
    ``training.rows_per_source`` (encoders; ``extra:`` / ``corpus:`` prefixes dropped), and for an ensemble the
    union over its members."""
    training = getattr(getattr(model, "info", None), "training", None) or {}
    names = {str(k).split(":", 1)[-1] for k in {**training.get("data", {}), **training.get("rows_per_source", {})}}
    for member in getattr(model, "members", None) or ():
        names |= _trained_on(member)
    return names - {"total"}


# ---------------------------------------------------------------- b. TF-IDF heads
def training_frame(cxreal_train: pd.DataFrame, inhouse_train: pd.DataFrame,
                   exclude_texts: Sequence[str] = ()) -> tuple[pd.DataFrame, int]:
    """cxreal train + in-house train in one frame (source column ``cxreal`` / ``inhouse``), minus any row whose
    normalised text equals one of ``exclude_texts`` (the eval texts). Returns the frame and the dropped count."""
    cols = ["text", "sentiment", "cause", "journey_stage", "topics", "emotions"]
    frame = pd.concat([cxreal_train[cols].assign(source="cxreal"), inhouse_train[cols].assign(source="inhouse")],
                      ignore_index=True)
    for name, vocab in MULTI_FIELDS.items():
        bad = {v for vs in frame[name] for v in vs if v not in vocab}
        if bad:
            raise ValueError(f"training rows: field '{name}' has labels outside the vocabulary: {sorted(bad)}")
    banned = {text_key(t) for t in exclude_texts}
    keep = [text_key(t) not in banned for t in frame["text"]]
    return frame[keep].reset_index(drop=True), len(frame) - sum(keep)


def _target(frame: pd.DataFrame, name: str) -> list:
    if name in MULTI_FIELDS:
        return [list(v) for v in frame[name]]
    if name in ("cause", "journey_stage"):
        return [v or NONE for v in frame[name]]
    return list(frame[name])


def _label_set(name: str) -> list[str]:
    if name in MULTI_FIELDS:
        return list(MULTI_FIELDS[name])
    return [*SINGLE_FIELDS[name], NONE] if name in ("cause", "journey_stage") else list(SINGLE_FIELDS[name])


def lexicon_features() -> Any:
    """The production analyzers' lexicon scores as dense features: voc's ``voc.cx-lexicon/1`` side block (cause
    scores, stage cue strengths, taxonomy topic strengths; ``voc.analyzers.side_features``), the block the shipped
    cause head reads (decision 82)."""
    from voc.analyzers.side_features import CxLexiconFeatures

    return CxLexiconFeatures(cache_size=0)


class TfidfHeads:
    """One TfidfClassifier per field; with ``lexicon`` the cause, stage and topic heads are refitted on the
    TF-IDF features + the lexicon block (same logistic regression, class_weight=balanced)."""

    def __init__(self, C: float = TFIDF_C, lexicon_weight: float = LEXICON_WEIGHT) -> None:
        self.C, self.lexicon_weight = C, lexicon_weight
        self.models: dict[str, Any] = {}
        self.combined: dict[str, tuple[list[LogisticRegression | None], np.ndarray | None]] = {}
        self.lexicon: Any = None

    def fit(self, frame: pd.DataFrame, lexicon: bool = True) -> TfidfHeads:
        from voc_models.base import ModelInfo
        from voc_models.tfidf import TfidfClassifier

        for name in ("sentiment", *LEXICON_FIELDS, "emotions"):
            info = ModelInfo(name=f"cx-{name}-tfidf", version="eval", task=name, kind="tfidf", labels=[])
            self.models[name] = TfidfClassifier(info, C=self.C).fit(
                list(frame["text"]), _target(frame, name), label_set=_label_set(name),
                multilabel=name in MULTI_FIELDS, seed=SEED)
        if lexicon:
            self.lexicon = lexicon_features()
            lex = self.lexicon(list(frame["text"]))
            for name in LEXICON_FIELDS:
                self.combined[name] = self._fit_combined(name, frame, lex)
        return self

    def _features(self, name: str, texts: Sequence[str], lex: np.ndarray) -> sp.csr_matrix:
        return sp.hstack([self.models[name].transform(texts), sp.csr_matrix(self.lexicon_weight * lex)],
                         format="csr")

    def _fit_combined(self, name: str, frame: pd.DataFrame, lex: np.ndarray) -> tuple[list, np.ndarray | None]:
        from voc_models.tfidf import _tune_thresholds

        x = self._features(name, list(frame["text"]), lex)
        labels = _label_set(name)
        target = _target(frame, name)
        if name not in MULTI_FIELDS:
            clf = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000, random_state=SEED)
            return [clf.fit(x, target)], None
        y = np.array([[lab in t for lab in labels] for t in target], dtype=int)
        fit_idx, val_idx = train_test_split(np.arange(len(target)), test_size=0.1, random_state=SEED)
        clfs: list[LogisticRegression | None] = []
        for j in range(len(labels)):
            yj = y[fit_idx, j]
            clfs.append(LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000, random_state=SEED)
                        .fit(x[fit_idx], yj) if 0 < yj.sum() < len(yj) else None)
        proba = self._multi_proba(clfs, x[val_idx])
        thr = _tune_thresholds(proba, y[val_idx], np.ones_like(y[val_idx], dtype=bool))
        return clfs, np.array([thr[j] for j in range(len(labels))])

    @staticmethod
    def _multi_proba(clfs: list[LogisticRegression | None], x: sp.csr_matrix) -> np.ndarray:
        return np.column_stack([c.predict_proba(x)[:, 1] if c is not None else np.zeros(x.shape[0]) for c in clfs])

    def predict(self, texts: Sequence[str], lexicon: bool = False) -> dict[str, list]:
        """Per field: a label ("" = none) or a label list per text."""
        texts = list(texts)
        out: dict[str, list] = {}
        lex = self.lexicon(texts) if lexicon and self.lexicon is not None else None
        for name, model in self.models.items():
            if lex is not None and name in self.combined:
                clfs, thr = self.combined[name]
                x = self._features(name, texts, lex)
                if thr is None:
                    pred: list = list(clfs[0].predict(x))  # type: ignore[union-attr]
                else:
                    labels = _label_set(name)
                    pred = [[labels[j] for j in np.flatnonzero(row >= thr)] for row in self._multi_proba(clfs, x)]
            else:
                pred = model.predict(texts)
            out[name] = [("" if p == NONE else p) for p in pred] if name in ("cause", "journey_stage") else pred
        return out


def tfidf_methods(train: pd.DataFrame, eval_sets: dict[str, pd.DataFrame], lexicon: bool = True,
                  dropped: int = 0) -> dict[str, dict[str, Predictions]]:
    """Fit the heads once; predictions of ``tfidf`` (and ``tfidf+lexicon``) for every eval set."""
    started = time.perf_counter()
    heads = TfidfHeads().fit(train, lexicon=lexicon)
    fit_seconds = round(time.perf_counter() - started, 1)
    notes = {"train_rows": dict(train["source"].value_counts()), "dropped_train_rows_equal_to_eval": dropped,
             "C": heads.C, "fit_seconds": fit_seconds,
             "per_field": "sentiment (3), cause (7 + none), journey_stage (7 + none): multinomial LR, balanced; "
                          "topics (17), emotions (6): one-vs-rest LR, thresholds tuned on 10 % of the train rows"}
    notes["train_rows"] = {k: int(v) for k, v in notes["train_rows"].items()}
    variants = {"tfidf": (False, "TF-IDF heads (word 1-2 + char 2-5) trained on cxreal train + in-house train")}
    if lexicon:
        variants["tfidf+lexicon"] = (True, "the TF-IDF heads with the production lexicon scores added as features "
                                           f"(weight {heads.lexicon_weight}) for cause, stage and topics")
    out: dict[str, dict[str, Predictions]] = {}
    for method, (lex, description) in variants.items():
        out[method] = {}
        for set_name, frame in eval_sets.items():
            t0 = time.perf_counter()
            fields = heads.predict(list(frame["text"]), lexicon=lex)
            out[method][set_name] = Predictions(method, fields, description,
                                                {**notes, "predict_seconds": round(time.perf_counter() - t0, 1)})
    return out


# ---------------------------------------------------------------- c. multi-task encoder
HEAD_VOCAB: dict[str, set[str]] = {
    "sentiment": set(SINGLE_FIELDS["sentiment"]), "cause": {*SINGLE_FIELDS["cause"], NONE},
    "journey_stage": {*SINGLE_FIELDS["journey_stage"], NONE}, "topics": set(TOPICS), "emotions": set(EMOTIONS),
}


def encoder(model_dir: str | Path, frame: pd.DataFrame) -> Predictions:
    """A multi-task encoder directory: argmax of the single-label heads ("—" = none), thresholds of the
    multi-label heads from ``voc_model.json`` ``heads``. Heads the model lacks are not scored."""
    from voc_models.multitask import runner_for

    runner = runner_for(model_dir)
    heads = runner.info.heads
    for head, spec in heads.items():
        if head in HEAD_VOCAB:
            bad = [lab for lab in spec["labels"] if lab not in HEAD_VOCAB[head] and lab != NO_EMOTION]
            if bad:
                raise ValueError(f"{model_dir}: head '{head}' has labels outside voc's vocabulary: {bad}")
    t0 = time.perf_counter()
    proba = runner.proba(list(frame["text"]))
    fields: dict[str, list] = {}
    for head, spec in heads.items():
        if head not in HEAD_VOCAB:
            continue
        labels, p = list(spec["labels"]), proba[head]
        if spec.get("multilabel"):
            thr = np.array([float(spec.get("thresholds", {}).get(lab, spec.get("threshold", 0.5))) for lab in labels])
            fields[head] = [[labels[j] for j in np.flatnonzero(row >= thr) if labels[j] != NO_EMOTION] for row in p]
        else:
            top = [labels[j] for j in p.argmax(axis=1)]
            fields[head] = [("" if lab == NONE else lab) for lab in top] if head != "sentiment" else top
    name = f"encoder:{Path(model_dir).name}"
    return Predictions(name, fields, f"multi-task encoder {model_dir} ({runner.info.name}@{runner.info.version}, "
                       f"backend {runner.backend})", {"predict_seconds": round(time.perf_counter() - t0, 1),
                                                      "heads": list(heads)})
