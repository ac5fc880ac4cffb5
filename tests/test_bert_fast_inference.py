"""Properties of the batching/caching machinery with a fake forward pass (no model needed)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from voc_models.fast_inference import (
    ProbaCache,
    batched_proba,
    length_sorted_batches,
    logits_to_proba,
    occlusion_evidence,
    pad_batch,
)


def fake_tokenize(texts: list[str]) -> list[list[int]]:
    return [[1, *[ord(c) % 97 + 2 for c in t[:40]], 1] for t in texts]


def fake_forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Logits depending only on the unpadded tokens of each row (so padding must not matter)."""
    s = (ids * mask).sum(axis=1).astype(np.float64)
    n = mask.sum(axis=1)
    return np.stack([np.sin(s), np.cos(s) + n / 10, s % 7 / 7], axis=1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=25), st.integers(1, 8), st.booleans(), st.booleans())
def test_batched_equals_unbatched(texts: list[str], batch_size: int, multilabel: bool, use_cache: bool) -> None:
    kwargs = dict(tokenize=fake_tokenize, forward=fake_forward, pad_id=0, n_labels=3, multilabel=multilabel)
    cache = ProbaCache(8) if use_cache else None
    got = batched_proba(texts, batch_size=batch_size, cache=cache, **kwargs)
    want = np.vstack([batched_proba([t], batch_size=1, cache=None, **kwargs) for t in texts]) if texts else got
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert got.shape == (len(texts), 3)
    if not multilabel and texts:
        np.testing.assert_allclose(got.sum(axis=1), 1.0)


@given(st.lists(st.integers(0, 50), max_size=40), st.integers(1, 7))
def test_length_sorted_batches_is_a_partition(lengths: list[int], batch_size: int) -> None:
    batches = length_sorted_batches(lengths, batch_size)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert all(len(b) <= batch_size for b in batches)
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)


def test_pad_batch_and_softmax() -> None:
    ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    p = logits_to_proba(np.array([[1000.0, 0.0], [0.0, 0.0]]), multilabel=False)
    np.testing.assert_allclose(p, [[1.0, 0.0], [0.5, 0.5]])


def test_lru_cache_evicts_least_recent() -> None:
    cache = ProbaCache(2)
    cache.put("a", np.array([1.0]))
    cache.put("b", np.array([2.0]))
    assert cache.get("a") is not None  # "a" is now most recent
    cache.put("c", np.array([3.0]))
    assert cache.get("b") is None and cache.get("a") is not None and len(cache) == 2
    assert cache.hits == 2 and cache.misses == 1


def test_occlusion_finds_the_sentence_that_carries_the_label() -> None:
    def proba(texts: list[str]) -> np.ndarray:
        neg = np.array([0.9 if "ужас" in t else 0.2 for t in texts])
        return np.c_[neg, 1 - neg]

    ev = occlusion_evidence(proba, ["Курьер пришёл. Это ужас. Всё.", "ужас полный"], [0, 0], top_k=2)
    assert ev[0][0][0] == "Это ужас." and len(ev[0]) == 1
    assert ev[1][0][0] == "ужас"  # one sentence: words are the units
