"""Distil a teacher's probabilities into a BERT student on unlabelled texts (KL divergence).

The teacher is any ``TextClassifier`` (e.g. the TF-IDF model, loaded with ``voc_models.registry.load_model``);
the student is a local HF directory (an MLM checkpoint or an already fine-tuned classifier) with the same
label set. Single-label: KL(teacher ‖ softmax(student / T)) · T²; multi-label: binary cross-entropy against
the teacher's sigmoid outputs. Time budget, seeds and bf16 on a GPU as in ``voc_training.hf_finetune``.

    python -m voc_training.distill --teacher models/shipped/sentiment-tfidf --student runs/bert-mlm \
        --texts unlabelled.txt.gz --out runs/bert-distilled --max-minutes 10
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from voc_models.base import ModelInfo, TextClassifier
from voc_models.fast_inference import tune_torch_threads
from voc_training.hf_finetune import (
    _pad,
    bucketed_batches,
    fingerprint,
    hardware,
    load_for_classification,
    save_classifier,
    set_seed,
)


def distill(
    teacher: TextClassifier,
    student_base: Path,
    texts: Sequence[str],
    out_dir: Path,
    *,
    temperature: float = 2.0,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 5e-5,
    max_length: int = 128,
    seed: int = 13,
    max_minutes: float | None = None,
    teacher_batch: int = 2048,
) -> ModelInfo:
    """Train the student to match the teacher's probabilities on ``texts``; save an HF classifier dir."""
    import torch
    import torch.nn.functional as F

    t0 = time.time()
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if len(texts) < 2:
        raise ValueError(f"need at least 2 non-empty texts to distil, got {len(texts)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    tune_torch_threads()
    set_seed(seed)
    labels, multilabel = list(teacher.labels), teacher.multilabel
    soft = np.vstack([teacher.predict_proba(texts[i : i + teacher_batch]) for i in range(0, len(texts), teacher_batch)])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    model, tokenizer = load_for_classification(Path(student_base), labels, multilabel)
    model.to(device).train()
    token_ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    targets = torch.from_numpy(soft.astype(np.float32))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    rng = np.random.default_rng(seed)
    pad_id = int(tokenizer.pad_token_id)
    deadline = t0 + max_minutes * 60 if max_minutes else None
    history: list[dict[str, Any]] = []
    steps = 0
    for epoch in range(1, epochs + 1):
        losses = []
        for batch in bucketed_batches([len(t) for t in token_ids], batch_size, rng):
            ids, mask = _pad([token_ids[i] for i in batch], pad_id)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
                logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
            target = targets[batch].to(device)
            if multilabel:
                loss = F.binary_cross_entropy_with_logits(logits / temperature, target)
            else:
                log_p = F.log_softmax(logits / temperature, dim=-1)
                loss = F.kl_div(log_p, target.clamp_min(1e-8), reduction="batchmean") * temperature**2
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            steps += 1
            if deadline and time.time() > deadline:
                break
        history.append({"epoch": epoch, "kl_loss": round(float(np.mean(losses)), 4), "seconds": round(time.time() - t0, 1)})
        if deadline and time.time() > deadline:
            break
    model.to("cpu").eval()
    info = ModelInfo(
        name=f"{teacher.info.task}-hf-distilled", version=datetime.now(UTC).strftime("%Y.%m.%d-%H%M%S"),
        task=teacher.info.task, kind="hf", labels=labels, multilabel=multilabel,
        threshold=teacher.info.threshold, thresholds=dict(teacher.info.thresholds),
        metrics={"final_distillation_loss": history[-1]["kl_loss"]},
        training={"teacher": teacher.version, "base_model": str(student_base), "n_train": len(texts), "n_val": 0,
                  "data_sha256": fingerprint(texts, [""] * len(texts)), "steps": steps, "history": history,
                  "hyperparameters": {"temperature": temperature, "epochs": epochs, "batch_size": batch_size, "lr": lr,
                                      "max_length": max_length, "seed": seed, "max_minutes": max_minutes, "bf16": bf16},
                  "seconds": round(time.time() - t0, 1), "hardware": hardware()},
        created_at=datetime.now(UTC).isoformat(timespec="seconds"))
    save_classifier(model, tokenizer, info, Path(out_dir))
    return info


def main(argv: list[str] | None = None) -> None:
    from voc_models.registry import load_model
    from voc_training.pretrain import read_corpus

    ap = argparse.ArgumentParser(prog="python -m voc_training.distill", description=__doc__.split("\n\n")[0])
    ap.add_argument("--teacher", required=True, help="teacher model directory or registry name")
    ap.add_argument("--student", type=Path, required=True, help="student base HF directory")
    ap.add_argument("--texts", nargs="+", required=True, help="unlabelled txt/.gz/csv files")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-lines", type=int, default=None)
    ap.add_argument("--temperature", type=float, default=2.0)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--max-minutes", type=float, default=None)
    a = ap.parse_args(argv)
    try:
        teacher = load_model(a.teacher)
        texts = read_corpus(a.texts, a.max_lines)
        info = distill(teacher, a.student, texts, a.out, temperature=a.temperature, epochs=a.epochs,
                       batch_size=a.batch_size, lr=a.lr, max_length=a.max_length, seed=a.seed,
                       max_minutes=a.max_minutes)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None
    print(json.dumps(info.training["history"], indent=2))


if __name__ == "__main__":
    main()
