"""Shared setup for the navec experiments: data, the shipped model's own train/val split, tokens, navec lookups.

Validation = the 10 % that TfidfClassifier.fit held out (train_test_split(test_size=0.1, random_state=0,
stratified on the label)) when the shipped model was trained, so the shipped model never saw those rows and its
validation probabilities are honest; every model here trains on the other 90 % only.
"""
from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "runs" / "navec"
CACHE = OUT / "cache"
CACHE.mkdir(parents=True, exist_ok=True)

from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from voc.vocab import SENTIMENTS  # noqa: E402
from voc_training.data import SENTIMENT_EVAL_SETS, load_cx_sentiment_train, load_sentiment_eval  # noqa: E402
from voc_training.train_defaults import SENTIMENT_SOURCE_WEIGHTS  # noqa: E402

LABELS = list(SENTIMENTS)
TOKEN_RE = re.compile(r"[a-zа-яё0-9]+|[!?()]+|[^\w\s]", re.IGNORECASE)


def tokenize(text: str) -> list[str]:
    return TOKEN_RE.findall(text.lower().replace("ё", "е"))


def macro_f1(y: np.ndarray, proba: np.ndarray) -> float:
    return float(f1_score(y, proba.argmax(1), average="macro", labels=[0, 1, 2]))


def load_all():
    data = load_cx_sentiment_train()
    y = np.array([LABELS.index(lab) for lab in data.labels])
    w = np.array([SENTIMENT_SOURCE_WEIGHTS.get(s, 1.0) for s in data.sources])
    rows = np.arange(len(y))
    tr, va = train_test_split(rows, test_size=0.1, random_state=0, stratify=y)
    tests = {}
    for name in SENTIMENT_EVAL_SETS:
        d = load_sentiment_eval(name)
        tests[name] = (d.texts, np.array([LABELS.index(lab) for lab in d.labels]))
    return data.texts, y, w, tr, va, tests


def shipped_probs(texts, va, tests):
    """Shipped TF-IDF probabilities on validation and the 4 test sets (cached)."""
    f = CACHE / "shipped_probs.npz"
    if f.exists():
        z = np.load(f)
        return z["val"], {n: z[n] for n in tests}
    from voc_models.tfidf import TfidfClassifier
    m = TfidfClassifier.load(ROOT / "models/shipped/sentiment-tfidf")
    assert m.labels == LABELS, m.labels
    pv = m.predict_proba([texts[i] for i in va])
    pt = {n: m.predict_proba(t) for n, (t, _) in tests.items()}
    np.savez(f, val=pv, **pt)
    return pv, pt


def navec():
    from navec import Navec

    from voc_training.pretrain import navec_path
    return Navec.load(navec_path())


def lookup(nv, word):
    if word in nv:
        return nv[word]
    return None


class Timer:
    def __init__(self):
        self.t = time.perf_counter()

    def __call__(self):
        return round(time.perf_counter() - self.t, 1)
