"""Texts/s of a BERT encoder through voc's inference path vs a plain ``transformers.pipeline``, in one run.

Variants on the same model and texts: ``pipeline("text-classification")`` (batch 32, unsorted), ``HFClassifier``
(length-sorted dynamic-padding batches, tuned threads, inference_mode; cache off), ``OnnxClassifier`` fp32 and int8,
and the LRU cache on a stream where 30 % of the texts repeat. With a CUDA GPU also pipeline/HFClassifier on GPU (bf16).

Model: ``--model DIR`` (an HF classifier directory), else a randomly initialised rubert-tiny2-sized BERT (3 layers,
hidden 312, 12 heads, FFN 600, 30k vocab from ``--tokenizer``) with a 3-label head — speed does not depend on the
weights. Texts: the ``text`` column of ``--texts`` (CSV) or the rusentitweet test split (timing only, no labels).

    VOC_NUM_THREADS=1 python bench/bert_speed.py --n 1000 --out bench/results/bert_speed_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_texts(path: Path | None, n: int) -> list[str]:
    import pandas as pd

    from voc_training.tokenizer import datasets_dir

    path = path or datasets_dir() / "sentiment" / "rusentitweet" / "test.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "text" not in df.columns:
        raise SystemExit(f"error: {path} has no 'text' column")
    texts = [t for t in df["text"].tolist() if t.strip()][:n]
    if len(texts) < n:
        raise SystemExit(f"error: {path} has only {len(texts)} texts, --n {n} asked")
    return texts


def tiny_random_model(tokenizer_dir: Path, out: Path) -> Path:
    """A randomly initialised rubert-tiny2-sized classifier directory."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from voc_models.base import ModelInfo

    tok = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=312, num_hidden_layers=3, num_attention_heads=12,
                     intermediate_size=600, max_position_embeddings=512, num_labels=3,
                     id2label={0: "negative", 1: "neutral", 2: "positive"},
                     label2id={"negative": 0, "neutral": 1, "positive": 2})
    BertForSequenceClassification(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    ModelInfo(name="bench-rubert-tiny-size", version="random", task="sentiment", kind="hf",
              labels=["negative", "neutral", "positive"], training={"hyperparameters": {"max_length": 128}}).write(out)
    return out


def timed(fn: Any, texts: list[str]) -> dict[str, float]:
    t0 = time.perf_counter()
    fn(texts)
    s = time.perf_counter() - t0
    return {"seconds": round(s, 3), "texts_per_s": round(len(texts) / s, 1)}


def run(model_dir: Path, texts: list[str], max_length: int) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from voc_models.fast_inference import inference_threads
    from voc_models.hf import HFClassifier, OnnxClassifier

    results: dict[str, Any] = {}
    clf = HFClassifier.load(model_dir, device="cpu", max_length=max_length, cache_size=0)  # sets threads
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, local_files_only=True)
    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    pipe = pipeline("text-classification", model=model, tokenizer=tok, device=-1, top_k=None)
    pipe(texts[:8], batch_size=8, truncation=True, max_length=max_length)  # warm-up
    results["cpu_pipeline_batch32"] = timed(
        lambda t: pipe(t, batch_size=32, truncation=True, max_length=max_length), texts)
    clf.predict_proba(texts[:8])
    results["cpu_voc_hf_sorted_batches"] = timed(clf.predict_proba, texts)
    with tempfile.TemporaryDirectory() as tmp:
        clf.export_onnx(Path(tmp) / "onnx", quantize_int8=True)
        for label, int8 in (("cpu_voc_onnx_fp32", False), ("cpu_voc_onnx_int8", True)):
            onnx = OnnxClassifier.load(Path(tmp) / "onnx", int8=int8, cache_size=0)
            onnx.predict_proba(texts[:8])
            results[label] = timed(onnx.predict_proba, texts)
    n_unique = int(len(texts) * 0.7)
    stream = texts[:n_unique] + texts[: len(texts) - n_unique]
    cached = HFClassifier.load(model_dir, device="cpu", max_length=max_length, cache_size=100_000)
    results["cpu_voc_hf_with_cache_30pct_repeats"] = timed(cached.predict_proba, stream)
    if torch.cuda.is_available():
        gpu = HFClassifier.load(model_dir, device="cuda", max_length=max_length, cache_size=0)
        gpu.predict_proba(texts[:64])
        results["gpu_voc_hf_bf16"] = timed(gpu.predict_proba, texts)
        gpipe = pipeline("text-classification", model=model_dir, device=0, top_k=None)
        gpipe(texts[:64], batch_size=64, truncation=True, max_length=max_length)
        results["gpu_pipeline_batch64_fp32"] = timed(
            lambda t: gpipe(t, batch_size=64, truncation=True, max_length=max_length), texts)
    base = results["cpu_pipeline_batch32"]["texts_per_s"]
    for v in results.values():
        v["speedup_vs_cpu_pipeline"] = round(v["texts_per_s"] / base, 2)
    results["_threads"] = inference_threads()
    return results


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=None, help="HF classifier dir (default: random rubert-tiny size)")
    ap.add_argument("--tokenizer", type=Path, default=REPO / "runs" / "tokenizer")
    ap.add_argument("--texts", type=Path, default=None, help="CSV with a text column")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "bert_speed_cpu.json")
    a = ap.parse_args(argv)
    texts = load_texts(a.texts, a.n)
    tmp = Path(tempfile.mkdtemp())
    try:
        if a.model is None:
            if not (a.tokenizer / "tokenizer.json").is_file():
                raise SystemExit(f"error: no tokenizer at {a.tokenizer}; run python -m voc_training.tokenizer first")
            model_dir, model_desc = tiny_random_model(a.tokenizer, tmp / "model"), (
                "random-init BERT, rubert-tiny2 size: 3 layers, hidden 312, 12 heads, FFN 600, vocab 30000")
        else:
            model_dir, model_desc = a.model, str(a.model)
        load_before = os.getloadavg()
        results = run(model_dir, texts, a.max_length)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    import torch

    report = {
        "command": "python " + " ".join([str(Path(sys.argv[0]).relative_to(REPO) if Path(sys.argv[0]).is_absolute()
                                              else sys.argv[0]), *sys.argv[1:]]),
        "env": {"VOC_NUM_THREADS": os.environ.get("VOC_NUM_THREADS")},
        "model": model_desc, "texts": len(texts), "max_length": a.max_length,
        "machine": {"cpu": cpu_name(), "cpus_available": len(os.sched_getaffinity(0)), "threads_used": results.pop("_threads"),
                    "load_average_at_start": [round(x, 2) for x in load_before],
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                    "torch": torch.__version__},
        "results": results,
        "note": "shared machine: other jobs ran at the same time, so absolute numbers are noisy; ratios measured in one run",
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
