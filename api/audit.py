"""Audit trail (152-ФЗ): who read which results, reports, heatmaps and errors, when and from where."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from api.auth import get_state, require
from api.db import AuditEntry, iso, utcnow
from api.keys import Principal
from api.schemas import AuditOut
from api.state import ServiceState

router = APIRouter(tags=["audit"])


def record(sessions: sessionmaker, principal: Principal | None, action: str, resource: str,
           client: str | None) -> None:
    """Write one audit row."""
    with sessions.begin() as s:
        s.add(AuditEntry(at=utcnow(), key_id=principal.key_id if principal else None,
                         role=principal.role if principal else None, action=action, resource=resource,
                         client=client))


def record_request(request: Request, action: str, resource: str) -> None:
    """Audit row for the current request's principal and client address."""
    state: ServiceState = get_state(request)
    principal = getattr(request.state, "principal", None)
    record(state.sessions, principal, action, resource, request.client.host if request.client else None)


@router.get("/v1/audit", response_model=list[AuditOut], summary="Audit trail (admin)")
def list_audit(
    state: ServiceState = Depends(get_state),
    _: Principal = Depends(require("admin")),
    key_id: str | None = Query(None, max_length=32),
    action: str | None = Query(None, max_length=64),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> list[AuditOut]:
    q = select(AuditEntry).order_by(AuditEntry.id.desc())
    if key_id:
        q = q.where(AuditEntry.key_id == key_id)
    if action:
        q = q.where(AuditEntry.action == action)
    with state.sessions() as s:
        rows = s.scalars(q.offset(offset).limit(limit)).all()
    return [AuditOut(id=r.id, at=iso(r.at), key_id=r.key_id, role=r.role, action=r.action, resource=r.resource,
                     client=r.client) for r in rows]
