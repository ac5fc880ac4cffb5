"""What a fitted topic model knows about each topic (stored in ``topics.json`` of the model dir)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

#: Topic id of records that match no topic well enough.
OUTLIER_ID = -1


class TopicInfo(BaseModel):
    """One topic: stable public id, readable name, c-TF-IDF keywords, size, examples, provenance."""

    id: int
    name: str
    keywords: list[str] = Field(default_factory=list, description="c-TF-IDF key phrases, best first")
    keyword_weights: list[float] = Field(default_factory=list)
    size: int = Field(0, description="fit documents in this topic")
    examples: list[str] = Field(default_factory=list, description="texts closest to the topic centroid")
    seed: str | None = Field(None, description="taxonomy topic this one was seeded from")
    is_new: bool = Field(False, description="no matching topic in the reference model (re-fit only)")
    merged_from: list[int] = Field(default_factory=list, description="ids merged into this one by curation")

    def keyword_map(self) -> dict[str, float]:
        return dict(zip(self.keywords, self.keyword_weights, strict=False))


class FitStats(BaseModel):
    """How a fit went: sizes, outlier share, timings, options."""

    n_docs: int
    n_topics: int
    outlier_share: float
    outliers_before_reduction: float
    seconds: float
    clustering: Literal["kmeans", "hdbscan", "umap_hdbscan"]
    n_seeded: int = 0
    reference: str | None = None
    matched_reference: dict[int, int] = Field(default_factory=dict, description="reference id → raw fit id")
