"""Chunked readers for tabular files: CSV/TSV, XLSX, JSONL, JSON arrays and Parquet.

Every reader yields :class:`TableChunk` objects: a frame of strings ("" = missing) with the original
column names, the 1-based data row number of each row (header not counted; for JSONL the line number)
and the rows that could not be read at all. Memory stays bounded by ``chunk_size`` except for JSON
arrays, which are parsed whole. At least one chunk (possibly empty) is always yielded so that the
caller sees the headers.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from voc.ingest.encoding import (
    ESCAPE_ERRORS,
    ESCAPED,
    EncodingDecision,
    decide_encoding,
    describe_bad_bytes,
    detect_encoding,  # noqa: F401 - re-exported for existing callers
    unescape,
)
from voc.ingest.errors import (
    BAD_JSON,
    BAD_UNICODE,
    NOT_AN_OBJECT,
    TOO_DEEP,
    UNDECODABLE,
    WRONG_COLUMN_COUNT,
    IngestError,
    reject,
)
from voc.ingest.safety import (
    SURROGATE_ESCAPE,
    check_depth,
    check_file_size,
    check_parquet,
    check_xlsx,
    find_lone_surrogate,
    has_lone_surrogate,
    parse_json,
    unescape_surrogates,
)
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
#: more columns than this (Excel's own limit) is refused
MAX_COLUMNS = 16_384
#: a CSV field with more line breaks than this is taken for an unclosed quote that swallowed the file
MAX_FIELD_LINES = 1_000

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class TableChunk:
    """A slice of a table: string cells, their source row numbers, and rows that could not be read."""

    frame: pd.DataFrame
    rows: list[int]
    rejected: list[RejectedRow] = field(default_factory=list)
    #: how the text was decoded (CSV/JSON/JSONL); None for XLSX and Parquet
    encoding: EncodingDecision | None = None

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
    readers: dict[str, Callable[..., Iterator[TableChunk]]] = {"csv": read_csv, "xlsx": read_xlsx, "jsonl": read_jsonl, "json": read_json_array,
               "parquet": read_parquet}
    if kind in ("csv", "jsonl", "json"):
        return readers[kind](path, chunk_size, encoding=encoding)
    return readers[kind](path, chunk_size)


# --------------------------------------------------------------------------------------------- CSV


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
    """An object-dtype frame (one block: fast even for wide tables)."""
    return pd.DataFrame(rows, columns=headers, dtype=object)


def _check_width(headers: list[str], path: Path | str) -> list[str]:
    if len(headers) > MAX_COLUMNS:
        raise IngestError(f"{path}: {len(headers)} columns (limit {MAX_COLUMNS}); is the delimiter right?")
    return headers


def _bad_field(record: list[str]) -> int:
    """Index of the first field holding an escaped undecodable byte."""
    return next(k for k, cell in enumerate(record) if ESCAPED.search(cell))


def read_csv(path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE, *, encoding: str | None = None,
             delimiter: str | None = None) -> Iterator[TableChunk]:
    """Stream a CSV/TSV file: encoding (:func:`decide_encoding`) and delimiter are detected unless given.

    Rows with more non-empty fields than the header are rejected; shorter rows are padded with "".
    Fully blank lines are skipped (they keep their row number but are not counted as rows). A row holding
    bytes the chosen encoding cannot decode is rejected naming the field and the byte offset.
    """
    path = Path(path)
    decision = decide_encoding(path, encoding)
    name = str(path)
    check_bytes = decision.bad_bytes > 0
    escapes = 0  # escaped bad bytes met so far, in file order
    row_no = 0
    try:
        handle = open(path, encoding=decision.encoding, errors=ESCAPE_ERRORS, newline="")
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
            yielded = False
            rows: list[list[str]] = []
            numbers: list[int] = []
            rejected: list[RejectedRow] = []
            lines_read = 0
            for record in reader:
                if reader.line_num - lines_read > MAX_FIELD_LINES:
                    raise IngestError(f"{path}: data row {row_no + 1} runs over {reader.line_num - lines_read} "
                                      "lines: an unclosed quote? Fix the quote or save the file again")
                lines_read = reader.line_num
                bad = len(ESCAPED.findall("\x00".join(record))) if check_bytes else 0
                if headers is None:
                    if record and any(c.strip() for c in record):
                        headers = _check_width(_unique_headers([unescape(c) for c in record] if bad else record),
                                               path)
                    escapes += bad
                    continue
                row_no += 1
                if not record:
                    continue
                width = len(headers)
                if bad:
                    k = _bad_field(record)
                    field = headers[k] if k < width else f"column_{k + 1}"
                    rejected.append(reject(name, row_no, field, UNDECODABLE,
                                           f"{describe_bad_bytes(record[k], decision, escapes)}: "
                                           f"{unescape(record[k])}"))
                    escapes += bad
                elif len(record) > width and any(c.strip() for c in record[width:]):
                    rejected.append(reject(name, row_no, None, WRONG_COLUMN_COUNT,
                                           f"{len(record)} fields, header has {width}: " + delimiter.join(record)))
                else:
                    record = record[:width] + [""] * (width - len(record))
                    rows.append(record)
                    numbers.append(row_no)
                if len(rows) + len(rejected) >= chunk_size:
                    yield TableChunk(_frame(headers, rows), numbers, rejected, decision)
                    rows, numbers, rejected, yielded = [], [], [], True
        except UnicodeDecodeError as exc:
            raise IngestError(f"{path}: cannot decode as {decision.encoding} near data row {row_no + 1}: "
                              f"{exc.reason}; save the file as UTF-8") from None
        except csv.Error as exc:
            raise IngestError(f"{path}: broken CSV near data row {row_no + 1}: {exc}") from None
        if headers is None:
            raise IngestError(f"{path}: the file is empty (no header row)")
        if rows or rejected or not yielded:
            yield TableChunk(_frame(headers, rows), numbers, rejected, decision)


# -------------------------------------------------------------------------------------------- XLSX

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
#: unnamed columns after the last header are kept (as column_N) up to this sheet width
KEEP_UNNAMED_UP_TO = 256
#: header width × rows read is capped (a 40-byte row can declare 16,384 columns)
MAX_XLSX_CELLS = 100_000_000


def _declared_width(worksheet: Any, path: Path) -> int | None:
    """The column count the sheet declares (None when absent or the common "A1" placeholder); a size past
    Excel's limits is an IngestError."""
    max_row, max_col = worksheet.max_row, worksheet.max_column
    if max_row is None or max_col is None or (max_row, max_col) == (1, 1):
        return None
    if max_row > EXCEL_MAX_ROWS or max_col > EXCEL_MAX_COLUMNS:
        raise IngestError(f"{path}: the sheet declares {max_row} rows × {max_col} columns; Excel allows "
                          f"{EXCEL_MAX_ROWS} × {EXCEL_MAX_COLUMNS}")
    return max_col


def _header_width(cells: list[str], declared: int | None) -> int:
    """Columns of the table: through the last named header, plus unnamed ones a narrow sheet declares."""
    last = max(k for k, c in enumerate(cells) if c.strip()) + 1
    return max(last, min(declared or 0, len(cells), KEEP_UNNAMED_UP_TO))


def _has_values(values: tuple[Any, ...]) -> bool:
    """Whether any cell is non-blank (the C-level None count first: sheets pad rows with None)."""
    if values.count(None) == len(values):
        return False
    return any(cell_to_str(v).strip() for v in values if v is not None)


def read_xlsx(path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE, sheet: str | None = None,
              ) -> Iterator[TableChunk]:
    """Stream the first (or the named) sheet with openpyxl in read-only mode; dates become ISO strings.

    The ZIP directory is checked first (:func:`voc.ingest.safety.check_xlsx`). The first non-empty row is
    the header; a row with values past the table's columns is rejected like a CSV row with extra fields.
    """
    from openpyxl import load_workbook

    path = Path(path)
    check_xlsx(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises zipfile/KeyError/XML/InvalidFileException errors
        raise IngestError(f"{path}: cannot open as an Excel workbook: {type(exc).__name__}: {exc}") from None
    name = str(path)
    index = 0
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise IngestError(f"{path}: no sheet {sheet!r}; sheets: {book.sheetnames}")
        if not book.worksheets:
            raise IngestError(f"{path}: the workbook has no sheets")
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        declared = _declared_width(worksheet, path)
        if declared is None:
            worksheet.reset_dimensions()
        values_iter = worksheet.iter_rows(values_only=True, max_col=declared, max_row=EXCEL_MAX_ROWS)
        headers: list[str] = []
        header_index = width = cells_read = 0
        yielded = False
        blank: Any = None  # openpyxl yields one shared tuple for every missing row
        rows: list[list[str]] = []
        numbers: list[int] = []
        rejected: list[RejectedRow] = []
        for index, values in enumerate(values_iter, start=1):
            if index > EXCEL_MAX_ROWS:
                raise IngestError(f"{path}: more than {EXCEL_MAX_ROWS} sheet rows")
            if values is blank or not _has_values(values):
                blank = values
                continue
            if not headers:
                cells = [cell_to_str(v) for v in values]
                width = _header_width(cells, declared)
                headers = _check_width(_unique_headers(unescape_surrogates(c) for c in cells[:width]), path)
                header_index = index
                continue
            cells_read += width
            if cells_read > MAX_XLSX_CELLS:
                raise IngestError(f"{path}: more than {MAX_XLSX_CELLS} cells ({width} columns); save it as CSV")
            row_no = index - header_index
            cells = [cell_to_str(v) for v in values[:width]]
            bad = next((k for k, c in enumerate(cells) if has_lone_surrogate(c)), None)
            if bad is not None:
                rejected.append(reject(name, row_no, headers[bad], BAD_UNICODE, unescape_surrogates(cells[bad])))
            elif len(values) > width and _has_values(values[width:]):
                extra = [cell_to_str(v) for v in values[width:] if v is not None]
                rejected.append(reject(name, row_no, None, WRONG_COLUMN_COUNT,
                                       f"values past the {width} header columns: " + " | ".join(extra)))
            else:
                rows.append(cells + [""] * (width - len(cells)))
                numbers.append(row_no)
            if len(rows) + len(rejected) >= chunk_size:
                yield TableChunk(_frame(headers, rows), numbers, rejected)
                rows, numbers, rejected, yielded = [], [], [], True
        if not headers:
            raise IngestError(f"{path}: the sheet is empty (no header row)")
        if rows or rejected or not yielded:
            yield TableChunk(_frame(headers, rows), numbers, rejected)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - malformed sheet XML surfaces as many exception types
        raise IngestError(f"{path}: broken Excel sheet data near sheet row {index + 1}: "
                          f"{type(exc).__name__}: {exc}") from None
    finally:
        book.close()


# ------------------------------------------------------------------------------------- JSON / JSONL


class LineError(str):
    """The message of a JSON line that cannot be used, with the rejection reason and field it maps to.

    A ``str`` so that callers that only read the message keep working.
    """

    reason: str = BAD_JSON
    field: str | None = None

    @classmethod
    def make(cls, message: str, reason: str = BAD_JSON, field: str | None = None) -> LineError:
        error = cls(message)
        error.reason, error.field = reason, field
        return error


def _objects_to_chunk(objects: list[tuple[int, dict[str, Any]]], columns: dict[str, None],
                      rejected: list[RejectedRow], decision: EncodingDecision | None, path: str | Path,
                      ) -> TableChunk:
    for _, obj in objects:
        for key in obj:
            columns.setdefault(str(key), None)
    headers = _check_width(list(columns), path)
    rows = [[cell_to_str(obj.get(h)) for h in headers] for _, obj in objects]
    return TableChunk(_frame(headers, rows), [n for n, _ in objects], rejected, decision)


def _unicode_problem(value: Any, raw: str, bad: int, decision: EncodingDecision, escapes: int,
                     ) -> LineError | None:
    """A LineError when a parsed value holds an escaped bad byte or a lone-surrogate JSON escape."""
    if not bad and not SURROGATE_ESCAPE.search(raw):
        return None
    at = find_lone_surrogate(value)
    if at is None:
        return None
    if bad:
        return LineError.make(f"{at}: {describe_bad_bytes(raw, decision, escapes)}", UNDECODABLE, at)
    return LineError.make(f"{at}: a \\uD800-\\uDFFF escape that is not part of a surrogate pair", BAD_UNICODE, at)


def _json_line(line: str, where: str, bad: int, decision: EncodingDecision, escapes: int,
               ) -> tuple[Any, LineError | None]:
    try:
        check_depth(line, where=where)
        value = json.loads(line)
    except IngestError as exc:
        return None, LineError.make(str(exc).removeprefix(f"{where}: "), TOO_DEEP)
    except json.JSONDecodeError as exc:
        note = f" ({describe_bad_bytes(line, decision, escapes)})" if bad else ""
        return None, LineError.make(f"{exc.msg} at column {exc.colno}{note}")
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        return None, LineError.make(str(exc))
    return value, _unicode_problem(value, line, bad, decision, escapes)


def iter_json_lines(path: str | Path, encoding: str | None = None) -> Iterator[tuple[int, Any, str | None]]:
    """Yield (line number, parsed value or None, error or None) for each non-blank line.

    The error is a :class:`LineError` (a str with ``reason`` and ``field``): invalid JSON, nesting deeper
    than the limit, an undecodable byte or a lone-surrogate escape in a value.
    """
    path = Path(path)
    decision = decide_encoding(path, encoding)
    escapes = 0
    try:
        with open(path, encoding=decision.encoding, errors=ESCAPE_ERRORS) as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                bad = len(ESCAPED.findall(line)) if decision.bad_bytes else 0
                value, error = _json_line(line, f"{path}: line {line_no}", bad, decision, escapes)
                escapes += bad
                yield line_no, (None if error else value), error
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: cannot decode as {decision.encoding}: {exc.reason}") from None
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from None


def read_jsonl(path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE, *, encoding: str | None = None,
               ) -> Iterator[TableChunk]:
    """Read one JSON object per line; unusable or non-object lines become RejectedRows."""
    name = str(path)
    decision = decide_encoding(path, encoding)
    columns: dict[str, None] = {}
    objects: list[tuple[int, dict[str, Any]]] = []
    rejected: list[RejectedRow] = []
    yielded = False
    for line_no, value, error in iter_json_lines(path, encoding):
        if error is not None:
            rejected.append(reject(name, line_no, getattr(error, "field", None),
                                   getattr(error, "reason", BAD_JSON), error))
        elif not isinstance(value, dict):
            rejected.append(reject(name, line_no, None, NOT_AN_OBJECT, json.dumps(value, ensure_ascii=False)))
        else:
            objects.append((line_no, value))
        if len(objects) + len(rejected) >= chunk_size:
            yield _objects_to_chunk(objects, columns, rejected, decision, path)
            objects, rejected, yielded = [], [], True
    if objects or rejected or not yielded:
        yield _objects_to_chunk(objects, columns, rejected, decision, path)


def read_text_document(path: str | Path, what: str, encoding: str | None = None,
                       ) -> tuple[str, EncodingDecision]:
    """A whole text file (size-capped) decoded with escapes for bad bytes, and the encoding decision."""
    path = Path(path)
    check_file_size(path, what)
    decision = decide_encoding(path, encoding)
    try:
        with open(path, encoding=decision.encoding, errors=ESCAPE_ERRORS, newline="") as handle:
            return handle.read(), decision
    except (OSError, LookupError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from None


def require_decodable(text: str, decision: EncodingDecision, path: str | Path) -> None:
    """IngestError naming the first undecodable byte (offset, line) when a whole-file reader meets one."""
    match = ESCAPED.search(text)
    if match is None:
        return
    line = text.count("\n", 0, match.start()) + 1
    raise IngestError(f"{path}: line {line}: {describe_bad_bytes(text[match.start():], decision, 0)}; "
                      f"{decision.bad_bytes} undecodable byte(s) in all — save the file as UTF-8")


def parse_json_document(text: str, path: str | Path) -> Any:
    """``json.loads`` with the nesting check; any failure is an IngestError naming line and column."""
    try:
        return parse_json(text.removeprefix("\ufeff"), str(path))
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def load_json(path: str | Path, encoding: str | None = None) -> Any:
    """Parse a whole JSON document, or IngestError naming the line and column (or the JSON path of a
    lone-surrogate escape, or the offset of an undecodable byte)."""
    text, decision = read_text_document(path, "JSON document", encoding)
    require_decodable(text, decision, path)
    document = parse_json_document(text, path)
    if SURROGATE_ESCAPE.search(text):
        at = find_lone_surrogate(document)
        if at is not None:
            raise IngestError(f"{path}: {at}: a \\uD800-\\uDFFF escape that is not part of a surrogate pair")
    return document


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

    A .json file that holds JSON Lines (an object per line) is read as JSONL. An element holding an
    undecodable byte or a lone-surrogate escape is rejected naming its field.
    """
    text, decision = read_text_document(path, "JSON document", encoding)
    try:
        document = parse_json_document(text, path)
    except IngestError:
        if not _looks_like_jsonl(path, encoding):
            raise
        yield from read_jsonl(path, chunk_size, encoding=encoding)
        return
    items = json_records(document, path)
    check_unicode = decision.bad_bytes > 0 or SURROGATE_ESCAPE.search(text) is not None
    name = str(path)
    columns: dict[str, None] = {}
    objects: list[tuple[int, dict[str, Any]]] = []
    rejected: list[RejectedRow] = []
    yielded = False
    for index, value in enumerate(items, start=1):
        at = find_lone_surrogate(value) if check_unicode else None
        if at is not None:
            raw = json.dumps(value, ensure_ascii=False)
            shown = unescape_surrogates(raw)
            if decision.bad_bytes and ESCAPED.search(raw):
                described = describe_bad_bytes(raw, decision, None)
                rejected.append(reject(name, index, at, UNDECODABLE, f"{described}: {shown}"))
            else:
                rejected.append(reject(name, index, at, BAD_UNICODE, shown))
        elif isinstance(value, dict):
            objects.append((index, value))
        else:
            rejected.append(reject(name, index, None, NOT_AN_OBJECT, json.dumps(value, ensure_ascii=False)))
        if len(objects) + len(rejected) >= chunk_size:
            yield _objects_to_chunk(objects, columns, rejected, decision, path)
            objects, rejected, yielded = [], [], True
    if objects or rejected or not yielded:
        yield _objects_to_chunk(objects, columns, rejected, decision, path)


# ------------------------------------------------------------------------------------------ Parquet


def read_parquet(path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[TableChunk]:
    """Stream a Parquet file with pyarrow ``iter_batches`` (row groups checked by
    :func:`voc.ingest.safety.check_parquet` first)."""
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        parquet = pq.ParquetFile(path)
        check_parquet(parquet.metadata, path)
        headers = _check_width(_unique_headers(parquet.schema_arrow.names), path)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowException, OSError, ValueError, …
        raise IngestError(f"{path}: cannot open as Parquet: {type(exc).__name__}: {exc}") from None
    row_no = 0
    yielded = False
    try:
        for batch in parquet.iter_batches(batch_size=chunk_size):
            columns = [[cell_to_str(v) for v in column.to_pylist()] for column in batch.columns]
            frame = _frame(headers, [list(row) for row in zip(*columns, strict=True)] if columns else [])
            numbers = list(range(row_no + 1, row_no + batch.num_rows + 1))
            row_no += batch.num_rows
            yielded = True
            yield TableChunk(frame, numbers)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - broken pages/encodings surface as many exception types
        raise IngestError(f"{path}: broken Parquet data after row {row_no}: {type(exc).__name__}: {exc}") from None
    if not yielded:
        yield TableChunk(_frame(headers, []), [])
