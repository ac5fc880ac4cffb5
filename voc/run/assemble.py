"""Stage 2: the committed parts into one run — the compact run frame (what the aggregates read), the contact
metrics over the whole run, enriched.parquet/.csv (written part by part: bounded memory) and errors.csv.

Each part's schema is read once; its aggregate columns are read for the run frame, and the whole part once
more when it is written out with the run-wide contact columns (repeat contact, FCR), which need every row
first. Column lists and Arrow types come from the caller (``voc.batch``), which owns them.
"""

from __future__ import annotations

import ctypes
import gc
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from voc import safe_csv
from voc.aggregate.drill import SEGMENT_COLUMNS
from voc.enriched import LIST_COLUMNS, to_csv_frame, to_frame
from voc.link import contact_metrics
from voc.run.analyse import rejected_frame, rejected_path


@dataclass
class Assembled:
    """The run frame (contact metrics included) and the files written."""

    frame: pd.DataFrame
    enriched: Path
    files: dict[str, Path] = field(default_factory=dict)


def release_memory() -> None:
    """Hand freed memory back to the OS (Arrow's pool and glibc keep it otherwise): keeps 1M-row peaks low."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def load_run_frame(schemas: Mapping[Path, list[str]], columns: Sequence[str], quote_chars: int) -> pd.DataFrame:
    """The columns the aggregates need, kept compact for 1M-row batches.

    Texts are cut to ``quote_chars`` and held as Arrow strings (no per-row Python objects); rows with the same
    label combination share one list object (the aggregates only read them).
    """
    frames = []
    shared_lists: dict[tuple, list] = {}
    for p, names in schemas.items():
        f = pd.read_parquet(p, columns=[c for c in columns if c in names])
        f["text"] = f["text"].str.slice(0, quote_chars).astype("string[pyarrow]")
        if "evidence" in f:  # for the report's drill-down rows: pipe-joined Arrow strings, not 1M Python lists
            f["evidence"] = pd.Series(["|".join(map(str, v)) if v is not None else "" for v in f["evidence"]],
                                      index=f.index, dtype="string[pyarrow]")
        for col in SEGMENT_COLUMNS:
            if col in f and f[col].dtype == object:
                f[col] = f[col].astype("string[pyarrow]")
        for col in LIST_COLUMNS:
            if col in f and col != "evidence":
                f[col] = [shared_lists.setdefault(key, list(key))
                          for key in (tuple(v) if v is not None else () for v in f[col])]
        for col in f.columns:
            if col.startswith("call_") and f[col].dtype == object:
                f[col] = pd.to_numeric(f[col], errors="coerce")
        # a fresh copy: the columns replaced above live on in the blocks read_parquet made (e.g. one object
        # block holding every list column's per-row arrays) until those blocks go — ~600 MB at 1M rows
        frames.append(f.copy())
    if not frames:
        return to_frame([], [])
    return concat_columnwise(frames)


def concat_columnwise(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat(frames, ignore_index=True)`` one column at a time, each column's pieces dropped from
    ``frames`` as it is built: at any moment the parts' remaining columns plus the result's finished ones,
    never both whole. ``frames`` is emptied."""
    columns = list(dict.fromkeys(c for f in frames for c in f.columns))
    lengths = [len(f) for f in frames]
    out: dict[str, pd.Series] = {}
    for col in columns:
        empty = next(f[col] for f in frames if col in f.columns).iloc[:0]  # a missing piece: NA of its dtype
        pieces = [f.pop(col).reset_index(drop=True) if col in f.columns
                  else empty.reindex(range(n)) for f, n in zip(frames, lengths, strict=True)]
        out[col] = pd.concat(pieces, ignore_index=True)
        del pieces
    frames.clear()
    return pd.DataFrame(out)


def union_columns(schemas: Mapping[Path, list[str]]) -> list[str]:
    """Every part's columns in one layout: the input columns of all parts in order of appearance, then voc's
    own (a part's own columns start at ``id``), so no input column of a later file is dropped."""
    inputs: dict[str, None] = {}
    ours: list[str] = []
    for names in schemas.values():
        cut = names.index("id") if "id" in names else 0
        inputs.update(dict.fromkeys(names[:cut]))
        ours = ours or names[cut:]
    return [*inputs, *ours]


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Give a later part exactly the first part's columns and types (missing columns become nulls)."""
    cols = [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
            for f in schema]
    return pa.Table.from_arrays(cols, schema=schema)


def write_enriched(outdir: Path, schemas: Mapping[Path, list[str]], contacts: pd.DataFrame,
                   arrow_types: Mapping[str, pa.DataType], csv_out: bool) -> dict[str, Path]:
    """enriched.parquet (and .csv), part by part, each row with its contact columns (by position: the parts'
    rows in order; ids may repeat — a CRM export, or two files' stems)."""
    pq_path, csv_path = outdir / "enriched.parquet", outdir / "enriched.csv"
    tmp_pq, tmp_csv = pq_path.with_suffix(".parquet.tmp"), csv_path.with_suffix(".csv.tmp")
    columns = union_columns(schemas)
    writer = schema = None
    offset = 0
    for n, p in enumerate(schemas):
        part = pd.read_parquet(p)
        if list(part.columns) != columns:  # files (or JSONL chunks) with other input columns: one layout
            part = part.reindex(columns=columns)
        for col in LIST_COLUMNS:
            if col in part:
                part[col] = part[col].map(lambda v: list(v) if v is not None else [])
        extra = contacts.iloc[offset:offset + len(part)].reset_index(drop=True)
        offset += len(part)
        for col in extra.columns:
            part[col] = extra[col].astype(object).where(extra[col].notna(), None)
        if writer is None:
            schema = pa.schema([pa.field(c, arrow_types.get(c, pa.string())) for c in part.columns])
            writer = pq.ParquetWriter(tmp_pq, schema)
        writer.write_table(_conform(pa.Table.from_pandas(part, preserve_index=False), schema))
        if csv_out:
            safe_csv.write_csv(to_csv_frame(part), tmp_csv, mode="w" if n == 0 else "a", header=n == 0)
    if writer is None:
        to_frame([], []).to_parquet(tmp_pq, index=False)
        if csv_out:
            safe_csv.write_csv(to_frame([], []), tmp_csv)
    else:
        writer.close()
    os.replace(tmp_pq, pq_path)
    files = {"enriched.parquet": pq_path}
    if csv_out:
        os.replace(tmp_csv, csv_path)
        files["enriched.csv"] = csv_path
    return files


def write_errors(outdir: Path, chunk_paths: Sequence[Path]) -> Path:
    """errors.csv: every part's rejected rows, in chunk order."""
    errors = [pd.read_csv(rejected_path(p), dtype=str) for p in chunk_paths]
    errors = [e for e in errors if len(e)]
    frame = pd.concat(errors, ignore_index=True) if errors else rejected_frame([])
    safe_csv.write_csv(frame, outdir / "errors.csv")
    return outdir / "errors.csv"


def assemble(outdir: Path, chunk_paths: Sequence[Path], *, has_tickets: bool, repeat_window_days: float,
             csv_out: bool, aggregate_columns: Sequence[str], arrow_types: Mapping[str, pa.DataType],
             quote_chars: int) -> Assembled:
    """The whole stage: run frame + contact metrics, enriched table, errors.csv."""
    schemas = {p: pq.read_schema(p).names for p in sorted(chunk_paths)}
    frame = load_run_frame(schemas, aggregate_columns, quote_chars)
    release_memory()
    metrics = contact_metrics(frame, repeat_window_days)
    frame["repeat_contact"] = metrics["repeat_contact"]
    if has_tickets:
        frame["fcr"] = metrics["fcr"]
    contacts = frame[[c for c in ("repeat_contact", "fcr") if c in frame]]
    files = write_enriched(outdir, schemas, contacts, arrow_types, csv_out)
    files["errors.csv"] = write_errors(outdir, list(schemas))
    release_memory()
    return Assembled(frame=frame, enriched=files["enriched.parquet"], files=files)
