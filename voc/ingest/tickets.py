"""Ticket (обращение) exports → ``Ticket`` records + RejectedRows, from CSV/XLSX/JSONL/JSON/Parquet.

Headers are auto-detected (case/space/punctuation-insensitive); only ``ticket_id`` is required.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from voc.ingest.errors import (
    BAD_BOOLEAN,
    BAD_DATE,
    MISSING_TICKET_ID,
    NOT_A_NUMBER,
    OUT_OF_RANGE,
    IngestError,
    reject,
)
from voc.ingest.mapping import shown_headers
from voc.ingest.records import SCORE_RANGES, RowError
from voc.ingest.tables import read_table
from voc.ingest.values import normalize_key, parse_bool, parse_channel, parse_datetime, parse_number
from voc.schema import RejectedRow, Ticket

#: Header synonyms per Ticket field, in detection priority order.
TICKET_HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "ticket_id": ("ticket_id", "ticket", "номер обращения", "обращение", "id обращения", "номер заявки",
                  "заявка", "ticket number", "id", "номер"),
    "customer_id": ("customer_id", "клиент", "customer", "id клиента", "client_id", "идентификатор клиента",
                    "номер клиента"),
    "created_at": ("created", "created_at", "создано", "дата создания", "дата обращения", "opened",
                   "открыто", "дата"),
    "closed_at": ("closed", "closed_at", "закрыто", "дата закрытия", "resolved", "решено", "дата решения"),
    "category": ("category", "категория", "тематика", "тема", "topic", "тип обращения", "причина обращения"),
    "channel": ("channel", "канал", "канал обращения", "источник"),
    "sla_breached": ("sla_breached", "просрочка sla", "sla", "просрочка", "нарушение sla", "sla breached",
                     "sla нарушен"),
    "reopen_count": ("reopen_count", "переоткрытий", "reopens", "переоткрыто", "количество переоткрытий",
                     "число переоткрытий"),
    "csat": ("csat", "оценка", "оценка csat", "удовлетворенность"),
}


def detect_ticket_columns(headers: Sequence[str], overrides: Mapping[str, str] | None = None,
                          *, file: str = "") -> dict[str, str]:
    """Ticket field → source column; IngestError when no ticket id column is found."""
    columns: dict[str, str] = {}
    by_key = {normalize_key(h): h for h in reversed(list(headers))}
    for field, column in (overrides or {}).items():
        if field not in TICKET_HEADER_SYNONYMS:
            raise IngestError(f"unknown ticket field {field!r}; known: {list(TICKET_HEADER_SYNONYMS)}")
        if normalize_key(column) not in by_key:
            raise IngestError(f"{file}: column {column!r} given for '{field}' is not in the file; "
                              f"headers seen: {shown_headers(headers)}")
        columns[field] = by_key[normalize_key(column)]
    for field, names in TICKET_HEADER_SYNONYMS.items():
        if field in columns:
            continue
        keys = {normalize_key(n) for n in names}
        found = next((h for h in headers if normalize_key(h) in keys and h not in columns.values()), None)
        if found is not None:
            columns[field] = found
    if "ticket_id" not in columns:
        raise IngestError(f"{file}: no ticket id column found; headers seen: {shown_headers(headers)}. "
                          "Name it ticket_id / номер обращения or pass columns={'ticket_id': ...}")
    return columns


def _ticket(values: Mapping[str, str]) -> Ticket:
    """One Ticket from its raw cells, or RowError on the first bad field."""
    fields: dict[str, Any] = {}
    ticket_id = values.get("ticket_id", "").strip()
    if not ticket_id:
        raise RowError("ticket_id", MISSING_TICKET_ID, "")
    fields["ticket_id"] = ticket_id
    for name in ("created_at", "closed_at"):
        try:
            fields[name] = parse_datetime(values.get(name, ""))
        except ValueError:
            raise RowError(name, BAD_DATE, values.get(name)) from None
    try:
        fields["sla_breached"] = parse_bool(values.get("sla_breached", ""))
    except ValueError:
        raise RowError("sla_breached", BAD_BOOLEAN, values.get("sla_breached")) from None
    for name in ("reopen_count", "csat"):
        try:
            number = parse_number(values.get(name, ""))
        except ValueError:
            raise RowError(name, NOT_A_NUMBER, values.get(name)) from None
        if number is None:
            continue
        if name == "reopen_count":
            if number < 0 or not number.is_integer():
                raise RowError(name, f"{OUT_OF_RANGE} 0..", values.get(name))
            fields[name] = int(number)
        else:
            low, high = SCORE_RANGES["csat"]
            if not low <= number <= high:
                raise RowError(name, f"{OUT_OF_RANGE} {low:g}..{high:g}", values.get(name))
            fields[name] = number
    raw_channel = values.get("channel", "").strip()
    if raw_channel:
        try:
            fields["channel"] = str(parse_channel(raw_channel))
        except ValueError:
            fields["channel"] = raw_channel
    for name in ("customer_id", "category"):
        fields[name] = values.get(name, "").strip() or None
    return Ticket(**fields)


def read_tickets(path: str | Path, columns: Mapping[str, str] | None = None, *, chunk_size: int = 20_000,
                 ) -> tuple[list[Ticket], list[RejectedRow]]:
    """All tickets of an export and the rows that could not be read (file, row, field, reason, value)."""
    file = str(path)
    tickets: list[Ticket] = []
    rejected: list[RejectedRow] = []
    mapped: dict[str, str] | None = None
    for chunk in read_table(path, chunk_size):
        if mapped is None:
            mapped = detect_ticket_columns(list(chunk.frame.columns), columns, file=file)
        rejected.extend(chunk.rejected)
        cells = {f: (chunk.frame[c].tolist() if c in chunk.frame.columns else None) for f, c in mapped.items()}
        for i, row in enumerate(chunk.rows):
            values = {f: column[i] for f, column in cells.items() if column is not None}
            try:
                tickets.append(_ticket(values))
            except RowError as error:
                rejected.append(reject(file, row, error.field, error.reason, error.value))
    rejected.sort(key=lambda r: r.row or 0)
    return tickets, rejected
