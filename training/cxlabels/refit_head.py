"""Refit one head of a multi-task encoder on the real-text CX rows, the encoder frozen.

    python -m voc_training.cxlabels.refit_head runs/mt-distil2 --task cause --out runs/mt-distil2-cause
    python -m voc_training.multitask export runs/mt-distil2-cause

The multi-task heads were trained end to end among five tasks on ~1,200 cxreal rows. With the cxreal train split at
2,600 rows, a head refitted alone on the frozen encoder's mean-pooled features reads the complaint better: a
multinomial logistic regression on standardised features (the regularisation ``C`` chosen by 5-fold
cross-validation on the training rows, stratified by source file) folded back into the head's ``Linear`` layer,
so the model keeps its format and its ONNX export. Training rows: those of ``voc_training.train_cx_defaults``
(cxreal train + in-house train, minus every eval text); targets: the task's labels plus «—» (none). The eval split
is never read. The cross-validation scores of the old head, the TF-IDF head and the refitted head go to the card.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

C_GRID = (0.003, 0.01, 0.03, 0.1)
#: files of a multi-task run directory the refitted copy keeps (no ONNX graph: re-export; no optimiser state)
COPIED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md")


def pooled_features(model_dir: Path, texts: Sequence[str], batch_size: int = 16) -> tuple[np.ndarray, dict]:
    """Mean-pooled encoder features (n, hidden) and the current heads' probabilities, torch on CPU."""
    import torch

    from voc_models.multitask import MultiTaskRunner

    runner = MultiTaskRunner(model_dir, backend="torch", device="cpu")
    ids = runner.tokenize(list(texts))
    order = np.argsort([len(x) for x in ids], kind="stable")
    feats = np.zeros((len(ids), int(runner.net.encoder.config.hidden_size)), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        width = max(len(ids[i]) for i in rows)
        a = np.full((len(rows), width), runner.tokenizer.pad_token_id, dtype=np.int64)
        m = np.zeros_like(a)
        for j, i in enumerate(rows):
            a[j, :len(ids[i])] = ids[i]
            m[j, :len(ids[i])] = 1
        with torch.inference_mode():
            feats[rows] = runner.net.pooled(torch.from_numpy(a), torch.from_numpy(m)).numpy()
    heads = {}
    for name in runner.info.heads:
        layer = runner.net.heads[name]
        logits = feats @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()
        heads[name] = _softmax(logits) if not runner.info.heads[name]["multilabel"] else None
    return feats, heads


def fit_linear(x: np.ndarray, y: Sequence[str], labels: Sequence[str], C: float,
               weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) over raw features, rows in ``labels`` order: a standardised logistic regression folded back."""
    from sklearn.linear_model import LogisticRegression

    mu, sd = x.mean(0), x.std(0) + 1e-6
    lr = LogisticRegression(C=C, max_iter=3000).fit((x - mu) / sd, list(y), sample_weight=weights)
    missing = [lab for lab in labels if lab not in lr.classes_]
    if missing:
        raise ValueError(f"no training row has the label(s) {missing}")
    order = [list(lr.classes_).index(lab) for lab in labels]
    w = lr.coef_[order] / sd
    b = lr.intercept_[order] - w @ mu
    return w.astype(np.float32), b.astype(np.float32)


def _softmax(z: np.ndarray) -> np.ndarray:
    from scipy.special import softmax

    return softmax(z, axis=1)


def scores(proba: np.ndarray, y: Sequence[str], labels: Sequence[str], none: str) -> dict[str, float]:
    """Accuracy over rows with a label (best non-«—» label) and over all rows («—» a label)."""
    y = np.asarray(y)
    names = np.asarray(labels)
    has = y != none
    forced = proba.copy()
    forced[:, list(labels).index(none)] = -1.0
    return {"accuracy": round(float((names[forced.argmax(1)][has] == y[has]).mean()), 4),
            "accuracy_all_rows": round(float((names[proba.argmax(1)] == y).mean()), 4),
            "rows": int(len(y)), "labelled_rows": int(has.sum())}


def cross_validate(x: np.ndarray, data: Any, splits: Sequence[tuple[np.ndarray, np.ndarray]],
                   grid: Sequence[float]) -> dict[float, np.ndarray]:
    """Out-of-fold probabilities of the refitted head, per C."""
    y = np.asarray(data.labels)
    out: dict[float, np.ndarray] = {}
    for C in grid:
        proba = np.zeros((len(y), len(data.label_set)))
        for train, test in splits:
            w, b = fit_linear(x[train], y[train], data.label_set, C, data.weights[train])
            proba[test] = _softmax(x[test] @ w.T + b)
        out[C] = proba
    return out


def refit(model_dir: Path, task: str, out: Path, grid: Sequence[float] = C_GRID) -> dict[str, Any]:
    """Write ``out``: ``model_dir`` with ``task``'s head refitted (see the module docstring)."""
    from safetensors.numpy import load_file, save_file

    from voc_models.base import NONE_LABEL, ModelInfo
    from voc_training import train_cx_defaults as cx

    started = time.time()
    info = ModelInfo.read(model_dir)
    if task not in info.heads or info.heads[task]["multilabel"]:
        raise SystemExit(f"{model_dir}: no single-label head {task!r} (heads: {', '.join(info.heads)})")
    frame, dropped = cx.load_training_frame()
    data = cx.head_data(frame, task)
    labels = list(info.heads[task]["labels"])
    if sorted(labels) != sorted(data.label_set):
        raise SystemExit(f"{model_dir}: head {task!r} has labels {labels}, the training rows {data.label_set}")
    data.label_set = labels  # the head's own order
    x, old_heads = pooled_features(model_dir, data.texts)
    splits = cx.folds(frame)
    oof = cross_validate(x, data, splits, grid)
    held = np.sort(np.concatenate([h for _, h in splits]))  # every row but the targeted ones (never held out)
    y_held = [data.labels[i] for i in held]
    cv = {C: scores(p[held], y_held, labels, NONE_LABEL) for C, p in oof.items()}
    best = max(grid, key=lambda C: (cv[C]["accuracy"], cv[C]["accuracy_all_rows"]))  # best on labelled rows
    tfidf = cx.oof_proba(data, task, cx.HEAD_C[task], splits)  # the shipped TF-IDF recipe, same folds
    w, b = fit_linear(x, data.labels, labels, best, data.weights)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in COPIED:
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, out / name)
    heads = load_file(str(model_dir / "heads.safetensors"))
    heads[f"heads.{task}.weight"], heads[f"heads.{task}.bias"] = w, b
    save_file(heads, str(out / "heads.safetensors"))
    report = {
        "task": task, "source_model": str(model_dir), "C": best, "grid": {str(C): v for C, v in cv.items()},
        "rows": len(data.texts), "dropped_as_eval_texts": dropped,
        "cv_old_head": scores(old_heads[task][held], y_held, labels, NONE_LABEL) | {"note": "in-sample for the "
                                                                                   "cxreal rows it was trained on"},
        "cv_tfidf_head": scores(tfidf[held], y_held, labels, NONE_LABEL),
        "cv_refit_head": cv[best],
        "cv_tfidf_plus_refit_0.5": scores(((oof[best] + tfidf) / 2)[held], y_held, labels, NONE_LABEL),
        "seconds": round(time.time() - started, 1),
        "command": f"python -m voc_training.cxlabels.refit_head {model_dir} --task {task} --out {out}",
    }
    training = dict(info.training)
    training.setdefault("refits", []).append(report)
    info.training = training
    info.version = f"{info.version}+{task}-refit"
    info.write(out)
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path, help="a multi-task run directory (model.safetensors + heads)")
    ap.add_argument("--task", default="cause", help="a single-label head: cause or journey_stage")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--C", type=float, nargs="+", default=list(C_GRID))
    args = ap.parse_args(argv)
    report = refit(args.model_dir, args.task, args.out, args.C)
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    sys.exit(main())
