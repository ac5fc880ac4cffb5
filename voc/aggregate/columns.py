"""Vectorised helpers on the enriched frame: exploding list columns, ISO weeks, picking examples."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np
import pandas as pd

UNKNOWN_STAGE = "не определён"
TOTAL = "всего"


def list_lengths(values: pd.Series) -> np.ndarray:
    """Length of each cell of a list column; non-list cells (None, NaN) count as empty."""
    return np.fromiter((len(v) if isinstance(v, list | tuple) else 0 for v in values), dtype=np.int64,
                       count=len(values))


def explode_list(frame: pd.DataFrame, column: str, extra: Sequence[str] = (),
                 aligned: str | None = None) -> pd.DataFrame:
    """Long table of (row, ``column`` item, ``aligned`` item, ``extra`` columns) without a full explode.

    ``row`` is the positional index into ``frame``; ``aligned`` is a list column of the same lengths
    (e.g. ``topic_sentiments`` next to ``topics``), padded with None where it is shorter.
    """
    if column not in frame.columns or frame.empty:
        cols = {"row": np.empty(0, dtype=np.int64), "item": pd.Series([], dtype=object)}
        if aligned:
            cols["aligned"] = pd.Series([], dtype=object)
        out = pd.DataFrame(cols)
        for name in extra:
            out[name] = frame[name].iloc[:0].to_numpy() if name in frame.columns else []
        return out
    cells = frame[column].to_numpy()
    lengths = list_lengths(cells)
    rows = np.repeat(np.arange(len(frame), dtype=np.int64), lengths)
    items = np.fromiter(chain.from_iterable(v for v in cells if isinstance(v, list | tuple)),
                        dtype=object, count=int(lengths.sum()))
    out = pd.DataFrame({"row": rows, "item": items.astype(str) if len(items) else items})
    if aligned:
        other = frame[aligned].to_numpy() if aligned in frame.columns else np.full(len(frame), None)
        out["aligned"] = np.fromiter(
            chain.from_iterable(
                _pad(o, n) for o, n in zip(other, lengths, strict=True) if n
            ),
            dtype=object,
            count=len(out),
        )
    for name in extra:
        out[name] = frame[name].to_numpy()[rows]
    return out


def _pad(values: object, n: int) -> list:
    seq = list(values) if isinstance(values, list | tuple) else []
    return (seq + [None] * n)[:n]


def iso_weeks(created_at: pd.Series) -> pd.Series:
    """ISO week label like '2026-W05' per row (None where the date is missing)."""
    ts = pd.to_datetime(created_at, utc=True, errors="coerce")
    iso = ts.dt.isocalendar()
    labels = iso["year"].astype("string") + "-W" + iso["week"].astype("string").str.zfill(2)
    return labels.astype(object).where(ts.notna(), None)


def week_range(first: pd.Timestamp, last: pd.Timestamp) -> list[str]:
    """All ISO week labels from the week of ``first`` to the week of ``last``, inclusive."""
    start = (first.normalize() - pd.Timedelta(days=first.weekday()))
    mondays = pd.date_range(start, last.normalize(), freq="7D")
    return [f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in mondays]


def top_examples(long: pd.DataFrame, keys: list[str], strength: str, ids: str = "id",
                 k: int = 3) -> dict[tuple, list[str]]:
    """Up to ``k`` ids per key group, the highest ``strength`` first (NaN strength last)."""
    if long.empty:
        return {}
    ordered = long.sort_values(strength, ascending=False, na_position="last", kind="stable")
    head = ordered.groupby(keys, sort=False, observed=True).head(k)
    grouped = head.groupby(keys, sort=False, observed=True)[ids].agg(list)
    return {(key if isinstance(key, tuple) else (key,)): [str(v) for v in val] for key, val in grouped.items()}


def stage_labels(frame: pd.DataFrame, stages: Sequence[str]) -> tuple[pd.Series, list[str]]:
    """Journey stage per row (missing → «не определён») and the row labels in configured order.

    Configured stages come first in their order (all of them, so heatmaps compare across runs), then
    stages seen in the data but not configured, then «не определён» only if some row has no stage.
    """
    raw = frame["journey_stage"] if "journey_stage" in frame.columns else pd.Series(None, index=frame.index)
    stage = raw.astype(object).where(raw.notna() & (raw.astype(str).str.strip() != ""), UNKNOWN_STAGE)
    seen = set(stage.unique())
    labels = list(stages)
    labels += sorted(s for s in seen if s not in set(stages) and s != UNKNOWN_STAGE)
    if UNKNOWN_STAGE in seen:
        labels.append(UNKNOWN_STAGE)
    return stage.astype(str), labels


def numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as float (NaN where missing or absent)."""
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def boolean(frame: pd.DataFrame, column: str) -> pd.Series:
    """A bool/None column as float 1/0 with NaN for missing or absent."""
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    col = frame[column]
    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
        num = pd.to_numeric(col, errors="coerce").astype(float)
        return (num != 0).astype(float).where(num.notna())
    mapped = col.map(lambda v: np.nan if v is None or (isinstance(v, float) and np.isnan(v)) else float(bool(v)))
    return mapped.astype(float)


def rounded(value: float | None, digits: int = 4) -> float | None:
    """Round for output; None and NaN stay None."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)
