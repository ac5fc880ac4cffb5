"""What a batch run reports while it runs (progress, cancellation) and returns (the result)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from voc.schema import RunSummary


class BatchCancelled(RuntimeError):
    """Raised when ``should_stop()`` asked the batch to stop; committed chunks stay for a resume."""


@dataclass
class BatchProgress:
    chunk_index: int
    rows_in: int
    rows_out: int
    rows_rejected: int
    records: int
    done: bool = False


@dataclass
class BatchResult:
    """A finished run: its summary, the files written, the aggregates and the compact run frame.

    ``frame`` is the in-memory table the aggregates were computed from (texts cut to ``QUOTE_CHARS``,
    evidence pipe-joined): shells use it instead of re-reading enriched.parquet (the API's webhooks)."""

    outdir: Path
    summary: RunSummary
    frame_path: Path
    files: dict[str, Path] = field(default_factory=dict)
    aggregates: Any | None = None
    frame: pd.DataFrame | None = None
