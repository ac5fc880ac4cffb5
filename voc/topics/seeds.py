"""Seed topics from the taxonomy: known topics keep their names, only new themes get new ids.

Accepts a ``voc.config.Taxonomy`` (``topics: [{name, description, keywords, examples}]``), a path to a
taxonomy YAML, or a plain ``{topic name: [keywords]}`` dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voc.topics.preprocess import lemma_doc


@dataclass(frozen=True)
class SeedTopic:
    """One known topic: its name, keyword phrases and example texts."""

    name: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...] = field(default_factory=tuple)

    def lemma_text(self) -> str:
        """What the embedder sees for this topic (zero-shot query): name + keywords + examples as lemmas."""
        return lemma_doc(" ".join([self.name, *self.keywords, *self.examples]))


def seeds_from_taxonomy(taxonomy: Any) -> list[SeedTopic]:
    """Seed topics from a Taxonomy, a taxonomy YAML path, or a ``{name: [keywords]}`` dict."""
    if taxonomy is None:
        return []
    if isinstance(taxonomy, str | Path):
        from voc.config import load_taxonomy

        taxonomy = load_taxonomy(taxonomy)
    if isinstance(taxonomy, dict):
        out = []
        for name, keywords in taxonomy.items():
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"seed topics: topic name {name!r}: expected a non-empty string")
            if isinstance(keywords, str) or not all(isinstance(k, str) for k in keywords):
                raise ValueError(f"seed topics: {name}: expected a list of keyword strings")
            out.append(SeedTopic(name.strip(), tuple(keywords)))
        return out
    topics = getattr(taxonomy, "topics", None)
    if topics is None:
        raise TypeError(f"seed topics: expected a Taxonomy, a YAML path or a dict, got {type(taxonomy).__name__}")
    return [SeedTopic(t.name, tuple(t.keywords), tuple(t.examples)) for t in topics]
