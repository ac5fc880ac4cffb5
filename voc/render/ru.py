"""One Russian dictionary for everything the report and the web page show: channels, sentiments, PII kinds,
rejection reasons, ticket-link methods, journey-stage sources, priority flags, drill-down filter names.

Stored values stay as they are (English codes in files and the API); only what a person reads is translated.
The web page gets the same dictionary as JSON (``GET /ui/static/ru.json``), the report embeds it.
"""

from __future__ import annotations

from voc.ingest import errors as ingest_errors

CHANNELS: dict[str, str] = {"review": "отзыв", "survey": "опрос", "chat": "чат", "call": "звонок",
                            "email": "e-mail", "social": "соцсети", "unknown": "канал не указан"}
SENTIMENTS: dict[str, str] = {"negative": "негатив", "neutral": "нейтрально", "positive": "позитив"}
PII_KINDS: dict[str, str] = {
    "phone": "телефон", "email": "e-mail", "card": "номер карты", "name": "имя (ФИО)", "address": "адрес",
    "passport": "паспорт", "snils": "СНИЛС", "inn": "ИНН", "account": "номер счёта", "ip": "IP-адрес",
    "url": "ссылка", "customer_id": "идентификатор клиента", "birthdate": "дата рождения",
}
REJECTION_REASONS: dict[str, str] = {
    ingest_errors.EMPTY_TEXT: "пустой текст",
    ingest_errors.TEXT_TOO_LONG: "текст длиннее 20 000 символов",
    ingest_errors.CONVERSATION_TOO_LONG: "диалог длиннее 20 000 символов",
    ingest_errors.BAD_DATE: "не удалось разобрать дату",
    ingest_errors.UNKNOWN_CHANNEL: "неизвестный канал",
    ingest_errors.NOT_A_NUMBER: "не число",
    ingest_errors.OUT_OF_RANGE: "значение вне допустимого диапазона",
    ingest_errors.BAD_JSON: "некорректный JSON",
    ingest_errors.NOT_AN_OBJECT: "не JSON-объект",
    ingest_errors.WRONG_COLUMN_COUNT: "полей больше, чем столбцов в заголовке",
    ingest_errors.MISSING_CONVERSATION_ID: "нет идентификатора диалога",
    ingest_errors.MISSING_MESSAGES: "нет списка сообщений",
    ingest_errors.UNKNOWN_SPEAKER: "неизвестный участник диалога",
    ingest_errors.MISSING_TICKET_ID: "нет номера обращения",
    ingest_errors.BAD_BOOLEAN: "не «да/нет»",
    ingest_errors.BAD_TRANSCRIPT: "не удалось прочитать расшифровку",
    ingest_errors.UNDECODABLE: "байты, которые не читаются в выбранной кодировке",
    ingest_errors.BAD_UNICODE: "некорректная escape-последовательность Unicode",
    ingest_errors.TOO_DEEP: "JSON слишком глубокой вложенности",
}
LINK_METHODS: dict[str, str] = {"ticket_id": "по номеру обращения",
                                "customer_window": "по клиенту и времени (окно в днях)"}
STAGE_SOURCES: dict[str, str] = {"record": "из данных", "ticket": "по обращению", "predicted": "определён моделью"}
FLAGS: dict[str, str] = {"no_data:sla": "нет данных об SLA", "no_data:detractor": "нет оценок NPS/CSAT",
                         "no_data:repeat": "нет данных о повторных обращениях"}
FILTERS: dict[str, str] = {"stage": "этап", "channel": "канал", "topic": "тема", "cause": "причина",
                           "emotion": "эмоция", "week": "неделя", "sentiment": "тональность", "segment": "сегмент"}
KINDS: dict[str, str] = {"topic": "тема", "cause": "причина"}
FIELDS: dict[str, str] = {"text": "текст", "created_at": "дата", "channel": "канал", "id": "номер",
                          "nps": "NPS", "csat": "CSAT", "ces": "CES", "rating": "оценка",
                          "customer_id": "клиент", "ticket_id": "номер обращения", "messages": "сообщения"}


def tr(table: dict[str, str], value: object) -> str:
    """``value`` in Russian from ``table``; an unknown value is shown as it is."""
    text = "" if value is None else str(value)
    return table.get(text, text)


def dictionary() -> dict[str, dict[str, str]]:
    """Every table, for the web page and the report's script."""
    return {"channels": CHANNELS, "sentiments": SENTIMENTS, "pii": PII_KINDS, "reasons": REJECTION_REASONS,
            "links": LINK_METHODS, "stage_sources": STAGE_SOURCES, "flags": FLAGS, "filters": FILTERS,
            "kinds": KINDS, "fields": FIELDS}
