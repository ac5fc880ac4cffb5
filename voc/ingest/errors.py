"""Ingestion errors and the fixed reasons a source row can be rejected for.

Reasons are short stable phrases (they are counted in ``RunSummary.rejected_by_reason``); the offending
value goes to ``RejectedRow.value``: up to 1,000 raw characters while inside ingest, masked and cut to 200
characters by the privacy gate (voc.ingest.privacy) before anything stores it.
"""

from __future__ import annotations

from voc.schema import RejectedRow


class IngestError(ValueError):
    """A whole file cannot be read: unsupported format, unreadable bytes, no text column, a size or
    nesting limit, … The message starts with the file and names the row (line) and field when known."""


# Row-level rejection reasons (RejectedRow.reason).
EMPTY_TEXT = "empty text"
TEXT_TOO_LONG = "text longer than 20000 characters"
CONVERSATION_TOO_LONG = "conversation longer than 20000 characters"
BAD_DATE = "unparseable date"
UNKNOWN_CHANNEL = "unknown channel"
NOT_A_NUMBER = "not a number"
OUT_OF_RANGE = "out of range"
BAD_JSON = "invalid JSON"
NOT_AN_OBJECT = "not a JSON object"
WRONG_COLUMN_COUNT = "more fields than header columns"
MISSING_CONVERSATION_ID = "missing conversation id"
MISSING_MESSAGES = "missing messages list"
UNKNOWN_SPEAKER = "unknown speaker"
MISSING_TICKET_ID = "missing ticket id"
BAD_BOOLEAN = "not a yes/no value"
BAD_TRANSCRIPT = "unreadable transcript"
UNDECODABLE = "undecodable bytes"
BAD_UNICODE = "invalid Unicode escape"
TOO_DEEP = "JSON nested too deep"

#: Length of a rejected value once masked (what errors.csv and the API show).
MAX_VALUE_CHARS = 200
#: Raw characters kept until the privacy gate masks the value (so a cut never splits a phone number in two
#: before masking).
MAX_RAW_VALUE_CHARS = 1000


def reject(file: str, row: int | None, field: str | None, reason: str, value: object = None) -> RejectedRow:
    """Build a RejectedRow, keeping at most 1,000 characters of the raw value (the gate masks and cuts it)."""
    text = None if value is None else str(value)[:MAX_RAW_VALUE_CHARS]
    return RejectedRow(file=file, row=row, field=field, reason=reason, value=text)
