"""Analysts' label corrections over HTTP: correct one label of one record of a finished batch, list a
batch's corrections, export them (JSON, CSV for ``voc train --with-corrections``, Label Studio tasks)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator

from voc_api.audit import AuditDep
from voc_api.auth import AnalystKey
from voc_api.corrections import (
    CorrectionError,
    Task,
    as_dict,
    feedback_row,
    latest,
    model_version,
    query,
    store,
    to_csv,
    to_label_studio,
)
from voc_api.db import Job
from voc_api.deps import SessionsDep
from voc_api.problems import ProblemError
from voc_api.responses import UTF8JSONResponse
from voc_api.routers.batches import OwnJob

router = APIRouter(tags=["corrections"])


class CorrectionCreate(BaseModel):
    """Mark one label of one feedback record wrong and give the right one."""

    feedback_id: str = Field(min_length=1, max_length=200)
    task: Task
    value: str | list[str] = Field(description="the right label; emotions/topics: a list (empty: none)")
    note: str | None = Field(None, max_length=2000)

    @field_validator("value")
    @classmethod
    def _value_size(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and len(value) > 20:
            raise ValueError("at most 20 labels")
        return value


class CorrectionOut(BaseModel):
    """A stored correction: who, when, the model's label and version, the analyst's label, the masked text."""

    id: str
    batch_id: str
    feedback_id: str
    task: str
    old_value: Any = Field(description="the model's label (a list for emotions/topics)")
    new_value: str | list[str]
    text: str = Field(description="the masked text of the record")
    model_version: str | None
    key_id: str | None
    author: str
    note: str | None
    source: str
    created_at: str | None


def correctable_job(job: OwnJob) -> Job:
    """The path's batch once it has succeeded (its labels exist); else a 409 problem."""
    if job.state != "succeeded":
        raise ProblemError(409, f"batch {job.id} is {job.state}; labels can be corrected once it has succeeded",
                           [(["path", "batch_id"], "expected a succeeded batch")], kind="batch-not-ready")
    return job


CorrectableJob = Annotated[Job, Depends(correctable_job)]


@router.post("/v1/batches/{batch_id}/corrections", status_code=201, response_model=CorrectionOut,
             summary="Correct one label of one record")
def create_correction(body: CorrectionCreate, job: CorrectableJob, sessions: SessionsDep, audit: AuditDep,
                      principal: AnalystKey) -> CorrectionOut:
    outdir = Path(job.outdir)
    row = feedback_row(outdir, body.feedback_id)
    if row is None:
        raise ProblemError(422, f"batch {job.id} has no feedback with id {body.feedback_id!r}",
                           [(["body", "feedback_id"], "expected an id of this batch's results")])
    try:
        saved = store(sessions, batch_id=job.id, feedback_id=body.feedback_id, task=body.task,
                      value=body.value, old_value=row.get(body.task), text=str(row.get("text") or ""),
                      model_version=model_version(outdir, body.task), key_id=principal.key_id,
                      author=principal.name or principal.key_id, note=body.note, source="web")
    except CorrectionError as exc:
        field = str(exc).split(":", 1)[0]
        raise ProblemError(422, str(exc), [(["body", field], str(exc).split(": ", 1)[-1])]) from None
    audit.record("correction.create", f"batch:{job.id}/feedback:{body.feedback_id}/{body.task}")
    return CorrectionOut.model_validate(as_dict(saved))


@router.get("/v1/batches/{batch_id}/corrections", response_model=list[CorrectionOut],
            summary="Corrections of one batch")
def batch_corrections(job: CorrectableJob, sessions: SessionsDep, audit: AuditDep) -> list[CorrectionOut]:
    audit.record("correction.read", f"batch:{job.id}/corrections")
    return [CorrectionOut.model_validate(as_dict(r)) for r in query(sessions, batch_id=job.id)]


@router.get("/v1/corrections", response_model=list[CorrectionOut],
            summary="Export corrections (yours; admins: all) as JSON, CSV or Label Studio tasks",
            responses={200: {"content": {"text/csv": {}},
                             "description": "JSON: corrections; csv: the training CSV; label-studio: Label Studio "
                                            "tasks (a JSON list)"}})
def export_corrections(sessions: SessionsDep, audit: AuditDep, principal: AnalystKey,
                       task: Task | None = Query(None),
                       format: Literal["json", "csv", "label-studio"] = Query("json"),
                       latest_only: bool = Query(True, description="only the newest correction per record and task"),
                       ) -> Any:
    rows = query(sessions, task=task, key_id=None if principal.has("admin") else principal.key_id)
    rows = latest(rows) if latest_only else rows
    audit.record(f"correction.export.{format}", "corrections")
    if format == "csv":
        return Response(to_csv(rows), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="corrections.csv"'})
    if format == "label-studio":
        return UTF8JSONResponse(to_label_studio(rows))
    return [CorrectionOut.model_validate(as_dict(r)) for r in rows]
