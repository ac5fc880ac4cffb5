"""Fine-tune a local BERT-family checkpoint into a voc classifier directory (kind "hf").

``train_hf`` takes plain lists (texts, labels) and a base model directory (an MLM checkpoint from
``voc_training.pretrain``, a local rubert-tiny2 copy, or an existing classifier), holds out a stratified
validation split, trains with AdamW + linear warm-up/decay, class weights (single-label) or ``pos_weight``
(multi-label), early stopping on validation macro-F1, fixed seeds; CPU by default, a CUDA GPU with bf16
autocast when present. The best epoch is saved as safetensors + config + tokenizer + ``voc_model.json`` + card.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import random
import time
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from voc_models.base import ModelInfo
from voc_models.fast_inference import tune_torch_threads
from voc_models.hf import model_card

log = logging.getLogger(__name__)


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def hardware() -> dict[str, Any]:
    """What the run used: device name, CPU count, torch version."""
    import torch

    info: dict[str, Any] = {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                            "torch_threads": torch.get_num_threads(), "torch": torch.__version__}
    if torch.cuda.is_available():
        info["device"] = f"cuda: {torch.cuda.get_device_name(0)}"
    else:
        info["device"] = f"cpu: {platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"
    return info


def fingerprint(texts: Sequence[str], targets: Sequence[Any]) -> str:
    """sha256 of the training rows (text + label), order-sensitive."""
    h = hashlib.sha256()
    for text, target in zip(texts, targets, strict=True):
        h.update(json.dumps([text, target], ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def encode_targets(labels: Sequence[Any], label_set: Sequence[str], multilabel: bool) -> np.ndarray:
    """Class indices (single-label) or a 0/1 matrix (multi-label: lists of names or ``|``-joined strings).

    Raises ValueError naming the first bad row."""
    index = {lab: i for i, lab in enumerate(label_set)}
    if len(index) != len(label_set):
        raise ValueError(f"label_set has duplicates: {list(label_set)}")
    if not multilabel:
        out = np.zeros(len(labels), dtype=np.int64)
        for i, lab in enumerate(labels):
            if lab not in index:
                raise ValueError(f"labels[{i}]: {lab!r} is not in label_set {list(label_set)}")
            out[i] = index[lab]
        return out
    mat = np.zeros((len(labels), len(label_set)), dtype=np.float32)
    for i, labs in enumerate(labels):
        names = [s for s in labs.split("|") if s] if isinstance(labs, str) else list(labs)
        for name in names:
            if name not in index:
                raise ValueError(f"labels[{i}]: {name!r} is not in label_set {list(label_set)}")
            mat[i, index[name]] = 1.0
    return mat


def split_train_val(y: np.ndarray, val_fraction: float, seed: int, multilabel: bool) -> tuple[np.ndarray, np.ndarray]:
    """Train/validation row indices; stratified by class for single-label when every class has ≥ 2 rows."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    n_val = max(1, int(round(len(y) * val_fraction)))
    stratify = None
    if not multilabel:
        counts = np.bincount(y)
        if counts[counts > 0].min() >= 2 and n_val >= len(counts[counts > 0]):
            stratify = y
    train_idx, val_idx = train_test_split(idx, test_size=n_val, random_state=seed, stratify=stratify)
    return np.sort(train_idx), np.sort(val_idx)


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, label_set: Sequence[str], multilabel: bool,
                           threshold: float = 0.5) -> dict[str, Any]:
    """macro-F1 (+ accuracy or micro-F1) and per-label F1."""
    from sklearn.metrics import accuracy_score, f1_score

    if multilabel:
        pred = (proba >= threshold).astype(int)
        per = f1_score(y_true, pred, average=None, zero_division=0)
        return {"macro_f1": float(f1_score(y_true, pred, average="macro", zero_division=0)),
                "micro_f1": float(f1_score(y_true, pred, average="micro", zero_division=0)),
                "per_label_f1": {lab: round(float(f), 4) for lab, f in zip(label_set, per, strict=True)},
                "n": int(len(y_true))}
    pred = proba.argmax(axis=1)
    labels_idx = list(range(len(label_set)))
    per = f1_score(y_true, pred, labels=labels_idx, average=None, zero_division=0)
    return {"macro_f1": float(f1_score(y_true, pred, labels=labels_idx, average="macro", zero_division=0)),
            "accuracy": float(accuracy_score(y_true, pred)),
            "per_label_f1": {lab: round(float(f), 4) for lab, f in zip(label_set, per, strict=True)},
            "n": int(len(y_true))}


def bucketed_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length: shuffle, sort inside chunks of 50 batches, shuffle the batches."""
    order = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort([lengths[i] for i in part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def _pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids, mask


def predict_logits(model: Any, token_ids: Sequence[Sequence[int]], pad_id: int, device: Any, batch_size: int,
                   bf16: bool) -> np.ndarray:
    """Logits for pre-tokenised rows in length-sorted batches, original order."""
    import torch

    model.eval()
    order = np.argsort([-len(r) for r in token_ids], kind="stable")
    out = np.zeros((len(token_ids), model.config.num_labels), dtype=np.float32)
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            ids, mask = _pad([token_ids[i] for i in idx], pad_id)
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            out[idx] = logits.float().cpu().numpy()
    return out


def _proba(logits: np.ndarray, multilabel: bool) -> np.ndarray:
    from voc_models.fast_inference import logits_to_proba

    return logits_to_proba(logits, multilabel)


def load_for_classification(base_model: Path, label_set: Sequence[str], multilabel: bool) -> tuple[Any, Any]:
    """(model, tokenizer) from a local base directory with a fresh head of ``len(label_set)`` outputs."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    base_model = Path(base_model)
    if not (base_model / "config.json").is_file():
        raise FileNotFoundError(f"base model {base_model}: no config.json (expected a local Hugging Face model directory)")
    tokenizer = AutoTokenizer.from_pretrained(base_model, local_files_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AutoModelForSequenceClassification.from_pretrained(
            base_model, local_files_only=True, num_labels=len(label_set),
            id2label=dict(enumerate(label_set)), label2id={lab: i for i, lab in enumerate(label_set)},
            problem_type="multi_label_classification" if multilabel else "single_label_classification",
            ignore_mismatched_sizes=True)
    if tokenizer.pad_token_id is None:
        raise ValueError(f"base model {base_model}: tokenizer has no pad token")
    return model, tokenizer


def train_hf(
    task: str,
    texts: Sequence[str],
    labels: Sequence[Any],
    label_set: Sequence[str],
    multilabel: bool,
    base_model: Path,
    out_dir: Path,
    *,
    epochs: int = 3,
    batch_size: int = 32,
    lr: float = 5e-5,
    max_length: int = 128,
    seed: int = 13,
    val_fraction: float = 0.1,
    patience: int = 2,
    class_weights: bool = True,
    weight_decay: float = 0.01,
    warmup_fraction: float = 0.06,
    max_minutes: float | None = None,
    name: str | None = None,
) -> ModelInfo:
    """Fine-tune ``base_model`` on (texts, labels) and save the best-validation model to ``out_dir``."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    t_start = time.time()
    texts = list(texts)
    if len(texts) != len(labels):
        raise ValueError(f"texts has {len(texts)} rows but labels has {len(labels)}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}]: expected str, got {type(text).__name__}")
    if len(texts) < 4:
        raise ValueError(f"need at least 4 training rows, got {len(texts)}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    y = encode_targets(labels, label_set, multilabel)
    tune_torch_threads()
    set_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    model, tokenizer = load_for_classification(Path(base_model), label_set, multilabel)
    model.to(device)
    token_ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    train_idx, val_idx = split_train_val(y, val_fraction, seed, multilabel)
    y_t = torch.from_numpy(y)

    if multilabel:
        pos = y[train_idx].sum(axis=0)
        pos_weight = np.clip((len(train_idx) - pos) / np.maximum(pos, 1), 1.0, 50.0) if class_weights else None
        loss_fn = torch.nn.BCEWithLogitsLoss(
            pos_weight=torch.tensor(pos_weight, dtype=torch.float32, device=device) if pos_weight is not None else None)
    else:
        counts = np.bincount(y[train_idx], minlength=len(label_set)).astype(np.float64)
        weights = len(train_idx) / (len(label_set) * np.maximum(counts, 1)) if class_weights else None
        loss_fn = torch.nn.CrossEntropyLoss(
            weight=torch.tensor(weights, dtype=torch.float32, device=device) if weights is not None else None)

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = (len(train_idx) + batch_size - 1) // batch_size
    total = steps_per_epoch * epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total * warmup_fraction), total)
    rng = np.random.default_rng(seed)
    pad_id = int(tokenizer.pad_token_id)
    eval_bs = batch_size * 4
    best_f1, best_state, best_epoch, bad_epochs = -1.0, None, 0, 0
    history: list[dict[str, Any]] = []
    deadline = t_start + max_minutes * 60 if max_minutes else None
    stopped = "epochs"
    steps = 0
    for epoch in range(1, epochs + 1):
        model.train()
        losses = []
        for batch in bucketed_batches([len(token_ids[i]) for i in train_idx], batch_size, rng):
            rows = train_idx[batch]
            ids, mask = _pad([token_ids[i] for i in rows], pad_id)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
                logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            loss = loss_fn(logits.float(), y_t[rows].to(device))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            steps += 1
            if deadline and time.time() > deadline:
                stopped = "time budget"
                break
        val_logits = predict_logits(model, [token_ids[i] for i in val_idx], pad_id, device, eval_bs, bf16)
        val = classification_metrics(y[val_idx], _proba(val_logits, multilabel), label_set, multilabel)
        history.append({"epoch": epoch, "steps": steps, "train_loss": round(float(np.mean(losses)), 4),
                        "val_macro_f1": round(val["macro_f1"], 4), "seconds": round(time.time() - t_start, 1)})
        log.info("epoch %d: %s", epoch, history[-1])
        if val["macro_f1"] > best_f1:
            best_f1, best_epoch, bad_epochs = val["macro_f1"], epoch, 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            best_val = val
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                stopped = f"early stopping (patience {patience})"
                break
        if stopped == "time budget":
            break
    assert best_state is not None
    model.load_state_dict(best_state)
    model.to("cpu")

    hyper = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "max_length": max_length, "seed": seed,
             "val_fraction": val_fraction, "patience": patience, "class_weights": class_weights,
             "weight_decay": weight_decay, "warmup_fraction": warmup_fraction, "max_minutes": max_minutes,
             "bf16": bf16}
    info = ModelInfo(
        name=name or f"{task}-hf",
        version=datetime.now(UTC).strftime("%Y.%m.%d-%H%M%S"),
        task=task,
        kind="hf",
        labels=list(label_set),
        multilabel=multilabel,
        metrics={"validation": best_val, "best_epoch": best_epoch},
        training={
            "base_model": str(base_model),
            "data_sha256": fingerprint(texts, [y_row.tolist() if multilabel else int(y_row) for y_row in y]),
            "n_train": int(len(train_idx)),
            "n_val": int(len(val_idx)),
            "hyperparameters": hyper,
            "history": history,
            "stopped": stopped,
            "seconds": round(time.time() - t_start, 1),
            "hardware": hardware(),
            "parameters": int(sum(p.numel() for p in model.parameters())),
        },
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    save_classifier(model, tokenizer, info, Path(out_dir))
    return info


def save_classifier(model: Any, tokenizer: Any, info: ModelInfo, out_dir: Path) -> None:
    """Write weights (safetensors), config, tokenizer, voc_model.json and the README card."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    info.write(out_dir)
    (out_dir / "README.md").write_text(model_card(info), encoding="utf-8")



def evaluate_sentiment(model_dir: Path, sets: Sequence[str] | None = None) -> dict[str, Any]:
    """Accuracy / macro-F1 of a saved classifier on the shared sentiment test splits (evaluation only)."""
    from voc_models.hf import HFClassifier
    from voc_training.data import SENTIMENT_EVAL_SETS, load_sentiment_eval
    from voc_training.evaluate import evaluate

    clf = HFClassifier.load(model_dir)
    out: dict[str, Any] = {}
    for name in sets or SENTIMENT_EVAL_SETS:
        t0 = time.time()
        rep = evaluate(clf, load_sentiment_eval(name))
        out[f"test:{name}"] = {"rows": rep.get("rows"), "accuracy": round(rep["accuracy"], 4),
                               "macro_f1": round(rep["macro_f1"], 4), "seconds": round(time.time() - t0, 1)}
    return out


def main(argv: list[str] | None = None) -> None:
    """``python -m voc_training.hf_finetune``: fine-tune on the shared sentiment train splits and evaluate."""
    import argparse

    from voc_training.data import load_sentiment_train

    ap = argparse.ArgumentParser(prog="python -m voc_training.hf_finetune", description=main.__doc__)
    ap.add_argument("--base-model", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-rows", type=int, default=None, help="random sample of the training rows (seeded)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--max-minutes", type=float, default=None)
    ap.add_argument("--no-eval", action="store_true", help="skip the test-split evaluation")
    ap.add_argument("--results", type=Path, default=None, help="write training + test metrics JSON here")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        data = load_sentiment_train()
        texts, labels = data.texts, data.labels
        if a.max_rows and a.max_rows < len(texts):
            keep = np.sort(np.random.default_rng(a.seed).permutation(len(texts))[: a.max_rows])
            texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
        info = train_hf("sentiment", texts, labels, data.label_set, False, a.base_model, a.out, epochs=a.epochs,
                        batch_size=a.batch_size, lr=a.lr, max_length=a.max_length, seed=a.seed,
                        max_minutes=a.max_minutes)
    except (OSError, ValueError, TypeError) as exc:
        raise SystemExit(f"error: {exc}") from None
    result: dict[str, Any] = {"model_dir": str(a.out), "validation": info.metrics, "training": info.training}
    if not a.no_eval:
        result["test"] = evaluate_sentiment(a.out)
    print(json.dumps(result.get("test", info.metrics), ensure_ascii=False, indent=2))
    if a.results:
        a.results.parent.mkdir(parents=True, exist_ok=True)
        a.results.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
