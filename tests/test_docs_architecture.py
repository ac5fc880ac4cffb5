"""docs/architecture.md's "Where is X decided" table stays true: every file it names exists and every symbol it
names in parentheses is defined in the file before it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PATH = re.compile(r"`((?:voc|api|models|training|datasets)/[\w/.]*)`")
SYMBOLS = re.compile(r"`((?:voc|api|models)/[\w/]+\.py)`\s*\(([^)]*)\)")


def _table() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Where is X decided", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|") and not line.startswith("|---")][1:]


def test_every_named_path_exists():
    rows = _table()
    assert len(rows) >= 20
    missing = [p for row in rows for p in PATH.findall(row.split("|")[2]) if not (ROOT / p).exists()]
    assert missing == []


def test_every_named_symbol_is_defined_where_the_table_says():
    missing = []
    for row in _table():
        for path, inside in SYMBOLS.findall(row):
            source = (ROOT / path).read_text(encoding="utf-8")
            for name in re.findall(r"`(\w+)`", inside):
                if not re.search(rf"^\s*(?:class|def|async def)?\s*{name}\b", source, re.M):
                    missing.append(f"{path}: {name}")
    assert missing == []
