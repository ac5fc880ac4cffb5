"""The FastAPI application: the routers of :mod:`voc_api.routers`, problem handlers, middleware, UTF-8 JSON
responses, and the start-up/shut-down of the pipeline, the inference thread pool, the webhook sender and the
batch worker pool. Handlers get the state through the dependencies of :mod:`voc_api.deps` and :mod:`voc_api.auth`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from voc_api import jobs
from voc_api.audit import AuditWriter
from voc_api.db import Delivery
from voc_api.middleware import ServiceMiddleware
from voc_api.netguard import Resolver
from voc_api.problems import Problem, install_handlers
from voc_api.responses import UTF8JSONResponse
from voc_api.retention import Janitor
from voc_api.routers import ROUTERS
from voc_api.settings import Settings
from voc_api.state import ServiceState
from voc_api.webhook_sender import WebhookDispatcher

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}, "description": desc}
    for code, desc in ((401, "missing or unknown API key"), (403, "role not allowed"), (404, "not found"),
                       (413, "request too large"), (422, "invalid input; errors name the field"),
                       (500, "unexpected error (a problem document; the connection stays open)"))
}


def create_app(settings: Settings | None = None, *, pipeline_factory: Callable[[Settings], Any] | None = None,
               start_workers: bool = True, start_sender: bool = True, resolver: Resolver | None = None) -> FastAPI:
    """Build the service. ``pipeline_factory`` replaces :func:`voc.pipeline.Pipeline.load` (e.g. in tests);
    ``resolver`` replaces the system resolver for webhook hosts (tests)."""
    settings = settings or Settings.load()
    logging.basicConfig(level=settings.log_level, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the webhook sender's client; URLs only, but noisy
    state = ServiceState.build(settings, pipeline_factory)
    state.resolver = resolver

    def refresh_gauges() -> None:
        counts = jobs.count_by_state(state.sessions)
        state.metrics.queue_depth.set(counts.get("queued", 0))
        state.metrics.running_jobs.set(counts.get("running", 0))
        state.metrics.batch_rows_per_s.set(jobs.running_rows_per_second(state.sessions))
        with state.sessions() as s:
            state.metrics.webhook_pending.set(
                s.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == "pending")) or 0)

    state.metrics.on_scrape(refresh_gauges)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.start()
        state.audit = AuditWriter(state.sessions, settings.audit_queue_max, state.metrics)
        state.audit.start()
        state.janitor = Janitor(state.sessions, state.batches_dir, settings.upload_retention_days,
                                settings.orphan_grace_s, settings.janitor_interval_s)
        state.janitor.start()  # a first sweep now: orphan upload folders, expired inputs
        state.load_pipeline()
        state.start_batcher()
        if start_sender:
            state.dispatcher = WebhookDispatcher(state.sessions, settings, state.metrics, resolver=state.resolver)
            state.dispatcher.start()
        if start_workers and settings.workers > 0:
            from voc_api.worker import WorkerPool

            state.workers = WorkerPool(settings)
            state.workers.start()
        try:
            yield
        finally:
            if state.workers is not None:
                state.workers.stop()
            if state.dispatcher is not None:
                state.dispatcher.stop()
            state.janitor.stop()
            state.audit.stop()
            state.stop()

    app = FastAPI(
        title="voc — Voice of Customer API",
        version="1.0",
        description="Анализ отзывов клиентов: тональность, эмоции, темы, причины жалоб, этап пути клиента. "
                    "Authenticate with `Authorization: Bearer <key>`; errors are RFC 9457 problem documents.",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
        default_response_class=UTF8JSONResponse,
    )
    app.state.voc = state  # read by voc_api.deps.get_state only
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(ServiceMiddleware, settings=settings, metrics=state.metrics)
    return app
