"""Parsers for single cell values: dates, numbers, channels, speakers, yes/no.

Every parser takes the cell as a string ("" = missing) and returns ``None`` for missing values or
raises ``ValueError`` with a short message for values it cannot read.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from voc.schema import Channel, SpeakerRole

_DMY = re.compile(
    r"^(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?$"
)
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_EXCEL_EPOCH = datetime(1899, 12, 30)
# Excel serial day numbers accepted as dates: 1954-10-03 .. 2119-01-10.
_EXCEL_SERIAL_RANGE = (20_000.0, 80_000.0)
# Unix timestamps accepted as dates: seconds (2001..2286) or milliseconds.
_UNIX_SECONDS_RANGE = (1e9, 1e10)
_UNIX_MS_RANGE = (1e12, 1e13)


def normalize_key(value: str) -> str:
    """Lower-case, ё→е, keep only letters and digits: 'Дата  создания' → 'датасоздания'."""
    return "".join(ch for ch in value.lower().replace("ё", "е") if ch.isalnum())


def to_naive_utc(value: datetime) -> datetime:
    """Aware datetimes are converted to UTC and made naive; naive ones are taken to be UTC already."""
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


@lru_cache(maxsize=65_536)
def parse_datetime(raw: str) -> datetime | None:
    """Parse ISO 8601, ``dd.mm.yyyy[ hh:mm[:ss]]``, ``yyyy-mm-dd hh:mm``, Excel serials, Unix times.

    The result is naive and in UTC (see :func:`to_naive_utc`).
    """
    text = raw.strip()
    if not text:
        return None
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return to_naive_utc(datetime.fromisoformat(iso))
    except ValueError:
        pass
    match = _DMY.match(text)
    if match:
        day, month, year, hour, minute, second, fraction = match.groups()
        year_n = int(year) + (2000 if len(year) == 2 else 0)
        micro = int((fraction or "0").ljust(6, "0"))
        try:
            return datetime(year_n, int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro)
        except ValueError as exc:
            raise ValueError(f"not a valid date: {exc}") from None
    if _NUMBER.match(text):
        number = float(text.replace(",", "."))
        if _EXCEL_SERIAL_RANGE[0] <= number <= _EXCEL_SERIAL_RANGE[1]:
            return _EXCEL_EPOCH + timedelta(days=number)
        if _UNIX_SECONDS_RANGE[0] <= number < _UNIX_SECONDS_RANGE[1]:
            return datetime.fromtimestamp(number, UTC).replace(tzinfo=None)
        if _UNIX_MS_RANGE[0] <= number < _UNIX_MS_RANGE[1]:
            return datetime.fromtimestamp(number / 1000, UTC).replace(tzinfo=None)
    raise ValueError("expected a date like 2024-03-01, 01.03.2024 14:30 or an ISO timestamp")


def parse_number(raw: str) -> float | None:
    """Parse a number with a dot or a comma as decimal separator ('4,5' → 4.5); spaces are ignored."""
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    if not text:
        return None
    if not _NUMBER.match(text):
        raise ValueError("expected a number")
    value = float(text.replace(",", "."))
    if math.isnan(value) or math.isinf(value):
        raise ValueError("expected a finite number")
    return value


_CHANNEL_SYNONYMS: dict[Channel, tuple[str, ...]] = {
    Channel.review: ("review", "reviews", "отзыв", "отзывы", "отзовик", "сайт", "appstore", "googleplay",
                     "маркетплейс", "карты"),
    Channel.survey: ("survey", "опрос", "анкета", "анкетирование", "nps", "csat", "ces"),
    Channel.chat: ("chat", "чат", "мессенджер", "messenger", "whatsapp", "вотсап", "онлайнчат", "livechat"),
    Channel.call: ("call", "calls", "звонок", "звонки", "callcenter", "callцентр", "коллцентр", "колцентр",
                   "телефон", "phone", "контактцентр"),
    Channel.email: ("email", "mail", "почта", "письмо", "электроннаяпочта", "емейл", "имейл"),
    Channel.social: ("social", "соцсети", "соцсеть", "социальныесети", "vk", "вк", "вконтакте", "telegram",
                     "телеграм", "телеграмм", "tg", "instagram", "инстаграм", "twitter", "ok", "одноклассники",
                     "facebook", "youtube", "дзен"),
}
CHANNEL_LOOKUP: dict[str, Channel] = {
    normalize_key(name): channel for channel, names in _CHANNEL_SYNONYMS.items() for name in names
}


@lru_cache(maxsize=4096)
def parse_channel(raw: str) -> Channel | None:
    """Map a channel name or synonym (отзыв, опрос, чат, звонок, почта, соцсети, vk, …) to a Channel."""
    key = normalize_key(raw)
    if not key:
        return None
    try:
        return CHANNEL_LOOKUP[key]
    except KeyError:
        known = ", ".join(c.value for c in Channel)
        raise ValueError(f"expected one of {known} or a synonym") from None


_SPEAKER_SYNONYMS: dict[SpeakerRole, tuple[str, ...]] = {
    SpeakerRole.client: ("client", "customer", "user", "клиент", "покупатель", "пользователь", "абонент",
                         "заказчик", "caller", "visitor", "посетитель"),
    SpeakerRole.operator: ("operator", "agent", "support", "оператор", "менеджер", "manager", "поддержка",
                           "специалист", "консультант", "сотрудник", "employee", "staff"),
    SpeakerRole.bot: ("bot", "бот", "system", "система", "чатбот", "chatbot", "assistant", "автоответчик", "ivr"),
}
SPEAKER_LOOKUP: dict[str, SpeakerRole] = {
    normalize_key(name): role for role, names in _SPEAKER_SYNONYMS.items() for name in names
}

#: How each role is written in the joined text of a dialog.
ROLE_PREFIX: dict[SpeakerRole, str] = {
    SpeakerRole.client: "Клиент",
    SpeakerRole.operator: "Оператор",
    SpeakerRole.bot: "Бот",
}


@lru_cache(maxsize=4096)
def parse_speaker(raw: str) -> SpeakerRole | None:
    """Map a speaker name (клиент/customer/user, оператор/agent/support, бот/bot/system, …) to a role."""
    key = normalize_key(raw)
    if not key:
        return None
    role = SPEAKER_LOOKUP.get(key)
    if role is None:
        raise ValueError("expected client/клиент, operator/оператор or bot/бот")
    return role


_TRUE = {"да", "true", "1", "yes", "y", "д", "истина", "+", "1.0"}
_FALSE = {"нет", "false", "0", "no", "n", "н", "ложь", "-", "0.0"}


def parse_bool(raw: str) -> bool | None:
    """Parse да/нет, true/false, yes/no, 1/0."""
    text = raw.strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected да/нет, true/false or 1/0")


def cell_to_str(value: object) -> str:
    """Render a cell read from XLSX/JSON/Parquet as the string a CSV would hold ("" for missing)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if hasattr(value, "isoformat"):  # date, time, pandas Timestamp
        return value.isoformat()
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)
