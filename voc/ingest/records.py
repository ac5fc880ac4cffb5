"""Turn a chunk of table rows into Feedback records and RejectedRows (one per bad row, first problem wins).

Checks, in this order: text (empty, over 20,000 characters), created_at (unparseable date), channel
(unknown name), rating/nps/csat/ces (not a number, out of 0..10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from voc.ingest.errors import (
    BAD_DATE,
    EMPTY_TEXT,
    NOT_A_NUMBER,
    OUT_OF_RANGE,
    TEXT_TOO_LONG,
    UNKNOWN_CHANNEL,
    IngestError,
    reject,
)
from voc.ingest.mapping import ColumnMapping
from voc.ingest.tables import TableChunk
from voc.ingest.values import parse_channel, parse_datetime, parse_number
from voc.schema import MAX_TEXT_CHARS, Channel, Feedback, RejectedRow, Scores

#: Accepted ranges of the score fields (inclusive).
SCORE_RANGES: dict[str, tuple[float, float]] = {
    "rating": (0.0, 10.0),
    "nps": (0.0, 10.0),
    "csat": (0.0, 10.0),
    "ces": (0.0, 10.0),
}
_SCORE_FIELDS = tuple(SCORE_RANGES)
_STRING_FIELDS = ("customer_id", "ticket_id", "journey_stage", "touchpoint")


class RowError(Exception):
    """One row's problem: which field, the fixed reason, the offending value."""

    def __init__(self, field: str, reason: str, value: str | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.value = field, reason, value



def parse_score(name: str, raw: str) -> float | None:
    """A score cell (rating/nps/csat/ces) as a number in its range, else RowError naming the field."""
    try:
        number = parse_number(raw)
    except ValueError:
        raise RowError(name, NOT_A_NUMBER, raw) from None
    low, high = SCORE_RANGES[name]
    if number is not None and not low <= number <= high:
        raise RowError(name, f"{OUT_OF_RANGE} {low:g}..{high:g}", raw)
    return number

def resolve_channel(raw: str | None) -> Channel | None:
    """A default channel given by the caller, or IngestError when it is not a known channel."""
    if raw is None:
        return None
    try:
        return parse_channel(raw)
    except ValueError as exc:
        raise IngestError(f"default channel {raw!r}: {exc}") from None


def check_text(raw: str, field: str = "text") -> str:
    """The stripped text, or RowError when it is empty or too long."""
    text = raw.strip()
    if not text:
        raise RowError(field, EMPTY_TEXT, raw)
    if len(text) > MAX_TEXT_CHARS:
        raise RowError(field, TEXT_TOO_LONG, text)
    return text


@dataclass
class RowParser:
    """Column-wise access to the mapped fields of one chunk, with per-row parsing into Feedback fields."""

    chunk: TableChunk
    mapping: ColumnMapping
    file: str
    default_channel: Channel | None = None
    cells: dict[str, list[str]] = field(init=False)
    metadata_columns: list[str] = field(init=False)

    def __post_init__(self) -> None:
        frame = self.chunk.frame
        n = len(frame)
        columns = self.mapping.columns()
        self.cells = {f: (frame[c].tolist() if c in frame.columns else [""] * n) for f, c in columns.items()}
        used = set(columns.values())
        self.metadata_columns = (
            [c for c in frame.columns if c not in used] if self.mapping.extra_columns_to_metadata else []
        )
        self._metadata_cells = [frame[c].tolist() for c in self.metadata_columns]
        self._metadata_pairs = list(zip(self.metadata_columns, self._metadata_cells, strict=True))
        self._score_fields = [name for name in _SCORE_FIELDS if name in self.cells]

    def value(self, field: str, i: int) -> str:
        """The raw cell of ``field`` in row ``i`` ("" when the field is not mapped)."""
        column = self.cells.get(field)
        return column[i] if column is not None else ""

    def optional_str(self, field: str, i: int) -> str | None:
        text = self.value(field, i).strip()
        return text or None

    def parse_date(self, field: str, i: int) -> datetime | None:
        raw = self.value(field, i)
        try:
            return parse_datetime(raw)
        except ValueError:
            raise RowError(field, BAD_DATE, raw) from None

    def channel(self, i: int) -> Channel | None:
        raw = self.value("channel", i)
        try:
            return parse_channel(raw) or self.default_channel
        except ValueError:
            raise RowError("channel", UNKNOWN_CHANNEL, raw) from None

    def scores(self, i: int) -> Scores:
        values: dict[str, float | None] = {}
        for name in self._score_fields:
            raw = self.cells[name][i]
            if not raw:
                continue
            values[name] = parse_score(name, raw)
        return Scores(**values) if values else Scores()

    def metadata(self, i: int) -> dict[str, Any]:
        return {c: v[i] for c, v in self._metadata_pairs if v[i]}

    def common_fields(self, i: int) -> dict[str, Any]:
        """Every Feedback field except id/text/turns, parsed and checked (RowError on the first problem)."""
        fields: dict[str, Any] = {"created_at": self.parse_date("created_at", i)}
        channel = self.channel(i)
        if channel is not None:
            fields["channel"] = channel
        fields["scores"] = self.scores(i)
        for name in _STRING_FIELDS:
            fields[name] = self.optional_str(name, i)
        fields["metadata"] = self.metadata(i)
        return fields

    def rejected(self, i: int, error: RowError) -> RejectedRow:
        return reject(self.file, self.chunk.rows[i], error.field, error.reason, error.value)


@dataclass
class RecordsResult:
    """Records of one chunk, the rejected rows, and the frame positions the records came from."""

    records: list[Feedback]
    rejected: list[RejectedRow]
    positions: list[int]

    def input_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.iloc[self.positions].reset_index(drop=True)


def records_from_chunk(chunk: TableChunk, mapping: ColumnMapping, *, file: str, stem: str,
                       default_channel: Channel | None = None) -> RecordsResult:
    """One Feedback per valid row (input order); unreadable rows of the chunk come first in ``rejected``."""
    parser = RowParser(chunk, mapping, file, default_channel)
    records: list[Feedback] = []
    rejected: list[RejectedRow] = list(chunk.rejected)
    positions: list[int] = []
    for i, row in enumerate(chunk.rows):
        try:
            text = check_text(parser.value("text", i))
            fields = parser.common_fields(i)
        except RowError as error:
            rejected.append(parser.rejected(i, error))
            continue
        record_id = parser.optional_str("id", i) or f"{stem}-{row}"
        records.append(Feedback(id=record_id, text=text, source_file=file, source_row=row, **fields))
        positions.append(i)
    rejected.sort(key=lambda r: r.row or 0)
    return RecordsResult(records, rejected, positions)
