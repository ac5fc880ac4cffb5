"""The HTTP endpoints, one router per resource; :func:`voc_api.app.create_app` includes them in this order."""

from __future__ import annotations

from fastapi import APIRouter

from voc_api.routers import audit, batches, classify, corrections, health, keys, results, ui, webhooks

ROUTERS: tuple[APIRouter, ...] = (
    classify.router, batches.router, results.router, corrections.router, webhooks.router, keys.router,
    audit.router, health.router, ui.router,
)
