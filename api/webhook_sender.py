"""Webhook outbox and background sender.

Events become ``deliveries`` rows (one per matching subscription), so they survive restarts and batch
workers in other processes can emit them. A sender thread posts due deliveries with an HMAC-SHA256
signature over ``<timestamp>.<body>``, records every attempt, and retries failures with exponential backoff.

Before every attempt the host is resolved and checked (:mod:`voc_api.netguard`) and the request goes to the
checked address (Host header and TLS SNI keep the name), so DNS rebinding cannot redirect it; redirects
are not followed (a 3xx is a failed attempt); the attempt log holds generic error phrases only, never
the connection error text (which would make the sender a port scanner).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import secrets
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from voc_api.db import Delivery, DeliveryAttempt, Webhook, utcnow
from voc_api.events import envelope
from voc_api.metrics import ServiceMetrics
from voc_api.netguard import Resolver, allow_networks, check_url
from voc_api.settings import Settings

log = logging.getLogger("voc.api")


#: receivers should refuse deliveries whose X-Voc-Timestamp is further than this from their clock
SIGNATURE_TOLERANCE_S = 300

ERROR_NO_RESPONSE = "no HTTP response (connection failed or timed out)"
ERROR_ADDRESS = "destination address not allowed"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Voc-Signature header value: HMAC-SHA256 of ``<timestamp>.<body>`` with the subscription secret."""
    message = str(int(timestamp)).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, timestamp: str, signature: str,
                     tolerance_s: float = SIGNATURE_TOLERANCE_S, now: float | None = None) -> bool:
    """The receiver's check (docs/api.md shows the same code): a fresh timestamp and a matching signature."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(signature, sign(secret, body, ts))


def enqueue(sessions: sessionmaker, event: str, data: dict[str, Any], score: float | None = None,
            limit_per_webhook: dict[str, int] | None = None) -> int:
    """Write a delivery for every active subscription to ``event``; returns how many were written.

    For feedback.negative, ``score`` must be ≤ the subscription's threshold.
    """
    body = json.dumps(envelope(event, data), ensure_ascii=False, default=str)
    now = utcnow()
    written = 0
    with sessions.begin() as s:
        for hook in s.scalars(select(Webhook).where(Webhook.active.is_(True))):
            if event not in hook.events:
                continue
            if event == "feedback.negative" and (score is None or score > hook.negative_threshold):
                continue
            if limit_per_webhook is not None:
                left = limit_per_webhook.get(hook.id, 0)
                if left <= 0:
                    continue
                limit_per_webhook[hook.id] = left - 1
            s.add(Delivery(id=secrets.token_hex(8), webhook_id=hook.id, event=event, payload=body,
                           state="pending", attempts=0, next_attempt_at=now, created_at=now))
            written += 1
    return written


class WebhookDispatcher:
    """The background sender of one service process."""

    def __init__(self, sessions: sessionmaker, settings: Settings, metrics: ServiceMetrics | None = None,
                 resolver: Resolver | None = None):
        self.sessions = sessions
        self.settings = settings
        self.metrics = metrics
        self.resolver = resolver
        self.allow = allow_networks(settings.webhook_allow_cidrs)
        self._incoming: queue.SimpleQueue[tuple[str, dict[str, Any], float | None]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, event: str, data: dict[str, Any], score: float | None = None) -> None:
        """Hand an event to the sender; never blocks the caller."""
        self._incoming.put((event, data, score))
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="voc-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=self.settings.webhook_timeout_s, follow_redirects=False) as client:
            while not self._stop.is_set():
                try:
                    self._drain_incoming()
                    self.send_due(client)
                except Exception as exc:  # noqa: BLE001 - the sender must outlive database hiccups
                    log.error(json.dumps({"event": "webhook_sender_error", "error": type(exc).__name__}))
                self._wake.wait(min(self.settings.poll_interval_s, 1.0))
                self._wake.clear()

    def _drain_incoming(self) -> None:
        while True:
            try:
                event, data, score = self._incoming.get_nowait()
            except queue.Empty:
                return
            enqueue(self.sessions, event, data, score)

    def send_due(self, client: httpx.Client) -> int:
        """Attempt every delivery that is due; returns the number of attempts made."""
        now = utcnow()
        with self.sessions() as s:
            due = s.execute(
                select(Delivery.id, Delivery.next_attempt_at)
                .where(Delivery.state == "pending", Delivery.next_attempt_at <= now)
                .order_by(Delivery.next_attempt_at).limit(100)
            ).all()
        made = 0
        for delivery_id, when in due:
            if self._stop.is_set():
                break
            lease = utcnow() + timedelta(seconds=self.settings.webhook_timeout_s * 2 + 5)
            with self.sessions.begin() as s:  # claim: only the process that moves the time sends
                claimed = s.execute(
                    update(Delivery).where(Delivery.id == delivery_id, Delivery.state == "pending",
                                           Delivery.next_attempt_at == when).values(next_attempt_at=lease)
                ).rowcount
            if claimed == 1:
                self._attempt(client, delivery_id)
                made += 1
        return made

    def _attempt(self, client: httpx.Client, delivery_id: str) -> None:
        with self.sessions() as s:
            d = s.get(Delivery, delivery_id)
            hook = s.get(Webhook, d.webhook_id) if d else None
        if d is None or hook is None:
            return
        t0 = time.perf_counter()
        status, error = self._post(client, hook, d)
        ms = (time.perf_counter() - t0) * 1000
        attempt_no = d.attempts + 1
        with self.sessions.begin() as s:
            row = s.get(Delivery, delivery_id)
            row.attempts = attempt_no
            row.last_status = status
            s.add(DeliveryAttempt(delivery_id=delivery_id, attempt=attempt_no, at=utcnow(), status_code=status,
                                  error=error, duration_ms=ms))
            if error is None:
                row.state = "delivered"
            elif attempt_no >= self.settings.webhook_max_attempts or not hook.active:
                row.state = "failed"
            else:
                delay = self.settings.webhook_backoff_s * (2 ** (attempt_no - 1))
                row.next_attempt_at = utcnow() + timedelta(seconds=delay)
        if self.metrics is not None:
            self.metrics.webhook_attempts.labels("ok" if error is None else "error").inc()

    def _post(self, client: httpx.Client, hook: Webhook, d: Delivery) -> tuple[int | None, str | None]:
        """One signed POST to the checked address; (status, generic error phrase or None)."""
        try:
            dest = check_url(hook.url, self.allow, self.resolver)
        except ValueError:  # AddressNotAllowed included: the name may resolve elsewhere now
            return None, ERROR_ADDRESS
        body = d.payload.encode("utf-8")
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": "voc-webhooks/1", "Host": dest.host_header(),
                   "X-Voc-Event": d.event, "X-Voc-Delivery": d.id, "X-Voc-Timestamp": str(timestamp),
                   "X-Voc-Signature": sign(hook.secret, body, timestamp)}
        extensions = {"sni_hostname": dest.host} if dest.url.scheme == "https" else {}
        try:
            resp = client.post(dest.pinned_url(), content=body, headers=headers, extensions=extensions,
                               follow_redirects=False)
        except httpx.HTTPError:
            return None, ERROR_NO_RESPONSE
        status = resp.status_code
        if 300 <= status < 400:
            return status, f"HTTP {status} (redirects are not followed)"
        if not 200 <= status < 300:
            return status, f"HTTP {status}"
        return status, None
