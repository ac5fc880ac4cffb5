"""Zero-shot cause / journey stage / topics on the real-text CX labelled set, as if the labels were new.

    python bench/cx_zeroshot.py                       # eval split, configs in bench/zeroshot/cx/
    python bench/cx_zeroshot.py --cache-dir /tmp/e5   # reuse e5 embeddings across runs (speed is then measured
                                                      # separately, on --speed-texts texts with a cold encoder)

The analyzers see only the YAML files in ``--configs`` (descriptions + ≤ 3 invented examples per label, a few
keywords): nothing is fitted on labelled texts. The pipeline order is the product's: the shipped sentiment
model runs first and the zero-shot cause is given to the texts it calls negative (``cause``); ``cause_forced``
is the zero-shot cause of every text, scored on the rows whose gold label has a cause. The lexicon analyzers
with the shipped default configs are scored on the same rows for reference.

Writes ``bench/results/cx_zeroshot_predictions.jsonl`` (one line per row: source, row, text_sha1, cause,
journey_stage, topics, cause_forced) and ``bench/results/cx_zeroshot.json`` (metrics, speed, command, machine,
date). Needs the shared datasets (VOC_DATASETS_DIR); no text is written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402
from voc.zeroshot import E5Encoder  # noqa: E402

RESULTS = ROOT / "bench" / "results"


class DiskCachedEncoder(E5Encoder):
    """E5Encoder that also keeps every embedding as an .npy file (bench convenience, keyed by text hash)."""

    def __init__(self, cache_dir: Path) -> None:
        super().__init__()
        self.cache_dir = cache_dir

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        folder = self.cache_dir / ("query" if is_query else "passage")
        folder.mkdir(parents=True, exist_ok=True)
        files = [folder / f"{hashlib.sha1(t.encode()).hexdigest()}.npy" for t in texts]
        missing = [i for i, f in enumerate(files) if not f.is_file()]
        fresh = super()._embed([texts[i] for i in missing], is_query) if missing else None
        rows = {}
        for k, i in enumerate(missing):
            np.save(files[i], fresh[k])  # type: ignore[index]
            rows[i] = fresh[k]  # type: ignore[index]
        out = [rows[i] if i in rows else np.load(f) for i, f in enumerate(files)]
        return np.stack(out) if out else np.zeros((0, 384), dtype=np.float32)


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def single_label_metrics(gold: Sequence[str], pred: Sequence[str]) -> dict:
    """Accuracy and macro-F1 over the gold classes ('' in pred counts as a wrong answer)."""
    labels = sorted(set(gold))
    per = {lab: round(_f1(sum(g == p == lab for g, p in zip(gold, pred, strict=True)),
                          sum(p == lab != g for g, p in zip(gold, pred, strict=True)),
                          sum(g == lab != p for g, p in zip(gold, pred, strict=True))), 4) for lab in labels}
    return {"rows": len(gold), "accuracy": round(float(np.mean([g == p for g, p in zip(gold, pred, strict=True)])), 4),
            "macro_f1": round(float(np.mean(list(per.values()))), 4), "f1_per_label": per,
            "predicted": dict(Counter(pred).most_common())}


def topic_metrics(gold: Sequence[set[str]], pred: Sequence[set[str]]) -> dict:
    tp = sum(len(p & g) for p, g in zip(pred, gold, strict=True))
    fp = sum(len(p - g) for p, g in zip(pred, gold, strict=True))
    fn = sum(len(g - p) for p, g in zip(pred, gold, strict=True))
    labels = sorted({t for g in gold for t in g})
    per = {lab: round(_f1(sum(lab in p and lab in g for p, g in zip(pred, gold, strict=True)),
                          sum(lab in p and lab not in g for p, g in zip(pred, gold, strict=True)),
                          sum(lab in g and lab not in p for p, g in zip(pred, gold, strict=True))), 4) for lab in labels}
    return {"rows": len(gold), "micro_f1": round(_f1(tp, fp, fn), 4),
            "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
            "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
            "macro_f1": round(float(np.mean(list(per.values()))), 4), "f1_per_label": per,
            "labels_per_row": {"predicted": round(float(np.mean([len(p) for p in pred])), 3),
                               "gold": round(float(np.mean([len(g) for g in gold])), 3)}}


def run_zeroshot(texts: list[str], sentiments: list[str], configs: Path, encoder) -> dict:  # noqa: ANN001
    """The three zero-shot analyzers over the texts; per-row outputs."""
    from voc.analyzers.zeroshot import (
        ZeroShotCauseAnalyzer,
        ZeroShotJourneyStageAnalyzer,
        ZeroShotTopicAnalyzer,
        record_units,
    )
    from voc.schema import Feedback, Findings

    topics = ZeroShotTopicAnalyzer(configs / "taxonomy.yaml", encoder=encoder)
    cause = ZeroShotCauseAnalyzer(configs / "causes.yaml", encoder=encoder)
    stage = ZeroShotJourneyStageAnalyzer(configs / "journey.yaml", encoder=encoder)
    t0 = time.perf_counter()
    for a in (topics, cause, stage):
        a.classifier.fit()
    fit_s = time.perf_counter() - t0
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(texts)]
    findings = [Findings(feedback_id=r.id, sentiment=s) for r, s in zip(records, sentiments, strict=True)]
    t0 = time.perf_counter()
    topics(records, findings)
    cause(records, findings)
    stage(records, findings)
    run_s = time.perf_counter() - t0
    forced = cause.predict(records)
    stage_scores, _ = stage.classifier.score_units([record_units(r, stage.classifier.max_sentences) for r in records])
    return {
        "journey_stage_forced": [stage.classifier.names[int(j)] for j in stage_scores.argmax(axis=1)],
        "topics": [sorted(t.name for t in f.topics) for f in findings],
        "cause": [f.cause.name if f.cause else "" for f in findings],
        "cause_forced": [lab.name for lab in forced],
        "journey_stage": [f.journey_stage or "" for f in findings],
        "evidence": [[e.model_dump() for e in f.evidence] for f in findings],
        "fit_seconds": fit_s, "run_seconds": run_s,
        "calibration": {name: {"temperature": round(a.classifier.temperature_, 4),
                               "loo_accuracy": round(a.classifier.loo_accuracy_, 4)}
                        for name, a in (("topics", topics), ("cause", cause), ("journey_stage", stage))},
    }


def lexicon_baseline(frame) -> dict:  # noqa: ANN001
    """The shipped lexicon analyzers (default configs) on the same rows, for reference."""
    from voc.analyzers.cause import CauseAnalyzer
    from voc.analyzers.journey import JourneyStageAnalyzer
    from voc.analyzers.topics import TopicAnalyzer
    from voc.schema import Feedback, Findings

    records = [Feedback(id=str(i), text=t) for i, t in enumerate(frame["text"])]
    findings = [Findings(feedback_id=r.id, sentiment="negative") for r in records]
    TopicAnalyzer()(records, findings)
    JourneyStageAnalyzer()(records, findings)
    complaint = [i for i, c in enumerate(frame["cause"]) if c]
    causes = CauseAnalyzer().predict([frame["text"].iloc[i] for i in complaint])
    staged = [i for i, s in enumerate(frame["journey_stage"]) if s]
    return {
        "cause_forced_on_complaints": single_label_metrics([frame["cause"].iloc[i] for i in complaint],
                                                           [c.name for c in causes]),
        "stage_on_staged_rows": single_label_metrics([frame["journey_stage"].iloc[i] for i in staged],
                                                     [findings[i].journey_stage or "" for i in staged]),
        "topics": topic_metrics([set(t) for t in frame["topics"]], [{t.name for t in f.topics} for f in findings]),
        "note": "default taxonomy has no 'вклады и накопления' / 'безопасность/мошенничество'; default journey "
                "gives обслуживание/поддержка when no cue",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="eval", choices=["train", "eval"])
    parser.add_argument("--configs", type=Path, default=ROOT / "bench" / "zeroshot" / "cx")
    parser.add_argument("--cache-dir", type=Path, default=None, help="keep e5 embeddings here between runs")
    parser.add_argument("--speed-texts", type=int, default=60, help="texts timed with a cold encoder (0: skip)")
    parser.add_argument("--limit", type=int, default=None, help="first N rows only (smoke runs)")
    parser.add_argument("--out", type=Path, default=RESULTS / "cx_zeroshot.json")
    parser.add_argument("--predictions", type=Path, default=RESULTS / "cx_zeroshot_predictions.jsonl")
    args = parser.parse_args(argv)

    from voc.analyzers.registry import create
    from voc.schema import Feedback, Findings
    from voc_training.cxlabels.loader import load_cxreal

    frame = load_cxreal(args.split)
    if args.limit:
        frame = frame.head(args.limit).reset_index(drop=True)
    texts = frame["text"].tolist()
    sentiment = create("sentiment")
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(texts)]
    sent_findings = [Findings(feedback_id=r.id) for r in records]
    sentiment(records, sent_findings)
    sentiments = [f.sentiment or "neutral" for f in sent_findings]

    encoder = DiskCachedEncoder(args.cache_dir) if args.cache_dir else E5Encoder()
    out = run_zeroshot(texts, sentiments, args.configs, encoder)

    speed = None
    if args.speed_texts:
        # a random sample, a cold encoder: nothing cached (label prototypes are timed apart)
        pick = sorted(random.Random(0).sample(range(len(texts)), min(args.speed_texts, len(texts))))
        sample = [texts[i] for i in pick]
        load = os.getloadavg()[0]
        cold = run_zeroshot(sample, [sentiments[i] for i in pick], args.configs, E5Encoder())
        speed = {"texts": len(sample), "mean_chars": round(float(np.mean([len(t) for t in sample])), 1),
                 "label_fit_seconds": round(cold["fit_seconds"], 2),
                 "analyze_seconds": round(cold["run_seconds"], 2),
                 "texts_per_second": round(len(sample) / cold["run_seconds"], 2),
                 "load_average_before": round(load, 2),
                 "what": "topics + cause + journey_stage zero-shot analyzers together (one shared e5 encoder and "
                         "embedding cache: whole text + sentences embedded once), after label fitting"}
    elif not args.cache_dir:
        speed = {"texts": len(texts), "analyze_seconds": round(out["run_seconds"], 2),
                 "texts_per_second": round(len(texts) / out["run_seconds"], 2)}

    gold_cause = frame["cause"].tolist()
    complaint = [i for i, c in enumerate(gold_cause) if c]
    staged = [i for i, s in enumerate(frame["journey_stage"]) if s]
    gold_stage = frame["journey_stage"].tolist()
    negative = [s == "negative" for s in sentiments]
    metrics = {
        "cause_forced_on_complaints": single_label_metrics([gold_cause[i] for i in complaint],
                                                           [out["cause_forced"][i] for i in complaint]),
        "cause_pipeline_on_complaints": single_label_metrics([gold_cause[i] for i in complaint],
                                                             [out["cause"][i] for i in complaint]),
        "complaint_gate": {"what": "shipped sentiment model says negative ⇒ a cause is given",
                           "precision": round(sum(negative[i] for i in complaint) / max(1, sum(negative)), 4),
                           "recall": round(sum(negative[i] for i in complaint) / max(1, len(complaint)), 4)},
        "stage_on_staged_rows": single_label_metrics([gold_stage[i] for i in staged],
                                                     [out["journey_stage"][i] for i in staged]),
        "stage_forced_on_staged_rows": single_label_metrics([gold_stage[i] for i in staged],
                                                            [out["journey_stage_forced"][i] for i in staged]),
        "stage_all_rows_with_none": single_label_metrics(gold_stage, out["journey_stage"]),
        "topics": topic_metrics([set(t) for t in frame["topics"]], [set(t) for t in out["topics"]]),
    }
    args.predictions.parent.mkdir(parents=True, exist_ok=True)
    with args.predictions.open("w", encoding="utf-8") as fh:
        for i, r in enumerate(frame.itertuples(index=False)):
            fh.write(json.dumps({"source": r.source, "row": int(r.row), "text_sha1": r.text_sha1,
                                 "cause": out["cause"][i], "journey_stage": out["journey_stage"][i],
                                 "topics": out["topics"][i], "cause_forced": out["cause_forced"][i]},
                                ensure_ascii=False) + "\n")
    result = {
        "command": "python bench/cx_zeroshot.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "split": args.split,
        "rows": len(frame),
        "configs": str(args.configs.relative_to(ROOT)) if args.configs.is_relative_to(ROOT) else str(args.configs),
        "model": encoder.model_id,
        "calibration": out["calibration"],
        "metrics": metrics,
        "lexicon_default_baseline": lexicon_baseline(frame),
        "speed": speed,
        "predictions": str(args.predictions.relative_to(ROOT)) if args.predictions.is_relative_to(ROOT)
        else str(args.predictions),
    }
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    m = metrics
    print(f"cause forced on complaints: acc {m['cause_forced_on_complaints']['accuracy']:.3f} "
          f"macro-F1 {m['cause_forced_on_complaints']['macro_f1']:.3f} | pipeline acc "
          f"{m['cause_pipeline_on_complaints']['accuracy']:.3f}")
    print(f"stage on staged rows: acc {m['stage_on_staged_rows']['accuracy']:.3f} macro-F1 "
          f"{m['stage_on_staged_rows']['macro_f1']:.3f}; all rows (none a class) acc "
          f"{m['stage_all_rows_with_none']['accuracy']:.3f}")
    print(f"topics micro-F1 {m['topics']['micro_f1']:.3f} (P {m['topics']['precision']:.3f} R "
          f"{m['topics']['recall']:.3f})")
    print(f"speed: {speed}")
    print(f"wrote {args.out} and {args.predictions}")


if __name__ == "__main__":
    main()
