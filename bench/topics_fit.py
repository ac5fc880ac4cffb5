"""Benchmark: topic-model fit time and peak RSS for N texts from the shared corpora (read in place).

    nice -n 10 .venv/bin/python bench/topics_fit.py --sizes 10000 100000 --out bench/results/topics_fit.json
    nice -n 10 .venv/bin/python bench/topics_fit.py --compare   # kmeans vs hdbscan vs umap_hdbscan, purity

Each size runs in a fresh subprocess so peak RSS (ru_maxrss) is per run. ``--compare`` fits the three
clustering choices on ``topics/gazprombank_products`` and reports time, outlier share and purity against
the product labels (majority baseline too).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def datasets_dir() -> Path:
    return Path(os.environ.get("VOC_DATASETS_DIR", ROOT.parent / "shared" / "datasets"))


def corpus_texts(n: int) -> list[str]:
    """Feedback-like lines: gazprombank reviews + review lines of the pre-training corpus extras."""
    import pandas as pd

    base = datasets_dir()
    texts = pd.read_csv(base / "topics/gazprombank_products/all.csv", dtype=str, keep_default_na=False)["text"].tolist()
    for name in ("corpus/extra/banki_ru_reviews_semenzhidkov.txt.gz", "corpus/extra/product_reviews_sokol499.txt.gz",
                 "corpus/pretraining.txt.gz"):
        if len(texts) >= n:
            break
        with gzip.open(base / name, "rt", encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if len(line) >= 30:
                    texts.append(line[:2000])
                if len(texts) >= n:
                    break
    return texts[:n]


def run_one(n: int, clustering: str) -> dict:
    from voc.topics import TopicModel

    texts = corpus_texts(n)
    started = time.perf_counter()
    model = TopicModel(clustering=clustering).fit(texts)
    seconds = time.perf_counter() - started
    return {"n_texts": len(texts), "clustering": clustering, "fit_seconds": round(seconds, 1),
            "n_topics": model.stats_.n_topics, "outlier_share": round(model.stats_.outlier_share, 4),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def compare(sample: int) -> list[dict]:
    import pandas as pd

    from voc.topics import TopicModel

    data = pd.read_csv(datasets_dir() / "topics/gazprombank_products/all.csv", dtype=str, keep_default_na=False)
    if sample < len(data):
        data = data.sample(sample, random_state=0)
    out = []
    for clustering in ("kmeans", "hdbscan", "umap_hdbscan"):
        started = time.perf_counter()
        model = TopicModel(clustering=clustering).fit(data["text"].tolist())
        labels = pd.Series(model.labels_, index=data.index)
        out.append({"clustering": clustering, "n_texts": len(data), "fit_seconds": round(time.perf_counter() - started, 1),
                    "n_topics": model.stats_.n_topics, "outlier_share": round(model.stats_.outlier_share, 4),
                    "outliers_before_reduction": round(model.stats_.outliers_before_reduction, 4),
                    "purity": round(purity(labels, data["product"]), 4),
                    "majority_baseline": round(float(data["product"].value_counts().iloc[0] / len(data)), 4)})
        print(json.dumps(out[-1], ensure_ascii=False), flush=True)
    return out


def purity(topics, labels) -> float:
    """Share of assigned records whose topic's majority label is their label (outliers excluded)."""
    ok = topics != -1
    if not ok.any():
        return 0.0
    hits = labels[ok].groupby(topics[ok]).agg(lambda s: s.value_counts().iloc[0]).sum()
    return float(hits / ok.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--clustering", default="kmeans")
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--compare-sample", type=int, default=4753)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.clustering)))
        return
    result: dict = {"command": " ".join([Path(sys.executable).name, *sys.argv]),
                    "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                "python": platform.python_version(), "note": "2 cores shared with other jobs"},
                    "runs": [], "clustering_comparison": []}
    for n in args.sizes:
        proc = subprocess.run([sys.executable, __file__, "--one", str(n), "--clustering", args.clustering],
                              capture_output=True, text=True, check=True)
        result["runs"].append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(result["runs"][-1]), flush=True)
    if args.compare:
        result["clustering_comparison"] = compare(args.compare_sample)
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
