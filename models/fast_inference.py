"""Inference helpers shared by the transformer classifiers (PyTorch and ONNX Runtime).

* ``ProbaCache`` — an LRU cache text → probability row (feedback repeats itself: "спасибо", "ок", templates);
* ``batched_proba`` — de-duplicate, look up the cache, tokenise the misses once, sort them by token length,
  cut into batches padded only to the longest row of each batch (dynamic padding), run ``forward``, restore
  the input order;
* ``inference_threads`` / ``tune_torch_threads`` — one thread count for torch and onnxruntime
  (env ``VOC_NUM_THREADS``, default: the CPUs this process may use);
* ``occlusion_evidence`` — leave-one-sentence-out (or leave-one-word-out for short one-sentence texts)
  attribution through any ``predict_proba``; gradient-free, so it also works for ONNX models.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from voc_models.text import sentences, words

#: ``forward(input_ids, attention_mask) -> logits``; int64 arrays of shape (batch, seq_len).
ForwardFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


class ProbaCache:
    """Least-recently-used cache of probability rows keyed by the exact text (thread-safe)."""

    def __init__(self, max_size: int = 4096) -> None:
        self.max_size = max_size
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            row = self._rows.get(text)
            if row is None:
                self.misses += 1
                return None
            self._rows.move_to_end(text)
            self.hits += 1
            return row

    def put(self, text: str, row: np.ndarray) -> None:
        if self.max_size <= 0:
            return
        with self._lock:
            self._rows[text] = row
            self._rows.move_to_end(text)
            while len(self._rows) > self.max_size:
                self._rows.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._rows)


def inference_threads() -> int:
    """Thread count for intra-op parallelism: ``VOC_NUM_THREADS`` or the CPUs available to this process."""
    env = os.environ.get("VOC_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError as exc:
            raise ValueError(f"VOC_NUM_THREADS must be a positive integer, got {env!r}") from exc
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


_TUNED = False


def tune_torch_threads() -> None:
    """Set torch intra-op threads once (inter-op 1: one batch at a time needs no inter-op pool)."""
    global _TUNED
    if _TUNED:
        return
    import torch

    torch.set_num_threads(inference_threads())
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already started parallel work; the setting is then fixed for the process
        pass
    _TUNED = True


def validate_texts(texts: Sequence[Any]) -> list[str]:
    """The texts as a list of str; a clear error naming the row for anything else."""
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, got a single str (wrap it in a list)")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}]: expected str, got {type(text).__name__}")
    return out


def logits_to_proba(logits: np.ndarray, multilabel: bool) -> np.ndarray:
    """Sigmoid (multilabel) or softmax (single-label) over the last axis, in float64 for stability."""
    z = logits.astype(np.float64)
    if multilabel:
        return 1.0 / (1.0 + np.exp(-z))
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists to the longest row: (input_ids, attention_mask), int64."""
    width = max((len(r) for r in rows), default=0)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first, so memory peaks early)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def batched_proba(
    texts: Sequence[str],
    *,
    tokenize: Callable[[list[str]], list[list[int]]],
    forward: ForwardFn,
    pad_id: int,
    n_labels: int,
    multilabel: bool,
    batch_size: int,
    cache: ProbaCache | None,
) -> np.ndarray:
    """Probabilities for ``texts`` through cache → tokenise → length-sorted dynamic-padding batches."""
    out = np.zeros((len(texts), n_labels), dtype=np.float64)
    todo: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        row = cache.get(text) if cache is not None else None
        if row is not None:
            out[i] = row
        else:
            todo.setdefault(text, []).append(i)
    if not todo:
        return out
    unique = list(todo)
    token_ids = tokenize(unique)
    for batch in length_sorted_batches([len(t) for t in token_ids], batch_size):
        ids, mask = pad_batch([token_ids[j] for j in batch], pad_id)
        proba = logits_to_proba(forward(ids, mask), multilabel)
        for j, row in zip(batch, proba, strict=True):
            text = unique[j]
            out[todo[text]] = row
            if cache is not None:
                cache.put(text, row)
    return out


def occlusion_evidence(
    predict_proba: Callable[[Sequence[str]], np.ndarray],
    texts: Sequence[str],
    label_indices: Sequence[int],
    top_k: int = 3,
    max_units: int = 12,
) -> list[list[tuple[str, float]]]:
    """Leave-one-out evidence: the sentences (or, for one-sentence texts, the words) whose removal lowers the
    probability of the label most, with that drop as the weight (positive drops only, best first).

    Cost: one forward pass per unit, at most ``max_units`` units per text, all variants in one batched call.
    """
    variants: list[str] = []
    owners: list[tuple[int, str]] = []
    for t, text in enumerate(texts):
        sents = [s for s in sentences(text) if s.text.strip()]
        units = [(s.start, s.end, s.text) for s in sents]
        if len(units) < 2:
            units = [(w.start, w.end, text[w.start : w.end]) for w in words(text)]
        for start, end, unit in units[:max_units]:
            variants.append((text[:start] + text[end:]).strip())
            owners.append((t, unit))
    out: list[list[tuple[str, float]]] = [[] for _ in texts]
    if not variants:
        return out
    base = predict_proba(list(texts))
    occluded = predict_proba(variants)
    for (t, unit), row in zip(owners, occluded, strict=True):
        label = label_indices[t]
        drop = round(float(base[t, label] - row[label]), 6)
        if drop > 0:
            out[t].append((unit, drop))
    return [sorted(ev, key=lambda x: -x[1])[:top_k] for ev in out]
