"""The unit read_feedback yields: valid records, rejected rows, the records' input rows and the row counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from voc.schema import Feedback, RejectedRow


@dataclass
class IngestChunk:
    """One chunk of ingested feedback. Invariant: ``rows_in == rows_out + len(rejected)``."""

    records: list[Feedback]
    rejected: list[RejectedRow]
    #: original input columns of each record, same order as records (for chats/calls: one row per
    #: conversation/call with its first message's columns)
    input_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: source rows read in this chunk (messages for message-level chats, files for transcript folders)
    rows_in: int = 0
    #: source rows that ended up in some record
    rows_out: int = 0
    #: input column → the Feedback field it was read into (``{"Отзыв": "text", "Телефон": "customer_id"}``)
    mapped_columns: dict[str, str] = field(default_factory=dict)
    #: masked PII spans per record, set once the privacy gate (voc.ingest.privacy) has protected the chunk
    pii_counts: list[dict[str, int]] | None = None
    #: what the privacy gate did to this chunk (dropped/kept PII columns, pseudonyms, masked cells)
    privacy: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.rows_in != self.rows_out + len(self.rejected):
            raise AssertionError(
                f"ingest counts do not add up: rows_in={self.rows_in}, rows_out={self.rows_out}, "
                f"rejected={len(self.rejected)}"
            )

    @property
    def protected(self) -> bool:
        """Whether the privacy gate has masked this chunk (nothing raw is left in it)."""
        return self.pii_counts is not None
