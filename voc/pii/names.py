"""Person names: pymorphy3 grammemes (Name/Surn/Patr), context triggers, initials, and natasha's NER.

* ``morph_name_spans`` — a capitalised dictionary word whose name readings add up to ≥ 0.5 is a name; any word
  with a name reading after a trigger («оператор», «меня зовут», «мама») is a name, lower-case too; a
  lower-case first name next to a surname or patronymic («звонила мария петрова») is a name; a surname with
  initials («Иванов И.И.», «И. И. Иванов») is a name; neighbouring name-like words join the run.
* ``ner_name_spans`` — the slovnet NER model with navec embeddings shipped inside the ``natasha`` wheel (PER
  spans), loaded from the package files (no network), plus the morph engine's strong runs.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from voc.text import lemma, readings

_NAME_GRAMMEMES = frozenset({"Name", "Surn", "Patr"})
#: lemmas of words after which the next word is very likely a person's name («оператор Марина»).
NAME_TRIGGERS: frozenset[str] = frozenset(
    """
    звать зовут оператор операторка менеджер консультант сотрудник сотрудница специалист курьер кассир
    продавец продавщица администратор представитель агент директор руководитель начальник мастер
    девушка-оператор врач юрист водитель клиент господин госпожа операционист операционистка кассирша
    монтажник управляющий управляющая исполнитель получатель получательница абонент владелец владелица
    уважаемый уважаемая фио фамилия имя зовите
    мама папа муж жена сын дочь дочка сестра брат бабушка дедушка соседка сосед подруга друг коллега свекровь
    тёща тесть свёкор
    """.split()
)
#: lemmas of verbs after which a first name is likely a person even in lower case («общался андрей»).
NAME_VERB_TRIGGERS: frozenset[str] = frozenset(
    """
    общаться разговаривать говорить звонить позвонить перезвонить ответить помочь помогать обслуживать
    обслужить консультировать проконсультировать принять принимать представиться написать
    """.split()
)
#: capitalised words that pymorphy3 reads as names but that mean places, brands or products in feedback.
NOT_NAMES: frozenset[str] = frozenset(
    """
    питер сбер сбербанк озон магнит мегафон билайн тинькофф альфа лента дикси алиса яндекс алёнка аленка
    маруся олег-банк виктория-банк марта мая августа юла авито ашан глория светофор вкусвилл пятёрочка
    почта банк мир мира газпром роснефть лукойл ростелеком ренессанс хоум халва совкомбанк открытие
    мегамаркет вайлдберриз валдберис вб ламода самокат додо мвидео эльдорадо ситилинк теле2 йота ёта уралсиб
    россельхозбанк точка модульбанк юмани киви вотсап ватсап телеграм вайбер госуслуги
    """.split()
)
NAME_SCORE_THRESHOLD = 0.5
_WORD_RE = re.compile(r"[А-ЯЁа-яё]+(?:-[А-ЯЁа-яё]+)?")
_PREV_TOKEN_RE = re.compile(r"([A-Za-zА-ЯЁа-яё]+)\s{1,2}$")
_SURNAME = r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?"
_INITIALS_AFTER_RE = re.compile(rf"(?<![А-Яа-яЁё])(?P<s>{_SURNAME})\s+[А-ЯЁ]\.(?:\s?[А-ЯЁ]\.)?")
_INITIALS_BEFORE_RE = re.compile(rf"(?<![А-Яа-яЁё.])[А-ЯЁ]\.\s?(?:[А-ЯЁ]\.\s?)?(?P<s>{_SURNAME})(?![А-Яа-яЁё])")


@dataclass(frozen=True, slots=True)
class NameScores:
    """pymorphy3 readings of one lower-cased word: summed scores per name grammeme, dictionary word or not."""

    first: float
    surname: float
    patronymic: float
    known: bool

    @property
    def total(self) -> float:
        return self.first + self.surname + self.patronymic


@lru_cache(maxsize=200_000)
def name_scores(word: str) -> NameScores:
    """Name/Surn/Patr scores of a lower-cased word (cached per word form; the parse is shared with the lemma)."""
    _, first, surname, patronymic, known = readings(word)
    return NameScores(first, surname, patronymic, known)


def name_score(word: str) -> tuple[float, bool]:
    """(summed pymorphy3 score of Name/Surn/Patr readings, word is in the dictionary) for a lower-cased word."""
    s = name_scores(word)
    return float(s.total), s.known


@lru_cache(maxsize=50_000)
def is_trigger(word: str) -> bool:
    return word in NAME_TRIGGERS or lemma(word) in NAME_TRIGGERS


@lru_cache(maxsize=50_000)
def is_verb_trigger(word: str) -> bool:
    return lemma(word) in NAME_VERB_TRIGGERS


@dataclass(frozen=True, slots=True)
class Word:
    start: int
    end: int
    lower: str
    capitalised: bool
    upper: bool


def words_of(text: str) -> list[Word]:
    return [
        Word(m.start(), m.end(), (g := m.group(0)).lower(), g[0].isupper(), g.isupper())
        for m in _WORD_RE.finditer(text)
    ]


def _adjacent(text: str, left: Word, right: Word) -> bool:
    gap = text[left.end : right.start]
    return len(gap) <= 2 and gap.strip() == ""


def _after_brand(text: str, start: int) -> bool:
    """True when the word at ``start`` follows a brand («Сбер», «Яндекс») or a Latin-script word («Ozon»)."""
    m = _PREV_TOKEN_RE.search(text, max(0, start - 40), start)
    return m is not None and (m.group(1).lower() in NOT_NAMES or m.group(1).isascii())


_ENDING_RE = re.compile(r"(?:ой|ом|ою|ам|ами|ах|[аяуюеыиоё])$")


def _stem(word: str) -> str:
    return _ENDING_RE.sub("", word)


_NOT_NAME_STEMS = frozenset(st for st in map(_stem, NOT_NAMES) if len(st) >= 4)


@lru_cache(maxsize=50_000)
def _not_name(word: str) -> bool:
    """Brands and places that read as names («Сбер», «Альфу», «Совкомбанка»), and one-letter words."""
    head = word.split("-")[0]
    return (
        len(word) < 2
        or word in NOT_NAMES
        or head in NOT_NAMES
        or "банк" in word
        or "маркет" in word
        or _stem(head) in _NOT_NAME_STEMS
        or lemma(word) in NOT_NAMES
    )


#: a street type, metro station or «им.» right before a word: «ул. Достоевского», «м. Маяковская»
_PLACE_BEFORE_RE = re.compile(
    r"(?i)(?<![А-Яа-яЁё])(?:ул|улиц[аеуы]|пр|просп|проспект[аеу]?|пр-т|пер|переул(?:ок|ке|ка)|б-р|бульвар[аеу]?"
    r"|ш|шоссе|наб|набережн(?:ая|ой|ую)|пл|площад[ьи]|проезд[аеу]?|мкр|микрорайон[аеу]?|метро|м|ст|станци[яиюей]"
    r"|им)\.?\s*$"
)
_HOUSE_AFTER_RE = re.compile(r"\s*,?\s*\d{1,3}[а-дА-Д]?(?![\d\w])")
_BUSINESS_BEFORE_RE = re.compile(r"(?i)отделени|офис|филиал|банкомат|магазин|центр|пункт|\bтц\b|\bтрц\b|салон")
_CITY_BEFORE_RE = re.compile(r"(?<![А-Яа-яЁё])(?:г|гор|город)\.?\s*[А-ЯЁ][а-яё\-]+\s*,\s*$")
_NA_BEFORE_RE = re.compile(r"(?i)(?<![А-Яа-яЁё])на\s+$")


def _is_street(text: str, start: int, end: int, single_surname: bool) -> bool:
    """«ул. Достоевского», «м. Маяковская»; a lone surname after «на» that is a street: «отделение на Ленина»,
    «на Гагарина 29»."""
    before = text[max(0, start - 30) : start]
    if _PLACE_BEFORE_RE.search(before) or _CITY_BEFORE_RE.search(before):
        return True
    if not single_surname or not _NA_BEFORE_RE.search(before):
        return False
    return bool(_HOUSE_AFTER_RE.match(text, end)) or _BUSINESS_BEFORE_RE.search(
        text, max(0, start - 45), start
    ) is not None


def _lower_pair(a: str, b: str) -> bool:
    """«мария петрова», «петрова мария», «анна сергеевна»: a first name next to a surname or patronymic."""
    sa, sb = name_scores(a), name_scores(b)
    if not (sa.known and sb.known):  # typos get predicted name readings («картыи», «скришот»)
        return False
    return (sa.first > 0 and (sb.patronymic >= 0.5 or (sb.surname > 0 and sa.first + sb.surname >= 1.0))) or (
        sa.surname > 0 and sb.first >= 0.5 and sa.surname + sb.first >= 1.0
    )


@lru_cache(maxsize=200_000)
def _interesting(word: str) -> bool:
    """A word (as written) the name rules may look at: a name reading, a trigger, or a capitalised word that
    is not in the dictionary. Short all-caps abbreviations («ТП», «ВЭД», «МТС») are never names."""
    if len(word) <= 3 and word.isupper():
        return False
    low = word.lower()
    s = name_scores(low)
    return s.total > 0 or is_trigger(low) or is_verb_trigger(low) or (not s.known and word[0].isupper())


def _interesting_words(text: str) -> list[Word]:
    """The words of ``text`` the name rules need, in order; other words are left out (a left-out word between
    two kept ones makes them non-adjacent, since adjacency is checked on the text)."""
    wanted = {w for w in set(_WORD_RE.findall(text)) if _interesting(w)}
    if not wanted:
        return []
    out = []
    for m in _WORD_RE.finditer(text):
        word = m.group(0)
        if word in wanted:
            out.append(Word(m.start(), m.end(), word.lower(), word[0].isupper(), word.isupper()))
    return out


_AND_RE = re.compile(r"\s+и\s+")


def _coordinate(text: str, words: Sequence[Word], is_name: list[bool]) -> None:
    """«Ане и Саше», «Милана и Валерия»: a capitalised word with a first-name reading joined by «и» to a name."""
    for i in range(len(words) - 1):
        a, b = words[i], words[i + 1]
        if is_name[i] == is_name[i + 1] or not (a.capitalised and b.capitalised):
            continue
        if _AND_RE.fullmatch(text, a.end, b.start):
            other = b if is_name[i] else a
            scores = name_scores(other.lower)
            if not _not_name(other.lower) and scores.known and scores.first > 0:
                is_name[i] = is_name[i + 1] = True


def _morph_runs(text: str) -> list[tuple[int, int, bool]]:
    """Name runs by pymorphy3 grammemes and context triggers: (start, end, strong).

    A run is strong when it has two or more words («Иван Петров», «Любовь Ивановна»), follows a trigger word
    («оператор Марина», «меня зовут марина») or carries initials.
    """
    words = _interesting_words(text)
    n = len(words)
    is_name = [False] * n
    strong = [False] * n
    for i, w in enumerate(words):
        if _not_name(w.lower):
            continue
        s = name_scores(w.lower)
        if s.total <= 0 and not (w.capitalised and not s.known):
            continue
        if _after_brand(text, w.start):  # «Сбер Маркете», «Ozon Банк»
            continue
        after_trigger = i > 0 and is_trigger(words[i - 1].lower) and _adjacent(text, words[i - 1], w)
        first_enough = s.first >= (0.05 if w.capitalised else 0.5)  # «звонил Роман» (Роман: 0.11)
        after_verb = (
            i > 0 and first_enough and len(w.lower) > 2 and is_verb_trigger(words[i - 1].lower)
            and _adjacent(text, words[i - 1], w)
        )
        if after_verb or (after_trigger and (s.total >= 0.2 or (w.capitalised and (s.total > 0 or not s.known)))):
            is_name[i] = strong[i] = True
        elif s.total > 0 and w.capitalised and s.known and s.total >= NAME_SCORE_THRESHOLD:
            is_name[i] = True
        elif (
            s.total > 0 and not w.capitalised and i + 1 < n and not words[i + 1].capitalised
            and _adjacent(text, w, words[i + 1]) and _lower_pair(w.lower, words[i + 1].lower)
        ):
            is_name[i] = is_name[i + 1] = strong[i] = strong[i + 1] = True
    _coordinate(text, words, is_name)
    changed = True
    while changed:  # extend runs to neighbouring name-like words of the same case
        changed = False
        for i, w in enumerate(words):
            if is_name[i] or _not_name(w.lower):
                continue
            for j in (i - 1, i + 1):
                if 0 <= j < n and is_name[j] and w.capitalised == words[j].capitalised:
                    pair = (words[j], w) if j < i else (w, words[j])
                    if _adjacent(text, *pair) and name_scores(w.lower).total >= 0.1:
                        is_name[i] = changed = True
                        break
    runs: list[tuple[int, int, bool]] = []
    firsts: list[int] = []
    prev = -2
    for i, w in enumerate(words):
        if not is_name[i]:
            continue
        if prev == i - 1 and _adjacent(text, words[prev], w):
            start, _, _ = runs[-1]
            runs[-1] = (start, w.end, True)
        else:
            runs.append((w.start, w.end, strong[i]))
            firsts.append(i)
        prev = i
    kept = []
    for (start, end, is_strong), i in zip(runs, firsts, strict=True):
        single = end == words[i].end and name_scores(words[i].lower).surname > name_scores(words[i].lower).first
        if not _is_street(text, start, end, single):
            kept.append((start, end, is_strong))
    kept.extend((s, e, True) for s, e in initials_spans(text))
    kept.extend((s, e, True) for s, e in greeting_spans(text))
    return kept


_GREETING_HINTS = ("спасиб", "благодар", "здравств", "уважаем", "дорог", "добр", "обращайтесь", "привет")
_GREETING_KEY_RE = re.compile(  # run on the lower-cased text
    r"(?:спасибо|благодар\w+|здравствуйте|добрый\s+(?:день|вечер)|доброе\s+утро|привет|уважаем\w+|дорог\w+"
    r"|обращайтесь)"
)
_ADDRESSEE_RE = re.compile(r"[^.!?\n,，]{0,40}?[,，]\s*(?P<n>[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?)\s*(?=[,，!])")


def greeting_spans(text: str) -> list[tuple[int, int]]:
    """The addressee of a greeting or thanks: «Спасибо за отзыв, Гулмира!», «Здравствуйте, Рашидбек,» — also
    names pymorphy3 does not know (seller replies greet customers by name)."""
    low = text.lower()
    if len(low) != len(text) or not any(h in low for h in _GREETING_HINTS):
        return []
    out = []
    for key in _GREETING_KEY_RE.finditer(low):
        m = _ADDRESSEE_RE.match(text, key.end())
        if m is None:
            continue
        word = m.group("n").lower()
        s = name_scores(word)
        if not _not_name(word) and (not s.known or s.first > 0):
            out.append(m.span("n"))
    return out


def _surname_like(word: str) -> bool:
    low = word.lower()
    if _not_name(low):
        return False
    s = name_scores(low)
    return s.surname > 0 or s.first > 0 or not s.known


def initials_spans(text: str) -> list[tuple[int, int]]:
    """«Иванов И.И.», «Петровой А. С.», «И. И. Иванов», «Д.А. Козлов»: a surname with initials."""
    if "." not in text:
        return []
    out = [(m.start(), m.end()) for m in _INITIALS_AFTER_RE.finditer(text) if _surname_like(m.group("s"))]
    out.extend((m.start(), m.end()) for m in _INITIALS_BEFORE_RE.finditer(text) if _surname_like(m.group("s")))
    return out


def morph_name_spans(text: str) -> list[tuple[int, int]]:
    """Person-name spans by pymorphy3 grammemes, context triggers and initials (no NER)."""
    return [(s, e) for s, e, _ in _morph_runs(text)]


def has_name_candidate(text: str) -> bool:
    """Cheap pre-filter: does any word have a Name/Surn/Patr reading at all?"""
    return any(not _not_name(w.lower) and name_scores(w.lower).total > 0 for w in words_of(text))


def value_name_spans(value: str) -> list[tuple[int, int]]:
    """A whole short cell that is a name («иванова мария», «Алексей», «Петров П.П.»): one span, else []."""
    words = words_of(value)
    if not 1 <= len(words) <= 4 or re.search(r"[^А-Яа-яЁё\s.\-]", value):
        return []
    scores = [name_scores(w.lower) for w in words]
    if any(_not_name(w.lower) or s.total <= 0 for w, s in zip(words, scores, strict=True) if len(w.lower) > 1):
        return []
    if len(words) == 1 and scores[0].total < NAME_SCORE_THRESHOLD:
        return []
    return [(words[0].start, len(value.rstrip()))]


# ------------------------------------------------------------------------------------------------- NER


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


def _ner_keep(text: str, start: int, end: int, words: Sequence[Word]) -> bool:
    """Drop single-word PER spans that are ordinary words («Вера в лучшее», «Любовь к Ozon»)."""
    inside = [w for w in words if w.start >= start and w.end <= end]
    if len(inside) != 1:
        return bool(inside)
    w = inside[0]
    if _not_name(w.lower):
        return False
    s = name_scores(w.lower)
    if not s.known or s.total >= NAME_SCORE_THRESHOLD:
        return True
    idx = words.index(w)
    return idx > 0 and is_trigger(words[idx - 1].lower) and _adjacent(text, words[idx - 1], w)


def ner_name_spans(texts: Sequence[str], prefilter: bool = False) -> list[list[tuple[int, int]]]:
    """Person-name spans per text: NER PER spans (filtered) plus the morph engine's strong runs."""
    ner = load_ner()
    todo = [i for i, t in enumerate(texts) if not prefilter or has_name_candidate(t)]
    out: list[list[tuple[int, int]]] = [[] for _ in texts]
    for i, markup in zip(todo, ner.map([texts[i] for i in todo]), strict=True):
        words = words_of(texts[i])
        spans = [(s.start, s.stop) for s in markup.spans if s.type == "PER"]
        out[i] = [(s, e) for s, e in spans if _ner_keep(texts[i], s, e, words)]
    for i in todo:  # NER misses lower-case names after triggers and some inflected full names
        out[i].extend((s, e) for s, e, strong in _morph_runs(texts[i]) if strong)
    return out
