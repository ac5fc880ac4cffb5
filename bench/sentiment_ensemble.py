"""Sentiment macro-F1 of an encoder, the shipped TF-IDF model and their equal-weight probability average.

    python bench/sentiment_ensemble.py runs/mt-distil runs/mt-teacher --out bench/results/sentiment_ensemble.json

The weight is fixed at 0.5 (not tuned: only 0, 0.5 and 1 are scored, on the shared test splits).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402


def main() -> None:
    from sklearn.metrics import f1_score

    from voc_models.registry import SHIPPED_DIR, load_model
    from voc_training.data import SENTIMENT_EVAL_SETS, load_sentiment_eval

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="encoder model directories (their sentiment head)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/sentiment_ensemble.json")
    args = ap.parse_args()
    tfidf = load_model(SHIPPED_DIR / "sentiment-tfidf", task="sentiment")
    labels = list(tfidf.info.labels)
    table: dict[str, dict[str, float]] = {}
    for path in args.models:
        model = load_model(path, task="sentiment")
        if list(model.info.labels) != labels:
            raise SystemExit(f"{path}: labels {model.info.labels} differ from TF-IDF's {labels}")
        tag = Path(path).name
        for name in SENTIMENT_EVAL_SETS:
            data = load_sentiment_eval(name)
            a, b = tfidf.predict_proba(data.texts), model.predict_proba(data.texts)
            gold = list(data.labels)
            for weight, who in ((1.0, "tfidf"), (0.0, tag), (0.5, f"{tag}+tfidf (0.5/0.5)")):
                pred = [labels[i] for i in (weight * a + (1 - weight) * b).argmax(1)]
                table.setdefault(f"test:{name}", {})[who] = round(
                    float(f1_score(gold, pred, average="macro", labels=sorted(set(gold)))), 4)
            print(name, table[f"test:{name}"], flush=True)
    out = {"benchmark": "sentiment macro-F1: encoder, shipped TF-IDF, equal-weight probability average",
           "command": "python bench/sentiment_ensemble.py " + " ".join(args.models), "machine": describe(),
           "date": datetime.now(UTC).isoformat(timespec="seconds"), "macro_f1": table}
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
