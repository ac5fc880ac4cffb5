"""Batch jobs: upload a file as a job, follow it, list and cancel jobs (analyst; own jobs, admin: all)."""

from __future__ import annotations

import secrets
import shutil
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from fastapi import Path as PathParam
from sqlalchemy import select

from voc_api import jobs
from voc_api.audit import AuditDep
from voc_api.auth import AnalystKey
from voc_api.batches import _store_and_queue, parse_keep_pii_columns, status_of
from voc_api.db import Job
from voc_api.deps import SessionsDep, StateDep
from voc_api.problems import ProblemError
from voc_api.retention import job_ended
from voc_api.schemas import BatchCreated, BatchStatus
from voc_api.uploads import form_options

router = APIRouter(tags=["batches"])

BatchId = Annotated[str, PathParam(min_length=1, max_length=32, description="batch id")]


def own_job(batch_id: BatchId, sessions: SessionsDep, principal: AnalystKey) -> Job:
    """The path's batch when the caller may see it (its own; an admin: any); else a 404 problem."""
    job = jobs.get_job(sessions, batch_id)
    if job is None or (not principal.has("admin") and job.key_id != principal.key_id):
        raise ProblemError(404, f"no batch with id {batch_id!r}", [(["path", "batch_id"], "expected an existing batch id")])
    return job


OwnJob = Annotated[Job, Depends(own_job)]


def succeeded_job(job: OwnJob) -> Job:
    """The path's batch once it has succeeded (its outputs exist); else a 409 problem."""
    if job.state != "succeeded":
        raise ProblemError(409, f"batch {job.id} is {job.state}; outputs exist once it has succeeded",
                           [(["path", "batch_id"], "expected a succeeded batch")], kind="batch-not-ready")
    return job


SucceededJob = Annotated[Job, Depends(succeeded_job)]


@router.post("/v1/batches", status_code=202, response_model=BatchCreated, summary="Start a batch job",
             responses={415: {"description": "unsupported file type"}, 413: {"description": "upload too large"}})
def create_batch(
    state: StateDep,
    audit: AuditDep,
    response: Response,
    principal: AnalystKey,
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
) -> BatchCreated:
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
    audit.record("batch.create", f"batch:{job.id}")
    response.headers["Location"] = f"/v1/batches/{job.id}"
    return BatchCreated(id=job.id, state=job.state)


@router.get("/v1/batches/{batch_id}", response_model=BatchStatus, summary="Batch state and progress")
def get_batch(job: OwnJob, audit: AuditDep) -> BatchStatus:
    audit.record("batch.read", f"batch:{job.id}")
    return status_of(job)


@router.get("/v1/batches", response_model=list[BatchStatus], summary="Your batches, newest first")
def list_batches(sessions: SessionsDep, audit: AuditDep, principal: AnalystKey,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[BatchStatus]:
    q = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if not principal.has("admin"):
        q = q.where(Job.key_id == principal.key_id)
    audit.record("batch.list", "batches")
    with sessions() as s:
        found = list(s.scalars(q))
    return [status_of(j) for j in found]


@router.delete("/v1/batches/{batch_id}", status_code=202, response_model=BatchCreated, summary="Cancel a batch")
def cancel_batch(job: OwnJob, state: StateDep, audit: AuditDep) -> BatchCreated:
    new_state = jobs.request_cancel(state.sessions, job.id) or job.state
    if new_state == "cancelled" and job.state == "queued":  # cancelled here, not by a worker
        job_ended(job, state.settings.upload_retention_days)
    audit.record("batch.cancel", f"batch:{job.id}")
    return BatchCreated(id=job.id, state=new_state)
