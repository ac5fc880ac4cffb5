"""Vectorised helpers on the enriched frame: exploding list columns, ISO weeks, picking examples."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np
import pandas as pd

UNKNOWN_STAGE = "не определён"
TOTAL = "всего"


def as_list(value: object) -> list:
    """A list cell as a list: lists/tuples as they are, a CSV "a|b" string split, anything else empty."""
    if isinstance(value, list):
        return value
    if isinstance(value, tuple | np.ndarray):
        return list(value)
    if isinstance(value, str):
        return [part for part in value.split("|") if part] if value else []
    return []


def explode_list(frame: pd.DataFrame, column: str, aligned: str | None = None) -> pd.DataFrame:
    """Long table of (row, item[, aligned]) for a list column, without exploding the whole frame.

    ``row`` is the positional index into ``frame``; ``aligned`` is a list column of the same lengths
    (e.g. ``topic_sentiments`` next to ``topics``), padded with None where it is shorter.
    """
    if column not in frame.columns or frame.empty:
        cols: dict = {"row": np.empty(0, dtype=np.int64), "item": np.empty(0, dtype=object)}
        if aligned:
            cols["aligned"] = np.empty(0, dtype=object)
        return pd.DataFrame(cols)
    cells = [as_list(v) for v in frame[column].to_numpy()]
    lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
    rows = np.repeat(np.arange(len(frame), dtype=np.int64), lengths)
    items = np.fromiter(chain.from_iterable(cells), dtype=object, count=int(lengths.sum()))
    out = pd.DataFrame({"row": rows, "item": np.array([str(v) for v in items], dtype=object)})
    if aligned:
        other = frame[aligned].to_numpy() if aligned in frame.columns else np.full(len(frame), None)
        out["aligned"] = np.fromiter(
            chain.from_iterable(_pad(o, n) for o, n in zip(other, lengths, strict=True) if n),
            dtype=object,
            count=len(out),
        )
    return out


def _pad(values: object, n: int) -> list:
    return (as_list(values) + [None] * n)[:n]


def iso_weeks(created_at: pd.Series) -> pd.Categorical:
    """ISO week label like '2026-W05' per row as a Categorical (NaN where the date is missing)."""
    ts = pd.to_datetime(created_at, utc=True, errors="coerce")
    iso = ts.dt.isocalendar()
    key = (iso["year"].astype("Int64") * 100 + iso["week"].astype("Int64")).fillna(-1).to_numpy(dtype=np.int64)
    uniq, inverse = np.unique(key, return_inverse=True)
    labels = [f"{k // 100}-W{k % 100:02d}" for k in uniq if k >= 0]
    codes = inverse - (1 if len(uniq) and uniq[0] < 0 else 0)
    codes = np.where(key < 0, -1, codes)
    return pd.Categorical.from_codes(codes, categories=labels)


def week_range(first: pd.Timestamp, last: pd.Timestamp) -> list[str]:
    """All ISO week labels from the week of ``first`` to the week of ``last``, inclusive."""
    start = (first.normalize() - pd.Timedelta(days=first.weekday()))
    mondays = pd.date_range(start, last.normalize(), freq="7D")
    return [f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in mondays]


def top_examples(long: pd.DataFrame, keys: list[str], strength: str, k: int = 3) -> dict[tuple, list[int]]:
    """Up to ``k`` row positions (column ``row``) per key group, the highest ``strength`` first."""
    if long.empty:
        return {}
    ordered = long.sort_values(strength, ascending=False, na_position="last", kind="stable")
    head = ordered.groupby(keys, sort=False, observed=True).head(k)
    grouped = head.groupby(keys, sort=False, observed=True)["row"].agg(list)
    return {(key if isinstance(key, tuple) else (key,)): [int(v) for v in val] for key, val in grouped.items()}


def categories(values: pd.Series, missing: str | None = None) -> pd.Categorical:
    """A string column as a Categorical (codes + labels), blank/missing → ``missing`` (or NaN if None)."""
    cat = pd.Categorical(values)
    labels = [str(c).strip() for c in cat.categories]
    codes = cat.codes.copy()
    blank = [i for i, label in enumerate(labels) if not label]
    if blank:
        codes[np.isin(codes, blank)] = -1
    uniq = sorted({label for label in labels if label})
    remap = np.array([uniq.index(label) if label else -1 for label in labels] + [-1], dtype=np.int64)
    codes = remap[codes]  # code -1 indexes the trailing -1
    if missing is not None and (codes == -1).any():
        if missing not in uniq:
            uniq.append(missing)
        codes = np.where(codes == -1, uniq.index(missing), codes)
    return pd.Categorical.from_codes(codes, categories=uniq)


def stage_labels(frame: pd.DataFrame, stages: Sequence[str]) -> tuple[pd.Categorical, list[str]]:
    """Journey stage per row (missing → «не определён») and the row labels in configured order.

    Configured stages come first in their order (all of them, so heatmaps compare across runs), then
    stages seen in the data but not configured, then «не определён» only if some row has no stage.
    """
    raw = frame["journey_stage"] if "journey_stage" in frame.columns else pd.Series(None, index=frame.index)
    stage = categories(raw, missing=UNKNOWN_STAGE)
    seen = set(np.asarray(stage.categories)[np.unique(stage.codes)].tolist()) if len(stage) else set()
    labels = list(stages)
    labels += sorted(s for s in seen if s not in set(stages) and s != UNKNOWN_STAGE)
    if UNKNOWN_STAGE in seen:
        labels.append(UNKNOWN_STAGE)
    return stage, labels


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

