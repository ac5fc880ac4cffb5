"""Batch jobs: storing an upload as a queued job, progress and status, result pages and the errors CSV.
The endpoints are :mod:`voc_api.routers.batches` (jobs) and :mod:`voc_api.routers.results` (outputs)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from fastapi import UploadFile

from voc_api import jobs
from voc_api.db import Job, iso
from voc_api.keys import Principal
from voc_api.outputs import REJECTED_COLUMNS, display_names, iter_rejected, write_rejected
from voc_api.pii import mask_rejected
from voc_api.problems import ProblemError
from voc_api.schemas import BatchStatus, ResultsPage, RowsPage
from voc_api.state import ServiceState
from voc_api.uploads import (
    CONFIG_SUFFIXES,
    FEEDBACK_SUFFIXES,
    check_config,
    check_feedback_file,
    check_tickets_file,
    display_name,
    save_upload,
    spec_from_form,
)
from voc_api.worker import count_rows

HEATMAP_KINDS = ("stage_emotion", "stage_channel", "topic_week")
HEATMAP_MEDIA = {"json": "application/json", "png": "image/png", "html": "text/html; charset=utf-8"}


#: analysing rows fills the bar up to here; building aggregates, heatmaps and the report is the rest
ANALYSIS_SHARE = 95.0
SUMMARY_PROGRESS = 97.0
#: small files are cut into about this many chunks so the progress bar moves (never below MIN_PROGRESS_CHUNK)
PROGRESS_STEPS = 20
MIN_PROGRESS_CHUNK = 50


def progress_of(job: Job) -> tuple[float, str]:
    """Percent done and the phase: rows analysed scaled to 95 %, 97 % while the report is built, 100 % done."""
    if job.state == "succeeded":
        return 100.0, "done"
    if job.state in ("failed", "cancelled", "queued"):
        share = min(job.rows_in / job.rows_total, 1.0) if job.rows_total else 0.0
        return round(ANALYSIS_SHARE * share, 1), job.state
    if not job.rows_in:
        return 0.0, "starting"
    if job.rows_total and job.rows_in >= job.rows_total:
        return SUMMARY_PROGRESS, "summarising"
    share = job.rows_in / job.rows_total if job.rows_total else 0.0
    return round(ANALYSIS_SHARE * share, 1), "analysing"


def chunk_size_for(rows_total: int | None, configured: int) -> int:
    """The chunk size of a batch: the configured one, smaller for small files so progress is reported often."""
    if not rows_total:
        return configured
    return max(1, min(configured, max(MIN_PROGRESS_CHUNK, math.ceil(rows_total / PROGRESS_STEPS))))


def status_of(job: Job) -> BatchStatus:
    """The API view of a job; rejected-row values are cut and masked again on the way out."""
    progress, phase = progress_of(job)
    base = f"/v1/batches/{job.id}"
    links = {"self": base}
    if job.state == "succeeded":
        links.update(results=base + "/results", errors=base + "/errors", report=base + "/report",
                     summary=base + "/summary",
                     heatmap=base + "/heatmap?kind=stage_emotion&format=html")
    return BatchStatus(
        id=job.id, state=job.state, progress=progress, phase=phase, input_name=job.input_name, created_at=iso(job.created_at),
        started_at=iso(job.started_at), finished_at=iso(job.finished_at), rows_total=job.rows_total,
        rows_in=job.rows_in, rows_out=job.rows_out, rows_rejected=job.rows_rejected, records=job.records,
        chunks_done=job.chunks_done, attempts=job.attempts, cancel_requested=job.cancel_requested,
        first_errors=[mask_rejected(e, display_names(job.inputs or {}, job.input_name))
                      for e in (job.first_errors or [])[:20]],
        error=job.error, links=links)


def parse_keep_pii_columns(values: list[str] | None) -> list[str]:
    """The ``keep_pii_columns`` form field: repeated values, or one JSON array of names (a 422 names the field)."""
    where = ["body", "keep_pii_columns"]
    names: list[object] = []
    for value in values or []:
        if value.lstrip().startswith("["):
            try:
                parsed = json.loads(value)
            except ValueError:
                raise ProblemError(422, "keep_pii_columns: not a JSON array of column names",
                                   [(where, "expected a column name or a JSON array of column names")]) from None
            names.extend(parsed if isinstance(parsed, list) else [parsed])
        else:
            names.append(value)
    out = []
    for name in names:
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ProblemError(422, "keep_pii_columns: every entry must be a column name of 1..200 characters",
                               [(where, "expected column names of 1..200 characters")])
        out.append(name.strip())
    if len(out) > 200:
        raise ProblemError(422, f"keep_pii_columns: {len(out)} names; at most 200",
                           [(where, "expected at most 200 column names")])
    return sorted(set(out))


def _store_and_queue(state: ServiceState, principal: Principal, job_id: str, root: Path, file: UploadFile,
                     tickets: UploadFile | None, configs: dict[str, UploadFile | None],
                     options: dict[str, Any]) -> Job:
    """Save the uploads under ``root/input``, run the cheap checks, create the queued job row; ``job.inputs``
    holds the saved files and the form ``options`` (the worker builds the run spec: voc_api.uploads.spec_from_form)."""
    settings = state.settings
    inputs_dir = root / "input"
    shown = display_name(file.filename, "upload")
    feedback = save_upload(file, "file", inputs_dir, FEEDBACK_SUFFIXES)
    inputs: dict[str, Any] = {"feedback": str(feedback)}
    for name, upload in configs.items():
        if upload is not None and upload.filename:
            inputs[f"{name}_name"] = display_name(upload.filename, name)
            inputs[name] = str(save_upload(upload, name, inputs_dir, CONFIG_SUFFIXES))
            check_config(Path(inputs[name]), name, inputs[f"{name}_name"])
    inputs.update(options)
    spec = spec_from_form(inputs, root / "out", settings)
    check_feedback_file(feedback, spec.text_col, settings, shown, mapping=spec.column_mapping())
    if tickets is not None and tickets.filename:
        inputs["tickets_name"] = display_name(tickets.filename, "tickets")
        inputs["tickets"] = str(save_upload(tickets, "tickets", inputs_dir, FEEDBACK_SUFFIXES))
        check_tickets_file(Path(inputs["tickets"]), settings, inputs["tickets_name"])
    small = feedback.stat().st_size <= settings.preview_max_mb * 1024 * 1024
    rows_total = count_rows(feedback) if small or feedback.suffix == ".parquet" else None  # else: the worker
    if feedback.suffix == ".xlsx":
        rows_total = None  # counting needs the workbook parsed: the worker does it
    inputs["chunk_size"] = chunk_size_for(rows_total, settings.chunk_size)
    return jobs.create_job(state.sessions, key_id=principal.key_id, input_name=shown, inputs=inputs,
                           outdir=str(root / "out"), job_id=job_id, rows_total=rows_total)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _page(rows: list[dict[str, Any]], page: int, page_size: int, total: int,
          model: type[ResultsPage | RowsPage] = ResultsPage) -> ResultsPage | RowsPage:
    return model(page=page, page_size=page_size, total=total, items=[_json_safe(r) for r in rows])


def read_page(path: Path, start: int, size: int) -> tuple[int, list[dict[str, Any]]]:
    """Rows ``start … start+size`` of a Parquet file, reading only the row groups that hold them."""
    pf = pq.ParquetFile(path)
    total = pf.metadata.num_rows
    rows: list[dict[str, Any]] = []
    offset = 0
    for g in range(pf.num_row_groups):
        n = pf.metadata.row_group(g).num_rows
        if offset + n > start and offset < start + size:
            table = pf.read_row_group(g)
            lo = max(start - offset, 0)
            rows.extend(table.slice(lo, start + size - offset - lo).to_pylist())
        offset += n
        if offset >= start + size:
            break
    return total, rows[:size]


def _csv_chunks(paths: list[Path], names: dict[str, str]) -> Iterator[str]:
    """errors.csv as it streams: header, then rows in blocks, each masked on the way."""
    buffer = io.StringIO()
    write_rejected([], buffer)
    rows = iter_rejected(paths)
    while True:
        block = list(itertools.islice(rows, 1000))
        if not block:
            break
        writer = csv.DictWriter(buffer, fieldnames=list(REJECTED_COLUMNS), extrasaction="ignore",
                                lineterminator="\n")
        for row in block:
            writer.writerow({k: ("" if v is None else v) for k, v in mask_rejected(row, names).items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


