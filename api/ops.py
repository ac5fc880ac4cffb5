"""Operations and administration endpoints: health, readiness, metrics, models in use, API keys."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api import jobs
from api.audit import audit_async, record_request
from api.auth import get_state, require
from api.db import iso
from api.keys import Principal, create_key, list_keys, revoke_key
from api.problems import ProblemError
from api.schemas import KeyCreate, KeyOut, ModelsOut

router = APIRouter()


@router.get("/healthz", tags=["ops"], summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["ops"], summary="Models are loaded and the database answers")
def readyz(request: Request) -> JSONResponse:
    state = get_state(request)
    try:
        jobs.count_by_state(state.sessions)
        db_ok = True
    except Exception:  # noqa: BLE001 - reported as not ready
        db_ok = False
    ready = state.pipeline is not None and db_ok
    body = {"status": "ready" if ready else "not ready", "models_loaded": state.pipeline is not None,
            "database": db_ok, "error": state.pipeline_error}
    if not ready:
        return JSONResponse({"type": "https://voc.local/problems/unavailable", "title": "Service unavailable",
                             "status": 503, "detail": "models not loaded or database unreachable",
                             "instance": "/readyz", "errors": [], **body},
                            status_code=503, media_type="application/problem+json")
    return JSONResponse(body)


async def metrics_access(request: Request) -> None:
    """/metrics is open unless ``metrics_token`` (a scraper's bearer token) or ``metrics_role`` (an API key
    with that role or higher) is set; with both, either one admits."""
    settings = get_state(request).settings
    if settings.metrics_token is None and settings.metrics_role is None:
        return
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    if settings.metrics_token is not None and token and hmac.compare_digest(token.encode(),
                                                                              settings.metrics_token.encode()):
        return
    if settings.metrics_role is not None:
        await require(settings.metrics_role)(request)
        return
    audit_async(request, "auth.failed", "GET /metrics")
    raise ProblemError(401, "/metrics needs 'Authorization: Bearer <metrics token>'",
                       [(["header", "Authorization"], "expected the metrics token")],
                       headers={"WWW-Authenticate": "Bearer"})


@router.get("/metrics", tags=["ops"], summary="Prometheus metrics (protected when metrics_token/metrics_role is set)",
            dependencies=[Depends(metrics_access)])
def metrics(request: Request) -> Response:
    state = get_state(request)
    state.metrics.refresh()
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/models", tags=["ops"], response_model=ModelsOut, summary="Model versions in use")
def models(request: Request, _: Principal = Depends(require("analyst"))) -> ModelsOut:
    state = get_state(request)
    if state.pipeline is None:
        raise ProblemError(503, "models are not loaded yet; see /readyz")
    return ModelsOut(components=dict(state.pipeline.versions), stages=list(state.pipeline.stages))


def _key_out(row, token: str | None = None) -> KeyOut:
    return KeyOut(id=row.id, name=row.name, role=row.role, created_at=iso(row.created_at),
                  revoked_at=iso(row.revoked_at), key=token)


@router.post("/v1/keys", tags=["keys"], status_code=201, response_model=KeyOut, summary="Create an API key")
def create_api_key(request: Request, body: KeyCreate, _: Principal = Depends(require("admin"))) -> JSONResponse:
    token, row = create_key(get_state(request).sessions, body.role, body.name)
    record_request(request, "key.create", f"key:{row.id}")
    return JSONResponse(_key_out(row, token).model_dump(), status_code=201)


@router.get("/v1/keys", tags=["keys"], response_model=list[KeyOut], summary="API keys (never the secrets)")
def list_api_keys(request: Request, _: Principal = Depends(require("admin"))) -> list[KeyOut]:
    return [_key_out(r) for r in list_keys(get_state(request).sessions)]


@router.delete("/v1/keys/{key_id}", tags=["keys"], status_code=204, summary="Revoke an API key")
def revoke_api_key(request: Request, key_id: str = PathParam(max_length=32),
                   _: Principal = Depends(require("admin"))) -> None:
    if not revoke_key(get_state(request).sessions, key_id):
        raise ProblemError(404, f"no API key with id {key_id!r}", [(["path", "key_id"], "expected an existing key id")])
    record_request(request, "key.revoke", f"key:{key_id}")
