"""PII masking for 152-ФЗ: phones, e-mails, bank cards, passports, СНИЛС, ИНН, bank accounts and person names.

Structured identifiers are found by regular expressions and validated (Luhn for cards, check digits for
СНИЛС and ИНН, «паспорт»/«ИНН»/«СНИЛС» context where the bare number is ambiguous). Person names come from
one of two engines:

* ``natasha`` — the slovnet NER model with navec embeddings shipped inside the ``natasha`` wheel (PER spans),
  loaded from the package files directly, so no network and no pymorphy2 import are needed;
* ``morph`` — pymorphy3 grammemes (Name/Surn/Patr) with a score threshold, plus context triggers such as
  «меня зовут», «оператор», «менеджер» that also catch lower-case names.

``auto`` runs NER only on texts that contain a name candidate according to pymorphy3 and falls back to
``morph`` when the NER model cannot be loaded. Masking replaces spans and never drops other text.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from voc.schema import Feedback
from voc.text import lemma

MASKS: dict[str, str] = {
    "phone": "[ТЕЛЕФОН]",
    "email": "[EMAIL]",
    "card": "[КАРТА]",
    "passport": "[ПАСПОРТ]",
    "snils": "[СНИЛС]",
    "inn": "[ИНН]",
    "account": "[СЧЁТ]",
    "name": "[ИМЯ]",
}
#: Kinds in resolution order: when two candidates overlap, the earlier kind wins.
STRUCTURED_KINDS: tuple[str, ...] = ("email", "account", "card", "snils", "inn", "passport", "phone")
NAME_ENGINES: tuple[str, ...] = ("auto", "natasha", "morph")

_MASK_RE = re.compile("|".join(re.escape(m) for m in MASKS.values()))
_CONTEXT_WINDOW = 40

# ----------------------------------------------------------------------------------------------- checksums


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn check (bank cards)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def snils_valid(digits: str) -> bool:
    """True when an 11-digit СНИЛС has the right check number (numbers up to 001-001-998 carry none)."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    body, check = digits[:9], int(digits[9:])
    if int(body) <= 1001998:
        return False
    total = sum(int(d) * w for d, w in zip(body, range(9, 0, -1), strict=True))
    expected = total % 101
    if expected == 100:
        expected = 0
    return expected == check


_INN10_W = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11_W = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_W = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _inn_digit(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def inn_valid(digits: str) -> bool:
    """True when a 10-digit (organisation) or 12-digit (person) ИНН has valid check digits."""
    if not digits.isdigit():
        return False
    if len(digits) == 10:
        return _inn_digit(digits, _INN10_W) == int(digits[9])
    if len(digits) == 12:
        return _inn_digit(digits, _INN11_W) == int(digits[10]) and _inn_digit(digits, _INN12_W) == int(digits[11])
    return False


# ---------------------------------------------------------------------------------------- structured PII

_EMAIL_RE = re.compile(
    r"[A-Za-z0-9._%+\-]+@[A-Za-zА-Яа-яЁё0-9\-]+(?:\.[A-Za-zА-Яа-яЁё0-9\-]+)*\.(?:[A-Za-z]{2,}|рф|РФ)"
)
_PHONE_RE = re.compile(
    r"(?<![\d+])(?:\+7|8|7)[ \-]?\(?\d{3}\)?[ \-]?\d{3}[ \-]?\d{2}[ \-]?\d{2}(?!\d)"
)
_CARD_RES = (
    re.compile(r"(?<!\d)\d{13,19}(?!\d)"),
    re.compile(r"(?<!\d)\d{4}([ \-])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?(?!\d)"),
    re.compile(r"(?<!\d)\d{4}([ \-])\d{6}\1\d{4,5}(?!\d)"),
)
_ACCOUNT_RES = (
    re.compile(r"(?<!\d)\d{20}(?!\d)"),
    re.compile(r"(?<!\d)\d{4}( )\d{4}\1\d{4}\1\d{4}\1\d{4}(?!\d)"),
    re.compile(r"(?<!\d)\d{5}([ .])\d{3}\1\d\1\d{4}\1\d{7}(?!\d)"),
)
_SNILS_FORMATTED_RE = re.compile(r"(?<!\d)\d{3}([ \-])\d{3}\1\d{3}[ \-]\d{2}(?!\d)")
_ELEVEN_DIGITS_RE = re.compile(r"(?<!\d)\d{11}(?!\d)")
_INN_RE = re.compile(r"(?<!\d)(?:\d{12}|\d{10})(?!\d)")
_PASSPORT_SPACED_RE = re.compile(r"(?<!\d)\d{2} ?\d{2} (?:№ ?)?\d{6}(?!\d)|(?<!\d)\d{2} \d{2}\d{6}(?!\d)")
_PASSPORT_BARE_RE = re.compile(r"(?<!\d)\d{10}(?!\d)")
_PASSPORT_SERIES_RE = re.compile(r"(?i)серия\s*\d{2}\s?\d{2}\s*,?\s*(?:номер|№)\s*\d{6}(?!\d)")

_SNILS_CONTEXT = re.compile(r"(?i)снилс|страхов\w* номер")
_INN_CONTEXT = re.compile(r"(?i)\bинн\b")
_PASSPORT_CONTEXT = re.compile(r"(?i)паспорт")
_NOT_INN_CONTEXT = re.compile(r"(?i)заказ|обращени|заявк|трек|посылк|отправлени|договор|№|номер")


def _context(text: str, start: int, pattern: re.Pattern[str]) -> bool:
    return pattern.search(text, max(0, start - _CONTEXT_WINDOW), start) is not None


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


@dataclass(frozen=True, slots=True)
class Span:
    """A span of text to mask."""

    start: int
    end: int
    kind: str


def _card_end(match: str) -> int:
    """Length of the longest Luhn-valid 13–19-digit prefix of a card-like match made of whole groups, or 0.

    «2200 1234 5678 9010 7» may be a card followed by a stray digit: the extra group is dropped.
    """
    ends = [i for i, ch in enumerate(match) if not ch.isdigit()] + [len(match)]
    for end in reversed(ends):
        digits = _digits(match[:end])
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return end
    return 0


def _structured_candidates(text: str) -> list[Span]:
    """Every structured-PII candidate in ``text`` (they may overlap; resolution picks the winners)."""
    out: list[Span] = []
    for m in _EMAIL_RE.finditer(text):
        out.append(Span(m.start(), m.end(), "email"))
    for rx in _CARD_RES:
        for m in rx.finditer(text):
            end = _card_end(m.group(0))
            if end:
                out.append(Span(m.start(), m.start() + end, "card"))
    for rx in _ACCOUNT_RES:
        for m in rx.finditer(text):
            out.append(Span(m.start(), m.end(), "account"))
    for m in _SNILS_FORMATTED_RE.finditer(text):
        if snils_valid(_digits(m.group(0))):
            out.append(Span(m.start(), m.end(), "snils"))
    for m in _ELEVEN_DIGITS_RE.finditer(text):
        if _context(text, m.start(), _SNILS_CONTEXT):
            out.append(Span(m.start(), m.end(), "snils"))
    for m in _INN_RE.finditer(text):
        if _context(text, m.start(), _INN_CONTEXT) or (
            inn_valid(m.group(0))
            and not _context(text, m.start(), _PASSPORT_CONTEXT)
            and not _context(text, m.start(), _NOT_INN_CONTEXT)
        ):
            out.append(Span(m.start(), m.end(), "inn"))
    for m in _PASSPORT_SERIES_RE.finditer(text):
        out.append(Span(m.start(), m.end(), "passport"))
    for m in _PASSPORT_SPACED_RE.finditer(text):
        out.append(Span(m.start(), m.end(), "passport"))
    for m in _PASSPORT_BARE_RE.finditer(text):
        if _context(text, m.start(), _PASSPORT_CONTEXT):
            out.append(Span(m.start(), m.end(), "passport"))
    for m in _PHONE_RE.finditer(text):
        out.append(Span(m.start(), m.end(), "phone"))
    return out


def _mask_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _MASK_RE.finditer(text)]


def _resolve(candidates: Sequence[Span], blocked: Sequence[tuple[int, int]], order: Sequence[str]) -> list[Span]:
    """Non-overlapping winners: earlier kinds in ``order`` first, then longer spans, then leftmost."""
    rank = {k: i for i, k in enumerate(order)}
    taken: list[tuple[int, int]] = list(blocked)
    chosen: list[Span] = []
    for s in sorted(candidates, key=lambda s: (rank[s.kind], s.start - s.end, s.start)):
        if any(s.start < e and b < s.end for b, e in taken):
            continue
        taken.append((s.start, s.end))
        chosen.append(s)
    return chosen


def _apply(text: str, spans: Sequence[Span], counts: dict[str, int]) -> str:
    """Replace ``spans`` (non-overlapping) by their masks; text outside the spans is kept as is."""
    parts: list[str] = []
    pos = 0
    for s in sorted(spans, key=lambda s: s.start):
        parts.append(text[pos : s.start])
        parts.append(MASKS[s.kind])
        pos = s.end
        counts[s.kind] = counts.get(s.kind, 0) + 1
    parts.append(text[pos:])
    return "".join(parts)


def redact_structured(text: str, counts: dict[str, int] | None = None) -> str:
    """Mask phones, e-mails, cards, accounts, СНИЛС, ИНН and passports; repeat until nothing new is found."""
    counts = {} if counts is None else counts
    for _ in range(4):
        spans = _resolve(_structured_candidates(text), _mask_spans(text), STRUCTURED_KINDS)
        if not spans:
            break
        text = _apply(text, spans, counts)
    return text


# ------------------------------------------------------------------------------------------- person names

_WORD_RE = re.compile(r"[А-ЯЁа-яё]+(?:-[А-ЯЁа-яё]+)?")
_NAME_GRAMMEMES = frozenset({"Name", "Surn", "Patr"})
#: lemmas of words after which the next word is very likely a person's name («оператор Марина»).
NAME_TRIGGERS: frozenset[str] = frozenset(
    """
    звать зовут оператор операторка менеджер консультант сотрудник сотрудница специалист курьер кассир
    продавец продавщица администратор представитель агент директор руководитель начальник мастер
    девушка-оператор врач юрист водитель клиент господин госпожа
    """.split()
)
#: capitalised words that pymorphy3 reads as names but that mean places or brands in feedback.
NOT_NAMES: frozenset[str] = frozenset(
    "питер сбер сбербанк озон магнит мегафон билайн тинькофф альфа лента дикси алиса яндекс".split()
)
NAME_SCORE_THRESHOLD = 0.5


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=200_000)
def name_score(word: str) -> tuple[float, bool]:
    """(summed pymorphy3 score of Name/Surn/Patr readings, word is in the dictionary) for a lower-cased word."""
    morph = _morph()
    parses = morph.parse(word)
    score = sum(p.score for p in parses if _NAME_GRAMMEMES & p.tag.grammemes)
    return float(score), bool(morph.word_is_known(word))


@lru_cache(maxsize=50_000)
def _is_trigger(word: str) -> bool:
    return word in NAME_TRIGGERS or lemma(word) in NAME_TRIGGERS


@dataclass(frozen=True, slots=True)
class _Word:
    start: int
    end: int
    lower: str
    capitalised: bool


def _words(text: str) -> list[_Word]:
    return [_Word(m.start(), m.end(), m.group(0).lower(), m.group(0)[0].isupper()) for m in _WORD_RE.finditer(text)]


def _adjacent(text: str, left: _Word, right: _Word) -> bool:
    gap = text[left.end : right.start]
    return len(gap) <= 2 and gap.strip() == ""


_PREV_TOKEN_RE = re.compile(r"([A-Za-zА-ЯЁа-яё]+)\s{1,2}$")


def _after_brand(text: str, start: int) -> bool:
    """True when the word at ``start`` follows a brand («Сбер», «Яндекс») or a Latin-script word («Ozon»)."""
    m = _PREV_TOKEN_RE.search(text, max(0, start - 40), start)
    return m is not None and (m.group(1).lower() in NOT_NAMES or m.group(1).isascii())


def _merge(spans: Sequence[tuple[int, int]], text: str) -> list[Span]:
    """Merge name spans separated only by whitespace into one [ИМЯ]."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and (start <= out[-1][1] or text[out[-1][1] : start].strip() == ""):
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return [Span(s, e, "name") for s, e in out]


def _morph_runs(text: str) -> list[tuple[int, int, bool]]:
    """Name runs by pymorphy3 grammemes and context triggers: (start, end, strong).

    A run is strong when it has two or more words («Иван Петров», «Любовь Ивановна») or follows a
    trigger word («оператор Марина», «меня зовут марина»).
    """
    words = _words(text)
    is_name = [False] * len(words)
    triggered = [False] * len(words)
    for i, w in enumerate(words):
        if w.lower in NOT_NAMES or len(w.lower) < 2:
            continue
        score, known = name_score(w.lower)
        if score <= 0:
            continue
        if _after_brand(text, w.start):  # «Сбер Маркете», «Ozon Банк»
            continue
        triggered[i] = i > 0 and _is_trigger(words[i - 1].lower) and _adjacent(text, words[i - 1], w)
        if triggered[i] or (w.capitalised and known and score >= NAME_SCORE_THRESHOLD):
            is_name[i] = True
    changed = True
    while changed:  # extend runs to neighbouring name-like words of the same case
        changed = False
        for i, w in enumerate(words):
            if is_name[i] or w.lower in NOT_NAMES:
                continue
            for j in (i - 1, i + 1):
                if 0 <= j < len(words) and is_name[j] and w.capitalised == words[j].capitalised:
                    pair = (words[j], w) if j < i else (w, words[j])
                    if _adjacent(text, *pair) and name_score(w.lower)[0] > 0:
                        is_name[i] = changed = True
                        break
    runs: list[tuple[int, int, bool]] = []
    prev = -2
    for i, w in enumerate(words):
        if not is_name[i]:
            continue
        if prev == i - 1 and _adjacent(text, words[prev], w):
            start, _, _ = runs[-1]
            runs[-1] = (start, w.end, True)
        else:
            runs.append((w.start, w.end, triggered[i]))
        prev = i
    return runs


def morph_name_spans(text: str) -> list[tuple[int, int]]:
    """Person-name spans by pymorphy3 grammemes and context triggers (no NER)."""
    return [(s, e) for s, e, _ in _morph_runs(text)]


def has_name_candidate(text: str) -> bool:
    """Cheap pre-filter: does any word have a Name/Surn/Patr reading at all?"""
    return any(w.lower not in NOT_NAMES and name_score(w.lower)[0] > 0 for w in _words(text))


@lru_cache(maxsize=1)
def load_ner() -> Any:
    """The slovnet NER tagger with navec embeddings from natasha's package data (offline)."""
    spec = importlib.util.find_spec("natasha")
    if spec is None or spec.origin is None:
        raise RuntimeError("the natasha package is not installed: pip install 'natasha>=1.6'")
    from navec import Navec
    from slovnet import NER

    data = Path(spec.origin).parent / "data"
    emb = next((data / "emb").glob("navec_news_*.tar"), None)
    model = next((data / "model").glob("slovnet_ner_news_*.tar"), None)
    if emb is None or model is None:
        raise RuntimeError(f"natasha's NER model or embeddings are missing under {data}")
    ner = NER.load(str(model), batch_size=32)
    ner.navec(Navec.load(str(emb)))
    return ner


def _ner_keep(text: str, start: int, end: int, words: Sequence[_Word]) -> bool:
    """Drop single-word PER spans that are ordinary words («Вера в лучшее», «Любовь к Ozon»)."""
    inside = [w for w in words if w.start >= start and w.end <= end]
    if len(inside) != 1:
        return bool(inside)
    w = inside[0]
    if w.lower in NOT_NAMES:
        return False
    score, known = name_score(w.lower)
    if not known or score >= NAME_SCORE_THRESHOLD:
        return True
    idx = words.index(w)
    return idx > 0 and _is_trigger(words[idx - 1].lower) and _adjacent(text, words[idx - 1], w)


def ner_name_spans(texts: Sequence[str], prefilter: bool = False) -> list[list[tuple[int, int]]]:
    """Person-name spans per text: NER PER spans (filtered) plus the morph engine's strong runs."""
    ner = load_ner()
    todo = [i for i, t in enumerate(texts) if not prefilter or has_name_candidate(t)]
    out: list[list[tuple[int, int]]] = [[] for _ in texts]
    for i, markup in zip(todo, ner.map([texts[i] for i in todo]), strict=True):
        words = _words(texts[i])
        spans = [(s.start, s.stop) for s in markup.spans if s.type == "PER"]
        out[i] = [(s, e) for s, e in spans if _ner_keep(texts[i], s, e, words)]
    for i in todo:  # NER misses lower-case names after triggers and some inflected full names
        out[i].extend((s, e) for s, e, strong in _morph_runs(texts[i]) if strong)
    return out


# ---------------------------------------------------------------------------------------------- Redactor


class Redactor:
    """Masks PII in texts and Feedback records; returns counts of masked spans per kind."""

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

    def _name_spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        if self.name_engine == "morph":
            return [morph_name_spans(t) for t in texts]
        return ner_name_spans(texts, prefilter=self.name_engine == "auto")

    def redact_batch(self, texts: Sequence[str]) -> list[tuple[str, dict[str, int]]]:
        """Masked text and counts per kind for each text, in order."""
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"text #{i}: expected str, got {type(t).__name__}")
        counts: list[dict[str, int]] = [{} for _ in texts]
        masked = [redact_structured(t, c) for t, c in zip(texts, counts, strict=True)]
        if self.names:
            for i, spans in enumerate(self._name_spans(masked)):
                if spans:
                    chosen = _resolve(_merge(spans, masked[i]), _mask_spans(masked[i]), ("name",))
                    masked[i] = _apply(masked[i], chosen, counts[i])
        return list(zip(masked, counts, strict=True))

    def redact(self, text: str) -> tuple[str, dict[str, int]]:
        """Masked text and counts per kind, e.g. ``("звоните [ТЕЛЕФОН]", {"phone": 1})``."""
        return self.redact_batch([text])[0]

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


def add_counts(total: dict[str, int], counts: dict[str, int]) -> dict[str, int]:
    """Add ``counts`` into ``total`` in place (for run summaries) and return it."""
    for k, v in counts.items():
        total[k] = total.get(k, 0) + v
    return total


# ------------------------------------------------------------------------------------------- benchmark


def benchmark(texts: Sequence[str], engines: Sequence[str] = NAME_ENGINES) -> dict[str, float]:
    """Texts per second of ``Redactor(name_engine=e).redact_batch`` for each engine (models preloaded)."""
    result: dict[str, float] = {}
    for engine in engines:
        red = Redactor(name_engine=engine)
        name_score.cache_clear()
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
    """``python -m voc.redact bench FILE.csv [--column текст]`` or ``python -m voc.redact TEXT``."""
    parser = argparse.ArgumentParser(prog="python -m voc.redact")
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="texts/s of each name engine on the first N texts of a CSV")
    bench.add_argument("csv", type=Path)
    bench.add_argument("--column", default="текст")
    bench.add_argument("-n", type=int, default=1000)
    one = sub.add_parser("text", help="redact one text and print it with the counts")
    one.add_argument("text")
    one.add_argument("--engine", default="auto", choices=NAME_ENGINES)
    args = parser.parse_args(argv)
    if args.command == "bench":
        texts = _read_texts(args.csv, args.column, args.n)
        for engine, rate in benchmark(texts).items():
            echo(f"{engine:8s} {rate:9.0f} texts/s on {len(texts)} texts")
    else:
        masked, counts = Redactor(name_engine=args.engine).redact(args.text)
        echo(masked)
        echo(str(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
