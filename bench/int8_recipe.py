"""Which layers of an exported multi-task encoder to quantise: speed, agreement and sentiment macro-F1 of the same
weights exported two ways (FFN output projections kept fp32 vs every MatMul int8).

    python bench/int8_recipe.py runs/mt-distil-ffnfp32 runs/mt-distil runs/mt-teacher-ffnfp32 runs/mt-teacher \\
        --out bench/results/int8_ffn_out.json

Pairs are (reference, candidate). Speed: one thread, 1,000 distinct real texts (bench/throughput.py --real),
documents per second of the whole forward pass (tokenise → every head). Agreement: argmax of every head on the
same texts. Quality: sentiment macro-F1 alone and averaged 0.5/0.5 with the shipped TF-IDF model on the shared
test splits (what the ensembles ship).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VOC_NUM_THREADS", "1")

from bench.machine import describe  # noqa: E402


def main() -> None:
    import numpy as np
    import pandas as pd
    from sklearn.metrics import f1_score

    from bench.throughput import make_real_input
    from voc_models.multitask import MultiTaskRunner
    from voc_models.registry import SHIPPED_DIR, load_model
    from voc_training.data import SENTIMENT_EVAL_SETS, load_sentiment_eval

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="reference candidate [reference candidate …] model directories")
    ap.add_argument("--texts", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/int8_ffn_out.json")
    args = ap.parse_args()
    if len(args.models) % 2:
        raise SystemExit("give model directories in (reference, candidate) pairs")
    data = make_real_input(20_000, ROOT / "bench/data/real_20000.csv")
    texts = pd.read_csv(data, dtype=str, keep_default_na=False)["текст"].tolist()[5000:5000 + args.texts]
    tfidf = load_model(SHIPPED_DIR / "sentiment-tfidf", task="sentiment")
    evals = {name: load_sentiment_eval(name) for name in SENTIMENT_EVAL_SETS}
    tfidf_proba = {name: tfidf.predict_proba(d.texts) for name, d in evals.items()}
    results = []
    for ref, cand in zip(args.models[::2], args.models[1::2], strict=True):
        row: dict = {"reference": ref, "candidate": cand}
        probas = {}
        for tag, path in (("reference", ref), ("candidate", cand)):
            runner = MultiTaskRunner(path, backend="onnx", batch_size=8)
            runner.proba(texts[:32], cache=False)
            t0 = time.perf_counter()
            probas[tag] = runner.proba(texts, cache=False)
            row.setdefault("docs_per_second_1_thread", {})[tag] = round(len(texts) / (time.perf_counter() - t0), 1)
            row.setdefault("onnx_mb", {})[tag] = round((Path(path) / "model.int8.onnx").stat().st_size / 2**20, 1)
            head = load_model(path, task="sentiment")
            labels = tfidf.info.labels
            cols = [head.labels.index(lab) for lab in labels]
            for name, d in evals.items():
                p = head.predict_proba(d.texts)[:, cols]
                gold = list(d.labels)
                for who, proba in ((tag, p), (f"{tag}+tfidf", 0.5 * p + 0.5 * tfidf_proba[name])):
                    pred = [labels[i] for i in proba.argmax(1)]
                    row.setdefault("sentiment_macro_f1", {}).setdefault(f"test:{name}", {})[who] = round(
                        float(f1_score(gold, pred, average="macro", labels=sorted(set(gold)))), 4)
        row["argmax_agreement"] = {h: round(float(np.mean(probas["reference"][h].argmax(1)
                                                          == probas["candidate"][h].argmax(1))), 4)
                                   for h in probas["reference"]}
        row["mean_abs_diff"] = {h: round(float(np.abs(probas["reference"][h] - probas["candidate"][h]).mean()), 4)
                                for h in probas["reference"]}
        print(json.dumps(row, ensure_ascii=False), flush=True)
        results.append(row)
    out = {"benchmark": "int8 export recipe: FFN output projections fp32 (reference) vs all int8 (candidate)",
           "command": "python bench/int8_recipe.py " + " ".join(args.models), "machine": describe(),
           "date": datetime.now(UTC).isoformat(timespec="seconds"), "texts": args.texts, "pairs": results}
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
