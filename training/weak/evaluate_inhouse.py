"""Scores of the rule/weakly-supervised analyzers on the in-house labelled set.

    python -m voc_training.weak.evaluate_inhouse [--split eval|train] [--json out.json]

* cause: macro-F1 over the gold negative rows (the analyzer sees them as negative);
* journey stage: macro-F1 of the stage predicted from the text only (no record stage, no ticket); the
  topic analyzer runs first, as in the pipeline, so its topic hints count;
* topics: micro- and macro-F1 of the taxonomy topics (multi-label).

Document sentiment is taken from the gold label (topics only use it for aspect sentiment, which is not
scored here). Tune on ``--split train``; report ``--split eval``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import classification_report, f1_score
from sklearn.preprocessing import MultiLabelBinarizer

from voc.analyzers.cause import CauseAnalyzer
from voc.analyzers.journey import JourneyStageAnalyzer
from voc.analyzers.topics import TopicAnalyzer
from voc.schema import Feedback, Findings
from voc_datasets.inhouse import load_inhouse


def evaluate(split: str = "eval") -> dict[str, Any]:
    """Run topics → cause → journey stage on one split and score them against the gold labels."""
    frame = load_inhouse(split)
    records = [Feedback(id=r.id, text=r.text, channel=r.channel) for r in frame.itertuples()]
    findings = [Findings(feedback_id=r.id, sentiment=r.sentiment) for r in frame.itertuples()]
    started = time.perf_counter()
    topics, cause, journey = TopicAnalyzer(), CauseAnalyzer(), JourneyStageAnalyzer()
    for analyzer in (topics, cause, journey):
        analyzer(records, findings)
    seconds = time.perf_counter() - started

    neg = [i for i, s in enumerate(frame.sentiment) if s == "negative"]
    cause_gold = [frame.cause.iloc[i] for i in neg]
    cause_pred = [findings[i].cause.name if findings[i].cause else "" for i in neg]
    stage_gold = list(frame.journey_stage)
    stage_pred = [f.journey_stage or "" for f in findings]
    mlb = MultiLabelBinarizer(classes=topics.taxonomy.names())
    t_gold = mlb.fit_transform(frame.topics)
    t_pred = mlb.transform([f.topic_names() for f in findings])
    cause_labels, stage_labels = cause.config.names(), journey.labels_
    return {
        "split": split,
        "rows": len(frame),
        "seconds": round(seconds, 2),
        "cause": {
            "rows": len(neg),
            "macro_f1": round(f1_score(cause_gold, cause_pred, labels=cause_labels, average="macro"), 4),
            "accuracy": round(float(np.mean(np.array(cause_gold) == np.array(cause_pred))), 4),
            "per_label": _per_label(cause_gold, cause_pred, cause_labels),
        },
        "journey_stage": {
            "rows": len(frame),
            "macro_f1": round(f1_score(stage_gold, stage_pred, labels=stage_labels, average="macro"), 4),
            "accuracy": round(float(np.mean(np.array(stage_gold) == np.array(stage_pred))), 4),
            "per_label": _per_label(stage_gold, stage_pred, stage_labels),
        },
        "topics": {
            "rows": len(frame),
            "micro_f1": round(f1_score(t_gold, t_pred, average="micro", zero_division=0), 4),
            "macro_f1": round(f1_score(t_gold, t_pred, average="macro", zero_division=0), 4),
            "per_label": {
                name: round(float(v), 4)
                for name, v in zip(mlb.classes_, f1_score(t_gold, t_pred, average=None, zero_division=0), strict=True)
            },
        },
    }


def _per_label(gold: list[str], pred: list[str], labels: list[str]) -> dict[str, float]:
    report = classification_report(gold, pred, labels=labels, output_dict=True, zero_division=0)
    return {lab: round(report[lab]["f1-score"], 4) for lab in labels}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("eval", "train"), default="eval")
    parser.add_argument("--json", type=Path, default=None, help="also write the scores to this JSON file")
    args = parser.parse_args(argv)
    scores = evaluate(args.split)
    text = json.dumps(scores, ensure_ascii=False, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
