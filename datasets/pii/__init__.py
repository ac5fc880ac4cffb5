"""PII test corpus written in the project (see CARD.md): synthetic identifiers in Russian feedback sentences.

``corpus_src.txt`` is the hand-written source (``TAG | text`` with ``[[kind:span]]`` markup); ``corpus.jsonl``
is built from it by ``python -m voc_datasets.pii`` and holds character offsets. ``load_corpus()`` reads the JSONL.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

PII_DIR = Path(__file__).parent
SOURCE = PII_DIR / "corpus_src.txt"
CORPUS = PII_DIR / "corpus.jsonl"
REAL_MASKS = PII_DIR / "real_review_masks.csv"
KINDS: tuple[str, ...] = ("phone", "email", "card", "passport", "snils", "inn", "account", "address", "name")
TAGS: tuple[str, ...] = ("bank", "telecom", "retail", "value")

_MARK_RE = re.compile(r"\[\[(\w+):(.+?)\]\](?!\])")


def parse_marked(marked: str, where: str = "") -> tuple[str, list[dict[str, Any]]]:
    """Plain text and its spans from ``[[kind:span]]`` markup."""
    parts: list[str] = []
    spans: list[dict[str, Any]] = []
    pos = length = 0
    for m in _MARK_RE.finditer(marked):
        kind, value = m.group(1), m.group(2)
        if kind not in KINDS:
            raise ValueError(f"{where}: unknown PII kind {kind!r}; expected one of {', '.join(KINDS)}")
        before = marked[pos : m.start()]
        parts.append(before)
        length += len(before)
        spans.append({"start": length, "end": length + len(value), "kind": kind, "text": value})
        parts.append(value)
        length += len(value)
        pos = m.end()
    parts.append(marked[pos:])
    text = "".join(parts)
    if "[[" in text or "]]" in text:
        raise ValueError(f"{where}: unbalanced [[kind:span]] markup")
    return text, spans


def build_corpus(source: Path = SOURCE) -> list[dict[str, Any]]:
    """Cases from the source file: id, tag, negative, holdout, text, spans (start, end, kind, text).

    Cases after a ``#! holdout`` line were written after the rules were frozen and are reported apart.
    """
    cases: list[dict[str, Any]] = []
    counters: dict[str, int] = {}
    holdout = False
    for lineno, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() == "#! holdout":
            holdout = True
            continue
        if not line.strip() or line.startswith("#"):
            continue
        where = f"{source.name}:{lineno}"
        tag, sep, marked = line.partition(" | ")
        negative = tag.startswith("!")
        tag = tag.lstrip("!")
        if not sep or tag not in TAGS:
            raise ValueError(f"{where}: expected 'TAG | text' with TAG in {', '.join(TAGS)} (optionally '!TAG')")
        text, spans = parse_marked(marked, where)
        if negative == bool(spans):
            raise ValueError(f"{where}: a '!' negative must have no spans, a positive case at least one")
        group = "neg" if negative else (spans[0]["kind"] if len({s["kind"] for s in spans}) == 1 else "mixed")
        group = f"ho-{group}" if holdout else group
        counters[group] = counters.get(group, 0) + 1
        cases.append(
            {
                "id": f"{group}-{counters[group]:03d}",
                "tag": tag,
                "negative": negative,
                "holdout": holdout,
                "text": text,
                "spans": spans,
            }
        )
    return cases


def write_corpus(cases: list[dict[str, Any]], path: Path = CORPUS) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for case in cases:
            fh.write(json.dumps(case, ensure_ascii=False) + "\n")


def load_corpus(path: Path = CORPUS) -> list[dict[str, Any]]:
    """The built corpus, one dict per case."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

