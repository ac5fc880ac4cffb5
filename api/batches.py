"""Batch endpoints: upload a file as a job, follow it, fetch results, errors, heatmaps and the report."""

from __future__ import annotations

import math
import secrets
import shutil
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse

from api import jobs
from api.audit import record_request
from api.auth import get_state, require
from api.db import Job, iso
from api.keys import Principal
from api.problems import ProblemError
from api.schemas import BatchCreated, BatchStatus, ResultsPage
from api.state import ServiceState
from api.uploads import (
    CONFIG_SUFFIXES,
    FEEDBACK_SUFFIXES,
    check_config,
    check_feedback_file,
    check_tickets_file,
    save_upload,
)
from api.worker import count_rows

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


def status_of(job: Job) -> BatchStatus:
    if job.state == "succeeded":
        progress = 100.0
    elif job.rows_total:
        progress = round(min(99.0, 100.0 * job.rows_in / job.rows_total), 1)
    else:
        progress = 0.0
    base = f"/v1/batches/{job.id}"
    links = {"self": base}
    if job.state == "succeeded":
        links.update(results=base + "/results", errors=base + "/errors", report=base + "/report",
                     heatmap=base + "/heatmap?kind=stage_emotion&format=html")
    return BatchStatus(
        id=job.id, state=job.state, progress=progress, input_name=job.input_name, created_at=iso(job.created_at),
        started_at=iso(job.started_at), finished_at=iso(job.finished_at), rows_total=job.rows_total,
        rows_in=job.rows_in, rows_out=job.rows_out, rows_rejected=job.rows_rejected, records=job.records,
        chunks_done=job.chunks_done, attempts=job.attempts, cancel_requested=job.cancel_requested,
        first_errors=job.first_errors or [], error=job.error, links=links)


@router.post("/v1/batches", status_code=202, response_model=BatchCreated, summary="Start a batch job",
             responses={415: {"description": "unsupported file type"}, 413: {"description": "upload too large"}})
def create_batch(
    request: Request,
    file: UploadFile = File(..., description="feedback: CSV, XLSX, JSONL, Parquet or a JSON array"),
    tickets: UploadFile | None = File(None, description="ticket export (CSV/XLSX/JSONL/Parquet/JSON)"),
    journey: UploadFile | None = File(None, description="journey stages YAML"),
    taxonomy: UploadFile | None = File(None, description="topic taxonomy YAML"),
    text_col: str | None = Form(None, max_length=200, description="name of the text column, e.g. 'Отзыв'"),
    principal: Principal = Depends(require("analyst")),
) -> JSONResponse:
    state: ServiceState = get_state(request)
    job_id = secrets.token_hex(8)
    root = state.batches_dir / job_id
    inputs_dir = root / "input"
    try:
        inputs: dict[str, Any] = {"feedback": str(save_upload(file, "file", inputs_dir, FEEDBACK_SUFFIXES))}
        check_feedback_file(Path(inputs["feedback"]), text_col)
        if tickets is not None and tickets.filename:
            inputs["tickets"] = str(save_upload(tickets, "tickets", inputs_dir, FEEDBACK_SUFFIXES))
            check_tickets_file(Path(inputs["tickets"]))
        for name, upload in (("journey", journey), ("taxonomy", taxonomy)):
            if upload is not None and upload.filename:
                inputs[name] = str(save_upload(upload, name, inputs_dir, CONFIG_SUFFIXES))
                check_config(Path(inputs[name]), name)
    except ProblemError:
        shutil.rmtree(root, ignore_errors=True)
        raise
    if text_col:
        inputs["text_col"] = text_col
    inputs["chunk_size"] = state.settings.chunk_size
    job = jobs.create_job(state.sessions, key_id=principal.key_id, input_name=(file.filename or "")[:300],
                          inputs=inputs, outdir=str(root / "out"), job_id=job_id,
                          rows_total=count_rows(Path(inputs["feedback"])))
    record_request(request, "batch.create", f"batch:{job.id}")
    return JSONResponse({"id": job.id, "state": job.state}, status_code=202,
                        headers={"Location": f"/v1/batches/{job.id}"})


def _batch_id() -> Any:
    return PathParam(min_length=1, max_length=32, description="batch id")


@router.get("/v1/batches/{batch_id}", response_model=BatchStatus, summary="Batch state and progress")
def get_batch(request: Request, batch_id: str = _batch_id(),
              principal: Principal = Depends(require("analyst"))) -> BatchStatus:
    return status_of(_job_or_404(get_state(request), batch_id, principal))


@router.get("/v1/batches", response_model=list[BatchStatus], summary="Your batches, newest first")
def list_batches(request: Request, limit: int = Query(50, ge=1, le=500),
                 principal: Principal = Depends(require("analyst"))) -> list[BatchStatus]:
    from sqlalchemy import select

    state = get_state(request)
    q = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if not principal.has("admin"):
        q = q.where(Job.key_id == principal.key_id)
    with state.sessions() as s:
        return [status_of(j) for j in s.scalars(q)]


@router.delete("/v1/batches/{batch_id}", status_code=202, response_model=BatchCreated, summary="Cancel a batch")
def cancel_batch(request: Request, batch_id: str = _batch_id(),
                 principal: Principal = Depends(require("analyst"))) -> JSONResponse:
    state = get_state(request)
    job = _job_or_404(state, batch_id, principal)
    new_state = jobs.request_cancel(state.sessions, job.id) or job.state
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


@router.get("/v1/batches/{batch_id}/results", summary="Enriched rows: CSV, Parquet or paginated JSON",
            response_model=ResultsPage,
            responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}})
def get_results(request: Request, batch_id: str = _batch_id(),
                format: Literal["json", "csv", "parquet"] = Query("json"),
                page: int = Query(1, ge=1, le=10_000_000), page_size: int = Query(100, ge=1, le=1000),
                principal: Principal = Depends(require("analyst"))) -> Any:
    state = get_state(request)
    job = _job_or_404(state, batch_id, principal)
    outdir = _ready_or_409(job)
    record_request(request, f"results.read.{format}", f"batch:{job.id}")
    if format == "csv":
        return FileResponse(_file_or_404(outdir / "enriched.csv", "enriched.csv"), media_type="text/csv",
                            filename=f"{job.id}-enriched.csv")
    path = _file_or_404(outdir / "enriched.parquet", "enriched.parquet")
    if format == "parquet":
        return FileResponse(path, media_type="application/vnd.apache.parquet", filename=f"{job.id}-enriched.parquet")
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
    state = get_state(request)
    job = _job_or_404(state, batch_id, principal)
    outdir = Path(job.outdir)
    record_request(request, f"errors.read.{format}", f"batch:{job.id}")
    final = outdir / "errors.csv"
    if format == "csv" and final.is_file():
        return FileResponse(final, media_type="text/csv", filename=f"{job.id}-errors.csv")
    paths = [final] if final.is_file() else sorted((outdir / "parts").glob("rejected-*.csv"))
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["file", "row", "field", "reason", "value"])
    if format == "csv":
        return _csv_response(frame, f"{job.id}-errors.csv")
    start = (page - 1) * page_size
    rows = [{k: (v if v != "" else None) for k, v in r.items()}
            for r in frame.iloc[start : start + page_size].to_dict("records")]
    return _page(rows, page, page_size, len(frame))


def _csv_response(frame: pd.DataFrame, filename: str) -> Any:
    from fastapi.responses import Response

    return Response(frame.to_csv(index=False), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


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
    return FileResponse(path, media_type=HEATMAP_MEDIA[format])


@router.get("/v1/batches/{batch_id}/report", summary="The HTML report of a batch",
            responses={200: {"content": {"text/html": {}}}})
def get_report(request: Request, batch_id: str = _batch_id(),
               principal: Principal = Depends(require("analyst"))) -> FileResponse:
    state = get_state(request)
    job = _job_or_404(state, batch_id, principal)
    outdir = _ready_or_409(job)
    path = _file_or_404(outdir / "report.html", "report.html")
    record_request(request, "report.read", f"batch:{job.id}/report")
    return FileResponse(path, media_type="text/html; charset=utf-8")


@router.get("/v1/batches/{batch_id}/plotly.min.js", include_in_schema=False)
def plotly_js(batch_id: str = _batch_id()) -> FileResponse:
    """The plotly library the HTML heatmaps load by relative path (public code, no batch data)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return FileResponse(_file_or_404(path, "plotly.min.js"), media_type="text/javascript")
