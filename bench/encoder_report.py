"""Side-by-side quality of the encoder models (student, teacher) and TF-IDF, from the benchmark outputs.

    python bench/quality.py --tasks sentiment emotions --sentiment-model DIR --emotions-model DIR --out Q.json
    python -m voc_training.cxlabels.evaluate --methods --encoder-model DIR --no-inhouse --out CX.json
    python bench/encoder_report.py --quality student=Q1.json teacher=Q2.json --cx student=CX1.json teacher=CX2.json

writes bench/results/encoder_quality.json (every split for every model, with the sources' commands).
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


def _pairs(values: list[str]) -> dict[str, Path]:
    return {v.split("=", 1)[0]: Path(v.split("=", 1)[1]) for v in values}


def collect(quality: dict[str, Path], cx: dict[str, Path]) -> dict:
    table: dict[str, dict[str, float]] = {}
    commands: dict[str, str] = {}
    for name, path in quality.items():
        data = json.loads(path.read_text(encoding="utf-8"))
        commands[f"quality:{name}"] = data.get("command", "")
        for task in ("sentiment", "emotions"):
            for split, row in data.get(task, {}).get("splits", {}).items():
                for model, scores in row.items():
                    if not isinstance(scores, dict) or "macro_f1" not in scores:
                        continue
                    who = name if "multitask" in model else model.split("@")[0]
                    table.setdefault(f"{task} {split}", {})[who] = scores["macro_f1"]
                    if "per_class" in scores and "тревога/страх" in scores["per_class"]:
                        table.setdefault(f"{task} {split} fear F1", {})[who] = scores["per_class"]["тревога/страх"].get("f1")
    for name, path in cx.items():
        data = json.loads(path.read_text(encoding="utf-8"))
        commands[f"cx:{name}"] = data.get("command", "")
        for method, res in data.get("methods", {}).items():
            who = name if method.startswith("encoder") else method
            o = res.get("overall", res)
            for key, value in (("cause accuracy", o.get("cause", {}).get("accuracy")),
                               ("cause macro-F1", o.get("cause", {}).get("macro_f1")),
                               ("stage accuracy", o.get("journey_stage", {}).get("accuracy")),
                               ("topics micro-F1", o.get("topics", {}).get("micro_f1")),
                               ("emotions micro-F1", o.get("emotions", {}).get("micro_f1"))):
                if value is not None:
                    table.setdefault(f"cxreal eval {key}", {})[who] = value
    return {"benchmark": "encoder models vs TF-IDF on the shared test splits and the real-text CX eval split",
            "command": "python bench/encoder_report.py " + " ".join(sys.argv[1:]), "machine": describe(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"), "sources": commands, "macro_f1": table}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quality", nargs="*", default=[], help="NAME=bench/quality.py output")
    ap.add_argument("--cx", nargs="*", default=[], help="NAME=voc_training.cxlabels.evaluate output")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/encoder_quality.json")
    args = ap.parse_args()
    out = collect(_pairs(args.quality), _pairs(args.cx))
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    for key, row in out["macro_f1"].items():
        print(f"{key:60s} " + "  ".join(f"{k} {v:.3f}" for k, v in row.items() if v is not None))


if __name__ == "__main__":
    main()
