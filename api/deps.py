"""Request dependencies on the service state: the one place a handler's state comes from.

Handlers declare what they need (``state: StateDep``, ``settings: SettingsDep``, ``sessions: SessionsDep``,
``pipeline: PipelineDep``) instead of reaching into ``request.app.state``. These are ``async`` so FastAPI
runs them on the event loop (no thread hop per request); they only read attributes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import sessionmaker

from voc_api.problems import ProblemError
from voc_api.settings import Settings
from voc_api.state import ServiceState


async def get_state(request: Request) -> ServiceState:
    """The live state of this service instance (built by :func:`voc_api.app.create_app`)."""
    return request.app.state.voc


async def get_settings(state: Annotated[ServiceState, Depends(get_state)]) -> Settings:
    return state.settings


async def get_sessions(state: Annotated[ServiceState, Depends(get_state)]) -> sessionmaker:
    """The database session factory (jobs, keys, webhooks, audit, idempotency records)."""
    return state.sessions


async def get_pipeline(state: Annotated[ServiceState, Depends(get_state)]) -> Any:
    """The loaded analysis pipeline; a 503 problem while it is still loading (or failed to: see /readyz)."""
    if state.pipeline is None:
        raise ProblemError(503, "models are not loaded yet; see /readyz", headers={"Retry-After": "5"})
    return state.pipeline


StateDep = Annotated[ServiceState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionsDep = Annotated[sessionmaker, Depends(get_sessions)]
PipelineDep = Annotated[Any, Depends(get_pipeline)]
