"""Checks and storage of batch uploads: allowed formats, YAML configs, a first-rows read of the file."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import UploadFile

from api.problems import ProblemError

FEEDBACK_SUFFIXES = (".csv", ".xlsx", ".jsonl", ".ndjson", ".parquet", ".json")
CONFIG_SUFFIXES = (".yaml", ".yml")
PREVIEW_ROWS = 50


def _suffix(upload: UploadFile, field: str, allowed: tuple[str, ...]) -> str:
    name = upload.filename or ""
    suffix = Path(name).suffix.lower()
    if suffix not in allowed:
        raise ProblemError(415, f"{field}: unsupported file type {suffix or '(none)'!r}",
                           [(["body", field], f"expected a file ending in one of {', '.join(allowed)}")])
    return suffix


def save_upload(upload: UploadFile, field: str, dest_dir: Path, allowed: tuple[str, ...]) -> Path:
    """Write an upload to ``dest_dir/<field><suffix>`` (the client's file name is never used as a path)."""
    suffix = _suffix(upload, field, allowed)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{field}{suffix}"
    upload.file.seek(0)
    with open(dest, "wb") as out:
        shutil.copyfileobj(upload.file, out, 1 << 20)
    if dest.stat().st_size == 0:
        raise ProblemError(422, f"{field}: the file is empty", [(["body", field], "expected a non-empty file")])
    return dest


def check_feedback_file(path: Path, text_col: str | None) -> None:
    """Read the first rows the way the batch will; a broken file, wrong encoding or missing text column
    is a 422 now instead of a failed job later."""
    from voc.ingest import ColumnMapping, read_feedback
    from voc.ingest.errors import IngestError

    mapping = ColumnMapping(text=text_col) if text_col else None
    try:
        for _chunk in read_feedback(path, mapping, chunk_size=PREVIEW_ROWS):
            break
    except IngestError as exc:
        raise ProblemError(422, f"file: {exc}".replace(str(path), path.name),
                           [(["body", "file"], "expected a readable CSV/XLSX/JSONL/Parquet/JSON table with a text "
                                               "column")]) from None
    except (ValueError, OSError, UnicodeError) as exc:
        raise ProblemError(422, f"file: cannot read it ({type(exc).__name__})",
                           [(["body", "file"], "expected a readable CSV/XLSX/JSONL/Parquet/JSON table")]) from None


def check_config(path: Path, field: str) -> None:
    """journey / taxonomy YAML must load with voc.config's validators."""
    from voc.config import load_journey, load_taxonomy

    loader = {"journey": load_journey, "taxonomy": load_taxonomy}[field]
    try:
        loader(path)
    except (ValueError, OSError) as exc:
        raise ProblemError(422, f"{field}: {exc}".replace(str(path), path.name),
                           [(["body", field], f"expected a valid {field} YAML file")]) from None


def check_tickets_file(path: Path) -> None:
    from voc.ingest.errors import IngestError
    from voc.ingest.tickets import read_tickets

    try:
        read_tickets(path)
    except IngestError as exc:
        raise ProblemError(422, f"tickets: {exc}".replace(str(path), path.name),
                           [(["body", "tickets"], "expected a readable ticket export")]) from None
