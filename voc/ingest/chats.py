"""Chats → one ``Feedback(channel=chat, turns=[...])`` per conversation.

Two shapes:

* **message table** (CSV/XLSX/JSONL/Parquet, one row per message): conversation id + speaker + text
  [+ message time]. A file sorted by conversation (every conversation's messages contiguous) is streamed;
  otherwise the whole file is grouped in memory first (the file is scanned once to decide). A conversation
  is never split across chunks. ``rows_in`` counts messages.
* **conversation export** (JSON array or JSONL): ``{"id"|"chat_id", "created_at"?, "customer_id"?,
  "ticket_id"?, "channel"?, "messages": [{"author"|"role"|"from", "text", "time"|"timestamp"?}]}``;
  ``rows_in`` counts conversations.

``text`` joins the turns as lines "Клиент: …" / "Оператор: …" / "Бот: …". Turn ``start`` is seconds since
the conversation's first timed message. Messages past 20,000 characters of joined text are rejected.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from voc.ingest.chunk import IngestChunk
from voc.ingest.errors import (
    BAD_DATE,
    BAD_JSON,
    CONVERSATION_TOO_LONG,
    EMPTY_TEXT,
    MISSING_CONVERSATION_ID,
    MISSING_MESSAGES,
    NOT_AN_OBJECT,
    UNKNOWN_CHANNEL,
    UNKNOWN_SPEAKER,
    IngestError,
    reject,
)
from voc.ingest.mapping import ColumnMapping
from voc.ingest.records import RowError, RowParser, check_text, parse_score
from voc.ingest.tables import TableChunk, iter_json_lines, json_records, load_json, read_table
from voc.ingest.values import (
    ROLE_PREFIX,
    cell_to_str,
    parse_channel,
    parse_datetime,
    parse_speaker,
)
from voc.schema import MAX_TEXT_CHARS, Channel, DialogTurn, Feedback, RejectedRow, Scores, SpeakerRole

_SCORE_NAMES = ("rating", "nps", "csat", "ces")


@dataclass
class Message:
    """One parsed chat message with the conversation-level fields of its row."""

    row: int
    conversation_id: str
    speaker: SpeakerRole
    text: str
    time: datetime | None
    fields: dict[str, Any]
    input_row: dict[str, Any]


def build_conversation(messages: list[Message], *, file: str, channel: Channel = Channel.chat,
                       ) -> tuple[Feedback | None, list[RejectedRow]]:
    """One Feedback from a conversation's messages (file order); messages past the text limit are rejected
    (None when not even the first fits)."""
    times = [m.time for m in messages if m.time is not None]
    origin = min(times) if times else None
    turns: list[DialogTurn] = []
    lines: list[str] = []
    rejected: list[RejectedRow] = []
    size = 0
    for message in messages:
        line = f"{ROLE_PREFIX[message.speaker]}: {message.text}"
        if size + len(line) + 1 > MAX_TEXT_CHARS:
            rejected.append(reject(file, message.row, "text", CONVERSATION_TOO_LONG, message.text))
            continue
        start = (message.time - origin).total_seconds() if message.time and origin else None
        turns.append(DialogTurn(speaker=message.speaker, text=message.text, start=start))
        lines.append(line)
        size += len(line) + 1
    if not lines:
        return None, rejected

    def first(name: str) -> Any:
        return next((m.fields.get(name) for m in messages if m.fields.get(name) is not None), None)

    scores = Scores(**{n: next((getattr(m.fields["scores"], n) for m in messages
                                if "scores" in m.fields and getattr(m.fields["scores"], n) is not None), None)
                       for n in _SCORE_NAMES})
    record = Feedback(
        id=messages[0].conversation_id,
        text="\n".join(lines),
        channel=channel,
        created_at=first("created_at") or origin,
        customer_id=first("customer_id"),
        ticket_id=first("ticket_id"),
        journey_stage=first("journey_stage"),
        touchpoint=first("touchpoint"),
        scores=scores,
        turns=turns,
        metadata=messages[0].fields.get("metadata", {}),
        source_file=file,
        source_row=messages[0].row,
    )
    return record, rejected


class _Collector:
    """Accumulates finished conversations and rejected rows into IngestChunks, keeping the counts."""

    def __init__(self, file: str, mapped_columns: dict[str, str] | None = None) -> None:
        self.file = file
        self.mapped_columns = mapped_columns or {}
        self.reset()

    def reset(self) -> None:
        self.records: list[Feedback] = []
        self.rejected: list[RejectedRow] = []
        self.input_rows: list[dict[str, Any]] = []
        self.rows_in = self.rows_out = 0

    def add_rejected(self, rows: Iterable[RejectedRow]) -> None:
        for row in rows:
            self.rejected.append(row)
            self.rows_in += 1

    def add_conversation(self, messages: list[Message]) -> None:
        record, rejected = build_conversation(messages, file=self.file)
        if record is not None:
            self.records.append(record)
            self.input_rows.append(messages[0].input_row)
        self.rejected.extend(rejected)
        self.rows_in += len(messages)
        self.rows_out += len(messages) - len(rejected)

    def take(self) -> IngestChunk:
        chunk = IngestChunk(self.records, self.rejected, pd.DataFrame(self.input_rows), self.rows_in, self.rows_out,
                            mapped_columns=dict(self.mapped_columns))
        self.reset()
        return chunk


# ------------------------------------------------------------------------------------- message table


def _parse_messages(path: Path, mapping: ColumnMapping, chunk_size: int,
                    ) -> Iterator[tuple[list[Message | RejectedRow], bool]]:
    """Messages and rejected rows of each table chunk, in file order (the bool marks the last chunk)."""
    file = str(path)
    time_field = "message_time" if mapping.message_time else "created_at"
    chunks = read_table(path, chunk_size)
    current: TableChunk | None = next(chunks)
    while current is not None:
        following = next(chunks, None)
        parser = RowParser(current, mapping, file)
        records = current.frame.to_dict("records")
        items: list[Message | RejectedRow] = list(current.rejected)
        for i, row in enumerate(current.rows):
            try:
                conversation_id = parser.value("conversation_id", i).strip()
                if not conversation_id:
                    raise RowError("conversation_id", MISSING_CONVERSATION_ID, "")
                raw_speaker = parser.value("speaker", i)
                try:
                    speaker = parse_speaker(raw_speaker)
                except ValueError:
                    speaker = None
                if speaker is None:
                    raise RowError("speaker", UNKNOWN_SPEAKER, raw_speaker)
                text = check_text(parser.value("text", i))
                time = parser.parse_date(time_field, i)
                fields = _message_fields(parser, i)
            except RowError as error:
                items.append(parser.rejected(i, error))
                continue
            items.append(Message(row, conversation_id, speaker, text, time, fields, records[i]))
        items.sort(key=lambda item: item.row or 0)
        yield items, following is None
        current = following


def _message_fields(parser: RowParser, i: int) -> dict[str, Any]:
    """Conversation-level fields of a message row; the row's raw channel goes to metadata."""
    fields: dict[str, Any] = {"created_at": parser.parse_date("created_at", i), "scores": parser.scores(i)}
    for name in ("customer_id", "ticket_id", "journey_stage", "touchpoint"):
        fields[name] = parser.optional_str(name, i)
    metadata = parser.metadata(i)
    raw_channel = parser.optional_str("channel", i)
    if raw_channel:
        metadata["channel"] = raw_channel
    fields["metadata"] = metadata
    return fields


def is_grouped(path: Path, column: str, chunk_size: int) -> bool:
    """True when each conversation id's rows are contiguous in the file (so it can be streamed)."""
    finished: set[str] = set()
    last: str | None = None
    for chunk in read_table(path, chunk_size):
        if column not in chunk.frame.columns:
            return True
        for value in chunk.frame[column].tolist():
            value = value.strip()
            if not value or value == last:
                continue
            if value in finished:
                return False
            if last is not None:
                finished.add(last)
            last = value
    return True


def read_chat_messages(path: str | Path, mapping: ColumnMapping, *, chunk_size: int = 20_000,
                       ) -> Iterator[IngestChunk]:
    """A message table (mapping with conversation_id, speaker, text) → one record per conversation."""
    path = Path(path)
    if not (mapping.conversation_id and mapping.speaker and mapping.text):
        raise IngestError(f"{path}: a chat message table needs conversation id, speaker and text columns; "
                          f"mapped: {mapping.columns()}")
    collector = _Collector(str(path), {column: field for field, column in mapping.columns().items()})
    if is_grouped(path, mapping.conversation_id, chunk_size):
        pending: list[Message] = []
        for items, last in _parse_messages(path, mapping, chunk_size):
            for item in items:
                if isinstance(item, RejectedRow):
                    collector.add_rejected([item])
                    continue
                if pending and item.conversation_id != pending[0].conversation_id:
                    collector.add_conversation(pending)
                    pending = []
                pending.append(item)
            if last and pending:
                collector.add_conversation(pending)
            yield collector.take()
        return
    conversations: dict[str, list[Message]] = {}
    for items, _ in _parse_messages(path, mapping, chunk_size):
        for item in items:
            if isinstance(item, RejectedRow):
                collector.add_rejected([item])
            else:
                conversations.setdefault(item.conversation_id, []).append(item)
    for messages in conversations.values():
        collector.add_conversation(messages)
        if collector.rows_in >= chunk_size:
            yield collector.take()
    if collector.rows_in or not collector.records:
        yield collector.take()


# ------------------------------------------------------------------------------- conversation export

_ID_KEYS = ("id", "chat_id", "conversation_id", "dialog_id")
_AUTHOR_KEYS = ("author", "role", "from", "speaker", "sender")
_TIME_KEYS = ("time", "timestamp", "created_at", "date")
_KNOWN_KEYS = set(_ID_KEYS) | {"created_at", "customer_id", "ticket_id", "channel", "messages", "journey_stage",
                               "touchpoint", *_SCORE_NAMES}
#: Input-row keys of a conversation export that hold a Feedback field (the privacy gate does not keep them).
EXPORT_MAPPED_COLUMNS: dict[str, str] = {
    **{key: "id" for key in _ID_KEYS},
    "customer_id": "customer_id",
    "ticket_id": "ticket_id",
    "message_text": "text",
    **{f"message_{key}": "speaker" for key in _AUTHOR_KEYS},
    **{f"message_{key}": "message_time" for key in _TIME_KEYS},
}
# Numbers below this are message offsets in seconds, above it Unix times.
_UNIX_TIME_MIN = 1e9


def is_conversation(value: Any) -> bool:
    """Whether a JSON value looks like one conversation of a chat export."""
    return isinstance(value, dict) and isinstance(value.get("messages"), list)


def _message_time(value: Any) -> tuple[datetime | None, float | None]:
    """(absolute time, offset seconds) of a message's time value; ValueError when unreadable."""
    if value is None or value == "":
        return None, None
    if isinstance(value, bool):
        raise ValueError("boolean time")
    if isinstance(value, (int, float)):
        if value >= _UNIX_TIME_MIN:
            return parse_datetime(str(value)), None
        if value < 0 or value != value:
            raise ValueError("negative time")
        return None, float(value)
    if isinstance(value, str):
        return parse_datetime(value), None
    raise ValueError("expected a date string or a number")


def _author(value: Any) -> str:
    if isinstance(value, dict):
        value = next((value[k] for k in ("role", "type", "name") if k in value), "")
    return cell_to_str(value) if isinstance(value, (str, int, float)) else ""


def conversation_record(obj: Any, *, file: str, row: int, default_id: str) -> Feedback:
    """One conversation object → Feedback, or RowError naming the field path."""
    if not isinstance(obj, dict):
        raise RowError("", NOT_AN_OBJECT, json.dumps(obj, ensure_ascii=False))
    conversation_id = next((cell_to_str(obj[k]).strip() for k in _ID_KEYS if obj.get(k) not in (None, "")),
                           "") or default_id
    try:
        created_at = parse_datetime(cell_to_str(obj.get("created_at")))
    except ValueError:
        raise RowError("created_at", BAD_DATE, cell_to_str(obj.get("created_at"))) from None
    try:
        channel = parse_channel(cell_to_str(obj.get("channel"))) or Channel.chat
    except ValueError:
        raise RowError("channel", UNKNOWN_CHANNEL, cell_to_str(obj.get("channel"))) from None
    messages: list[Message] = []
    offsets: list[float | None] = []
    for k, message in enumerate(obj["messages"]):
        at = f"messages[{k}]"
        if not isinstance(message, dict):
            raise RowError(at, NOT_AN_OBJECT, cell_to_str(message))
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            continue  # attachments, stickers, service messages without text
        raw_author = _author(next((message[key] for key in _AUTHOR_KEYS if key in message), ""))
        try:
            speaker = parse_speaker(raw_author)
        except ValueError:
            speaker = None
        if speaker is None:
            raise RowError(f"{at}.author", UNKNOWN_SPEAKER, raw_author)
        raw_time = next((message[key] for key in _TIME_KEYS if key in message), None)
        try:
            absolute, offset = _message_time(raw_time)
        except ValueError:
            raise RowError(f"{at}.time", BAD_DATE, cell_to_str(raw_time)) from None
        messages.append(Message(row, conversation_id, speaker, text.strip(), absolute, {}, {}))
        offsets.append(offset)
    if not messages:
        raise RowError("messages", EMPTY_TEXT, "")
    record, too_long = build_conversation(messages, file=file, channel=channel)
    if record is None or too_long:
        raise RowError("messages", CONVERSATION_TOO_LONG, f"{len(too_long)} of {len(messages)} messages do not fit")
    if all(m.time is None for m in messages) and any(o is not None for o in offsets):
        record.turns = [t.model_copy(update={"start": o}) for t, o in zip(record.turns, offsets, strict=True)]
    extra = {k: cell_to_str(v) for k, v in obj.items() if k not in _KNOWN_KEYS and v not in (None, "")}
    record.created_at = created_at or record.created_at
    record.customer_id = cell_to_str(obj.get("customer_id")).strip() or None
    record.ticket_id = cell_to_str(obj.get("ticket_id")).strip() or None
    record.journey_stage = cell_to_str(obj.get("journey_stage")).strip() or None
    record.touchpoint = cell_to_str(obj.get("touchpoint")).strip() or None
    record.metadata = extra
    record.scores = _scores(obj)
    return record


def _scores(obj: dict[str, Any]) -> Scores:
    """rating/nps/csat/ces of a conversation object, checked like table scores."""
    values: dict[str, float | None] = {}
    for name in _SCORE_NAMES:
        values[name] = parse_score(name, cell_to_str(obj.get(name)))
    return Scores(**values)


def _conversation_input_row(obj: Any) -> dict[str, str]:
    if not isinstance(obj, dict):
        return {}
    row = {k: cell_to_str(v) for k, v in obj.items() if k != "messages"}
    messages = obj.get("messages") or []
    if messages and isinstance(messages[0], dict):
        row.update({f"message_{k}": cell_to_str(v) for k, v in messages[0].items()})
    return row


def read_chat_json(path: str | Path, *, chunk_size: int = 20_000) -> Iterator[IngestChunk]:
    """A JSON array / JSONL chat export → one record per conversation (``rows_in`` counts conversations)."""
    path = Path(path)
    file = str(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        items: Iterable[tuple[int, Any, str | None]] = iter_json_lines(path)
    else:
        items = ((i, value, None) for i, value in enumerate(json_records(load_json(path), path), start=1))
    collector = _Collector(file, EXPORT_MAPPED_COLUMNS)
    yielded = False
    for row, value, error in items:
        if error is not None:
            collector.add_rejected([reject(file, row, None, BAD_JSON, error)])
        else:
            try:
                if not is_conversation(value):
                    reason = MISSING_MESSAGES if isinstance(value, dict) else NOT_AN_OBJECT
                    raise RowError("messages", reason, json.dumps(value, ensure_ascii=False))
                record = conversation_record(value, file=file, row=row, default_id=f"{path.stem}-{row}")
            except RowError as error_:
                collector.add_rejected([reject(file, row, error_.field or None, error_.reason, error_.value)])
            else:
                collector.records.append(record)
                collector.input_rows.append(_conversation_input_row(value))
                collector.rows_in += 1
                collector.rows_out += 1
        if collector.rows_in >= chunk_size:
            yielded = True
            yield collector.take()
    if collector.rows_in or not yielded:
        yield collector.take()
