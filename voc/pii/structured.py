"""Structured identifiers: phones, e-mails, bank cards, passports, СНИЛС, ИНН and bank accounts.

Regular expressions find candidates; check digits (Luhn for cards, СНИЛС and ИНН checksums) or context words
(«паспорт», «ИНН», «СНИЛС», «тел.») decide where a bare number is ambiguous.
"""

from __future__ import annotations

import re

from voc.pii import Span, near

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


def digits_of(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


Windows = list[tuple[int, int]]
#: a run of digits and the separators used inside numbers («+7 (916) 123-45-67», «45 15 № 654321»)
_CHUNK_RE = re.compile(r"\d[\d \u00a0\-–.()№/]*")
_MIN_DIGITS = 7  # the shortest identifier: a 7-digit city phone


def number_windows(text: str) -> Windows:
    """Ranges of ``text`` around number-like chunks with ≥ 7 digits; the number recognisers scan only these."""
    out: Windows = []
    for m in _CHUNK_RE.finditer(text):
        chunk = m.group(0)
        if len(chunk) >= _MIN_DIGITS and sum(ch.isdigit() for ch in chunk) >= _MIN_DIGITS:
            out.append((max(0, m.start() - 4), m.end()))
    return out


def _scan(rx: re.Pattern[str], text: str, windows: Windows | None) -> list[re.Match[str]]:
    if windows is None:
        return list(rx.finditer(text))
    return [m for lo, hi in windows for m in rx.finditer(text, lo, hi)]


# ------------------------------------------------------------------------------------------------- e-mails

_LOCAL = r"[A-Za-zА-Яа-яЁё0-9](?:[A-Za-zА-Яа-яЁё0-9._%+\-]*[A-Za-zА-Яа-яЁё0-9_])?"
_LABEL = r"[A-Za-zА-Яа-яЁё0-9](?:[A-Za-zА-Яа-яЁё0-9\-]*[A-Za-zА-Яа-яЁё0-9])?"
_EMAIL_RE = re.compile(rf"(?<![\w.+\-]){_LOCAL}\s?@\s?{_LABEL}(?:\.{_LABEL})*\.(?:[A-Za-z]{{2,}}|рф|РФ)(?![\w])")
#: «ivan (собака) gmail.com», «ivan at gmail dot com», «ivan[at]mail.ru», «oleg{at}yandex{dot}ru»
_OPEN, _CLOSE = r"[(\[{<]", r"[)\]}>]"
_AT = rf"(?:\s*{_OPEN}\s*(?:at|собака|собачка|эт)\s*{_CLOSE}\s*|\s+(?:at|собака|собачка)\s+|\s?@\s?)"
_DOT = rf"(?:\.|\s*{_OPEN}\s*(?:dot|точка)\s*{_CLOSE}\s*|\s+(?:dot|точка)\s+)"
_TLD = r"(?:ru|com|net|org|рф|su|info|biz|io|me|ua|by|kz|uz|am|ge|de|pro|online|site|club|xyz|edu|gov|co|uk|us)"
_OBFUSCATED_EMAIL_RE = re.compile(
    rf"(?i)(?<![\w.+\-])[A-Za-zА-Яа-яЁё0-9][\w.+\-]*(?<=\w){_AT}{_LABEL}(?:{_DOT}{_LABEL})*?{_DOT}{_TLD}(?![\w])"
)

# --------------------------------------------------------------------------------------------------- phones

_S = r"[ \u00a0\-–.]"  # one separator between digit groups
_PHONE_RE = re.compile(
    rf"(?<![\w+])(?<!\d{_S})(?:(?P<cc>\+\s?7|8|7)(?:{_S}|\s?(?=\())?)?(?P<area>\(\d{{3}}\)|\d{{3}})"
    rf"(?:{_S}|\s)?(?P<rest>\d(?:{_S}?\d){{6}})(?!\d)(?![\-.]\d)"
)
_CITY_PHONE_RE = re.compile(rf"(?<![\w+])(?<!\d{_S})\d{{3}}[ \-]\d{{2}}[ \-]\d{{2}}(?!\d)(?![\-.]\d)")
_PHONE_CONTEXT = re.compile(
    r"(?i)тел\b|тел\.|телефон|звон|номер|моб|сотов|домашн|городск|рабоч|факс|связ|whatsapp|ватсап|вотсап|viber|вайбер"
)
_NOT_PHONE_CONTEXT = re.compile(
    r"(?i)заказ|трек|артикул|отправлени|посылк|накладн|штрих|код товар|договор|сч[её]т|\bинн\b|снилс|паспорт|№"
)
_TOLL_FREE = ("800", "804")


def _last_end(text: str, start: int, pattern: re.Pattern[str], window: int = 30) -> int:
    """End of the last ``pattern`` match in the ``window`` characters before ``start``, or -1."""
    ends = [m.end() for m in pattern.finditer(text, max(0, start - window), start)]
    return ends[-1] if ends else -1


def _phone_ok(text: str, m: re.Match[str]) -> bool:
    """Group shape and area code of a phone candidate: 10 national digits, area code 3xx/4xx/8xx/9xx."""
    cc, area = m.group("cc") or "", digits_of(m.group("area"))
    nat = area + digits_of(m.group("rest"))
    if area[0] not in "3489" or area in _TOLL_FREE:
        return False
    groups = [len(g) for g in re.findall(r"\d+", m.group("rest"))]
    contiguous = m.group("area").isdigit() and groups == [7] and (not cc or m.group(0)[len(cc)].isdigit())
    if contiguous:  # «89161234567», «9161234567»: a bare run of digits is a phone unless an order word is nearer
        return (bool(cc) or nat[0] == "9") and _last_end(text, m.start(), _PHONE_CONTEXT) >= _last_end(
            text, m.start(), _NOT_PHONE_CONTEXT
        )
    return groups == [7] or all(2 <= g <= 4 for g in groups)


def phone_spans(text: str, windows: Windows | None = None) -> list[Span]:
    """Russian phone numbers: ±country code, brackets, spaces/dashes/dots; 7-digit numbers after «тел.»."""
    out = [Span(m.start(), m.end(), "phone") for m in _scan(_PHONE_RE, text, windows) if _phone_ok(text, m)]
    for m in _scan(_CITY_PHONE_RE, text, windows):
        if near(text, m.start(), _PHONE_CONTEXT, 30):
            out.append(Span(m.start(), m.end(), "phone"))
    return out


# ------------------------------------------------------------------------------------ cards and accounts

_CARD_RES = (
    re.compile(r"(?<!\d)\d{13,19}(?!\d)"),
    re.compile(r"(?<!\d)\d{4}([ \-])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?(?!\d)"),
    re.compile(r"(?<!\d)\d{4}([ \-])\d{6}\1\d{4,5}(?!\d)"),
)
_ACCOUNT_RES = (
    re.compile(r"(?<!\d)\d{20}(?!\d)"),
    re.compile(r"(?<!\d)\d{4}( )\d{4}\1\d{4}\1\d{4}\1\d{4}(?!\d)"),
    re.compile(r"(?<!\d)\d{5}([ .\-])\d{3}\1\d\1\d{4}\1\d{7}(?!\d)"),
)


def _card_end(match: str) -> int:
    """Length of the longest Luhn-valid 13–19-digit prefix of a card-like match made of whole groups, or 0.

    «2200 1234 5678 9010 7» may be a card followed by a stray digit: the extra group is dropped.
    """
    ends = [i for i, ch in enumerate(match) if not ch.isdigit()] + [len(match)]
    for end in reversed(ends):
        digits = digits_of(match[:end])
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return end
    return 0


def card_spans(text: str, windows: Windows | None = None) -> list[Span]:
    """13–19-digit numbers (contiguous or grouped) that pass the Luhn check."""
    out = []
    for rx in _CARD_RES:
        for m in _scan(rx, text, windows):
            end = _card_end(m.group(0))
            if end:
                out.append(Span(m.start(), m.start() + end, "card"))
    return out


def account_spans(text: str, windows: Windows | None = None) -> list[Span]:
    """20-digit bank accounts, contiguous or in groups."""
    return [Span(m.start(), m.end(), "account") for rx in _ACCOUNT_RES for m in _scan(rx, text, windows)]


# ------------------------------------------------------------------------------------- passports, СНИЛС, ИНН

_SNILS_FORMATTED_RE = re.compile(r"(?<!\d)\d{3}([ \-])\d{3}\1\d{3}[ \-]\d{2}(?!\d)")
_ELEVEN_DIGITS_RE = re.compile(r"(?<!\d)\d{11}(?!\d)")
_INN_RE = re.compile(r"(?<!\d)(?:\d{12}|\d{10})(?!\d)")
_PASSPORT_SPACED_RE = re.compile(r"(?<![\d\-])\d{2}[ \-]?\d{2}[ \-](?:№ ?)?\d{6}(?!\d)|(?<!\d)\d{2} \d{2}\d{6}(?!\d)")
_PASSPORT_BARE_RE = re.compile(r"(?<!\d)\d{10}(?!\d)")
_PASSPORT_SERIES_RE = re.compile(
    r"(?i)\bсер(?:ия|ии|ию|\.)\s*\d{2}\s?\d{2}\s*,?\s*(?:(?:и\s+)?номер|№|н\.)\s*\d{6}(?!\d)"
)
_PASSPORT_PARTS_RE = re.compile(r"(?i)\b(?:сер(?:ия|ии|\.)|номер|№)\s*[:\-]?\s*(\d{2}\s?\d{2}|\d{6})(?!\d)")

_SNILS_CONTEXT = re.compile(r"(?i)снилс|страхов\w* номер")
_INN_CONTEXT = re.compile(r"(?i)\bинн\b")
_PASSPORT_CONTEXT = re.compile(r"(?i)паспорт")
_NOT_INN_CONTEXT = re.compile(r"(?i)заказ|обращени|заявк|трек|посылк|отправлени|договор|№|номер")


def snils_spans(text: str, windows: Windows | None = None) -> list[Span]:
    """СНИЛС: ``123-456-789 01`` with a valid check number or after «СНИЛС»; 11 bare digits after «СНИЛС»."""
    out = []
    for m in _scan(_SNILS_FORMATTED_RE, text, windows):
        if snils_valid(digits_of(m.group(0))) or near(text, m.start(), _SNILS_CONTEXT):
            out.append(Span(m.start(), m.end(), "snils"))
    for m in _scan(_ELEVEN_DIGITS_RE, text, windows):
        if near(text, m.start(), _SNILS_CONTEXT):
            out.append(Span(m.start(), m.end(), "snils"))
    return out


def inn_spans(text: str, windows: Windows | None = None) -> list[Span]:
    """ИНН: 10/12 digits after «ИНН», or with valid check digits and no order/passport context (10 digits from 9
    without «ИНН» are read as a mobile phone)."""
    out = []
    for m in _scan(_INN_RE, text, windows):
        if near(text, m.start(), _INN_CONTEXT) or (
            inn_valid(m.group(0))
            and not (len(m.group(0)) == 10 and m.group(0)[0] == "9")  # a mobile number («9161234567»)
            and not near(text, m.start(), _PASSPORT_CONTEXT)
            and not near(text, m.start(), _NOT_INN_CONTEXT)
        ):
            out.append(Span(m.start(), m.end(), "inn"))
    return out


def passport_spans(text: str, windows: Windows | None = None) -> list[Span]:
    """Russian passports: ``45 15 654321``, ``4515 654321``, «серия 45 15 номер 654321», 10 digits after «паспорт»."""
    low = text.lower()
    out = [Span(m.start(), m.end(), "passport") for m in _scan(_PASSPORT_SPACED_RE, text, windows)]
    if "сер" in low:
        out.extend(Span(m.start(), m.end(), "passport") for m in _PASSPORT_SERIES_RE.finditer(text))
    if "паспорт" not in low:
        return out
    for m in _scan(_PASSPORT_BARE_RE, text, windows):
        if near(text, m.start(), _PASSPORT_CONTEXT):
            out.append(Span(m.start(), m.end(), "passport"))
    for m in _PASSPORT_PARTS_RE.finditer(text):  # «серия 4511, номер 778899» split apart
        if near(text, m.start(), _PASSPORT_CONTEXT, 60):
            out.append(Span(m.start(1), m.end(1), "passport"))
    return out


_OBFUSCATION_HINTS = ("собак", "at", "dot", "точка")


def email_spans(text: str) -> list[Span]:
    """E-mail addresses, Cyrillic ones and obfuscated «(собака)», «at … dot», «[at]» forms included."""
    out: list[Span] = []
    if "@" in text:
        out.extend(Span(m.start(), m.end(), "email") for m in _EMAIL_RE.finditer(text))
    low = text.lower()
    if "@" in text or any(h in low for h in _OBFUSCATION_HINTS):
        out.extend(Span(m.start(), m.end(), "email") for m in _OBFUSCATED_EMAIL_RE.finditer(text))
    return out


def structured_spans(text: str) -> list[Span]:
    """Every structured-PII candidate in ``text`` (they may overlap; resolution picks the winners)."""
    out = email_spans(text)
    windows = number_windows(text)
    out += passport_spans(text, windows)  # «серия 4506 номер 123456» has no 7-digit chunk
    if windows:
        out += [
            *account_spans(text, windows),
            *card_spans(text, windows),
            *snils_spans(text, windows),
            *inn_spans(text, windows),
            *phone_spans(text, windows),
        ]
    return out


