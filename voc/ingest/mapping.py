"""Which source column holds which Feedback field: auto-detected from headers, a YAML config, or arguments.

Header matching ignores case, spaces and punctuation ('Дата создания', 'дата_создания' and 'ДатаСоздания'
are the same header). Explicit names (YAML or arguments) win over detection.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from voc.config import safe_load_yaml
from voc.ingest.errors import IngestError
from voc.ingest.values import normalize_key

#: Fields a source column can be mapped to, in detection priority order.
MAPPED_FIELDS: tuple[str, ...] = (
    "text",
    "conversation_id",
    "speaker",
    "message_time",
    "ticket_id",
    "customer_id",
    "created_at",
    "id",
    "channel",
    "journey_stage",
    "touchpoint",
    "rating",
    "nps",
    "csat",
    "ces",
)

#: Header synonyms per field (Russian and English); compared after :func:`normalize_key`.
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "text": ("текст", "отзыв", "комментарий", "сообщение", "text", "review", "comment", "message",
             "текст отзыва", "текст сообщения", "текст обращения", "комментарий клиента", "review text",
             "feedback", "отзыв клиента", "body", "content", "ответ"),
    "conversation_id": ("диалог", "conversation_id", "chat_id", "id диалога", "номер диалога", "dialog_id",
                        "dialogue_id", "conversation", "session_id", "id чата"),
    "speaker": ("автор", "роль", "speaker", "role", "sender", "отправитель", "author", "from", "кто"),
    "message_time": ("время", "время сообщения", "message_time", "time", "sent_at", "message time"),
    "ticket_id": ("номер обращения", "обращение", "ticket", "ticket_id", "id обращения", "номер заявки",
                  "заявка", "ticket number"),
    "customer_id": ("клиент", "id клиента", "customer", "customer_id", "client_id", "идентификатор клиента",
                    "номер клиента", "user_id"),
    "created_at": ("дата", "дата создания", "created", "created_at", "date", "timestamp", "datetime",
                   "дата отзыва", "дата и время", "время создания", "дата обращения"),
    "id": ("id", "номер", "ид", "идентификатор", "feedback_id", "review_id", "record_id"),
    "channel": ("канал", "channel", "источник", "source", "канал обращения"),
    "journey_stage": ("этап", "этап пути", "stage", "journey_stage", "этап клиентского пути", "journey stage"),
    "touchpoint": ("точка контакта", "touchpoint", "touch point"),
    "rating": ("оценка", "рейтинг", "rating", "stars", "звезды", "звёзды", "оценка отзыва"),
    "nps": ("nps", "оценка nps", "nps score"),
    "csat": ("csat", "оценка csat", "удовлетворенность"),
    "ces": ("ces", "оценка ces", "усилия клиента"),
}

#: Top-level options of a mapping YAML besides ``columns``.
_OPTIONS = ("extra_columns_to_metadata", "default_channel", "keep_pii_columns")

_SYNONYM_LOOKUP: dict[str, dict[str, None]] = {
    field: dict.fromkeys(normalize_key(name) for name in names) for field, names in HEADER_SYNONYMS.items()
}


class ColumnMapping(BaseModel):
    """Source column names per Feedback field (None = not in the file) and what to do with the rest."""

    id: str | None = None
    text: str | None = None
    channel: str | None = None
    created_at: str | None = None
    customer_id: str | None = None
    ticket_id: str | None = None
    journey_stage: str | None = None
    touchpoint: str | None = None
    rating: str | None = None
    nps: str | None = None
    csat: str | None = None
    ces: str | None = None
    conversation_id: str | None = None
    speaker: str | None = None
    message_time: str | None = None
    extra_columns_to_metadata: bool = True
    default_channel: str | None = None
    #: PII columns (by name, see voc.ingest.pii_columns) to keep raw instead of dropping them
    keep_pii_columns: list[str] = Field(default_factory=list)

    @classmethod
    def from_yaml(cls, path: str | Path) -> ColumnMapping:
        """Load ``columns: {text: "Отзыв", ...}`` (plus optional top-level ``extra_columns_to_metadata``,
        ``default_channel``, ``keep_pii_columns: [...]``) from a YAML file."""
        try:
            data = safe_load_yaml(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise IngestError(f"cannot read column mapping {path}: {exc}") from None
        if not isinstance(data, dict):
            raise IngestError(f"{path}: expected a mapping with a 'columns' key")
        columns = data.get("columns", {}) or {}
        if not isinstance(columns, dict):
            raise IngestError(f"{path}: 'columns' must map field names to column names")
        unknown = sorted(set(columns) - set(MAPPED_FIELDS))
        if unknown:
            raise IngestError(f"{path}: unknown field(s) {unknown} in 'columns'; known: {list(MAPPED_FIELDS)}")
        options = {k: data[k] for k in _OPTIONS if k in data}
        keep = options.get("keep_pii_columns")
        if keep is not None and (not isinstance(keep, list) or not all(isinstance(c, str) for c in keep)):
            raise IngestError(f"{path}: 'keep_pii_columns' must be a list of column names")
        try:
            return cls(**{k: None if v is None else str(v) for k, v in columns.items()}, **options)
        except ValidationError as exc:
            raise IngestError(f"{path}: {exc}") from None

    def columns(self) -> dict[str, str]:
        """The mapped fields and their source columns."""
        return {f: getattr(self, f) for f in MAPPED_FIELDS if getattr(self, f) is not None}

    def with_overrides(self, **overrides: Any) -> ColumnMapping:
        """A copy with the given non-None values replaced."""
        return self.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def shown_headers(headers: Sequence[object], limit: int = 30) -> list[str]:
    """Headers as error messages show them: phones, e-mails, card numbers … masked (a file without a header
    row has a data row there), each cut to 60 characters, at most ``limit`` of them."""
    from voc.redact import redact_structured

    shown = [redact_structured(str(h))[:60] for h in list(headers)[:limit]]
    return shown + ([f"… {len(headers) - limit} more"] if len(headers) > limit else [])


def detect_mapping(headers: Sequence[str]) -> ColumnMapping:
    """Guess the mapping from header names alone; each header is used for at most one field."""
    keys = [normalize_key(str(h)) for h in headers]
    taken: set[int] = set()
    found: dict[str, str] = {}
    for field in MAPPED_FIELDS:
        synonyms = _SYNONYM_LOOKUP[field]
        for i, key in enumerate(keys):
            if i not in taken and key in synonyms:
                found[field] = str(headers[i])
                taken.add(i)
                break
    return ColumnMapping(**found)


def resolve_mapping(
    headers: Sequence[str],
    mapping: ColumnMapping | None = None,
    *,
    file: str = "",
    require_text: bool = True,
) -> ColumnMapping:
    """Complete ``mapping`` with auto-detected columns and check every named column exists in ``headers``.

    Explicit names are matched to headers ignoring case, spaces and punctuation and replaced by the
    header as spelled in the file. Raises IngestError when a named column is missing or, with
    ``require_text``, when no text column is found.
    """
    headers = [str(h) for h in headers]
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(normalize_key(header), header)
    explicit = mapping.columns() if mapping is not None else {}
    resolved: dict[str, str] = {}
    for field, column in explicit.items():
        if column in headers:
            resolved[field] = column
        elif normalize_key(column) in by_key:
            resolved[field] = by_key[normalize_key(column)]
        else:
            raise IngestError(f"{file}: column {column!r} given for '{field}' is not in the file; "
                              f"headers seen: {shown_headers(headers)}")
    used = set(resolved.values())
    detected = detect_mapping([h for h in headers if h not in used]).columns()
    for field, column in detected.items():
        resolved.setdefault(field, column)
    options = mapping.model_dump(include=set(_OPTIONS)) if mapping else {}
    result = ColumnMapping(**resolved, **options)
    if require_text and result.text is None:
        names = ", ".join(HEADER_SYNONYMS["text"][:8])
        raise IngestError(f"{file}: no text column found; headers seen: {shown_headers(headers)}. Name the column "
                          f"(e.g. {names}) or pass the mapping (columns: {{text: ...}}).")
    return result
