"""The batch parent's peak memory when it finishes a big run, without analysing every row again.

    python bench/finish_memory.py --rows 1000000            # → bench/results/finish_1m_default.json

``bench/throughput.py --rows 1000000`` measures the whole run, but with the default profile that is ~17 min on
an Intel Xeon and ~50 min on an AVX2-only AMD EPYC (int8 encoder kernels). The parent's peak — the ≤ 2 GB target
of issue #10 — comes from the finish stage (run frame, contacts, enriched table, aggregates, report), which does
not depend on how the chunks were analysed. So: the first ``--chunk-size`` rows of the synthetic input are
analysed for real (``voc analyze`` in a subprocess, the chosen profile); that committed chunk is copied to every
chunk position of the full input with distinct ids and customers; then ``voc.batch.run`` on the full input —
in this process, with the same pipeline `voc analyze` builds — resumes past the committed chunks (reading and
parsing the whole input, as the parent does) and finishes. The peak RSS of this process is the parent's.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402
from bench.throughput import make_input  # noqa: E402


def replicate(part_dir: Path, chunks: int) -> None:
    """Copy chunk 0 (parquet, counts, rejected rows) to chunks 1..n-1, ids and customers suffixed per copy."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(part_dir / "chunk-00000.parquet")
    for k in range(1, chunks):
        suffix = pa.scalar(f"-{k}", pa.large_string())
        cols = [pc.binary_join_element_wise(table[c].cast(pa.large_string()), suffix, pa.scalar("", pa.large_string()))
                .cast(table.schema.field(c).type) if c in ("id", "customer_id") else table[c]
                for c in table.column_names]
        pq.write_table(pa.Table.from_arrays(cols, schema=table.schema), part_dir / f"chunk-{k:05d}.parquet")
        shutil.copy(part_dir / "chunk-00000.json", part_dir / f"chunk-{k:05d}.json")
        shutil.copy(part_dir / "rejected-00000.csv", part_dir / f"rejected-{k:05d}.csv")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunk-size", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--profile", default=None, help="pipeline profile (default: the shipped default)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.rows % args.chunk_size:
        raise SystemExit("--rows must be a multiple of --chunk-size")
    data = make_input(args.rows, ROOT / "bench/data" / f"feedback_{args.rows}.csv")
    work = ROOT / "bench/data" / f"finish_{args.rows}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    head = work / "head.csv"
    pd.read_csv(data, dtype=str, keep_default_na=False, nrows=args.chunk_size).to_csv(head, index=False)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "voc.cli", "analyze", str(head), "-o", str(work / "head-out"), "--workers",
           str(args.workers), "--chunk-size", str(args.chunk_size)] + (["--profile", args.profile] if args.profile else [])
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    analyse_head_s = time.perf_counter() - t0
    outdir = work / "out"
    (outdir / "parts").mkdir(parents=True)
    for f in (work / "head-out" / "parts").iterdir():
        shutil.copy(f, outdir / "parts" / f.name)
    replicate(outdir / "parts", args.rows // args.chunk_size)

    from voc.batch import run
    from voc.pipeline import Pipeline
    from voc.runspec import RunSpec

    spec = RunSpec(inputs=[data], outdir=outdir, profile=args.profile, chunk_size=args.chunk_size,
                   workers=args.workers)
    pipe = Pipeline.from_spec(spec)
    t1 = time.perf_counter()
    result = run(spec, pipeline=pipe, quiet=True)
    seconds = time.perf_counter() - t1
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "benchmark": "the batch parent finishing a run: input read and parsed, committed chunks resumed past, "
                     "run frame + contacts + enriched.parquet/csv + aggregates + report",
        "command": f"python bench/finish_memory.py --rows {args.rows} --chunk-size {args.chunk_size} "
                   f"--workers {args.workers}" + (f" --profile {args.profile}" if args.profile else ""),
        "input": f"synthetic recombined sample sentences; chunk 0 analysed for real ({analyse_head_s:.0f} s), "
                 "copied to every other chunk with distinct ids and customers",
        "machine": describe(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": args.rows,
        "records": result.summary.records,
        "finish_seconds": round(seconds, 1),
        "parent_peak_rss_mb": round(rss_mb, 1),
        "model_versions": result.summary.model_versions,
        "target": "peak RSS <= 2 GB for 1M rows (issue #10)",
    }
    name = f"finish_{args.rows // 1000}k{'_' + args.profile if args.profile else '_default'}"
    path = args.out or ROOT / "bench/results" / f"{name}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
