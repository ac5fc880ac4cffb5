"""CSV files that spreadsheets cannot execute: every CSV voc writes goes through :func:`write_csv`.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by
Excel / LibreOffice / Google Sheets (CSV injection). Such cells get a leading single quote, as OWASP
recommends (``=HYPERLINK(…)`` → ``'=HYPERLINK(…)``). Numbers, dates and booleans are left alone; Parquet and
JSON outputs are never changed. Neutralising is idempotent: a quoted cell starts with ``'`` and stays as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, overload

import pandas as pd

#: Cell prefixes that make a spreadsheet evaluate the cell.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralize_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is a string starting with a formula prefix."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot start a formula (non-text columns untouched)."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if series.dtype != object and not isinstance(series.dtype, pd.StringDtype):
            continue
        try:
            hits = series.str.startswith(FORMULA_PREFIXES, na=False).astype(bool)
        except AttributeError:  # not a text column after all (all missing, or mixed objects)
            hits = series.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES)).astype(bool)
        if hits.any():
            out[col] = series.where(~hits, "'" + series[hits].astype(str))
    header = [neutralize_cell(str(c)) for c in out.columns]
    if header != [str(c) for c in out.columns]:
        out.columns = header
    return out


@overload
def write_csv(frame: pd.DataFrame, path: None = None, **kwargs: Any) -> str: ...
@overload
def write_csv(frame: pd.DataFrame, path: str | Path, **kwargs: Any) -> None: ...
def write_csv(frame: pd.DataFrame, path: str | Path | None = None, **kwargs: Any) -> str | None:
    """``frame.to_csv(path, index=False, **kwargs)`` after :func:`neutralize_formulas`; the text when no path."""
    kwargs.setdefault("index", False)
    text: str | None = neutralize_formulas(frame).to_csv(path, **kwargs)
    return text
