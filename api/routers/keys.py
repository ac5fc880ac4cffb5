"""API keys (admin): create (the token is shown once), list (never the secrets), revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam

from voc_api.audit import AuditDep
from voc_api.auth import AdminKey
from voc_api.db import ApiKey, iso
from voc_api.deps import SessionsDep
from voc_api.keys import create_key, list_keys, revoke_key
from voc_api.problems import ProblemError
from voc_api.schemas import KeyCreate, KeyOut

router = APIRouter(tags=["keys"])


def key_out(row: ApiKey, token: str | None = None) -> KeyOut:
    return KeyOut(id=row.id, name=row.name, role=row.role, created_at=iso(row.created_at),
                  revoked_at=iso(row.revoked_at), key=token)


@router.post("/v1/keys", status_code=201, response_model=KeyOut, summary="Create an API key")
def create_api_key(body: KeyCreate, sessions: SessionsDep, audit: AuditDep, _: AdminKey) -> KeyOut:
    token, row = create_key(sessions, body.role, body.name)
    audit.record("key.create", f"key:{row.id}")
    return key_out(row, token)


@router.get("/v1/keys", response_model=list[KeyOut], summary="API keys (never the secrets)")
def list_api_keys(sessions: SessionsDep, _: AdminKey) -> list[KeyOut]:
    return [key_out(r) for r in list_keys(sessions)]


@router.delete("/v1/keys/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_api_key(key_id: Annotated[str, PathParam(max_length=32)], sessions: SessionsDep, audit: AuditDep,
                   _: AdminKey) -> None:
    if not revoke_key(sessions, key_id):
        raise ProblemError(404, f"no API key with id {key_id!r}", [(["path", "key_id"], "expected an existing key id")])
    audit.record("key.revoke", f"key:{key_id}")
