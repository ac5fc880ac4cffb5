"""Webhook subscriptions of an API key and their delivery log (admin)."""

from __future__ import annotations

import json
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from sqlalchemy import select

from voc_api.audit import AuditDep
from voc_api.auth import AdminKey
from voc_api.db import Delivery, DeliveryAttempt, Webhook, iso, utcnow
from voc_api.deps import SessionsDep, StateDep
from voc_api.netguard import AddressNotAllowed, allow_networks, check_url
from voc_api.problems import ProblemError
from voc_api.schemas import DeliveryAttemptOut, DeliveryOut, WebhookCreate, WebhookOut

router = APIRouter(tags=["webhooks"])


def webhook_out(hook: Webhook, secret: str | None = None) -> WebhookOut:
    return WebhookOut(id=hook.id, url=hook.url, events=list(hook.events), negative_threshold=hook.negative_threshold,
                      created_at=iso(hook.created_at), active=hook.active, secret=secret)


def own_webhook(webhook_id: Annotated[str, PathParam(max_length=32)], sessions: SessionsDep,
                principal: AdminKey) -> Webhook:
    """The path's webhook when it belongs to the calling key; else a 404 problem."""
    with sessions() as s:
        hook = s.get(Webhook, webhook_id)
    if hook is None or hook.key_id != principal.key_id:
        raise ProblemError(404, f"no webhook with id {webhook_id!r} for this key",
                           [(["path", "webhook_id"], "expected the id of one of your webhooks")])
    return hook


OwnWebhook = Annotated[Webhook, Depends(own_webhook)]


@router.post("/v1/webhooks", status_code=201, response_model=WebhookOut, summary="Subscribe to events")
def create_webhook(body: WebhookCreate, state: StateDep, audit: AuditDep, principal: AdminKey) -> WebhookOut:
    try:  # resolved and checked now, and again before every delivery
        check_url(body.url, allow_networks(state.settings.webhook_allow_cidrs), state.resolver)
    except AddressNotAllowed as exc:
        raise ProblemError(422, f"url: {exc}; webhooks may only reach public addresses (see webhook_allow_cidrs)",
                           [(["body", "url"], "expected a URL whose host resolves to public addresses only")],
                           kind="webhook-address") from None
    except ValueError as exc:
        raise ProblemError(422, f"url: {exc}", [(["body", "url"], str(exc))]) from None
    secret = body.secret or secrets.token_urlsafe(32)
    hook = Webhook(id=secrets.token_hex(8), key_id=principal.key_id, url=body.url, events=sorted(set(body.events)),
                   secret=secret,
                   negative_threshold=(body.negative_threshold if body.negative_threshold is not None
                                       else state.settings.negative_threshold),
                   created_at=utcnow(), active=True)
    with state.sessions.begin() as s:
        s.add(hook)
    audit.record("webhook.create", f"webhook:{hook.id}")
    return webhook_out(hook, secret)


@router.get("/v1/webhooks", response_model=list[WebhookOut], summary="Your subscriptions")
def list_webhooks(sessions: SessionsDep, audit: AuditDep, principal: AdminKey) -> list[WebhookOut]:
    audit.record("webhook.list", "webhooks")
    with sessions() as s:
        hooks = s.scalars(select(Webhook).where(Webhook.key_id == principal.key_id, Webhook.active.is_(True))
                          .order_by(Webhook.created_at))
        return [webhook_out(h) for h in hooks]


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, summary="Unsubscribe (the delivery log is kept)")
def delete_webhook(hook: OwnWebhook, sessions: SessionsDep, audit: AuditDep) -> None:
    with sessions.begin() as s:
        row = s.get(Webhook, hook.id)
        row.active = False
    audit.record("webhook.delete", f"webhook:{hook.id}")


@router.get("/v1/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryOut],
            summary="Deliveries with every attempt")
def list_deliveries(hook: OwnWebhook, sessions: SessionsDep, audit: AuditDep,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[DeliveryOut]:
    audit.record("webhook.deliveries.read", f"webhook:{hook.id}")
    with sessions() as s:
        deliveries = list(s.scalars(select(Delivery).where(Delivery.webhook_id == hook.id)
                                    .order_by(Delivery.created_at.desc()).limit(limit)))
        ids = [d.id for d in deliveries]
        attempts: dict[str, list[DeliveryAttemptOut]] = {i: [] for i in ids}
        if ids:
            for a in s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(ids))
                               .order_by(DeliveryAttempt.id)):
                attempts[a.delivery_id].append(DeliveryAttemptOut(attempt=a.attempt, at=iso(a.at),
                                                                  status_code=a.status_code, error=a.error,
                                                                  duration_ms=a.duration_ms))
    return [DeliveryOut(id=d.id, event=d.event, state=d.state, attempts=d.attempts, created_at=iso(d.created_at),
                        next_attempt_at=iso(d.next_attempt_at) if d.state == "pending" else None,
                        last_status=d.last_status, payload=json.loads(d.payload), attempt_log=attempts[d.id])
            for d in deliveries]
