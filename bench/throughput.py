"""Throughput of `voc analyze` end to end: rows/s and peak RSS.

    python bench/throughput.py --rows 100000                 # → bench/results/throughput_100k.json
    python bench/throughput.py --rows 1000000 --chunk-size 20000
    python bench/throughput.py --real --rows 30000 [--profile fast]   # real texts → throughput_real_30k[_fast].json

Synthetic input: sentences of the bundled sample feedback recombined at random (seeded) into new reviews,
with scores, channels, customers and dates, written to bench/data/ (git-ignored) once. Short recombined
sentences flatter every model, so ``--real`` draws distinct **real** texts instead: train-side rows of the
review, tweet and app-review files in ../shared/datasets (30–1,000 characters, mean ≈ 170), read in place.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402


def make_input(rows: int, path: Path, seed: int = 7) -> Path:
    """Write a CSV of ``rows`` synthetic feedback rows (streamed, so 1M rows need little memory)."""
    if path.exists():
        return path
    from voc.text import sentences

    sample = pd.read_csv(ROOT / "datasets/sample/feedback.csv", dtype=str, keep_default_na=False)
    text_col = "текст" if "текст" in sample.columns else sample.columns[3]
    pool = [s.text for t in sample[text_col] if t.strip() for s in sentences(t) if s.text.strip()]
    rng = random.Random(seed)
    channels = ["отзыв", "опрос", "email", "соцсети"]
    start = datetime(2026, 9, 1, tzinfo=UTC)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        block = 50_000
        for b in range(0, rows, block):
            n = min(block, rows - b)
            frame = pd.DataFrame(
                {
                    "номер": [f"B{b + i}" for i in range(n)],
                    "дата": [(start + timedelta(minutes=rng.randrange(0, 60 * 24 * 70))).strftime("%d.%m.%Y %H:%M") for _ in range(n)],
                    "канал": [rng.choice(channels) for _ in range(n)],
                    "текст": [" ".join(rng.sample(pool, rng.randint(1, 4))) for _ in range(n)],
                    "оценка": [str(rng.randint(1, 5)) for _ in range(n)],
                    "клиент": [f"C{rng.randrange(rows // 3 + 1)}" for _ in range(n)],
                }
            )
            frame.to_csv(fh, index=False, header=b == 0)
    tmp.rename(path)
    return path


REAL_SOURCES = (
    "sentiment/sravni_bank_reviews/all.csv", "sentiment/otzovik_sberbank_reviews/all.csv",
    "sentiment/wildberries_product_reviews/all.csv", "sentiment/sentirueval2015_banks/train.csv",
    "sentiment/sentirueval2015_telecom/train.csv", "sentiment/rusentitweet/train.csv",
    "sentiment/rusentiment/train.csv", "sentiment/koziev_polarity/all.csv", "topics/fin_apps_problem/all.csv",
    "topics/gazprombank_products/all.csv",
)


def make_real_input(rows: int, path: Path, seed: int = 7, max_chars: int = 1000) -> Path:
    """Write a CSV of ``rows`` distinct real feedback texts (train-side files only) with synthetic metadata."""
    if path.exists():
        return path
    from voc_training.data import datasets_root

    root = datasets_root()
    pool: list[str] = []
    for rel in REAL_SOURCES:
        frame = pd.read_csv(root / rel, dtype=str, keep_default_na=False, usecols=["text"])
        pool += [t for t in frame["text"] if 30 <= len(t) <= max_chars]
    pool = list(dict.fromkeys(pool))
    rng = random.Random(seed)
    rng.shuffle(pool)
    # keep the mean near 170 characters: drop long texts at random until it is
    long_share = [t for t in pool if len(t) > 300]
    short = [t for t in pool if len(t) <= 300]
    texts = short[: int(rows * 0.78)] + long_share[: rows - int(rows * 0.78)]
    if len(texts) < rows:
        raise SystemExit(f"only {len(texts)} distinct real texts available, asked for {rows}")
    rng.shuffle(texts)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({
        "номер": [f"R{i}" for i in range(rows)],
        "дата": [(start + timedelta(minutes=rng.randrange(0, 60 * 24 * 70))).strftime("%d.%m.%Y %H:%M")
                 for _ in range(rows)],
        "канал": [rng.choice(["отзыв", "опрос", "email", "соцсети"]) for _ in range(rows)],
        "текст": texts,
        "оценка": [str(rng.randint(1, 5)) for _ in range(rows)],
        "клиент": [f"C{rng.randrange(rows // 3 + 1)}" for _ in range(rows)],
    })
    frame.to_csv(path, index=False)
    return path


def stage_seconds(outdir: Path) -> dict[str, float]:
    """Per-analyzer seconds, summed over the committed chunks (each chunk records its own timings)."""
    total: dict[str, float] = {}
    for stats in (outdir / "parts").glob("chunk-*.json"):
        for k, v in json.loads(stats.read_text(encoding="utf-8")).get("timings", {}).items():
            total[k] = total.get(k, 0.0) + v
    return {k: round(v, 1) for k, v in total.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--chunk-size", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2, help="analysis processes (voc analyze's default on 2 cores)")
    ap.add_argument("--out", type=Path, default=None, help="result JSON (default bench/results/throughput_<rows>.json)")
    ap.add_argument("--real", action="store_true", help="distinct real texts from ../shared (mean ≈ 170 chars)")
    ap.add_argument("--profile", default=None, help="pipeline profile (e.g. fast); default: the shipped default")
    args = ap.parse_args()

    if args.real:
        data = make_real_input(args.rows, ROOT / "bench/data" / f"real_{args.rows}.csv")
    else:
        data = make_input(args.rows, ROOT / "bench/data" / f"feedback_{args.rows}.csv")
    mean_chars = round(float(pd.read_csv(data, dtype=str, keep_default_na=False, usecols=["текст"])["текст"].str.len().mean()), 1)
    from voc.batch import run
    from voc.pipeline import Pipeline
    from voc.runspec import RunSpec

    outdir = ROOT / "bench/data" / f"out_{args.rows}"
    if outdir.exists():
        import shutil

        shutil.rmtree(outdir)
    t_load = time.perf_counter()
    spec = RunSpec(inputs=[data], outdir=outdir, profile=args.profile, chunk_size=args.chunk_size,
                   workers=args.workers)  # what `voc analyze` builds
    pipe = Pipeline.from_spec(spec)
    load_s = time.perf_counter() - t_load
    t0 = time.perf_counter()
    marks: list[float] = []
    result = run(spec, pipeline=pipe, quiet=True, progress=lambda p: marks.append(time.perf_counter()))
    seconds = time.perf_counter() - t0
    chunks_done = (marks[-2] if len(marks) > 1 else marks[-1]) - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    s = result.summary
    out = {
        "benchmark": "voc analyze end to end (ingest → redact → analyzers → link → aggregates → report)",
        "command": f"python bench/throughput.py --rows {args.rows} --chunk-size {args.chunk_size} --workers {args.workers}"
                   + (" --real" if args.real else "") + (f" --profile {args.profile}" if args.profile else ""),
        "input": "real texts (../shared train-side files)" if args.real else "synthetic recombined sample sentences",
        "mean_text_chars": mean_chars,
        "machine": describe(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": args.rows,
        "records": s.records,
        "rows_rejected": s.rows_rejected,
        "seconds": round(seconds, 1),
        "model_load_seconds": round(load_s, 1),
        "phase_seconds": {"chunks (ingest+analyze+write parts)": round(chunks_done, 1),
                          "finish (contacts, enriched.parquet/csv, aggregates, report)": round(seconds - chunks_done, 1)},
        "rows_per_second": round(s.rows_in / seconds, 1),
        "peak_rss_mb": round(max(rss_mb, rss_children_mb), 1),
        "peak_rss_mb_by_process": {"parent (ingest, finish)": round(rss_mb, 1),
                                   "largest worker (analysis)": round(rss_children_mb, 1)},
        "workers": args.workers,
        "stage_cpu_seconds_summed_over_workers": stage_seconds(outdir),
        "model_versions": s.model_versions,
        "target": ">= 1000 rows/s for 100k rows; peak RSS < 2 GB for 1M rows",
    }
    name = f"throughput_{'real_' if args.real else ''}{args.rows // 1000}k{'_' + args.profile if args.profile else ''}"
    path = args.out or ROOT / "bench/results" / f"{name}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
