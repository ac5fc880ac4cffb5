"""PII masking for 152-ФЗ: phones, e-mails, bank cards, passports, СНИЛС, ИНН, bank accounts, street
addresses and person names.

The recognisers live in :mod:`voc.pii` (``structured``, ``address``, ``names``); this module resolves their
overlapping candidates, replaces the winners by masks such as ``[ТЕЛЕФОН]`` and counts them per kind. Person
names come from one of three engines:

* ``morph`` (the pipeline default) — pymorphy3 grammemes, context triggers and initials;
* ``natasha`` — the slovnet NER model shipped inside the ``natasha`` wheel, plus morph's strong runs;
* ``auto`` — natasha only on texts that have a name candidate; morph when the NER model cannot load.

All recognisers see the original text at once and overlapping candidates are resolved together; the masked
text is looked at again until nothing new is found, because a mask can change a neighbour's context. Masking replaces
spans, never drops other text, and ``redact(redact(x)) == redact(x)``; existing masks are never masked again.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from voc.pii import Span
from voc.pii.address import address_spans
from voc.pii.names import (
    NAME_SCORE_THRESHOLD,
    NAME_TRIGGERS,
    NOT_NAMES,
    has_name_candidate,
    load_ner,
    morph_name_spans,
    name_score,
    ner_name_spans,
    value_name_spans,
)
from voc.pii.structured import inn_valid, luhn_valid, snils_valid, structured_spans
from voc.schema import Feedback

__all__ = [
    "KINDS", "MASKS", "NAME_ENGINES", "NAME_SCORE_THRESHOLD", "NAME_TRIGGERS", "NOT_NAMES", "STRUCTURED_KINDS",
    "Redactor", "Span", "add_counts", "benchmark", "has_name_candidate", "inn_valid", "load_ner", "luhn_valid",
    "morph_name_spans", "name_score", "ner_name_spans", "redact_structured", "resolve", "snils_valid",
]

MASKS: dict[str, str] = {
    "phone": "[ТЕЛЕФОН]",
    "email": "[EMAIL]",
    "card": "[КАРТА]",
    "passport": "[ПАСПОРТ]",
    "snils": "[СНИЛС]",
    "inn": "[ИНН]",
    "account": "[СЧЁТ]",
    "address": "[АДРЕС]",
    "name": "[ИМЯ]",
}
#: Kinds in resolution order: when two candidates overlap, the earlier kind wins.
STRUCTURED_KINDS: tuple[str, ...] = ("email", "account", "card", "snils", "inn", "passport", "phone")
KINDS: tuple[str, ...] = (*STRUCTURED_KINDS, "address", "name")
NAME_ENGINES: tuple[str, ...] = ("auto", "natasha", "morph")
VERSION = "rules-2"

_MASK_RE = re.compile("|".join(re.escape(m) for m in MASKS.values()))
_RANK = {k: i for i, k in enumerate(KINDS)}


def _mask_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _MASK_RE.finditer(text)]


def resolve(candidates: Sequence[Span], blocked: Sequence[tuple[int, int]] = ()) -> list[Span]:
    """Non-overlapping winners sorted by start: earlier kinds in :data:`KINDS` first, then longer, then leftmost.

    Candidates overlapping a ``blocked`` range (an existing mask) are dropped.
    """
    taken: list[tuple[int, int]] = list(blocked)
    chosen: list[Span] = []
    for s in sorted(candidates, key=lambda s: (_RANK[s.kind], s.start - s.end, s.start)):
        if s.end <= s.start or any(s.start < e and b < s.end for b, e in taken):
            continue
        taken.append((s.start, s.end))
        chosen.append(s)
    return sorted(chosen, key=lambda s: s.start)


def apply_masks(text: str, spans: Sequence[Span]) -> str:
    """``text`` with the non-overlapping ``spans`` (sorted by start) replaced by their masks."""
    parts: list[str] = []
    pos = 0
    for s in spans:
        parts.append(text[pos : s.start])
        parts.append(MASKS[s.kind])
        pos = s.end
    parts.append(text[pos:])
    return "".join(parts)


def _merge_names(spans: Sequence[tuple[int, int]], text: str) -> list[Span]:
    """Merge name spans separated only by whitespace into one [ИМЯ]."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and (start <= out[-1][1] or text[out[-1][1] : start].strip() == ""):
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return [Span(s, e, "name") for s, e in out]


def _rule_candidates(text: str) -> list[Span]:
    return [*structured_spans(text), *address_spans(text)]


def redact_structured(text: str, counts: dict[str, int] | None = None) -> str:
    """Mask phones, e-mails, cards, accounts, СНИЛС, ИНН and passports (no addresses, no names)."""
    counts = {} if counts is None else counts
    while spans := resolve(structured_spans(text), _mask_spans(text)):
        text = apply_masks(text, spans)
        add_counts(counts, _count(spans))
    return text


def _count(spans: Sequence[Span]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in spans:
        counts[s.kind] = counts.get(s.kind, 0) + 1
    return counts


class Redactor:
    """Masks PII in texts, short cell values and Feedback records; returns counts of masked spans per kind."""

    version = VERSION

    def __init__(self, names: bool = True, name_engine: str = "auto"):
        if name_engine not in NAME_ENGINES:
            raise ValueError(f"name_engine must be one of {', '.join(NAME_ENGINES)}, got {name_engine!r}")
        self.names = names
        self.name_engine = name_engine
        if names and name_engine in ("natasha", "auto"):
            try:
                load_ner()
            except Exception as exc:  # any load failure means "no NER here"
                if name_engine == "natasha":
                    raise RuntimeError(f"natasha NER could not be loaded: {exc}") from exc
                self.name_engine = "morph"

    # -------------------------------------------------------------------------------------------- spans

    def _name_spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        if not self.names:
            return [[] for _ in texts]
        if self.name_engine == "morph":
            return [morph_name_spans(t) for t in texts]
        return ner_name_spans(texts, prefilter=self.name_engine == "auto")

    def find_batch(self, texts: Sequence[str]) -> list[list[Span]]:
        """The PII spans each text would have masked, in original character offsets, sorted by start."""
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"text #{i}: expected str, got {type(t).__name__}")
        names = self._name_spans(texts)
        return [
            self._fixpoint(t, resolve([*_rule_candidates(t), *_merge_names(n, t)], _mask_spans(t)), value=False)
            for t, n in zip(texts, names, strict=True)
        ]

    def _candidates(self, text: str, value: bool) -> list[Span]:
        """Rule candidates with morph-engine names (plus whole-value names for a cell value)."""
        cands = _rule_candidates(text)
        if self.names:
            cands += _merge_names(morph_name_spans(text), text)
            if value:
                cands += [Span(s, e, "name") for s, e in value_name_spans(text)]
        return cands

    def _fixpoint(self, text: str, spans: list[Span], value: bool) -> list[Span]:
        """Mask ``spans`` and look again until nothing new is found (a mask can change a neighbour's context:
        «…67+7 916…» has a letter-free boundary only once the first phone is masked). Spans come back in
        ``text``'s offsets."""
        while spans:  # each pass adds a span that does not overlap the others, so this ends
            masked = apply_masks(text, spans)
            new = resolve(self._candidates(masked, value), _mask_spans(masked))
            if not new:
                break
            spans = sorted([*spans, *_to_original(new, spans)], key=lambda s: s.start)
        return spans

    def find_value(self, value: str) -> list[Span]:
        """PII spans of one short cell value: text rules plus whole-value names («иванова мария»)."""
        if not isinstance(value, str):
            raise TypeError(f"value: expected str, got {type(value).__name__}")
        return self._fixpoint(value, resolve(self._candidates(value, True), _mask_spans(value)), value=True)

    # ------------------------------------------------------------------------------------------ masking

    def redact_batch(self, texts: Sequence[str]) -> list[tuple[str, dict[str, int]]]:
        """Masked text and counts per kind for each text, in order."""
        return [(apply_masks(t, s), _count(s)) for t, s in zip(texts, self.find_batch(texts), strict=True)]

    def redact(self, text: str) -> tuple[str, dict[str, int]]:
        """Masked text and counts per kind, e.g. ``("звоните [ТЕЛЕФОН]", {"phone": 1})``."""
        return self.redact_batch([text])[0]

    def redact_value(self, value: str | int | float) -> tuple[str, dict[str, int]]:
        """Mask one short cell value of an extra column (a name, phone, e-mail, address, id on its own).

        Numbers are read as their decimal text: a phone stored as a number, or as ``89161234567.0`` by a CSV
        reader in a column with gaps, is masked too. Other non-strings raise ``TypeError``. Person names use the
        morph rules plus a whole-value check, never NER.
        """
        if isinstance(value, float) and value.is_integer():
            value = str(int(value))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise TypeError(f"value: expected str, got {type(value).__name__}")
        spans = self.find_value(value)
        return apply_masks(value, spans), _count(spans)

    def redact_values(self, values: Sequence[str | int | float]) -> list[tuple[str, dict[str, int]]]:
        """:meth:`redact_value` for each value, in order."""
        return [self.redact_value(v) for v in values]

    def redact_record(self, record: Feedback) -> tuple[Feedback, dict[str, int]]:
        """A copy of ``record`` with its text and every turn's text masked, and the summed counts."""
        texts = [record.text, *(t.text for t in record.turns)]
        results = self.redact_batch(texts)
        # record.text is usually the turns joined: count each kind once, not twice
        counts = dict(results[0][1])
        turn_counts: dict[str, int] = {}
        for _, c in results[1:]:
            add_counts(turn_counts, c)
        for kind, n in turn_counts.items():
            counts[kind] = max(counts.get(kind, 0), n)
        turns = [turn.model_copy(update={"text": r[0]}) for turn, r in zip(record.turns, results[1:], strict=True)]
        return record.model_copy(update={"text": results[0][0], "turns": turns}), counts


def _to_original(new: Sequence[Span], masked: Sequence[Span]) -> list[Span]:
    """Offsets of ``new`` spans found in the masked text mapped back to the text before ``masked`` (sorted,
    non-overlapping) were replaced by their masks. A new span never overlaps a mask (resolution blocks it)."""
    out = []
    for s in new:
        shift = pos = 0  # pos: the current mask's end in the masked text
        for m in masked:
            delta = len(MASKS[m.kind]) - (m.end - m.start)
            pos = m.start + shift + len(MASKS[m.kind])
            if pos > s.start:
                break
            shift += delta
        out.append(Span(s.start - shift, s.end - shift, s.kind))
    return out


def add_counts(total: dict[str, int], counts: dict[str, int]) -> dict[str, int]:
    """Add ``counts`` into ``total`` in place (for run summaries) and return it."""
    for k, v in counts.items():
        total[k] = total.get(k, 0) + v
    return total


# ------------------------------------------------------------------------------------------- benchmark


def benchmark(texts: Sequence[str], engines: Sequence[str] = NAME_ENGINES) -> dict[str, float]:
    """Texts per second of ``Redactor(name_engine=e).redact_batch`` for each engine (models preloaded)."""
    from voc.pii.names import name_scores

    result: dict[str, float] = {}
    for engine in engines:
        red = Redactor(name_engine=engine)
        name_scores.cache_clear()
        t0 = time.perf_counter()
        red.redact_batch(texts)
        result[engine] = len(texts) / (time.perf_counter() - t0)
    red = Redactor(names=False)
    t0 = time.perf_counter()
    red.redact_batch(texts)
    result["no names"] = len(texts) / (time.perf_counter() - t0)
    return result


def _read_texts(path: Path, column: str, limit: int) -> list[str]:
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if column not in frame.columns:
        raise SystemExit(f"{path}: no column {column!r}; columns are {', '.join(frame.columns)}")
    return [t for t in frame[column].tolist() if t.strip()][:limit]


def main(argv: Sequence[str] | None = None, echo: Callable[[str], None] = print) -> int:
    """``python -m voc.redact bench FILE.csv [--column текст]`` or ``python -m voc.redact text TEXT``."""
    parser = argparse.ArgumentParser(prog="python -m voc.redact")
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="texts/s of each name engine on the first N texts of a CSV")
    bench.add_argument("csv", type=Path)
    bench.add_argument("--column", default="текст")
    bench.add_argument("-n", type=int, default=1000)
    one = sub.add_parser("text", help="redact one text and print it with the counts")
    one.add_argument("text")
    one.add_argument("--engine", default="auto", choices=NAME_ENGINES)
    one.add_argument("--value", action="store_true", help="treat the text as a short cell value")
    args = parser.parse_args(argv)
    if args.command == "bench":
        texts = _read_texts(args.csv, args.column, args.n)
        for engine, rate in benchmark(texts).items():
            echo(f"{engine:8s} {rate:9.0f} texts/s on {len(texts)} texts")
    else:
        red = Redactor(name_engine=args.engine)
        masked, counts = red.redact_value(args.text) if args.value else red.redact(args.text)
        echo(masked)
        echo(str(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
