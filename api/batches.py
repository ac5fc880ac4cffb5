"""Batch endpoints: upload a file as a job, follow it, fetch results, errors, heatmaps and the report."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from api import drill, jobs
from api.audit import record_request
from api.auth import get_state, require
from api.db import Job, iso
from api.keys import Principal
from api.outputs import REJECTED_COLUMNS, SCRUBBED_MARK, display_names, iter_rejected, write_rejected
from api.pii import mask_rejected
from api.problems import ProblemError
from api.retention import job_ended
from api.schemas import BatchCreated, BatchStatus, ResultsPage
from api.state import ServiceState
from api.ui import HEATMAP_CSP, output_headers, report_csp
from api.uploads import (
    CONFIG_SUFFIXES,
    FEEDBACK_SUFFIXES,
    check_config,
    check_feedback_file,
    check_tickets_file,
    display_name,
    form_options,
    save_upload,
    spec_from_form,
)
from api.worker import count_rows
from voc.aggregate.drill import DrillFilter
from voc.render.report import NONCE_PLACEHOLDER

router = APIRouter(tags=["batches"])

HEATMAP_KINDS = ("stage_emotion", "stage_channel", "topic_week")
HEATMAP_MEDIA = {"json": "application/json", "png": "image/png", "html": "text/html; charset=utf-8"}


def _job_or_404(state: ServiceState, job_id: str, principal: Principal) -> Job:
    job = jobs.get_job(state.sessions, job_id)
    if job is None or (not principal.has("admin") and job.key_id != principal.key_id):
        raise ProblemError(404, f"no batch with id {job_id!r}", [(["path", "batch_id"], "expected an existing batch id")])
    return job


def _ready_or_409(job: Job) -> Path:
    if job.state != "succeeded":
        raise ProblemError(409, f"batch {job.id} is {job.state}; outputs exist once it has succeeded",
                           [(["path", "batch_id"], "expected a succeeded batch")], kind="batch-not-ready")
    return Path(job.outdir)


def _file_or_404(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ProblemError(404, f"{what} was not produced for this batch", [(["path"], f"expected {what} to exist")])
    return path


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


@router.post("/v1/batches", status_code=202, response_model=BatchCreated, summary="Start a batch job",
             responses={415: {"description": "unsupported file type"}, 413: {"description": "upload too large"}})
def create_batch(
    request: Request,
    file: UploadFile = File(..., description="feedback: CSV, XLSX, JSONL, Parquet or a JSON array"),
    tickets: UploadFile | None = File(None, description="ticket export (CSV/XLSX/JSONL/Parquet/JSON)"),
    journey: UploadFile | None = File(None, description="journey stages YAML"),
    taxonomy: UploadFile | None = File(None, description="topic taxonomy YAML"),
    causes: UploadFile | None = File(None, description="complaint causes YAML"),
    columns: UploadFile | None = File(None, description="column mapping YAML ('columns: {text: Отзыв, ...}')"),
    text_col: str | None = Form(None, max_length=200, description="name of the text column, e.g. 'Отзыв'"),
    channel: str | None = Form(None, max_length=50, description="channel for rows that have none (review, chat, …)"),
    preset: str | None = Form(None, max_length=50, description="domain preset: banking, telecom, retail or auto"),
    profile: str | None = Form(None, max_length=50, description="models: default or fast (TF-IDF + lexicons)"),
    redact_names: str | None = Form(None, description="person-name masking: morph, natasha, auto, off"),
    link_window_days: float | None = Form(None, description="feedback ↔ ticket link window in days (default 3)"),
    repeat_window_days: float | None = Form(None, description="repeat-contact window in days (default 7)"),
    keep_pii_columns: list[str] | None = Form(
        None, description="PII columns to keep raw (else dropped), e.g. 'email клиента'; repeat the field for "
                          "several, or send one JSON array '[\"ФИО\", \"email клиента\"]'"),
    principal: Principal = Depends(require("analyst")),
) -> JSONResponse:
    state: ServiceState = get_state(request)
    options = form_options(
        text_col=text_col, channel=channel, preset=preset, profile=profile, redact_names=redact_names,
        link_window_days=link_window_days, repeat_window_days=repeat_window_days,
        keep_pii_columns=parse_keep_pii_columns(keep_pii_columns))
    configs = {"columns": columns, "journey": journey, "taxonomy": taxonomy, "causes": causes}
    job_id = secrets.token_hex(8)
    root = state.batches_dir / job_id
    try:  # any failure (a problem, a database error, a bug) removes what this request wrote
        job = _store_and_queue(state, principal, job_id, root, file, tickets, configs, options)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    record_request(request, "batch.create", f"batch:{job.id}")
    return JSONResponse({"id": job.id, "state": job.state}, status_code=202,
                        headers={"Location": f"/v1/batches/{job.id}"})


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
    holds the saved files and the form ``options`` (the worker builds the run spec: api.uploads.spec_from_form)."""
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


def _batch_id() -> Any:
    return PathParam(min_length=1, max_length=32, description="batch id")


@router.get("/v1/batches/{batch_id}", response_model=BatchStatus, summary="Batch state and progress")
def get_batch(request: Request, batch_id: str = _batch_id(),
              principal: Principal = Depends(require("analyst"))) -> BatchStatus:
    job = _job_or_404(get_state(request), batch_id, principal)
    record_request(request, "batch.read", f"batch:{job.id}")
    return status_of(job)


@router.get("/v1/batches", response_model=list[BatchStatus], summary="Your batches, newest first")
def list_batches(request: Request, limit: int = Query(50, ge=1, le=500),
                 principal: Principal = Depends(require("analyst"))) -> list[BatchStatus]:
    from sqlalchemy import select

    state = get_state(request)
    q = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if not principal.has("admin"):
        q = q.where(Job.key_id == principal.key_id)
    record_request(request, "batch.list", "batches")
    with state.sessions() as s:
        found = list(s.scalars(q))
    return [status_of(j) for j in found]


@router.delete("/v1/batches/{batch_id}", status_code=202, response_model=BatchCreated, summary="Cancel a batch")
def cancel_batch(request: Request, batch_id: str = _batch_id(),
                 principal: Principal = Depends(require("analyst"))) -> JSONResponse:
    state = get_state(request)
    job = _job_or_404(state, batch_id, principal)
    new_state = jobs.request_cancel(state.sessions, job.id) or job.state
    if new_state == "cancelled" and job.state == "queued":  # cancelled here, not by a worker
        job_ended(job, state.settings.upload_retention_days)
    record_request(request, "batch.cancel", f"batch:{job.id}")
    return JSONResponse({"id": job.id, "state": new_state}, status_code=202)


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


def _page(rows: list[dict[str, Any]], page: int, page_size: int, total: int) -> ResultsPage:
    return ResultsPage(page=page, page_size=page_size, total=total, items=[_json_safe(r) for r in rows])


def drill_filter(
    stage: str | None = Query(None, max_length=200, description="journey stage («не определён»: rows without one)"),
    channel: str | None = Query(None, max_length=200, description="channel («unknown»: rows without one)"),
    emotion: str | None = Query(None, max_length=200, description="rows carrying this emotion"),
    topic: str | None = Query(None, max_length=200, description="rows mentioning this topic"),
    cause: str | None = Query(None, max_length=200, description="complaint cause"),
    week: str | None = Query(None, max_length=10, pattern=r"^\d{4}-W\d{2}$", description="ISO week, e.g. 2025-W13"),
    sentiment: Literal["negative", "neutral", "positive"] | None = Query(None),
    segment: str | None = Query(None, max_length=200, description="value of the product/segment column"),
    ids: str | None = Query(None, max_length=8000, description="comma-separated feedback ids"),
) -> DrillFilter:
    """The drill-down filter of a results query: every given field must match."""
    id_list = [i.strip() for i in (ids or "").split(",") if i.strip()]
    return DrillFilter(stage=stage, channel=channel, emotion=emotion, topic=topic, cause=cause, week=week,
                       sentiment=sentiment, segment=segment, ids=id_list)


@router.get("/v1/batches/{batch_id}/results", summary="Enriched rows: CSV, Parquet or paginated JSON, filterable",
            response_model=ResultsPage,
            responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}})
def get_results(request: Request, batch_id: str = _batch_id(),
                format: Literal["json", "csv", "parquet"] = Query("json"),
                page: int = Query(1, ge=1, le=10_000_000), page_size: int = Query(100, ge=1, le=1000),
                view: Literal["full", "compact"] = Query(
                    "full", description="compact: masked text, labels and evidence only (the drill-down)"),
                sort: Literal["row", "negative", "positive"] = Query(
                    "row", description="file order, most negative first or most positive first"),
                filters: DrillFilter = Depends(drill_filter),
                principal: Principal = Depends(require("analyst"))) -> Any:
    """All rows, or with filters (stage, channel, emotion, topic, cause, week, sentiment, segment, ids) the
    rows behind one number of the report: a heatmap cell, a priority item, a trend."""
    state = get_state(request)
    job = _job_or_404(state, batch_id, principal)
    outdir = _ready_or_409(job)
    record_request(request, f"results.read.{format}", f"batch:{job.id}")
    path = _file_or_404(outdir / "enriched.parquet", "enriched.parquet")
    if filters.active():
        if format == "parquet":
            raise ProblemError(422, "filters apply to json and csv results, not to parquet",
                               [(["query", "format"], "expected json or csv with filters")])
        if format == "csv":
            return StreamingResponse(drill.csv_chunks(path, filters), media_type="text/csv",
                                     headers={**output_headers("text/csv"),
                                              "Content-Disposition": f'attachment; filename="{job.id}-filtered.csv"'})
        take = drill.compact_page if view == "compact" else drill.full_page
        total, rows = take(path, filters, sort, (page - 1) * page_size, page_size)
        return _page(rows, page, page_size, total)
    if format == "csv":
        return FileResponse(_file_or_404(outdir / "enriched.csv", "enriched.csv"), media_type="text/csv",
                            filename=f"{job.id}-enriched.csv", headers=output_headers("text/csv"))
    if format == "parquet":
        return FileResponse(path, media_type="application/vnd.apache.parquet", filename=f"{job.id}-enriched.parquet")
    if view == "compact" or sort != "row":
        take = drill.compact_page if view == "compact" else drill.full_page
        total, rows = take(path, filters, sort, (page - 1) * page_size, page_size)
        return _page(rows, page, page_size, total)
    total, rows = read_page(path, (page - 1) * page_size, page_size)
    return _page(rows, page, page_size, total)


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


@router.get("/v1/batches/{batch_id}/errors", summary="Rejected rows (file, row, field, reason, value)",
            response_model=ResultsPage, responses={200: {"content": {"text/csv": {}}}})
def get_errors(request: Request, batch_id: str = _batch_id(), format: Literal["json", "csv"] = Query("json"),
               page: int = Query(1, ge=1, le=10_000_000), page_size: int = Query(100, ge=1, le=1000),
               principal: Principal = Depends(require("analyst"))) -> Any:
    """Streamed from the files (never read whole); values cut and masked, files named as uploaded."""
    state = get_state(request)
    job = _job_or_404(state, batch_id, principal)
    outdir = Path(job.outdir)
    record_request(request, f"errors.read.{format}", f"batch:{job.id}")
    final = outdir / "errors.csv"
    names = display_names(job.inputs or {}, job.input_name)
    if format == "csv" and final.is_file() and (outdir / SCRUBBED_MARK).is_file():
        return FileResponse(final, media_type="text/csv", filename=f"{job.id}-errors.csv")
    paths = [final] if final.is_file() else sorted((outdir / "parts").glob("rejected-*.csv"))
    if format == "csv":
        return StreamingResponse(_csv_chunks(paths, names), media_type="text/csv",
                                 headers={"Content-Disposition": f'attachment; filename="{job.id}-errors.csv"'})
    start = (page - 1) * page_size
    rows: list[dict[str, Any]] = []
    total = 0
    for row in iter_rejected(paths):
        if start <= total < start + page_size:
            rows.append(mask_rejected(row, names))
        total += 1
        if total >= start + page_size and final.is_file() and job.state in jobs.FINAL_STATES:
            total = max(total, job.rows_rejected)  # the final file holds exactly rows_rejected rows
            break
    return _page(rows, page, page_size, total)


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


@router.get("/v1/batches/{batch_id}/heatmap", summary="An emotional heatmap as JSON, PNG or HTML",
            responses={200: {"content": {"application/json": {}, "image/png": {}, "text/html": {}}}})
def get_heatmap(request: Request, batch_id: str = _batch_id(),
                kind: Literal["stage_emotion", "stage_channel", "topic_week"] = Query("stage_emotion"),
                format: Literal["json", "png", "html"] = Query("json"),
                principal: Principal = Depends(require("analyst"))) -> FileResponse:
    state = get_state(request)
    job = _job_or_404(state, batch_id, principal)
    outdir = _ready_or_409(job)
    path = _file_or_404(outdir / "heatmaps" / f"{kind}.{format}", f"heatmap {kind}.{format}")
    record_request(request, f"heatmap.read.{format}", f"batch:{job.id}/heatmap/{kind}")
    headers = output_headers(HEATMAP_MEDIA[format])
    if format == "html":
        headers["Content-Security-Policy"] = HEATMAP_CSP
    return FileResponse(path, media_type=HEATMAP_MEDIA[format], headers=headers)


@router.get("/v1/batches/{batch_id}/report", summary="The HTML report of a batch",
            responses={200: {"content": {"text/html": {}}}})
def get_report(request: Request, batch_id: str = _batch_id(),
               principal: Principal = Depends(require("analyst"))) -> Response:
    state = get_state(request)
    job = _job_or_404(state, batch_id, principal)
    outdir = _ready_or_409(job)
    path = _file_or_404(outdir / "report.html", "report.html")
    record_request(request, "report.read", f"batch:{job.id}/report")
    media = "text/html; charset=utf-8"
    nonce = secrets.token_urlsafe(16)
    html = path.read_text(encoding="utf-8").replace(f'nonce="{NONCE_PLACEHOLDER}"', f'nonce="{nonce}"')
    headers = output_headers(media)
    headers["Content-Security-Policy"] = report_csp(nonce)
    return Response(html, media_type=media, headers=headers)


@router.get("/v1/batches/{batch_id}/summary", summary="The numbers of the report (summary.json)",
            responses={200: {"content": {"application/json": {}}}})
def get_summary(request: Request, batch_id: str = _batch_id(),
                principal: Principal = Depends(require("analyst"))) -> FileResponse:
    """Run summary and every aggregate (heatmaps, priority, trends, scores, drivers) — what the page draws."""
    state = get_state(request)
    job = _job_or_404(state, batch_id, principal)
    outdir = _ready_or_409(job)
    path = _file_or_404(outdir / "summary.json", "summary.json")
    record_request(request, "summary.read", f"batch:{job.id}/summary")
    return FileResponse(path, media_type="application/json", headers=output_headers("application/json"))


@router.get("/v1/batches/{batch_id}/plotly.min.js", include_in_schema=False)
def plotly_js(batch_id: str = _batch_id()) -> FileResponse:
    """The plotly library the HTML heatmaps load by relative path (public code, no batch data)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return FileResponse(_file_or_404(path, "plotly.min.js"), media_type="text/javascript",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=86400"})
