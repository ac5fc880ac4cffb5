"""Street addresses: street (with or without its type) + house (+ building, entrance, flat).

Forms: «ул. Ленина, д. 5, кв. 12», «проспект Мира 10-25», «Кутузовский пр-т, 24-56», «садовая улица д 3»,
«г. Москва, Тверская 7» (a street without its type right after a city), «дом 5, квартира 12». A street
without a house number («на Тверской», «улица Ленина») is not an address of a person and stays; so do the
city, region and postal code, which identify nobody. A street + house without a flat right after «отделение»,
«магазин», «пункт выдачи», «офис», … is a business's address and stays too.
"""

from __future__ import annotations

import re
from functools import lru_cache

from voc.pii import Span

_L = r"А-Яа-яЁё"
_B = rf"(?<![{_L}A-Za-z\-])"  # word start
_E = rf"(?:(?<=\.)|(?![{_L}]))"  # word end (an abbreviation's dot ends it too: «ул.Пушкина»)
_TYPE_PRE = (
    r"(?:ул(?:\.|иц(?:а|е|у|ы|ей))?|пр-к?т\.?|просп(?:\.|ект(?:а|е|у|ом)?)|пер(?:\.|еул(?:ок|ке|ка|ку))"
    r"|б-р|бул(?:\.|ьвар(?:а|е|у)?)|ш\.|шоссе|наб(?:\.|ережн(?:ая|ой|ую))|пл(?:\.|ощад(?:ь|и))|пр-д"
    r"|проезд(?:а|е|у)?|мкр-н|мкрн?\.?|микрорайон(?:а|е|у)?|туп(?:\.|ик(?:а|е|у)?)|алле(?:я|е|ю)|пр\.)"
)
_TYPE_SUF = (
    r"(?:проспект(?:а|е|у)?|пр-к?т\.?|просп\.|пр\.|бульвар(?:а|е|у)?|б-р|шоссе|ш\.|переул(?:ок|ке|ка)|пер\."
    r"|улиц(?:а|е|у|ы)|ул\.|проезд(?:а|е|у)?|набережн(?:ая|ой|ую)|площад(?:ь|и)|тупик|алле(?:я|е))"
)
_WORD = rf"[{_L}][{_L}]*(?:-[{_L}]+)*"
#: street name after a prefix type: «Ленина», «8 Марта», «1-я Парковая», «реки Фонтанки», «Ново-Садовая»
_NAME = rf"(?:\d{{1,2}}(?:-?[а-яё]{{1,2}})?\s+)?{_WORD}(?:\s+{_WORD}){{0,2}}?"
_ADJ = rf"[{_L}][а-яё]*(?:ий|ый|ой|ая|ое|ее|яя|ья|ье|ей|ом|ем|ого|его|ому|ему|ую|юю|им|ым)"
_HOUSE_MARK = r"(?:д\.|дом(?:а|е|у)?\b|д\b)"
_HOUSE = rf"(?:\s*,\s*|\s+|\s*,?\s*{_HOUSE_MARK}\s*)№?\s*\d{{1,4}}(?:\s?[а-дА-Д]{_E})?(?:/\d{{1,3}}[а-д]?)?(?:\s?к\.?\s?\d{{1,2}})?"
_EXTRA = r"(?:\s*,?\s*(?:корп(?:\.|ус)?|к\.|стр(?:\.|оение)?|лит(?:\.|ера)?|подъезд|под\.|эт(?:\.|аж))\s*\d{1,3}[а-д]?)*"
_FLAT = r"(?P<flat>\s*,?\s*(?:кв(?:\.|артир(?:а|е|у|ы))?|оф(?:\.|ис)?|комн(?:\.|ата)?)\s*№?\s*\d{1,4}[а-д]?|-\d{1,4})?"
_TAIL = rf"{_HOUSE}{_EXTRA}{_FLAT}(?![\d/])"
#: an explicit flat number: «кв. 12», «квартира 3»
_FLAT_NUMBER = r"(?:кв\.?|квартир(?:а|е|у|ы))\s*№?\s*\d{1,4}(?!\d)"

#: no street type, but an adjective street name and an explicit flat: «Лиговский 50 кв 3»
_ADJ_STREET_RE = re.compile(
    rf"(?<![{_L}\-])[А-ЯЁ][а-яё]+(?:ский|цкий|ской|ный|ной|ская|цкая|ная)\s+\d{{1,4}}[а-д]?(?:/\d{{1,3}})?"
    rf"{_EXTRA}\s*,?\s*{_FLAT_NUMBER}"
)
#: flat before house: «квартиру 15 в доме 8»
_FLAT_HOUSE_RE = re.compile(
    rf"(?i){_B}(?:кв\.|квартир(?:а|е|у|ы))\s*№?\s*\d{{1,4}}\s*,?\s*(?:в|во)?\s*(?:д\.|дом(?:а|е|у)?)\s*№?\s*\d{{1,4}}"
    r"(?:[а-д](?![а-яё]))?(?:/\d{1,3})?(?!\d)"
)
_PREFIX_RE = re.compile(rf"(?i){_B}{_TYPE_PRE}{_E}\s*{_NAME}{_TAIL}")
_SUFFIX_KEY_RE = re.compile(rf"(?i){_B}{_TYPE_SUF}{_E}")
_ADJ_BEFORE_RE = re.compile(rf"(?i){_B}(?:{_ADJ}\s+)?{_ADJ}\s+$")
_TAIL_RE = re.compile(rf"(?i){_TAIL}")
_AFTER_CITY_RE = re.compile(
    rf"{_B}(?:г\.|гор\.|город)\s*[А-ЯЁ][{_L}\-]+(?:\s[А-ЯЁ][а-яё]+)?\s*,\s*(?P<street>[А-ЯЁ][а-яё]+(?:-[А-ЯЁа-яё][а-яё]+)?"
    rf"(?:\s[А-ЯЁ][а-яё]+)?{_TAIL})"
)
_CITY_COMMA_RE = re.compile(rf"{_B}(?P<city>[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)*)\s*,\s*(?P<street>[А-ЯЁ][а-яё]+{_TAIL})")
_HOUSE_FLAT_RE = re.compile(
    rf"(?i){_B}{_HOUSE_MARK}\s*№?\s*\d{{1,4}}(?:\s?[а-д]{_E})?(?:/\d{{1,3}})?{_EXTRA}\s*,?\s*{_FLAT_NUMBER}"
)
_DIGIT_RE = re.compile(r"\d")
_BUSINESS = re.compile(
    r"(?i)отделени|офис|филиал|банкомат|терминал|магазин|пункт|пвз|салон|\bтц\b|\bтрц\b|торгов|маркет|аптек"
    r"|кафе|ресторан|склад|сервис|центр|банк|здани|располож|касс"
)
_PERSONAL = re.compile(
    r"(?i)жив[уёе]|прожива|пропис|регистрац|зарегистр|мой адрес|моему адресу|домой|дома\b|достав|курьер|привез"
    r"|привёз|квартир|подключ|мастер|сосед|получател|посылк|заказ"
)
_UNIT_AFTER = re.compile(r"\s*(?:час|мин|раз\b|раза|дн|сут|недел|месяц|год|лет|руб|р\.|₽|км|метр|м\b|шт|%|чел)")


_FLAT_RES = (_HOUSE_FLAT_RE, _FLAT_HOUSE_RE, _ADJ_STREET_RE)  # forms with a flat: always a person's address


@lru_cache(maxsize=20_000)
def is_place(word: str) -> bool:
    """True when pymorphy3 reads the capitalised word as a geographical name (Geox: Москва, Казань)."""
    from voc.text import morph_analyzer

    return any("Geox" in p.tag for p in morph_analyzer().parse(word))


def _keep(text: str, m: re.Match[str], start: int) -> bool:
    if m.group("flat"):
        return True
    if _UNIT_AFTER.match(text, m.end()):  # «на улице Ленина 3 дня не убирают»
        return False
    return _last_end(text, start, _PERSONAL) >= _last_end(text, start, _BUSINESS)


def _last_end(text: str, start: int, pattern: re.Pattern[str], window: int = 60) -> int:
    ends = [m.end() for m in pattern.finditer(text, max(0, start - window), start)]
    return ends[-1] if ends else -1


def address_spans(text: str) -> list[Span]:
    """Street-address candidates (may overlap; the longest wins in resolution)."""
    if _DIGIT_RE.search(text) is None:  # every form carries a house number
        return []
    low = text.lower()
    flat = "кв" in low  # every flat-first form names the flat («кв.», «квартира»)
    out = [Span(m.start(), m.end(), "address") for rx in _FLAT_RES if flat for m in rx.finditer(text)]
    for m in _PREFIX_RE.finditer(text):
        if _keep(text, m, m.start()):
            out.append(Span(m.start(), m.end(), "address"))
    for key in _SUFFIX_KEY_RE.finditer(text):  # «Кутузовский пр-т, 24-56»: find the type, then look around
        adj = _ADJ_BEFORE_RE.search(text, max(0, key.start() - 40), key.start())
        tail = _TAIL_RE.match(text, key.end()) if adj else None
        if adj and tail and _keep(text, tail, adj.start()):
            out.append(Span(adj.start(), tail.end(), "address"))
    for m in _AFTER_CITY_RE.finditer(text):
        if _keep(text, m, m.start("street")):
            out.append(Span(m.start("street"), m.end(), "address"))
    for m in _CITY_COMMA_RE.finditer(text):
        if is_place(m.group("city").lower()) and _keep(text, m, m.start("street")):
            out.append(Span(m.start("street"), m.end(), "address"))
    return out
