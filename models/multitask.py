"""One encoder, one forward pass, every head: the multi-task model behind voc's model-based analyzers.

A multi-task model directory (Hugging Face habit: loadable by path, nothing fetched):

    config.json, model.safetensors, tokenizer.json …   the encoder (a BertModel, e.g. multilingual-e5-small)
    heads.safetensors                                   one linear layer per head over the mean-pooled encoder
    voc_model.json                                      ModelInfo, kind "multitask" (or "multitask-onnx"),
                                                        ``heads``: labels / multilabel / thresholds per head
    model.int8.onnx                                     (kind "multitask-onnx") encoder + heads, int8
    README.md                                           card: data, hyper-parameters, time, hardware, licences

:class:`MultiTaskRunner` runs the forward pass once per text (length-sorted dynamic batches, an LRU cache of
all heads' probabilities, sized to hold a 20k-row batch chunk's texts and sentences) and :class:`HeadClassifier`
exposes one head through the ordinary :class:`~voc_models.base.TextClassifier` contract, so sentiment, emotions,
topics, cause and stage analyzers all share one pass. Occlusion evidence (``voc_models.evidence``) is shared the
same way: the occluded variants of a text are run once for every head and kept per text. Inputs get the e5
``query: `` prefix (``ModelInfo.training["prefix"]``).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voc_models.base import MODEL_INFO_FILE, ModelInfo, TextClassifier
from voc_models.fast_inference import inference_threads, length_sorted_batches, pad_batch, validate_texts

HEADS_FILE = "heads.safetensors"
ONNX_INT8_FILE = "model.int8.onnx"
DEFAULT_PREFIX = "query: "
DEFAULT_MAX_LENGTH = 128
#: texts whose probabilities stay cached (one float32 row of every head each, ~0.5 KB per entry)
CACHE_SIZE = 65_536
#: texts whose occlusion tables stay cached (every head × every occluded variant, float16)
OCCLUSION_CACHE_SIZE = 32_768


class MultiTaskError(ValueError):
    """A multi-task model directory that cannot be used."""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def build_net(encoder: Any, heads: dict[str, int], dropout: float = 0.1) -> Any:
    """The torch module: encoder → masked mean pooling → dropout → a Linear per head (logits dict)."""
    import torch
    from torch import nn

    class MultiTaskNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            hidden = int(encoder.config.hidden_size)
            self.dropout = nn.Dropout(dropout)
            self.heads = nn.ModuleDict({name: nn.Linear(hidden, n) for name, n in heads.items()})
            self.head_names = list(heads)

        def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
            pooled = self.dropout(self.pooled(input_ids, attention_mask))
            return tuple(self.heads[name](pooled) for name in self.head_names)

    return MultiTaskNet()


class MultiTaskRunner:
    """Loads a multi-task directory once and returns every head's probabilities per text (cached)."""

    def __init__(self, model_dir: str | Path, *, backend: str = "auto", batch_size: int = 32,
                 cache_size: int = CACHE_SIZE, device: str | None = None) -> None:
        from transformers import AutoTokenizer

        self.model_dir = Path(model_dir)
        if not (self.model_dir / MODEL_INFO_FILE).is_file():
            raise MultiTaskError(f"{self.model_dir}: no {MODEL_INFO_FILE}")
        self.info = ModelInfo.read(self.model_dir)
        if not self.info.heads:
            raise MultiTaskError(f"{self.model_dir}: voc_model.json lists no heads")
        self.head_names = list(self.info.heads)
        self.prefix = str(self.info.training.get("prefix", DEFAULT_PREFIX))
        self.max_length = int(self.info.training.get("max_length", DEFAULT_MAX_LENGTH))
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
        self.pad_id = int(self.tokenizer.pad_token_id or 0)
        onnx_file = self.model_dir / ONNX_INT8_FILE
        if backend == "auto":  # a shipped directory may hold only the ONNX graph (no torch weights)
            torch_ok = (self.model_dir / "model.safetensors").is_file()
            backend = "onnx" if onnx_file.is_file() and not (torch_ok and self._cuda(device)) else "torch"
        self.backend = backend
        self.batch_size = batch_size
        sizes = [len(self.info.heads[n]["labels"]) for n in self.head_names]
        self._bounds = np.cumsum([0, *sizes])
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()  # text → every head's row, concatenated
        self._cache_size = cache_size
        self._occlusion: OrderedDict[str, tuple[tuple[str, ...], np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()
        self._session: Any = None
        self._pid = os.getpid()
        if backend == "onnx":
            if not onnx_file.is_file():
                raise MultiTaskError(f"{self.model_dir}: no {ONNX_INT8_FILE} (python -m voc_training.multitask export)")
        else:
            self.net, self.device = self._load_torch(device)
        _LIVE.add(self)

    @property
    def session(self) -> Any:
        """The ONNX Runtime session, opened on first use and again in a forked child: a parent that loads
        models and then forks batch workers starts no ORT thread pool before the fork, and a child never
        runs a session (or waits on a lock) inherited from its parent."""
        if self._session is None or self._pid != os.getpid():
            self._session, self._pid = self._onnx_session(), os.getpid()
        return self._session

    @session.setter
    def session(self, value: Any) -> None:
        self._session = value

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # the parent may have held it at the fork
        self._session = None

    def _onnx_session(self) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = inference_threads()
        opts.inter_op_num_threads = 1
        # idle pool threads sleep instead of spinning: a server answering one text at a time otherwise burns
        # CPU between requests (measured on real texts: 39 → 12 ms CPU per /v1/classify request at 25 req/s)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(self.model_dir / ONNX_INT8_FILE), opts, providers=["CPUExecutionProvider"])

    @staticmethod
    def _cuda(device: str | None) -> bool:
        if device == "cpu":
            return False
        try:
            import torch

            return bool(torch.cuda.is_available())
        except ImportError:  # pragma: no cover
            return False

    def _load_torch(self, device: str | None) -> tuple[Any, Any]:
        import torch
        from safetensors.torch import load_file
        from transformers import AutoModel

        from voc_models.fast_inference import tune_torch_threads

        tune_torch_threads()
        encoder = AutoModel.from_pretrained(self.model_dir, local_files_only=True, add_pooling_layer=False)
        sizes = {name: len(h["labels"]) for name, h in self.info.heads.items()}
        net = build_net(encoder, sizes)
        state = load_file(str(self.model_dir / HEADS_FILE))
        net.heads.load_state_dict({k.removeprefix("heads."): v for k, v in state.items()})
        dev = torch.device(device or ("cuda" if self._cuda(device) else "cpu"))
        return net.to(dev).eval(), dev

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer([self.prefix + t for t in texts], truncation=True,
                              max_length=self.max_length)["input_ids"]

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, ...]:
        if self.backend == "onnx":
            return tuple(self.session.run(None, {"input_ids": ids, "attention_mask": mask}))
        import torch

        on_gpu = self.device.type == "cuda"
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=on_gpu):
            out = self.net(torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device))
        return tuple(o.float().cpu().numpy() for o in out)

    def _to_proba(self, logits: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        return tuple(_sigmoid(x) if self.info.heads[n]["multilabel"] else _softmax(x)
                     for n, x in zip(self.head_names, logits, strict=True))

    def proba(self, texts: Sequence[str], *, cache: bool = True) -> dict[str, np.ndarray]:
        """Every head's probabilities for ``texts``: {head: (n, n_labels)}; ``cache=False`` leaves the text
        cache as it was (for one-off texts such as occluded variants)."""
        return self._split(self._rows(validate_texts(texts), cache))

    def _split(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        b = self._bounds
        return {name: rows[:, b[h] : b[h + 1]] for h, name in enumerate(self.head_names)}

    def _rows(self, texts: list[str], cache: bool) -> np.ndarray:
        """(n, Σ labels) float32: every head's probabilities per text, concatenated in head order."""
        out = np.zeros((len(texts), int(self._bounds[-1])), np.float32)
        todo: dict[str, list[int]] = {}
        with self._lock:
            for i, t in enumerate(texts):
                hit = self._cache.get(t)
                if hit is not None:
                    self._cache.move_to_end(t)
                    out[i] = hit
                else:
                    todo.setdefault(t, []).append(i)
        if not todo:
            return out
        unique = list(todo)
        ids = self.tokenize(unique)
        for batch in length_sorted_batches([len(x) for x in ids], self.batch_size):
            arr, mask = pad_batch([ids[j] for j in batch], self.pad_id)
            probs = np.concatenate(self._to_proba(self._forward(arr, mask)), axis=1).astype(np.float32)
            for k, j in enumerate(batch):
                out[todo[unique[j]]] = probs[k]
            if cache:
                with self._lock:
                    for k, j in enumerate(batch):
                        self._cache[unique[j]] = probs[k].copy()
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        return out

    def occlusion(self, views: Sequence[str],
                  variants: Sequence[Sequence[str]]) -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
        """Every head's probabilities of each view and of its occluded variants; computed once per view for
        all heads (the next analyzer asking about the same text reads the stored table)."""
        views = validate_texts(views)
        tables: list[np.ndarray | None] = [None] * len(views)
        with self._lock:
            for i, (v, vs) in enumerate(zip(views, variants, strict=True)):
                hit = self._occlusion.get(v)
                if hit is not None and hit[0] == tuple(vs):
                    self._occlusion.move_to_end(v)
                    tables[i] = hit[1]
        missing = [i for i, t in enumerate(tables) if t is None]
        if missing:
            base = self._rows([views[i] for i in missing], cache=True)
            rest = self._rows([v for i in missing for v in variants[i]], cache=False)
            at = 0
            with self._lock:
                for k, i in enumerate(missing):
                    n = len(variants[i])
                    table = np.vstack([base[k : k + 1], rest[at : at + n]]).astype(np.float16)
                    at += n
                    tables[i] = table
                    self._occlusion[views[i]] = (tuple(variants[i]), table)
                while len(self._occlusion) > OCCLUSION_CACHE_SIZE:
                    self._occlusion.popitem(last=False)
        done = [t for t in tables if t is not None]
        first = (np.stack([t[0] for t in done]) if done else np.zeros((0, int(self._bounds[-1])))).astype(np.float32)
        return self._split(first), [self._split(t[1:].astype(np.float32)) for t in done]


_RUNNERS: dict[Path, MultiTaskRunner] = {}
_RUNNERS_LOCK = threading.Lock()
_LIVE: weakref.WeakSet[MultiTaskRunner] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child gets fresh locks and no ONNX sessions (they reopen on first use)."""
    global _RUNNERS_LOCK
    _RUNNERS_LOCK = threading.Lock()
    for runner in list(_LIVE):
        runner._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def release_sessions() -> int:
    """Close every live runner's ONNX session and empty its text caches (both come back on the next call), then
    hand the freed heap back to the OS (glibc ``malloc_trim``). For a process whose share of a big batch is done
    while it still has the outputs to assemble; returns the number of runners released."""
    runners = list(_LIVE)
    for runner in runners:
        with runner._lock:
            runner._session = None
            runner._cache.clear()
            runner._occlusion.clear()
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
    return len(runners)


def runner_for(model_dir: str | Path) -> MultiTaskRunner:
    """One runner per model directory per process (so every head shares its forward pass and cache)."""
    path = Path(model_dir).resolve()
    with _RUNNERS_LOCK:
        if path not in _RUNNERS:
            _RUNNERS[path] = MultiTaskRunner(path)
        return _RUNNERS[path]


class HeadClassifier(TextClassifier):
    """One head of a multi-task model behind the TextClassifier contract."""

    def __init__(self, runner: MultiTaskRunner, head: str) -> None:
        if head not in runner.info.heads:
            raise MultiTaskError(f"{runner.model_dir}: no head {head!r} (heads: {', '.join(runner.head_names)})")
        spec = runner.info.heads[head]
        self.runner, self.head = runner, head
        self.info = runner.info.model_copy(update={
            "task": head, "labels": list(spec["labels"]), "multilabel": bool(spec["multilabel"]),
            "threshold": float(spec.get("threshold", 0.5)), "thresholds": dict(spec.get("thresholds", {})),
        })

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.runner.proba(texts)[self.head]

    def occlusion_proba(self, views: Sequence[str],
                        variants: Sequence[Sequence[str]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Occlusion through the shared runner: every head's table is computed once per text."""
        base, rest = self.runner.occlusion(views, variants)
        return base[self.head], [r[self.head] for r in rest]

    def save(self, model_dir: str | Path) -> None:
        raise MultiTaskError("a head is saved with its multi-task model (voc_training.multitask.save_model)")
