"""Operations: liveness, readiness, Prometheus metrics, the models in use."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from voc_api import jobs
from voc_api.audit import AuditDep
from voc_api.auth import AnalystKey, authenticate, bearer_scheme, check_role
from voc_api.deps import PipelineDep, StateDep
from voc_api.problems import ProblemError
from voc_api.schemas import Health, ModelsOut, Readiness

router = APIRouter(tags=["ops"])


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health()


@router.get("/readyz", response_model=Readiness, summary="Models are loaded and the database answers",
            responses={503: {"description": "not ready: a problem document carrying the same members"}})
def readyz(state: StateDep) -> Readiness:
    try:
        jobs.count_by_state(state.sessions)
        db_ok = True
    except Exception:  # noqa: BLE001 - reported as not ready
        db_ok = False
    ready = state.pipeline is not None and db_ok
    body = Readiness(status="ready" if ready else "not ready", models_loaded=state.pipeline is not None,
                     database=db_ok, error=state.pipeline_error)
    if not ready:
        raise ProblemError(503, "models not loaded or database unreachable", extensions=body.model_dump())
    return body


async def metrics_access(request: Request, state: StateDep, audit: AuditDep, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> None:
    """/metrics is open unless ``metrics_token`` (a scraper's bearer token) or ``metrics_role`` (an API key
    with that role or higher) is set; with both, either one admits."""
    settings = state.settings
    if settings.metrics_token is None and settings.metrics_role is None:
        return
    token = credentials.credentials.strip() if credentials is not None else ""
    if settings.metrics_token is not None and token and hmac.compare_digest(token.encode(),
                                                                              settings.metrics_token.encode()):
        return
    if settings.metrics_role is not None:
        check_role(audit, await authenticate(request, state, audit, credentials), settings.metrics_role)
        return
    audit.queue("auth.failed", "GET /metrics")
    raise ProblemError(401, "/metrics needs 'Authorization: Bearer <metrics token>'",
                       [(["header", "Authorization"], "expected the metrics token")],
                       headers={"WWW-Authenticate": "Bearer"})


@router.get("/metrics", summary="Prometheus metrics (protected when metrics_token/metrics_role is set)",
            dependencies=[Depends(metrics_access)], response_class=Response,
            openapi_extra={"security": [{}, {"apiKey": []}]},  # open unless a token or role is configured
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(state: StateDep) -> Response:
    state.metrics.refresh()
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/models", response_model=ModelsOut, summary="Model versions in use")
def models(pipeline: PipelineDep, _: AnalystKey) -> ModelsOut:
    return ModelsOut(components=dict(pipeline.versions), stages=list(pipeline.stages))
