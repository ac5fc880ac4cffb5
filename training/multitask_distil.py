"""Distil the multi-task teacher into a small student: unlabelled texts, the teacher's cached soft outputs.

    # 1. the teacher's probabilities for every head over the labelled train rows + unlabelled corpus text
    python -m voc_training.multitask_distil cache --teacher runs/mt-teacher --out runs/distil-cache
    # 2. the student (teacher layers 0,4,8,11 + its embeddings and heads) on α·KD + (1−α)·CE
    python -m voc_training.multitask distil --teacher runs/mt-teacher --cache runs/distil-cache --out runs/mt-distil

Unlabelled text comes from ``corpus/pretraining.txt.gz`` (only line ranges of sources that are not already
labelled training rows) and ``corpus/extra`` (customer-like sources: reviews, social comments, a few news
posts; the literature files are left out). Every text of an evaluation split (test / dev / val files under
../shared/datasets and the real-text CX eval texts) is removed, as are duplicates of labelled rows.
The cache lives outside the repository (it holds dataset text): ``texts.jsonl`` + ``proba.npy`` (float32,
every head's probabilities concatenated in head order) + ``meta.json``; it is written in resumable parts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from voc_training.data import datasets_root
from voc_training.multitask_data import _cxreal_eval_texts

#: pretraining.txt.gz line ranges (1-based, inclusive; corpus/CARD.md) of unlabelled customer-like sources
PRETRAINING_RANGES: dict[str, tuple[int, int]] = {
    "gazprombank_products": (93820, 98392),
    "fin_apps_problem": (110514, 113382),
}
#: corpus/extra files → how many lines to draw (None: all)
EXTRA_FILES: dict[str, int | None] = {
    "banki_ru_reviews_semenzhidkov.txt.gz": None,
    "product_reviews_sokol499.txt.gz": None,
    "social_comments_toxicity_alla_g.txt.gz": None,
    "ud_russian_taiga_social_sentences.txt.gz": None,
    "grameval2020_social_wiki_sentences.txt.gz": None,
    "russe_detox_2022_comments.txt.gz": 8000,
    "toxic_comments_detox_vyhuholl.txt.gz": 3000,
    "telegram_news_channels_nktkln.txt.gz": 2000,
}
EVAL_NAMES = ("test", "dev", "val", "validation")
MIN_CHARS = 12
MAX_CHARS = 1500


def eval_texts(root: Path | None = None) -> set[str]:
    """Every text of an evaluation split under ``root`` (csv/jsonl files named test*/dev*/val*/…_test) and
    the real-text CX eval texts: nothing here may be a distillation input."""
    root = root or datasets_root()
    out = set(_cxreal_eval_texts(root))
    for path in sorted(root.rglob("*")):
        stem = path.name.split(".")[0].lower()
        if path.suffix not in (".csv", ".jsonl") or not any(stem == n or stem.endswith("_" + n) for n in EVAL_NAMES):
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False) if path.suffix == ".csv" else \
            pd.read_json(path, lines=True, dtype=False)
        if "text" in frame.columns:
            out.update(str(t).strip() for t in frame["text"])
    return out


def _lines(path: Path) -> Iterable[str]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            yield " ".join(line.split())


def unlabelled_texts(root: Path | None = None, *, seed: int = 13, exclude: set[str] | None = None
                     ) -> list[tuple[str, str]]:
    """(source, text) pairs of unlabelled corpus text, deduplicated, without evaluation or ``exclude`` texts."""
    root = root or datasets_root()
    corpus = root / "corpus"
    banned = eval_texts(root) | (exclude or set())
    rng = random.Random(seed)
    picked: list[tuple[str, str]] = []
    ranges = sorted(PRETRAINING_RANGES.items(), key=lambda kv: kv[1][0])
    for n, line in enumerate(_lines(corpus / "pretraining.txt.gz"), start=1):
        for name, (lo, hi) in ranges:
            if lo <= n <= hi:
                picked.append((f"corpus:{name}", line))
        if n > ranges[-1][1][1]:
            break
    for name, cap in EXTRA_FILES.items():
        path = corpus / "extra" / name
        if not path.is_file():
            continue
        lines = list(_lines(path))
        if cap is not None and len(lines) > cap:
            lines = rng.sample(lines, cap)
        picked += [(f"extra:{name.split('.')[0]}", t) for t in lines]
    seen: set[str] = set()
    out = []
    for source, text in picked:
        if MIN_CHARS <= len(text) <= MAX_CHARS and text not in banned and text not in seen:
            seen.add(text)
            out.append((source, text))
    return out


def distil_inputs(root: Path | None = None, *, seed: int = 13) -> list[tuple[str, str]]:
    """(source, text), shuffled: every labelled training row's text (``build_rows``) and the unlabelled texts."""
    from voc_training.multitask_data import build_rows

    rows = build_rows(root)
    labelled = [(r.source, r.text) for r in rows]
    items = labelled + unlabelled_texts(root, seed=seed, exclude={t for _, t in labelled})
    random.Random(seed).shuffle(items)  # any finished prefix of parts is a random sample of the whole
    return items


def cache_teacher(teacher_dir: str | Path, out_dir: str | Path, items: Sequence[tuple[str, str]], *,
                  part_size: int = 4096, backend: str = "auto") -> Path:
    """The teacher's probabilities for every head over ``items`` → ``out_dir`` (resumable by parts)."""
    from voc_models.multitask import MultiTaskRunner

    out = Path(out_dir)
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    texts_file = out / "texts.jsonl"
    if texts_file.is_file():
        old = [json.loads(x) for x in texts_file.read_text(encoding="utf-8").splitlines()]
        if [(o["source"], o["text"]) for o in old] != [tuple(x) for x in items]:
            raise ValueError(f"{texts_file}: a different text list is cached here; use a new --out")
    else:
        with texts_file.open("w", encoding="utf-8") as fh:
            for source, text in items:
                fh.write(json.dumps({"source": source, "text": text}, ensure_ascii=False) + "\n")
    runner = MultiTaskRunner(teacher_dir, backend=backend, device="cpu")
    meta = {"teacher": str(teacher_dir), "backend": runner.backend, "part_size": part_size, "heads": {
        n: list(runner.info.heads[n]["labels"]) for n in runner.head_names}, "texts": len(items),
        "per_source": {str(k): int(v) for k, v in pd.Series([s for s, _ in items]).value_counts().items()}
        if items else {}}
    (out / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    started = time.time()
    n_parts = (len(items) + part_size - 1) // part_size
    for p in range(n_parts):
        path = parts / f"{p:05d}.npy"
        if path.is_file():
            continue
        chunk = [t for _, t in items[p * part_size : (p + 1) * part_size]]
        rows = runner._rows(chunk, cache=False)
        np.save(parts / f"{p:05d}.tmp.npy", rows)
        (parts / f"{p:05d}.tmp.npy").replace(path)
        print(json.dumps({"part": p + 1, "of": n_parts, "minutes": round((time.time() - started) / 60, 1)}),
              flush=True)
    proba = np.concatenate([np.load(parts / f"{p:05d}.npy") for p in range(n_parts)]) if n_parts else \
        np.zeros((0, int(runner._bounds[-1])), np.float32)
    np.save(out / "proba.npy", proba.astype(np.float32))
    return out


def load_cache(cache_dir: str | Path, *, allow_partial: bool = False
               ) -> tuple[list[tuple[str, str]], dict[str, np.ndarray], dict]:
    """(source, text) items, {head: probabilities}, meta of a finished cache (``allow_partial``: of its
    finished leading parts, a random sample since the texts are shuffled)."""
    cache = Path(cache_dir)
    items = [(o["source"], o["text"]) for o in
             map(json.loads, (cache / "texts.jsonl").read_text(encoding="utf-8").splitlines())]
    if (cache / "proba.npy").is_file():
        meta = json.loads((cache / "meta.json").read_text(encoding="utf-8"))
        proba = np.load(cache / "proba.npy")
    elif allow_partial and (cache / "parts" / "00000.npy").is_file():
        meta = json.loads((cache / "meta.json").read_text(encoding="utf-8"))
        parts = []
        while (cache / "parts" / f"{len(parts):05d}.npy").is_file():
            parts.append(np.load(cache / "parts" / f"{len(parts):05d}.npy"))
        proba = np.concatenate(parts)
        items = items[: len(proba)]
    else:
        raise FileNotFoundError(f"{cache}: no proba.npy (run `python -m voc_training.multitask_distil cache` first)")
    if len(items) != len(proba):
        raise ValueError(f"{cache}: {len(items)} texts but {len(proba)} probability rows")
    bounds = np.cumsum([0, *[len(v) for v in meta["heads"].values()]])
    heads = {n: proba[:, bounds[h] : bounds[h + 1]] for h, n in enumerate(meta["heads"])}
    return items, heads, meta


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="cache the teacher's soft outputs for distillation")
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cache")
    c.add_argument("--teacher", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--seed", type=int, default=13)
    c.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"])
    args = parser.parse_args(argv)
    t0 = time.time()
    items = distil_inputs(seed=args.seed)
    print(json.dumps({"texts": len(items), "collect_s": round(time.time() - t0, 1)}), flush=True)
    cache_teacher(args.teacher, args.out, items, backend=args.backend)


if __name__ == "__main__":
    main()
