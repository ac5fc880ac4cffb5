"""PII recognisers for Russian feedback, used by :mod:`voc.redact`.

Each recogniser is a function ``text -> list[Span]`` in original character offsets; candidates may overlap and
:func:`voc.redact.resolve` picks the winners. ``structured`` finds identifiers (phones, e-mails, cards,
passports, СНИЛС, ИНН, accounts), ``address`` street addresses, ``names`` person names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A span of text to mask: ``text[start:end]`` is PII of ``kind``."""

    start: int
    end: int
    kind: str


def near(text: str, start: int, pattern, window: int = 40) -> bool:
    """True when ``pattern`` occurs in the ``window`` characters before ``start``."""
    return pattern.search(text, max(0, start - window), start) is not None
