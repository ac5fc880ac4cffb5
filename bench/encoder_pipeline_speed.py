"""The shipped encoder's sentiment through voc's inference path vs a plain ``transformers.pipeline``, in one run.

    VOC_NUM_THREADS=1 python bench/encoder_pipeline_speed.py runs/mt-distil --out bench/results/encoder_pipeline_speed.json

Same model, same texts (distinct real feedback texts, ``bench/throughput.py --real``), one thread:

* ``transformers.pipeline("text-classification", batch_size=32)`` over the fp32 torch weights of a multi-task
  directory (encoder + mean pooling + sentiment head wrapped as a sequence classifier, the pipeline's own
  tokenisation, padding and post-processing);
* voc's ``MultiTaskRunner`` on the same directory, torch fp32 (length-sorted dynamic batches, inference mode);
* voc's ``MultiTaskRunner`` on its int8 ONNX graph — what ``models/shipped/mt-student`` serves.

The text cache is off in every voc variant. The argmax agreement of each variant with the pipeline is reported,
so the speed-up is for the same answers (int8 differs on a few per cent of texts).
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
    import torch
    from transformers import pipeline
    from transformers.modeling_outputs import SequenceClassifierOutput

    from bench.throughput import make_real_input
    from voc_models.multitask import MultiTaskRunner

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", help="multi-task directory with torch weights and model.int8.onnx (runs/mt-distil)")
    ap.add_argument("--texts", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/encoder_pipeline_speed.json")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ["VOC_NUM_THREADS"]))
    data = make_real_input(20_000, ROOT / "bench/data/real_20000.csv")
    texts = pd.read_csv(data, dtype=str, keep_default_na=False)["текст"].tolist()[10_000:10_000 + args.texts]

    torch_runner = MultiTaskRunner(args.model_dir, backend="torch", device="cpu")
    onnx_runner = MultiTaskRunner(args.model_dir, backend="onnx")
    labels = torch_runner.info.heads["sentiment"]["labels"]
    net = torch_runner.net

    class SentimentOnly(torch.nn.Module):
        """The multi-task net's sentiment head as a sequence classifier a pipeline can call."""

        def __init__(self) -> None:
            super().__init__()
            self.net = net
            self.config = net.encoder.config
            self.config.id2label = dict(enumerate(labels))
            self.config.label2id = {lab: i for i, lab in enumerate(labels)}
            self.device = torch.device("cpu")
            self.dtype = torch.float32
            self.can_generate = lambda: False

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: object) -> SequenceClassifierOutput:
            return SequenceClassifierOutput(logits=self.net.heads["sentiment"](self.net.pooled(input_ids, attention_mask)))

    prefix = torch_runner.prefix
    clf = pipeline("text-classification", model=SentimentOnly().eval(), tokenizer=torch_runner.tokenizer,
                   device=-1, framework="pt", top_k=None)
    prefixed = [prefix + t for t in texts]
    kwargs = {"batch_size": 32, "truncation": True, "max_length": torch_runner.max_length}
    clf(prefixed[:32], **kwargs)  # warm-up
    results: dict[str, dict[str, float]] = {}
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = clf(prefixed, **kwargs)
    pipe_s = time.perf_counter() - t0
    pipe_pred = np.array([labels.index(max(row, key=lambda r: r["score"])["label"]) for row in out])
    results["transformers_pipeline_fp32_batch32"] = {"seconds": round(pipe_s, 2),
                                                     "texts_per_s": round(len(texts) / pipe_s, 1)}
    for name, runner in (("voc_runner_torch_fp32", torch_runner), ("voc_runner_onnx_int8", onnx_runner)):
        runner.proba(texts[:32], cache=False)
        t0 = time.perf_counter()
        proba = runner.proba(texts, cache=False)["sentiment"]
        s = time.perf_counter() - t0
        results[name] = {"seconds": round(s, 2), "texts_per_s": round(len(texts) / s, 1),
                         "speedup_vs_pipeline": round(pipe_s / s, 2),
                         "argmax_agreement_with_pipeline": round(float(np.mean(proba.argmax(1) == pipe_pred)), 4)}
        print(name, results[name], flush=True)
    out_json = {"benchmark": "sentiment head of a multi-task e5 encoder: transformers.pipeline vs voc's runner",
                "command": f"VOC_NUM_THREADS={os.environ['VOC_NUM_THREADS']} python bench/encoder_pipeline_speed.py "
                           f"{args.model_dir} --texts {args.texts}",
                "machine": describe(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "texts": len(texts), "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
                "results": results}
    args.out.write_text(json.dumps(out_json, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
