"""Run the ingest fuzz suite's long profile (>= 10,000 malformed files) and record the result.

    python bench/fuzz_ingest.py            # → bench/results/fuzz_ingest.json

It runs ``pytest tests/test_fuzz_ingest.py`` with ``VOC_FUZZ_PROFILE=long`` and writes: files written per
format, outcomes (read / clear error), whether every property held, the seconds taken and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="long", choices=["short", "long"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fuzz_ingest.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        counts_file = Path(tmp) / "counts.json"
        env = {**os.environ, "VOC_FUZZ_PROFILE": args.profile, "VOC_FUZZ_COUNTS": str(counts_file),
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/test_fuzz_ingest.py"]
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = round(time.perf_counter() - started, 1)
        counts = json.loads(counts_file.read_text(encoding="utf-8")) if counts_file.exists() else {}
    tail = [line for line in proc.stdout.strip().splitlines() if line.strip()][-1:] or [""]
    result = {
        "benchmark": "ingest fuzz suite (tests/test_fuzz_ingest.py)",
        "command": f"VOC_FUZZ_PROFILE={args.profile} python -m pytest -q tests/test_fuzz_ingest.py "
                   "(via python bench/fuzz_ingest.py)",
        "machine": describe(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "profile": args.profile,
        "files_total": counts.get("files_total"),
        "files_by_format": counts.get("files"),
        "outcomes": counts.get("outcomes"),
        "passed": proc.returncode == 0,
        "pytest_summary": tail[0],
        "uncaught_exceptions": 0 if proc.returncode == 0 else "see pytest output",
        "seconds": seconds,
        "properties": ["only IngestError/ConfigError or success", "rows_in == rows_out + rejected per chunk",
                       "known source rows all accounted for", "no lone surrogate leaves ingest",
                       "error messages name the file"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("files_total", "passed", "pytest_summary", "seconds")}))
    if proc.returncode != 0:
        print(proc.stdout[-5000:], proc.stderr[-2000:], sep="\n")
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
