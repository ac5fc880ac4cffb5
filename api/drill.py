"""Filtered results of a finished batch (the drill-down behind every number): find the matching rows by
reading only the filter columns of ``enriched.parquet``, then read just the row groups that hold them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from voc.aggregate.drill import FILTER_COLUMNS, DrillFilter, compact_rows, segment_column, select_rows
from voc.enriched import to_csv_frame
from voc.safe_csv import write_csv


def _filter_frame(path: Path, f: DrillFilter) -> pd.DataFrame:
    names = pq.read_schema(path).names
    wanted = [c for c in FILTER_COLUMNS if c in names]
    seg = segment_column(names)
    if f.segment and seg and seg not in wanted:
        wanted.append(seg)
    return pq.read_table(path, columns=wanted).to_pandas()


def matching_positions(path: Path, f: DrillFilter, sort: str) -> np.ndarray:
    """Positions (0-based, file order) of the rows that match ``f``, ordered by ``sort``."""
    return select_rows(_filter_frame(path, f), f, sort)


def take_table(path: Path, positions: np.ndarray) -> pa.Table:
    """The full rows at ``positions`` (in that order), reading only the row groups that contain them."""
    pf = pq.ParquetFile(path)
    bounds = np.cumsum([0] + [pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)])
    groups = np.searchsorted(bounds, positions, side="right") - 1
    parts, order = [], []
    for g in np.unique(groups):
        local = positions[groups == g] - bounds[g]
        parts.append(pf.read_row_group(int(g)).take(local.astype(np.int64)))
        order.append(positions[groups == g])
    if not parts:
        return pf.schema_arrow.empty_table()
    table = pa.concat_tables(parts)
    where = np.concatenate(order)
    return table.take(np.argsort(where, kind="stable")[np.argsort(np.argsort(positions, kind="stable"))])


def take_rows(path: Path, positions: np.ndarray) -> pd.DataFrame:
    return take_table(path, positions).to_pandas()


def compact_page(path: Path, f: DrillFilter, sort: str, start: int, size: int) -> tuple[int, list[dict]]:
    """(total matches, one page of compact rows)."""
    positions = matching_positions(path, f, sort)
    return len(positions), compact_rows(take_rows(path, positions[start:start + size]))


def full_page(path: Path, f: DrillFilter, sort: str, start: int, size: int) -> tuple[int, list[dict]]:
    """(total matches, one page of full enriched rows)."""
    positions = matching_positions(path, f, sort)
    return len(positions), take_table(path, positions[start:start + size]).to_pylist()


def csv_chunks(path: Path, f: DrillFilter, block: int = 5000) -> Iterator[str]:
    """The matching rows as enriched.csv does (list columns pipe-joined, formulas neutralised), streamed."""
    positions = matching_positions(path, f, "row")
    for k in range(0, max(len(positions), 1), block):
        frame = take_rows(path, positions[k:k + block])
        yield write_csv(to_csv_frame(frame), header=k == 0) or ""
