"""Chunked readers for tabular files: CSV/TSV, XLSX, JSONL, JSON arrays and Parquet.

Every reader yields :class:`TableChunk` objects: a frame of strings ("" = missing) with the original
column names, the 1-based data row number of each row (header not counted; for JSONL the line number)
and the rows that could not be read at all. Memory stays bounded by ``chunk_size`` except for JSON
arrays, which are parsed whole. At least one chunk (possibly empty) is always yielded so that the
caller sees the headers.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from voc.ingest.errors import BAD_JSON, NOT_AN_OBJECT, WRONG_COLUMN_COUNT, IngestError, reject
from voc.ingest.values import cell_to_str
from voc.schema import RejectedRow

DEFAULT_CHUNK_SIZE = 20_000
CSV_DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
TABLE_SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_SNIFF_CHARS = 64 * 1024

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class TableChunk:
    """A slice of a table: string cells, their source row numbers, and rows that could not be read."""

    frame: pd.DataFrame
    rows: list[int]
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        """Source rows read in this chunk: rows in the frame plus unreadable ones."""
        return len(self.frame) + len(self.rejected)


def table_format(path: str | Path) -> str:
    """'csv' | 'xlsx' | 'jsonl' | 'json' | 'parquet' by file extension, or IngestError."""
    suffix = Path(path).suffix.lower()
    if suffix == ".xls":
        raise IngestError(f"{path}: old Excel .xls is not supported; save the sheet as .xlsx or .csv")
    try:
        return TABLE_SUFFIXES[suffix]
    except KeyError:
        supported = ", ".join(sorted(TABLE_SUFFIXES))
        raise IngestError(f"{path}: unsupported file type {suffix or '(none)'!r}; supported: {supported}") from None


def read_table(path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE, encoding: str | None = None,
               ) -> Iterator[TableChunk]:
    """Read any supported table in chunks of at most ``chunk_size`` rows."""
    if chunk_size < 1:
        raise IngestError(f"chunk_size must be a positive number of rows, got {chunk_size}")
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    kind = table_format(path)
    readers = {"csv": read_csv, "xlsx": read_xlsx, "jsonl": read_jsonl, "json": read_json_array,
               "parquet": read_parquet}
    if kind in ("csv", "jsonl", "json"):
        return readers[kind](path, chunk_size, encoding=encoding)
    return readers[kind](path, chunk_size)


# --------------------------------------------------------------------------------------------- CSV


def detect_encoding(path: str | Path) -> str:
    """'utf-8-sig' (BOM), 'utf-16' (BOM), 'utf-8' when the whole file decodes as UTF-8, else 'cp1251'.

    The UTF-8 check streams the file in 1 MiB blocks, so memory stays bounded.
    """
    with open(path, "rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while block := handle.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1251"
    return "utf-8"


def sniff_delimiter(sample: str) -> str:
    """Pick the delimiter among , ; TAB | that splits the header into most columns and rows consistently."""
    best, best_score = ",", (0.0, 0, 0)
    for rank, delimiter in enumerate(CSV_DELIMITERS):
        try:
            records = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if len(records) > 2 and not sample.endswith(("\n", "\r")):
            records = records[:-1]  # the sample may cut the last record
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        body = records[1:] or records
        consistent = sum(len(r) == width for r in body) / len(body)
        score = (consistent, width, -rank)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _unique_headers(raw: Iterable[Any]) -> list[str]:
    headers: list[str] = []
    seen: set[str] = set()
    for i, value in enumerate(raw):
        name = cell_to_str(value).strip() or f"column_{i + 1}"
        base, n = name, 1
        while name in seen:
            name = f"{base}.{n}"
            n += 1
        seen.add(name)
        headers.append(name)
    return headers


def _frame(headers: list[str], rows: list[list[str]]) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in headers]
    return pd.DataFrame({h: pd.Series(list(c), dtype=object) for h, c in zip(headers, columns, strict=True)},
                        columns=headers)


def read_csv(path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE, *, encoding: str | None = None,
             delimiter: str | None = None) -> Iterator[TableChunk]:
    """Stream a CSV/TSV file: encoding and delimiter are detected unless given.

    Rows with more non-empty fields than the header are rejected; shorter rows are padded with "".
    Fully blank lines are skipped (they keep their row number but are not counted as rows).
    """
    path = Path(path)
    encoding = encoding or detect_encoding(path)
    name = str(path)
    try:
        handle = open(path, encoding=encoding, newline="")
    except (OSError, LookupError) as exc:
        raise IngestError(f"{path}: cannot open: {exc}") from None
    with handle:
        row_no = 0  # named by the errors below, also when the first read fails
        try:
            sample = handle.read(_SNIFF_CHARS)
            handle.seek(0)
            delimiter = delimiter or sniff_delimiter(sample)
            reader = csv.reader(handle, delimiter=delimiter)
            headers: list[str] | None = None
            row_no = 0
            yielded = False
            rows: list[list[str]] = []
            numbers: list[int] = []
            rejected: list[RejectedRow] = []
            for record in reader:
                if headers is None:
                    if record and any(c.strip() for c in record):
                        headers = _unique_headers(record)
                    continue
                row_no += 1
                if not record:
                    continue
                width = len(headers)
                if len(record) > width:
                    if any(c.strip() for c in record[width:]):
                        rejected.append(reject(name, row_no, None, WRONG_COLUMN_COUNT,
                                               f"{len(record)} fields, header has {width}: "
                                               + delimiter.join(record)))
                    else:
                        record = record[:width]
                if len(record) < width:
                    record = record + [""] * (width - len(record))
                if len(record) == width:
                    rows.append(record)
                    numbers.append(row_no)
                if len(rows) + len(rejected) >= chunk_size:
                    yield TableChunk(_frame(headers, rows), numbers, rejected)
                    rows, numbers, rejected, yielded = [], [], [], True
        except UnicodeDecodeError as exc:
            raise IngestError(f"{path}: cannot decode as {encoding} near data row {row_no + 1}: {exc.reason}; "
                              "save the file as UTF-8") from None
        except csv.Error as exc:
            raise IngestError(f"{path}: broken CSV near data row {row_no + 1}: {exc}") from None
        if headers is None:
            raise IngestError(f"{path}: the file is empty (no header row)")
        if rows or rejected or not yielded:
            yield TableChunk(_frame(headers, rows), numbers, rejected)


# -------------------------------------------------------------------------------------------- XLSX


def read_xlsx(path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE, sheet: str | None = None,
              ) -> Iterator[TableChunk]:
    """Stream the first (or the named) sheet with openpyxl in read-only mode; dates become ISO strings."""
    from openpyxl import load_workbook

    path = Path(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException on broken files
        raise IngestError(f"{path}: cannot open as an Excel workbook: {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise IngestError(f"{path}: no sheet {sheet!r}; sheets: {book.sheetnames}")
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        headers: list[str] | None = None
        header_index = 0
        yielded = False
        rows: list[list[str]] = []
        numbers: list[int] = []
        for index, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            cells = [cell_to_str(v) for v in values]
            if headers is None:
                if any(c.strip() for c in cells):
                    headers, header_index = _unique_headers(cells), index
                continue
            if not any(c.strip() for c in cells):
                continue
            width = len(headers)
            cells = (cells + [""] * width)[:width]
            rows.append(cells)
            numbers.append(index - header_index)
            if len(rows) >= chunk_size:
                yield TableChunk(_frame(headers, rows), numbers)
                rows, numbers, yielded = [], [], True
        if headers is None:
            raise IngestError(f"{path}: the sheet is empty (no header row)")
        if rows or not yielded:
            yield TableChunk(_frame(headers, rows), numbers)
    finally:
        book.close()


# ------------------------------------------------------------------------------------- JSON / JSONL


def _objects_to_chunk(objects: list[tuple[int, dict[str, Any]]], columns: dict[str, None],
                      rejected: list[RejectedRow]) -> TableChunk:
    for _, obj in objects:
        for key in obj:
            columns.setdefault(str(key), None)
    headers = list(columns)
    rows = [[cell_to_str(obj.get(h)) for h in headers] for _, obj in objects]
    return TableChunk(_frame(headers, rows), [n for n, _ in objects], rejected)


def iter_json_lines(path: str | Path, encoding: str | None = None) -> Iterator[tuple[int, Any, str | None]]:
    """Yield (line number, parsed value or None, error message or None) for each non-blank line."""
    path = Path(path)
    encoding = encoding or detect_encoding(path)
    try:
        with open(path, encoding=encoding, errors="strict") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield line_no, json.loads(line), None
                except json.JSONDecodeError as exc:
                    yield line_no, None, f"{exc.msg} at column {exc.colno}"
                except RecursionError:
                    yield line_no, None, "nested too deeply"
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: cannot decode as {encoding}: {exc.reason}") from None
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from None


def read_jsonl(path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE, *, encoding: str | None = None,
               ) -> Iterator[TableChunk]:
    """Read one JSON object per line; unparseable or non-object lines become RejectedRows."""
    name = str(path)
    columns: dict[str, None] = {}
    objects: list[tuple[int, dict[str, Any]]] = []
    rejected: list[RejectedRow] = []
    yielded = False
    for line_no, value, error in iter_json_lines(path, encoding):
        if error is not None:
            rejected.append(reject(name, line_no, None, BAD_JSON, error))
        elif not isinstance(value, dict):
            rejected.append(reject(name, line_no, None, NOT_AN_OBJECT, json.dumps(value, ensure_ascii=False)))
        else:
            objects.append((line_no, value))
        if len(objects) + len(rejected) >= chunk_size:
            yield _objects_to_chunk(objects, columns, rejected)
            objects, rejected, yielded = [], [], True
    if objects or rejected or not yielded:
        yield _objects_to_chunk(objects, columns, rejected)


def load_json(path: str | Path, encoding: str | None = None) -> Any:
    """Parse a whole JSON document, or IngestError naming the line and column."""
    path = Path(path)
    encoding = encoding or detect_encoding(path)
    try:
        return json.loads(path.read_text(encoding=encoding))
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise IngestError(f"{path}: the JSON is nested too deeply to read") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from None


def json_records(document: Any, path: str | Path) -> list[Any]:
    """The list of records in a JSON document: the array itself, or the only list inside a top object."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        lists = [v for v in document.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
        return [document]
    raise IngestError(f"{path}: expected a JSON array of objects, got {type(document).__name__}")


def _looks_like_jsonl(path: str | Path, encoding: str | None) -> bool:
    for _, value, error in iter_json_lines(path, encoding):
        return error is None and isinstance(value, dict)
    return False


def read_json_array(path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE, *, encoding: str | None = None,
                    ) -> Iterator[TableChunk]:
    """Read a JSON array of objects (parsed whole); the data row is the 1-based array index.

    A .json file that holds JSON Lines (an object per line) is read as JSONL.
    """
    try:
        document = load_json(path, encoding)
    except IngestError:
        if not _looks_like_jsonl(path, encoding):
            raise
        yield from read_jsonl(path, chunk_size, encoding=encoding)
        return
    items = json_records(document, path)
    name = str(path)
    columns: dict[str, None] = {}
    objects: list[tuple[int, dict[str, Any]]] = []
    rejected: list[RejectedRow] = []
    yielded = False
    for index, value in enumerate(items, start=1):
        if isinstance(value, dict):
            objects.append((index, value))
        else:
            rejected.append(reject(name, index, None, NOT_AN_OBJECT, json.dumps(value, ensure_ascii=False)))
        if len(objects) + len(rejected) >= chunk_size:
            yield _objects_to_chunk(objects, columns, rejected)
            objects, rejected, yielded = [], [], True
    if objects or rejected or not yielded:
        yield _objects_to_chunk(objects, columns, rejected)


# ------------------------------------------------------------------------------------------ Parquet


def read_parquet(path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[TableChunk]:
    """Stream a Parquet file with pyarrow ``iter_batches``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise IngestError(f"{path}: cannot open as Parquet: {exc}") from None
    headers = _unique_headers(parquet.schema_arrow.names)
    row_no = 0
    yielded = False
    try:
        for batch in parquet.iter_batches(batch_size=chunk_size):
            columns = [[cell_to_str(v) for v in column.to_pylist()] for column in batch.columns]
            frame = pd.DataFrame({h: pd.Series(c, dtype=object) for h, c in zip(headers, columns, strict=True)},
                                 columns=headers)
            numbers = list(range(row_no + 1, row_no + batch.num_rows + 1))
            row_no += batch.num_rows
            yielded = True
            yield TableChunk(frame, numbers)
    except pa.ArrowException as exc:
        raise IngestError(f"{path}: broken Parquet data after row {row_no}: {exc}") from None
    if not yielded:
        yield TableChunk(_frame(headers, []), [])
