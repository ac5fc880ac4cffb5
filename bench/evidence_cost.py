"""Cost of encoder evidence (occlusion of sentences / word windows) in the pipeline: ms per row.

    python bench/evidence_cost.py --rows 400        # → bench/results/evidence_cost.json

A stand-in for the multi-task student with its compute shape (4 layers, hidden 384, 12 attention heads, FFN
1536 — e5-small cut to 4 layers; random weights, WordPiece vocabulary from the sample data) is written to
bench/data/ once, exported to ONNX int8, and the full default pipeline (sentiment, emotions, topics, cause,
journey stage, all on the encoder) runs over the throughput bench's synthetic reviews twice: evidence off
(``evidence_top_k: 0`` everywhere) and on (defaults). Wall and CPU seconds are both reported (the machine may
be shared); the difference is what evidence costs.
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

from bench.machine import describe  # noqa: E402
from bench.throughput import make_input  # noqa: E402

COMPONENTS = ("sentiment", "emotions", "topics", "cause", "journey_stage")


def student_like(out: Path) -> Path:
    """A random 4-layer e5-small-shaped multi-task directory with model.int8.onnx (built once)."""
    if (out / "model.int8.onnx").is_file():
        return out
    import pandas as pd
    import torch
    from transformers import BertConfig, BertModel

    from voc_training.multitask import export_onnx, train
    from voc_training.multitask_data import full_label_row
    from voc_training.tokenizer import build_wordpiece, save_hf_tokenizer

    sample = pd.read_csv(ROOT / "datasets/sample/feedback.csv", dtype=str, keep_default_na=False)
    texts = [t for t in sample[sample.columns[3]] if t.strip()]
    enc = out.parent / f"{out.name}-encoder"
    tok = build_wordpiece(texts + ["query: "], vocab_size=8000, min_frequency=1)
    save_hf_tokenizer(tok, enc)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=384, num_hidden_layers=4,
                         num_attention_heads=12, intermediate_size=1536, max_position_embeddings=512),
              add_pooling_layer=False).save_pretrained(enc)
    rows = [full_label_row(t, "bench", "neutral", [], [], "", "") for t in texts[:32]]
    train(enc, out, rows=rows, epochs=1, batch_size=16, log_every=10_000)
    export_onnx(out)
    return out


def run(model: Path, records: list, evidence: bool) -> dict[str, float]:
    from voc.pipeline import ComponentSpec, Pipeline, PipelineConfig
    from voc_models import multitask, registry

    registry.clear_cache()
    multitask._RUNNERS.clear()
    config = {"model": str(model)} if evidence else {"model": str(model), "evidence_top_k": 0}
    cfg = PipelineConfig(components=[ComponentSpec(name=n, config=config) for n in COMPONENTS])
    pipe = Pipeline.load(config=cfg, redact=False)
    pipe.analyze(records[:8])  # warm-up (sessions, lazy imports)
    registry.clear_cache()
    multitask._RUNNERS.clear()
    pipe = Pipeline.load(config=cfg, redact=False)
    wall, cpu = time.perf_counter(), time.process_time()
    _, findings = pipe.analyze(records)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n_ev = sum(len(f.evidence) for f in findings)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "ms_per_row_wall": round(1000 * wall / len(records), 2),
            "ms_per_row_cpu": round(1000 * cpu / len(records), 2), "evidence_items_per_row": round(n_ev / len(records), 2),
            "stage_seconds": {k: round(v, 2) for k, v in pipe.timings.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=400)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/evidence_cost.json")
    args = ap.parse_args()
    os.environ.setdefault("VOC_NUM_THREADS", "2")
    import pandas as pd

    from voc.schema import Feedback
    from voc_models.evidence import plan_occlusion

    model = student_like(ROOT / "bench/data/student-like-mt")
    data = pd.read_csv(make_input(20_000, ROOT / "bench/data/feedback_20000.csv"), dtype=str, keep_default_na=False)
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(data["текст"].head(args.rows))]
    units = sum(len(plan_occlusion(r.text).spans) for r in records) / len(records)
    off = run(model, records, evidence=False)
    on = run(model, records, evidence=True)
    result = {
        "benchmark": "encoder evidence (occlusion) cost in the default pipeline, ONNX int8 student-shaped model",
        "command": f"python bench/evidence_cost.py --rows {args.rows}",
        "machine": describe(), "date": datetime.now(UTC).isoformat(timespec="seconds"), "rows": args.rows,
        "threads": os.environ["VOC_NUM_THREADS"], "occluded_pieces_per_row": round(units, 2),
        "evidence_off": off, "evidence_on": on,
        "evidence_ms_per_row_wall": round(on["ms_per_row_wall"] - off["ms_per_row_wall"], 2),
        "evidence_ms_per_row_cpu": round(on["ms_per_row_cpu"] - off["ms_per_row_cpu"], 2),
    }
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
