"""Throughput of the TF-IDF models and the sentiment/emotion analyzers on one core.

    python -m voc_training.bench_speed [--n 3000]

Texts are evaluation-split texts of the shared datasets, cut/padded to ~200 characters (read in place).
"""

from __future__ import annotations

import json
import os
import time

import typer

from voc.analyzers.emotions import EmotionAnalyzer
from voc.analyzers.sentiment import SentimentAnalyzer
from voc.schema import Feedback, Findings
from voc_models.registry import default_model_path, load_model
from voc_training.data import load_sentiment_eval


def _texts(n: int, chars: int = 200) -> list[str]:
    base = load_sentiment_eval("rusentitweet").texts + load_sentiment_eval("sentirueval2015_banks").texts
    out: list[str] = []
    for i in range(n):
        t = base[i % len(base)]
        while len(t) < chars:
            t = f"{t} {base[(i * 7 + len(t)) % len(base)]}"
        out.append(t[:chars])
    return out


def _rate(fn, n: int, repeat: int = 3) -> float:
    """Items per CPU-second of this process (best of ``repeat``): one core, whatever else the machine runs."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return n / best


def main(n: int = typer.Option(3000, help="texts per measurement")) -> None:
    """Print texts/s (models) and records/s (analyzers) per CPU-second of one core, as JSON."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    texts = _texts(n)
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(texts)]
    result: dict[str, float] = {"texts": n, "mean_chars": sum(map(len, texts)) / n}
    for task in ("sentiment", "emotions"):
        model = load_model(default_model_path(task), task=task)
        result[f"{task}_model_texts_per_s"] = round(_rate(lambda m=model: m.predict_proba(texts), n))
    for name, analyzer in (("sentiment", SentimentAnalyzer()), ("sentiment_doc_only", SentimentAnalyzer(per_sentence=False)),
                           ("emotions", EmotionAnalyzer())):
        def run(a=analyzer) -> None:
            a(records, [Findings(feedback_id=r.id) for r in records])

        result[f"{name}_analyzer_records_per_s"] = round(_rate(run, n))
    typer.echo(json.dumps(result, indent=2))


if __name__ == "__main__":
    typer.run(main)
