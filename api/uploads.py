"""Checks and storage of batch uploads: allowed formats, cheap content checks, YAML configs.

The API process never parses a large upload: XLSX gets a zip-directory check only (total uncompressed
size and compression ratio, so a shared-strings bomb is refused before anything inflates it), Parquet its
footer (schema, rows, uncompressed size), JSON arrays are test-read only up to ``preview_max_mb``, and the
streaming formats (CSV, JSONL) only their first rows. Everything else is the batch worker's job, and a
file it cannot read fails the job with the reason.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from fastapi import UploadFile

from voc_api.pii import mask_text
from voc_api.problems import ProblemError
from voc_api.settings import Settings

FEEDBACK_SUFFIXES = (".csv", ".xlsx", ".jsonl", ".ndjson", ".parquet", ".json")
CONFIG_SUFFIXES = (".yaml", ".yml")
PREVIEW_ROWS = 50
MAX_CONFIG_BYTES = 1 << 20
#: below this uncompressed size a zip member's ratio is not judged (tiny XML parts compress very well)
RATIO_MIN_BYTES = 1 << 20
_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_TABLE_HINT = "expected a readable CSV/XLSX/JSONL/Parquet/JSON table with a text column"


def display_name(filename: str | None, fallback: str = "upload") -> str:
    """The client's file name as shown back and stored (reports, errors, job rows, webhooks): the last path
    part, no control characters, personal data in it masked (a call recording named after a phone number)."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = _UNSAFE_NAME_CHARS.sub("", name).strip()[:200]
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or len(suffix) > 10:
        stem, dot, suffix = name, "", ""
    masked = mask_text(stem, 200) + dot + suffix
    return masked or fallback


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


def _problem(field: str, detail: str, expected: str, kind: str | None = None) -> ProblemError:
    return ProblemError(422, f"{field}: {detail}", [(["body", field], expected)], kind=kind)


def xlsx_problem(path: Path, max_uncompressed: int, max_ratio: float) -> str | None:
    """Why an XLSX file must not be opened (not a zip, too large uncompressed, compressed too well), or None.

    Reads the zip's central directory only; ``zipfile`` never inflates a member past the size the directory
    declares, so these numbers bound what the worker's reader can allocate.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "not an Excel workbook (.xlsx is a zip archive)"
    if not any(m.filename == "xl/workbook.xml" for m in members):
        return "not an Excel workbook (no xl/workbook.xml)"
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    mb = 1024 * 1024
    if total > max_uncompressed:
        return (f"unpacks to {total / mb:.0f} MB, more than the limit of {max_uncompressed / mb:.0f} MB; "
                "split the workbook or upload CSV")
    for m in members:
        if m.file_size >= RATIO_MIN_BYTES and m.file_size > max_ratio * max(m.compress_size, 1):
            return (f"part {m.filename} unpacks {m.file_size / max(m.compress_size, 1):.0f}× (limit {max_ratio:.0f}×): "
                    "refused as a possible zip bomb")
    if total >= RATIO_MIN_BYTES and total > max_ratio * max(packed, 1):
        return f"unpacks {total / max(packed, 1):.0f}× (limit {max_ratio:.0f}×): refused as a possible zip bomb"
    return None


def check_xlsx_upload(path: Path, field: str, settings: Settings) -> None:
    """The zip-bomb check, ours (with the service's limits) and the ingest reader's when it has one."""
    why = xlsx_problem(path, int(settings.max_uncompressed_mb * 1024 * 1024), settings.max_compression_ratio)
    if why is None:
        from voc.ingest.errors import IngestError
        from voc.ingest.safety import check_xlsx  # the ingest reader's own guard (same idea, its limits)

        try:
            check_xlsx(path)
        except IngestError as exc:
            why = str(exc).replace(str(path), "").lstrip(": ") or "refused as unsafe"
    if why is not None:
        raise _problem(field, why, "expected an .xlsx workbook within the size and compression limits",
                       kind="unsafe-archive")


def _parquet_headers(path: Path, field: str, settings: Settings) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path)
        names = list(meta.schema_arrow.names)
        md = meta.metadata
        total = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise _problem(field, f"cannot read it as Parquet ({type(exc).__name__})", _TABLE_HINT) from None
    limit = settings.max_uncompressed_mb * 1024 * 1024
    if total > limit:
        raise _problem(field, f"unpacks to {total / 2**20:.0f} MB, more than the limit of "
                              f"{settings.max_uncompressed_mb:.0f} MB", "expected a smaller Parquet file",
                       kind="unsafe-archive")
    return names


def _ingest_problem(field: str, exc: Exception, path: Path, shown: str) -> ProblemError:
    return _problem(field, str(exc).replace(str(path), shown), _TABLE_HINT)


def check_feedback_file(path: Path, text_col: str | None, settings: Settings, shown: str,
                        mapping: Any | None = None) -> None:
    """Cheap checks of the feedback upload (see the module docstring); a broken file, a missing text column
    or, for a small file read whole, rows that are all rejected are a 422 now instead of a failed job later.
    ``mapping``: the upload's column mapping (voc.ingest.ColumnMapping), else one from ``text_col``."""
    from voc.ingest import ColumnMapping, read_feedback
    from voc.ingest.errors import IngestError
    from voc.ingest.mapping import resolve_mapping

    suffix = path.suffix.lower()
    if mapping is None:
        mapping = ColumnMapping(text=text_col) if text_col else None
    if suffix == ".xlsx":
        check_xlsx_upload(path, "file", settings)
        return
    if suffix == ".parquet":
        headers = _parquet_headers(path, "file", settings)
        try:
            resolve_mapping(headers, mapping, file=shown)
        except IngestError as exc:
            raise _ingest_problem("file", exc, path, shown) from None
        return
    if suffix == ".json" and path.stat().st_size > settings.preview_max_mb * 1024 * 1024:
        return  # a JSON array is parsed whole: the worker does it
    try:
        chunks = read_feedback(path, mapping, chunk_size=PREVIEW_ROWS)
        first = next(chunks, None)
        whole = first is not None and next(chunks, None) is None
    except IngestError as exc:
        raise _ingest_problem("file", exc, path, shown) from None
    except (ValueError, OSError, UnicodeError, RecursionError) as exc:
        raise _problem("file", f"cannot read it ({type(exc).__name__})", _TABLE_HINT) from None
    if first is not None and whole and first.rows_in > 0 and first.rows_out == 0:
        reasons = sorted({r.reason for r in first.rejected})
        raise ProblemError(422, f"file: every one of its {first.rows_in} rows was rejected ({'; '.join(reasons)}); "
                                "nothing to analyse",
                           [(["body", "file", r.row or 0, r.field or "?"], r.reason) for r in first.rejected[:20]],
                           kind="no-usable-rows")


def check_config(path: Path, field: str, shown: str) -> None:
    """journey / taxonomy / causes / columns YAML: small, no aliases (no "billion laughs"), and valid for
    voc.config (the column mapping: for voc.ingest.ColumnMapping)."""
    from voc.config import load_causes, load_journey, load_taxonomy
    from voc.ingest import ColumnMapping

    expected = f"expected a valid {field} YAML file"
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise _problem(field, f"larger than {MAX_CONFIG_BYTES // 1024} KB", expected)
    try:
        text = path.read_text(encoding="utf-8")
        if any(isinstance(t, yaml.AliasToken) for t in yaml.scan(text)):
            raise _problem(field, "YAML aliases (*name) are not accepted", expected)
    except UnicodeDecodeError:
        raise _problem(field, "not UTF-8 text", expected) from None
    except yaml.YAMLError as exc:
        raise _problem(field, f"not valid YAML ({type(exc).__name__})", expected) from None
    loaders: dict[str, Callable[[Path], object]] = {
        "journey": load_journey, "taxonomy": load_taxonomy, "causes": load_causes, "columns": ColumnMapping.from_yaml}
    loader = loaders[field]
    try:
        loader(path)
    except (ValueError, OSError, RecursionError) as exc:
        raise _problem(field, str(exc).replace(str(path), shown), expected) from None


def check_tickets_file(path: Path, settings: Settings, shown: str) -> None:
    """Tickets are read whole by the reader: only small files are test-read here; XLSX gets the bomb check."""
    from voc.ingest.errors import IngestError
    from voc.ingest.tickets import read_tickets

    if path.suffix.lower() == ".xlsx":
        check_xlsx_upload(path, "tickets", settings)
        return
    if path.suffix.lower() == ".parquet":
        _parquet_headers(path, "tickets", settings)
        return
    if path.stat().st_size > settings.preview_max_mb * 1024 * 1024:
        return
    try:
        read_tickets(path)
    except IngestError as exc:
        raise _problem("tickets", str(exc).replace(str(path), shown), "expected a readable ticket export") from None
    except (ValueError, OSError, UnicodeError, RecursionError) as exc:
        raise _problem("tickets", f"cannot read it ({type(exc).__name__})",
                       "expected a readable ticket export") from None


#: Upload fields that are files → the run spec field each fills (voc.runspec.RunSpec).
UPLOAD_FILES = {"file": "inputs", "tickets": "tickets", "columns": "columns", "journey": "journey",
                "taxonomy": "taxonomy", "causes": "causes"}
#: Upload form fields that are plain values, named as the run spec's fields.
UPLOAD_OPTIONS = ("text_col", "channel", "preset", "profile", "redact_names", "keep_pii_columns",
                  "link_window_days", "repeat_window_days")
#: The YAML configs an upload may carry (saved and checked by :func:`check_config`).
CONFIG_FIELDS = ("columns", "journey", "taxonomy", "causes")


def form_options(**values: Any) -> dict[str, Any]:
    """The upload's plain options (:data:`UPLOAD_OPTIONS`), validated as the run spec validates them: a bad
    value is a 422 naming its form field. Returns the options given (None dropped), JSON-ready for the job."""
    from pydantic import ValidationError

    from voc.runspec import RunSpec

    unknown = set(values) - set(UPLOAD_OPTIONS)
    if unknown:
        raise ValueError(f"not upload options: {sorted(unknown)}")
    given = {k: v for k, v in values.items() if v is not None and v != []}
    try:
        RunSpec(inputs=[Path("upload")], **given)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "form"
        raise _problem(field, str(first["msg"]).removeprefix("Value error, "), f"expected a valid {field}") from None
    return given


def spec_from_form(inputs: dict[str, Any], outdir: Path, settings: Settings) -> Any:
    """The run spec of a stored upload (``job.inputs``: its saved files and :func:`form_options`) with the
    fields the service decides itself (voc.runspec.SERVICE_FIELDS) taken from ``settings``."""
    from voc.runspec import RunSpec

    files = {field: Path(inputs[key]) for key, field in (("tickets", "tickets"), *((c, c) for c in CONFIG_FIELDS))
             if inputs.get(key)}
    options = {k: inputs[k] for k in UPLOAD_OPTIONS if inputs.get(k) is not None}
    service: dict[str, Any] = {"outdir": outdir, "chunk_size": int(inputs.get("chunk_size") or settings.chunk_size),
                               "pipeline_config": settings.pipeline_config,
                               "pseudonym_key_file": settings.pseudonym_key_file, "write_csv": True}
    if settings.batch_engine == "ray":
        service.update(engine="ray", ray_address=settings.ray_address, workers=settings.ray_workers)
    return RunSpec.build(inputs=[Path(inputs["feedback"])], **files, **options, **service)
