"""The audit trail (admin): who read or changed what, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from voc_api.auth import AdminKey
from voc_api.db import AuditEntry, iso
from voc_api.deps import SessionsDep
from voc_api.schemas import AuditOut

router = APIRouter(tags=["audit"])


@router.get("/v1/audit", response_model=list[AuditOut], summary="Audit trail (admin)")
def list_audit(
    sessions: SessionsDep,
    _: AdminKey,
    key_id: Annotated[str | None, Query(max_length=32)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[AuditOut]:
    q = select(AuditEntry).order_by(AuditEntry.id.desc())
    if key_id:
        q = q.where(AuditEntry.key_id == key_id)
    if action:
        q = q.where(AuditEntry.action == action)
    with sessions() as s:
        rows = s.scalars(q.offset(offset).limit(limit)).all()
    return [AuditOut(id=r.id, at=iso(r.at), key_id=r.key_id, role=r.role, action=r.action, resource=r.resource,
                     client=r.client) for r in rows]
