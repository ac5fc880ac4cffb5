"""Which input columns hold personal data, judged by the column NAME (Russian and English).

This table is the one list of PII column names (docs/ingest.md, "Privacy gate", shows it). A header is split
into lower-case words (``ё`` → ``е``; spaces, ``_``, ``-``, ``.`` and camelCase split: ``Email_Клиента``,
``phoneNumber`` and ``НомерТелефона`` all work; ``e-mail`` and ``Ф.И.О.`` are read as one word). A rule
matches when one word equals one of its ``words``, starts with one of its ``stems``, or when the Latin
letters of the header joined together contain one of its ``compounds`` (``clientphone``) — unless a word
starts with one of its ``unless`` stems (``адрес магазина``, ``product name`` are not personal data). Rules
with ``needs`` also want one of those words, or the header to be nothing but the matched word
(``номер карты`` and ``карта`` are PII, ``тип карты`` is not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class PiiColumnRule:
    """One kind of personal data and the column names that announce it."""

    kind: str
    words: tuple[str, ...] = ()
    stems: tuple[str, ...] = ()
    compounds: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()


_NOT_A_PERSON = (
    "файл", "file", "product", "продукт", "товар", "company", "компани", "shop", "store", "магазин", "brand",
    "бренд", "service", "услуг", "tarif", "тариф", "plan", "city", "город", "branch", "филиал", "отделени",
    "categor", "категори", "topic", "тем", "event", "событи", "column", "колон", "field", "sheet", "лист",
    "host", "domain", "домен", "app", "приложени", "point", "точк", "model", "модел", "course", "курс",
    "project", "проект", "organi", "организаци", "org", "юр", "legal", "bank", "банк", "partner", "партнер",
    "seller", "продав", "merchant", "поставщик", "vendor", "supplier", "program", "программ", "campaign",
    "кампани", "group", "групп", "team", "команд", "queue", "очеред", "skill", "tag", "тег", "метк", "label",
    "status", "статус", "type", "тип", "role", "роль", "channel", "канал", "source", "источник", "stage",
    "этап", "step", "шаг", "document", "документ", "report", "отчет", "table", "таблиц", "region", "регион",
    "country", "стран", "street", "улиц", "store", "warehouse", "склад", "device", "устройств", "browser",
    "браузер", "platform", "платформ", "game", "item", "позици", "sku", "артикул", "метод",
    "method", "payment", "оплат", "delivery", "доставк", "courier_service", "тарифн", "offer", "оффер",
    "акци", "promo", "промо", "сервис",
)

#: The PII column names, in matching order (the first rule that matches names the kind).
PII_COLUMN_RULES: tuple[PiiColumnRule, ...] = (
    PiiColumnRule("email", words=("email", "mail", "емейл", "имейл", "емэйл", "имэйл", "мейл", "мэйл", "почта",
                                  "почты", "почту", "почтой"),
                  stems=("email", "e_mail"), compounds=("email",)),
    PiiColumnRule("phone", words=("тел", "tel", "моб", "mobile", "cell", "cellphone", "msisdn"),
                  stems=("телефон", "мобильн", "сотов", "phone", "telephone", "whatsapp", "ватсап", "вотсап"),
                  compounds=("phone", "msisdn")),
    PiiColumnRule("passport", stems=("паспорт", "passport"), compounds=("passport",)),
    PiiColumnRule("snils", stems=("снилс", "snils"), compounds=("snils",)),
    PiiColumnRule("inn", words=("инн", "inn")),
    PiiColumnRule("birth_date", words=("dob",), stems=("рождени", "birth", "bday"), compounds=("birth",)),
    PiiColumnRule("id_document", stems=("водительск", "удостоверени", "driver", "полис"),
                  compounds=("driverlicen",)),
    PiiColumnRule("card", words=("карта", "карты", "карте", "карту", "картой", "карточка", "карточки", "card",
                                 "pan"),
                  compounds=("cardnumber", "cardno", "cardnum"),
                  needs=("номер", "number", "num", "no", "nr", "pan", "данные", "data", "клиента", "customer",
                         "client", "банковск", "bank", "кредитн", "дебетов", "credit", "debit", "лояльн", "loyalty",
                         "бонусн", "bonus", "скидочн", "discount")),
    PiiColumnRule("account", words=("счет", "счета", "счету", "лицевой", "iban", "account", "р/с", "рс"),
                  compounds=("accountnumber", "iban"),
                  unless=("сумм", "amount", "total", "тип", "type", "статус", "status", "manager", "менеджер",
                          "дата", "date", "фактур", "invoice", "оплат", "выставлен")),
    PiiColumnRule("address", stems=("адрес", "address", "addr"), compounds=("address",),
                  unless=("магазин", "пункт", "пвз", "офис", "отделени", "филиал", "store", "shop", "office",
                          "branch", "pickup", "склад", "warehouse", "url", "сайт", "site", "web", "ip", "mac",
                          "сервер", "server", "компани", "company", "юр", "legal")),
    PiiColumnRule("name", words=("фио", "fio", "имя", "имени", "фамилия", "фамилии", "отчество", "отчества",
                                 "name", "fullname", "firstname", "lastname", "middlename", "surname",
                                 "patronymic", "username", "nickname", "никнейм", "ник"),
                  compounds=("fullname", "firstname", "lastname", "middlename", "surname", "patronymic",
                             "username"),
                  unless=_NOT_A_PERSON),
    PiiColumnRule("contact", stems=("контакт", "contact"),
                  unless=("точк", "point", "touch", "центр", "center", "centre", "канал", "channel", "тип",
                          "type", "причин", "reason", "дата", "date", "время", "time", "результат", "result",
                          "повод", "количеств", "count", "число", "итог", "outcome", "стади", "stage", "этап")),
)

_SPECIAL = (
    (re.compile(r"e[\s_\-.]?mail", re.IGNORECASE), "email"),
    (re.compile(r"(?<![а-яa-z])ф\.\s*и\.\s*о\.?", re.IGNORECASE), "фио"),
    (re.compile(r"(?<![а-яa-z])р/с(?![а-яa-z])", re.IGNORECASE), " рс "),
)
_CAMEL = re.compile(r"(?<=[a-zа-яё])(?=[A-ZА-ЯЁ])")
_WORD = re.compile(r"[a-z]+|[а-я]+|\d+")


def header_words(name: str) -> list[str]:
    """The lower-case words of a column header ('НомерТелефона' → ['номер', 'телефона'])."""
    text = _CAMEL.sub(" ", str(name))
    text = text.lower().replace("ё", "е")
    for pattern, replacement in _SPECIAL:
        text = pattern.sub(replacement, text)
    return _WORD.findall(text)


def _matches(rule: PiiColumnRule, words: list[str], latin: str) -> bool:
    hit = [w for w in words if w in rule.words or w.startswith(rule.stems or ("\0",))]
    compound = any(c in latin for c in rule.compounds)
    if not hit and not compound:
        return False
    if rule.unless and any(w.startswith(rule.unless) for w in words if w not in hit):
        return False
    if rule.needs and not compound:
        rest = [w for w in words if w not in hit]
        return not rest or any(w.startswith(rule.needs) for w in rest)
    return True


@lru_cache(maxsize=4096)
def pii_column_kind(name: str) -> str | None:
    """The kind of personal data a column name announces (``'email'``, ``'phone'``, ``'name'``, …), or None."""
    words = header_words(name)
    if not words:
        return None
    latin = "".join(w for w in words if w.isascii() and w.isalpha())
    for rule in PII_COLUMN_RULES:
        if _matches(rule, words, latin):
            return rule.kind
    return None
