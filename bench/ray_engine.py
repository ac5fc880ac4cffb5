"""Local engine vs Ray engine on the same input in one run: rows/s of `voc analyze` (fast profile).

    python bench/ray_engine.py                       # 40k synthetic rows → bench/results/ray_engine.json
    python bench/ray_engine.py --rows 100000 --workers 2 --ray-address auto

Both runs analyse the same file (bench/throughput.py's synthetic input) with the same pipeline, chunk size
and worker count; the enriched tables are compared (they must be identical). Ray runs on a local Ray started
here with ``num_cpus = workers`` unless ``--ray-address`` names a cluster. Needs ``pip install 'voc[ray]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

KEY = "bench-pseudonym-key-0123456789abcdef"


def _run(data: Path, outdir: Path, pipe, args, engine: str) -> dict:
    from voc.batch import run_batch

    if outdir.exists():
        shutil.rmtree(outdir)
    load = os.getloadavg()[0]
    marks: list[float] = []
    t0 = time.perf_counter()
    result = run_batch(data, outdir, pipeline=pipe, chunk_size=args.chunk_size, workers=args.workers, quiet=True,
                       pseudonym_key=KEY, engine=engine, ray_address=args.ray_address,
                       progress=lambda p: marks.append(time.perf_counter()))
    seconds = time.perf_counter() - t0
    chunks_s = (marks[-2] if len(marks) > 1 else marks[-1]) - t0
    return {
        "seconds": round(seconds, 1),
        "chunks_seconds": round(chunks_s, 1),
        "finish_seconds": round(seconds - chunks_s, 1),
        "rows_per_second": round(result.summary.rows_in / seconds, 1),
        "chunk_rows_per_second": round(result.summary.rows_in / chunks_s, 1),
        "records": result.summary.records,
        "load_average_1min_at_start": round(load, 2),
    }


def driver_rate(data: Path, pipe, chunk_size: int) -> dict:
    """What the Ray driver does per row before a chunk reaches the actors: read, privacy gate, pickle."""
    import pickle

    from voc.batch import protect_chunk
    from voc.ingest import read_feedback
    from voc.ingest.privacy import PrivacyGate
    from voc.ingest.pseudonym import Pseudonymizer

    gate = PrivacyGate(pipe.redactor, Pseudonymizer(KEY.encode()), [], "bench")
    rows, read_s, gate_s, pickle_s, size = 0, 0.0, 0.0, 0.0, 0
    t = time.perf_counter()
    for chunk in read_feedback(data, None, chunk_size=chunk_size):
        t1 = time.perf_counter()
        read_s += t1 - t
        protected = protect_chunk(gate, chunk)
        t2 = time.perf_counter()
        size += len(pickle.dumps(protected, protocol=5))
        t = time.perf_counter()
        gate_s, pickle_s, rows = gate_s + t2 - t1, pickle_s + t - t2, rows + len(chunk.records)
    total = read_s + gate_s + pickle_s
    return {"rows_per_second": round(rows / total, 1), "read_s": round(read_s, 1), "gate_s": round(gate_s, 1),
            "pickle_s": round(pickle_s, 1), "bytes_per_record_shipped": round(size / rows),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=40_000)
    ap.add_argument("--chunk-size", type=int, default=5_000)
    ap.add_argument("--workers", type=int, default=2, help="local processes = Ray actors")
    ap.add_argument("--ray-address", default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/ray_engine.json")
    args = ap.parse_args()

    import pandas as pd
    import ray

    from bench.throughput import make_input
    from voc.pipeline import Pipeline

    data = make_input(args.rows, ROOT / "bench/data" / f"feedback_{args.rows}.csv")
    pipe = Pipeline.load(profile="fast")
    local = _run(data, ROOT / "bench/data" / f"engine_local_{args.rows}", pipe, args, "local")
    t0 = time.perf_counter()
    if args.ray_address:
        ray.init(address=args.ray_address, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - t0
    cluster_cpus = ray.cluster_resources().get("CPU")
    remote = _run(data, ROOT / "bench/data" / f"engine_ray_{args.rows}", pipe, args, "ray")
    ray.shutdown()
    driver = driver_rate(data, pipe, args.chunk_size)
    a = pd.read_parquet(ROOT / "bench/data" / f"engine_local_{args.rows}" / "enriched.parquet")
    b = pd.read_parquet(ROOT / "bench/data" / f"engine_ray_{args.rows}" / "enriched.parquet")
    identical = a.equals(b)
    out = {
        "benchmark": "voc analyze, local engine vs Ray Data engine, same input/pipeline/chunks/workers",
        "command": f"python bench/ray_engine.py --rows {args.rows} --chunk-size {args.chunk_size} "
                   f"--workers {args.workers}" + (f" --ray-address {args.ray_address}" if args.ray_address else ""),
        "input": "synthetic recombined sample sentences (bench/throughput.py)",
        "profile": "fast",
        "machine": describe(),
        "note": "shared 2-core machine with ~8 busy helpers (see the load averages): compare the two engines "
                "with each other, not with other benchmark files",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "ray_version": ray.__version__,
        "ray_cluster_cpus": cluster_cpus,
        "ray_init_seconds": round(init_s, 1),
        "workers": args.workers,
        "rows": args.rows,
        "local": local,
        "ray": remote,
        "ray_vs_local_rows_per_second": round(remote["rows_per_second"] / local["rows_per_second"], 3),
        "driver_read_gate_pickle": driver,
        "driver_note": "rows/s one Ray driver can feed (single process): the per-driver ceiling of the cluster",
        "enriched_identical": identical,
    }
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
