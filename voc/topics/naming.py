"""Human-readable topic names from c-TF-IDF key phrases: «доставка · курьер · опоздание»."""

from __future__ import annotations

from collections.abc import Sequence

SEPARATOR = " · "


def topic_name(keywords: Sequence[str], n_parts: int = 3) -> str:
    """Top key phrases joined with «·», skipping phrases that repeat a word already shown."""
    chosen: list[str] = []
    covered: set[str] = set()
    for phrase in keywords:
        words = phrase.split()
        if not words or any(w in covered for w in words):
            continue
        chosen.append(phrase)
        covered.update(words)
        if len(chosen) >= n_parts:
            break
    return SEPARATOR.join(chosen) if chosen else "без названия"
