"""Limits that keep a hostile or broken input file from exhausting memory, CPU or the Python stack.

* :func:`check_archive` / :func:`check_xlsx`: read the ZIP directory only (nothing is inflated) and refuse
  archives that expand past ``MAX_UNCOMPRESSED_BYTES`` or compress better than ``MAX_COMPRESSION_RATIO``
  (real spreadsheets compress 4–20×; zip bombs 1,000×). Python's zipfile never inflates a member past its
  declared size (the CRC check fails first), so the directory is a safe upper bound.
* :func:`check_parquet`: the same size/ratio rule over the row groups declared in the Parquet footer.
* :func:`check_depth`: JSON nesting deeper than ``MAX_JSON_DEPTH`` (a text scan, no recursion), before
  ``json.loads`` can hit Python's recursion limit.
* :func:`check_file_size`: whole-document formats (JSON, transcripts) are refused past a size cap.

Every limit is a module constant that an environment variable can raise (``VOC_MAX_UNCOMPRESSED_MB``,
``VOC_MAX_COMPRESSION_RATIO``, ``VOC_MAX_JSON_DEPTH``, ``VOC_MAX_DOCUMENT_MB``); the error message names
the file, the measured value, the limit and the variable.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from voc.ingest.errors import IngestError

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
#: archives smaller than this uncompressed are not ratio-checked (tiny members compress oddly)
RATIO_CHECK_MIN_BYTES = 10 * 1024 * 1024
MAX_ARCHIVE_MEMBERS = 10_000
MAX_JSON_DEPTH = 64
#: JSON documents and transcripts are parsed whole; past this size use JSON Lines
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024

_MB = 1024 * 1024


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def limits() -> dict[str, int]:
    """The limits in force (module constants, raised by the VOC_* environment variables)."""
    return {
        "max_uncompressed_bytes": _env_int("VOC_MAX_UNCOMPRESSED_MB", MAX_UNCOMPRESSED_BYTES // _MB) * _MB,
        "max_compression_ratio": _env_int("VOC_MAX_COMPRESSION_RATIO", MAX_COMPRESSION_RATIO),
        "max_json_depth": _env_int("VOC_MAX_JSON_DEPTH", MAX_JSON_DEPTH),
        "max_document_bytes": _env_int("VOC_MAX_DOCUMENT_MB", MAX_DOCUMENT_BYTES // _MB) * _MB,
    }


def _mb(n: int) -> str:
    return f"{n / _MB:.1f} MB"


# ------------------------------------------------------------------------------------------ archives


def check_archive(path: str | Path, *, what: str = "ZIP archive", max_uncompressed: int | None = None,
                  max_ratio: int | None = None) -> None:
    """Refuse a ZIP whose directory declares more than the allowed uncompressed size or ratio.

    Reads only the central directory. IngestError names the file, the member and the limit.
    """
    path = Path(path)
    limit = limits()
    max_uncompressed = max_uncompressed or limit["max_uncompressed_bytes"]
    max_ratio = max_ratio or limit["max_compression_ratio"]
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except Exception as exc:  # noqa: BLE001 - zipfile raises BadZipFile, OSError, EOFError, ValueError, …
        raise IngestError(f"{path}: not a valid {what} (cannot read the ZIP directory: {exc})") from None
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise IngestError(f"{path}: {what} has {len(members)} members (limit {MAX_ARCHIVE_MEMBERS})")
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if total > max_uncompressed:
        raise IngestError(f"{path}: {what} expands to {_mb(total)} (limit {_mb(max_uncompressed)}; "
                          "raise VOC_MAX_UNCOMPRESSED_MB or save the data as CSV)")
    if total < RATIO_CHECK_MIN_BYTES:
        return
    worst = max(members, key=lambda m: m.file_size / max(m.compress_size, 1))
    ratio = total / max(packed, 1)
    worst_ratio = worst.file_size / max(worst.compress_size, 1)
    if ratio > max_ratio or (worst.file_size >= RATIO_CHECK_MIN_BYTES and worst_ratio > max_ratio):
        raise IngestError(f"{path}: {what} member {worst.filename!r} expands {worst_ratio:.0f}× "
                          f"({_mb(worst.compress_size)} → {_mb(worst.file_size)}; limit {max_ratio}×, "
                          "VOC_MAX_COMPRESSION_RATIO): refusing a possible zip bomb")


def check_xlsx(path: str | Path) -> None:
    """:func:`check_archive` for an Excel workbook (call before openpyxl or pandas opens it)."""
    check_archive(path, what="Excel workbook")


def check_parquet(metadata: Any, path: str | Path) -> None:
    """Refuse a Parquet file whose row groups declare more than the allowed uncompressed size or ratio.

    ``metadata`` is ``pyarrow.parquet.ParquetFile(path).metadata`` (the footer only).
    """
    limit = limits()
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        total = group.total_byte_size
        packed = sum(group.column(c).total_compressed_size for c in range(group.num_columns))
        if total < RATIO_CHECK_MIN_BYTES:
            continue
        ratio = total / max(packed, 1)
        if total > limit["max_uncompressed_bytes"] and ratio > limit["max_compression_ratio"]:
            raise IngestError(f"{path}: Parquet row group {i} expands {ratio:.0f}× to {_mb(total)} "
                              f"(limits {_mb(limit['max_uncompressed_bytes'])} and "
                              f"{limit['max_compression_ratio']}×): refusing a possible decompression bomb")


def check_file_size(path: str | Path, what: str) -> int:
    """The file size, or IngestError when a whole-document format is over ``MAX_DOCUMENT_BYTES``."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from None
    cap = limits()["max_document_bytes"]
    if size > cap:
        raise IngestError(f"{path}: {what} of {_mb(size)} is read whole; limit {_mb(cap)} "
                          "(VOC_MAX_DOCUMENT_MB) — split it or use JSON Lines")
    return size


# ---------------------------------------------------------------------------------------------- JSON

#: a string literal (atomic: no backtracking), a bracket, or an unterminated quote
_TOKEN = re.compile(r'"(?>[^"\\]*(?:\\.[^"\\]*)*)"|[\[\]{}]|"', re.S)


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def text_depth_exceeds(text: str, limit: int) -> int | None:
    """Index in ``text`` where JSON nesting first goes deeper than ``limit``, None when it never does.

    Brackets inside string literals do not count; the scan stops at an unterminated string (a JSON parser
    stops there too). Linear time; no recursion.
    """
    if text.count("[") + text.count("{") <= limit:
        return None
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token == '"':
            return None
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return match.start()
        elif token in ("]", "}"):
            depth = max(0, depth - 1)
    return None


def value_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (lists/dicts; a scalar is 0), computed without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children if isinstance(child, (dict, list, tuple)))
    return deepest


def check_depth(obj_or_text: Any, limit: int | None = None, where: str = "JSON") -> None:
    """IngestError when JSON text (str/bytes) or a parsed value nests deeper than ``limit`` (default 64).

    ``where`` names the file (and line) for the message.
    """
    limit = limit or limits()["max_json_depth"]
    if isinstance(obj_or_text, (bytes, bytearray)):
        obj_or_text = bytes(obj_or_text).decode("utf-8", errors="replace")
    if isinstance(obj_or_text, str):
        index = text_depth_exceeds(obj_or_text, limit)
        if index is not None:
            line, column = _line_col(obj_or_text, index)
            raise IngestError(f"{where}: JSON nested deeper than {limit} levels at line {line}, column {column}")
        return
    if value_depth(obj_or_text) > limit:
        raise IngestError(f"{where}: JSON nested deeper than {limit} levels")


def parse_json(text: str, where: str, limit: int | None = None) -> Any:
    """``json.loads`` after :func:`check_depth`. JSON syntax errors (``json.JSONDecodeError``) pass through;
    other ValueErrors (a 5,000-digit integer) become JSONDecodeError-like IngestErrors naming ``where``."""
    check_depth(text, limit, where)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as exc:
        raise IngestError(f"{where}: invalid JSON: {exc}") from None


# ------------------------------------------------------------------------------------ bad Unicode

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: a JSON \\uD800-\\uDFFF escape (a lone surrogate after parsing unless it is half of a pair)
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (an escaped bad byte, or a JSON \\uD800 escape)."""
    return _LONE_SURROGATE.search(text) is not None


def find_lone_surrogate(value: Any, path: str = "") -> str | None:
    """JSON path ("text", "messages[2].text", "<key>") of the first string holding a lone surrogate."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return at or "<value>"
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                name = f"{at}.{key}" if at else str(key)
                if isinstance(key, str) and _LONE_SURROGATE.search(key):
                    return _LONE_SURROGATE.sub("\ufffd", name)
                stack.append((child, name))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, f"{at}[{i}]") for i, child in reversed(list(enumerate(item))))
    return None


def unescape_surrogates(text: str) -> str:
    """Lone surrogates → U+FFFD (for showing a value or naming a header)."""
    return _LONE_SURROGATE.sub("\ufffd", text)
