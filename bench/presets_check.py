"""Check the domain presets against the real-text CX labelled set (datasets/cxreal): the lexicon topic, cause and
stage analyzers with the default configs vs with the domain's preset, on the rows of that domain.

    python bench/presets_check.py --split train     # the split the presets were written against
    python bench/presets_check.py --split eval      # held out: never used to write the presets

Writes bench/results/presets_check_<split>.json: per domain and config, predicted vs gold label counts, topic
micro-F1, cause accuracy / macro-F1 on complaints, stage accuracy on rows with a stage; and, label-free, the
topic and stage counts on all 3,700 otzovik Sberbank reviews with the default configs vs the banking preset.
Needs the shared datasets (VOC_DATASETS_DIR). The texts never leave memory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

DOMAINS = {"bank": "banking", "retail": "retail", "telecom": "telecom"}


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def macro_f1(gold: list[str], pred: list[str]) -> float:
    labels = sorted(set(gold))
    return sum(_f1(sum(g == p == lab for g, p in zip(gold, pred, strict=True)),
                   sum(p == lab != g for g, p in zip(gold, pred, strict=True)),
                   sum(g == lab != p for g, p in zip(gold, pred, strict=True))) for lab in labels) / len(labels)


def evaluate(frame, taxonomy, journey, causes) -> dict:  # noqa: ANN001
    """Lexicon analyzers with the given config files on the rows of ``frame``."""
    from voc.analyzers.cause import CauseAnalyzer
    from voc.analyzers.journey import JourneyStageAnalyzer
    from voc.analyzers.topics import TopicAnalyzer
    from voc.schema import Feedback, Findings

    topics_a, cause_a, stage_a = TopicAnalyzer(taxonomy), CauseAnalyzer(causes), JourneyStageAnalyzer(journey)
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(frame["text"])]
    findings = [Findings(feedback_id=r.id, sentiment="negative") for r in records]
    topics_a(records, findings)
    stage_a(records, findings)
    pred_topics = [{t.name for t in f.topics} for f in findings]
    gold_topics = [set(t) for t in frame["topics"]]
    tp = sum(len(p & g) for p, g in zip(pred_topics, gold_topics, strict=True))
    fp = sum(len(p - g) for p, g in zip(pred_topics, gold_topics, strict=True))
    fn = sum(len(g - p) for p, g in zip(pred_topics, gold_topics, strict=True))
    complaint = [i for i, c in enumerate(frame["cause"]) if c]
    pred_cause = [lab.name for lab in cause_a.predict([frame["text"].iloc[i] for i in complaint])]
    gold_cause = [frame["cause"].iloc[i] for i in complaint]
    staged = [i for i, s in enumerate(frame["journey_stage"]) if s]
    pred_stage = [findings[i].journey_stage or "" for i in staged]
    gold_stage = [frame["journey_stage"].iloc[i] for i in staged]
    return {
        "rows": len(frame),
        "topics": {
            "micro_f1": round(_f1(tp, fp, fn), 4),
            "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
            "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
            "predicted": dict(Counter(t for p in pred_topics for t in p).most_common()),
            "gold": dict(Counter(t for g in gold_topics for t in g).most_common()),
            "rows_without_topic": sum(not p for p in pred_topics),
        },
        "cause_on_complaints": {
            "rows": len(complaint),
            "accuracy": round(sum(p == g for p, g in zip(pred_cause, gold_cause, strict=True)) / len(complaint), 4)
            if complaint else None,
            "macro_f1": round(macro_f1(gold_cause, pred_cause), 4) if complaint else None,
            "predicted": dict(Counter(pred_cause).most_common()),
            "gold": dict(Counter(gold_cause).most_common()),
        },
        "stage_on_staged_rows": {
            "rows": len(staged),
            "accuracy": round(sum(p == g for p, g in zip(pred_stage, gold_stage, strict=True)) / len(staged), 4)
            if staged else None,
            "macro_f1": round(macro_f1(gold_stage, pred_stage), 4) if staged else None,
            "predicted": dict(Counter(pred_stage).most_common()),
            "gold": dict(Counter(gold_stage).most_common()),
        },
    }


SBERBANK = "sentiment/otzovik_sberbank_reviews/all.csv"


def distribution(texts: list[str], taxonomy, journey) -> dict:  # noqa: ANN001
    """Label-free: how many texts get each topic and stage (lexicon analyzers)."""
    from voc.analyzers.journey import JourneyStageAnalyzer
    from voc.analyzers.topics import TopicAnalyzer
    from voc.schema import Feedback, Findings

    records = [Feedback(id=str(i), text=t) for i, t in enumerate(texts)]
    findings = [Findings(feedback_id=r.id, sentiment="negative") for r in records]
    TopicAnalyzer(taxonomy)(records, findings)
    JourneyStageAnalyzer(journey)(records, findings)
    return {"topics": dict(Counter(t.name for f in findings for t in f.topics).most_common()),
            "stages": dict(Counter(f.journey_stage or "" for f in findings).most_common())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="train", choices=["train", "eval"])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from voc.presets import load_preset
    from voc_training.cxlabels.loader import load_cxreal

    frame = load_cxreal(args.split)
    t0 = time.perf_counter()
    results: dict = {}
    for domain, preset in DOMAINS.items():
        rows = frame[frame["domain"] == domain].reset_index(drop=True)
        paths = load_preset(preset).paths
        results[domain] = {
            "preset": preset,
            "default": evaluate(rows, None, None, None),
            "preset_result": evaluate(rows, paths["taxonomy"], paths["journey"], paths["causes"]),
        }
        d, p = results[domain]["default"], results[domain]["preset_result"]
        print(f"{domain:8s} {preset:8s} topics micro-F1 {d['topics']['micro_f1']:.3f} → {p['topics']['micro_f1']:.3f}  "
              f"cause acc {d['cause_on_complaints']['accuracy']} → {p['cause_on_complaints']['accuracy']}  "
              f"stage acc {d['stage_on_staged_rows']['accuracy']} → {p['stage_on_staged_rows']['accuracy']}")
    from voc_training.cxlabels.select import read_source
    from voc_training.data import datasets_root

    sber = [t for _, t in read_source(datasets_root(), SBERBANK)]
    banking = load_preset("banking").paths
    shift = {"source": SBERBANK, "rows": len(sber), "default": distribution(sber, None, None),
             "banking": distribution(sber, banking["taxonomy"], banking["journey"])}
    for key in ("default", "banking"):
        top = list(shift[key]["topics"].items())[:6]
        print(f"{SBERBANK} ({len(sber)} rows) {key:8s} topics {top}; доставка stage "
              f"{shift[key]['stages'].get('доставка', 0)}")
    out = args.out or ROOT / "bench" / "results" / f"presets_check_{args.split}.json"
    out.write_text(json.dumps({
        "command": "python bench/presets_check.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "split": args.split,
        "seconds": round(time.perf_counter() - t0, 1),
        "note": "lexicon analyzers (topics, cause forced over complaint rows, stage with topic hints); cxreal labels",
        "results": results,
        "unlabelled_distribution_shift": shift,
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
