"""Fine-tune a multi-task encoder end to end on the real-text CX rows, keeping what it knows elsewhere.

    python -m voc_training.recover models/shipped/mt-student --out runs/mt-student-rec
    python -m voc_training.cxlabels.finetune runs/mt-student-rec --out runs/mt-student-cx \\
        --teacher models/shipped/mt-teacher --general 16000 --epochs 1 --max-minutes 40
    python -m voc_training.multitask export runs/mt-student-cx

Refitting a head on frozen features (``refit_head``) moves the gate more than the choice of cause; the encoder
itself has seen the cxreal rows only among 130k others. Here every layer trains again on the cxreal train split
(drawn ``--cx-weight`` times per epoch) and the in-house train rows, every head on its labels, mixed with a fixed
random sample of ``--general`` rows of the other training sources, which carry their hard labels **and** the
teacher's probabilities (α·KD + (1−α)·CE, the distillation loss of ``voc_training.multitask``) so sentiment and
emotions do not drift while cause and stage learn. The eval split is never read (``build_rows`` drops its texts).
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voc_training.multitask_data import HEADS, Row, build_rows

CX_SOURCES = ("cxreal", "inhouse")


def split_rows(rows: list[Row], general: int, seed: int) -> tuple[list[Row], list[Row]]:
    """(CX rows, a fixed random sample of ``general`` rows of every other source)."""
    cx = [r for r in rows if r.source in CX_SOURCES]
    rest = [r for r in rows if r.source not in CX_SOURCES]
    sample = random.Random(seed).sample(rest, min(general, len(rest)))
    return cx, sample


def attach_teacher(rows: list[Row], teacher_dir: str | Path) -> list[Row]:
    """The teacher's probabilities (every head, concatenated in ``HEADS`` order) on each row's ``soft``."""
    from voc_models.multitask import MultiTaskRunner

    runner = MultiTaskRunner(teacher_dir, cache_size=0)
    expected = {head: list(labels) for head, (labels, _) in HEADS.items()}
    got = {head: list(runner.info.heads[head]["labels"]) for head in runner.head_names}
    if got != expected:
        raise ValueError(f"{teacher_dir}: heads {got} differ from the training heads {expected}")
    proba = runner.proba([r.text for r in rows])
    soft = np.concatenate([proba[h] for h in HEADS], axis=1).astype(np.float32)
    return [Row(r.text, r.source, dict(r.single), dict(r.multi), soft[i]) for i, r in enumerate(rows)]


def finetune(model_dir: str | Path, out_dir: str | Path, *, teacher: str | Path | None, general: int = 16000,
             cx_weight: float = 4.0, inhouse_weight: float = 1.0, alpha: float = 0.5, temperature: float = 2.0,
             seed: int = 13, reproduce: str = "", **train_kwargs: Any) -> Path:
    """Fine-tune ``model_dir`` (a trainable multi-task directory) into ``out_dir``; see the module docstring."""
    from voc_training.multitask import train

    rows = build_rows()
    cx, sample = split_rows(rows, general, seed)
    if not any(r.source == "cxreal" for r in cx):
        raise ValueError("no cxreal train rows (datasets/cxreal and ../shared/datasets are needed)")
    if teacher is not None:
        sample = attach_teacher(sample, teacher)
    weights = {r.source: 1.0 for r in sample}
    weights.update({"cxreal": cx_weight, "inhouse": inhouse_weight})
    extra = {"finetune": {"from": str(model_dir), "teacher": str(teacher) if teacher else None,
                          "general_rows": len(sample), "cx_rows": len(cx), "cx_weight": cx_weight,
                          "inhouse_weight": inhouse_weight, "alpha": alpha, "temperature": temperature},
             "reproduce": reproduce}
    return train(model_dir, out_dir, rows=cx + sample, init_heads=model_dir, source_weights=weights,
                 distil=(alpha, temperature) if teacher is not None else None, seed=seed, extra_hyper=extra,
                 name="voc-multitask-cx", **train_kwargs)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path, help="a trainable multi-task directory (voc_training.recover output)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--teacher", default=None, help="multi-task directory whose probabilities anchor the sample")
    ap.add_argument("--general", type=int, default=16000, help="rows sampled from the other training sources")
    ap.add_argument("--cx-weight", type=float, default=4.0, help="times each cxreal row is drawn per epoch")
    ap.add_argument("--inhouse-weight", type=float, default=1.0)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--temperature", type=float, default=2.0)
    for name, kind, default in (("--epochs", float, 1.0), ("--lr", float, 4e-5), ("--head-lr", float, 5e-4),
                                ("--batch-size", int, 32), ("--max-length", int, 128),
                                ("--max-minutes", float, None), ("--ckpt-minutes", float, 10.0),
                                ("--seed", int, 13), ("--threads", int, None), ("--val-fraction", float, 0.03)):
        ap.add_argument(name, type=kind, default=default)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args(argv)
    reproduce = " ".join(["python -m voc_training.cxlabels.finetune", *map(shlex.quote, argv or sys.argv[1:])])
    out = finetune(args.model_dir, args.out, teacher=args.teacher, general=args.general, cx_weight=args.cx_weight,
                   inhouse_weight=args.inhouse_weight, alpha=args.alpha, temperature=args.temperature,
                   seed=args.seed, reproduce=reproduce, epochs=args.epochs, lr=args.lr, head_lr=args.head_lr,
                   batch_size=args.batch_size, max_length=args.max_length, max_minutes=args.max_minutes,
                   ckpt_minutes=args.ckpt_minutes, threads=args.threads, val_fraction=args.val_fraction,
                   resume=args.resume)
    print(json.dumps({"out": str(out)}))


if __name__ == "__main__":
    main()
