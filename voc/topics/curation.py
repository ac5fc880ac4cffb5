"""Curation that persists: merges and renames are an ordered list of operations stored in the model dir
(``curation.json``) and re-applied to the fitted topics on every load; promotion appends a discovered
topic to a taxonomy YAML.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import yaml
from pydantic import BaseModel, Field

from voc.topics.info import TopicInfo

MAX_KEYWORDS = 20


class MergeOp(BaseModel):
    op: Literal["merge"] = "merge"
    ids: list[int] = Field(min_length=2)
    name: str | None = None


class RenameOp(BaseModel):
    op: Literal["rename"] = "rename"
    id: int
    name: str = Field(min_length=1)


class PromoteOp(BaseModel):
    op: Literal["promote"] = "promote"
    id: int
    taxonomy: str
    name: str
    at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


CurationOp = Annotated[MergeOp | RenameOp | PromoteOp, Field(discriminator="op")]


class Curation(BaseModel):
    """The curation log of one model dir."""

    ops: list[CurationOp] = Field(default_factory=list)


def apply_curation(
    topics: dict[int, TopicInfo], centroids: dict[int, np.ndarray], ops: list
) -> tuple[dict[int, TopicInfo], dict[int, np.ndarray], dict[int, int]]:
    """Apply merges/renames in order. Returns (topics, centroids, alias old id → surviving id).

    A merge keeps the smallest id; its centroid is the size-weighted mean of the merged centroids and its
    keywords the summed c-TF-IDF weights. Renames of an id that was merged away apply to the survivor.
    """
    topics = {k: v.model_copy(deep=True) for k, v in topics.items()}
    centroids = dict(centroids)
    alias: dict[int, int] = {}

    def resolve(i: int) -> int:
        while i in alias:
            i = alias[i]
        return i

    for op in ops:
        if isinstance(op, MergeOp):
            ids = sorted({resolve(i) for i in op.ids})
            missing = [i for i in ids if i not in topics]
            if missing:
                raise KeyError(f"merge: unknown topic id(s) {missing}")
            if len(ids) < 2:
                continue
            target, rest = ids[0], ids[1:]
            members = [topics[i] for i in ids]
            sizes = np.array([max(t.size, 1) for t in members], dtype=float)
            merged = np.average(np.stack([centroids[i] for i in ids]), axis=0, weights=sizes)
            centroids[target] = merged / (np.linalg.norm(merged) or 1.0)
            weights: dict[str, float] = {}
            for t in members:
                for word, w in t.keyword_map().items():
                    weights[word] = weights.get(word, 0.0) + w * max(t.size, 1) / sizes.sum()
            best = sorted(weights.items(), key=lambda kv: -kv[1])[:MAX_KEYWORDS]
            head = topics[target]
            head.keywords = [w for w, _ in best]
            head.keyword_weights = [float(v) for _, v in best]
            head.size = int(sum(t.size for t in members))
            head.examples = [e for t in members for e in t.examples[:2]][:5]
            head.seed = next((t.seed for t in members if t.seed), None)
            head.merged_from = sorted({*head.merged_from, *rest, *(m for t in members for m in t.merged_from)})
            if op.name:
                head.name = op.name
            for i in rest:
                alias[i] = target
                del topics[i]
                del centroids[i]
        elif isinstance(op, RenameOp):
            target = resolve(op.id)
            if target not in topics:
                raise KeyError(f"rename: unknown topic id {op.id}")
            topics[target].name = op.name
    return topics, centroids, alias


def promote_to_taxonomy(topic: TopicInfo, taxonomy_path: str | Path, *, n_keywords: int = 10,
                        description: str | None = None) -> dict:
    """Append ``topic`` to a taxonomy YAML (created if missing) and validate the result.

    Keywords are the topic's c-TF-IDF key phrases, examples its texts closest to the centroid.
    Returns the appended taxonomy entry. Raises ValueError when the name is already in the taxonomy.
    """
    path = Path(taxonomy_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    data = data or {}
    if not isinstance(data, dict) or not isinstance(data.get("topics", []), list):
        raise ValueError(f"{path}: topics: expected a list of topics")
    existing = {str(t.get("name", "")).strip().lower() for t in data.get("topics", []) if isinstance(t, dict)}
    if topic.name.strip().lower() in existing:
        raise ValueError(f"{path}: topic {topic.name!r} is already in the taxonomy")
    entry = {
        "name": topic.name,
        "description": description or f"Тема, найденная автоматически: {', '.join(topic.keywords[:5])}.",
        "keywords": list(dict.fromkeys(topic.keywords[:n_keywords])) or [topic.name],
        "examples": [e[:300] for e in topic.examples[:3]],
    }
    data.setdefault("topics", []).append(entry)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    from voc.config import load_taxonomy

    try:
        load_taxonomy(tmp)
    except Exception:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return entry
