"""Matching a re-fit's topics to a reference model's topics, so matching topics keep their ids and names.

Embedders differ between fits, so topics are compared by their c-TF-IDF keyword weights (cosine over the
union of key phrases); seeded topics match by seed name. One-to-one matching (Hungarian) above a threshold.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from voc.topics.info import TopicInfo

DEFAULT_MATCH_THRESHOLD = 0.3


def keyword_similarity(a: TopicInfo, b: TopicInfo) -> float:
    """Cosine similarity of two topics' keyword-weight vectors (0 when they share no key phrase)."""
    wa, wb = a.keyword_map(), b.keyword_map()
    common = set(wa) & set(wb)
    if not common:
        return 0.0
    dot = sum(wa[k] * wb[k] for k in common)
    na = np.sqrt(sum(v * v for v in wa.values()))
    nb = np.sqrt(sum(v * v for v in wb.values()))
    return float(dot / (na * nb)) if na and nb else 0.0


def match_topics(new: list[TopicInfo], reference: list[TopicInfo],
                 threshold: float = DEFAULT_MATCH_THRESHOLD) -> dict[int, int]:
    """Map new topic id → reference topic id for the topics that match; unmatched ids are absent."""
    out: dict[int, int] = {}
    ref_by_seed = {r.seed: r for r in reference if r.seed}
    used_ref: set[int] = set()
    for t in new:
        if t.seed and t.seed in ref_by_seed:
            out[t.id] = ref_by_seed[t.seed].id
            used_ref.add(ref_by_seed[t.seed].id)
    rest_new = [t for t in new if t.id not in out]
    rest_ref = [r for r in reference if r.id not in used_ref]
    if not rest_new or not rest_ref:
        return out
    sim = np.array([[keyword_similarity(t, r) for r in rest_ref] for t in rest_new])
    rows, cols = linear_sum_assignment(-sim)
    for i, j in zip(rows, cols, strict=True):
        if sim[i, j] >= threshold:
            out[rest_new[i].id] = rest_ref[j].id
    return out
