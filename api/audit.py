"""Audit trail (152-ФЗ): who read which results, reports, heatmaps, errors, batches and webhook
deliveries, who classified texts, and which authentications failed — when and from where.

Handlers that already run on a worker thread write their row at once (:meth:`RequestAudit.record`). The
event-loop paths (``/v1/classify``, failed authentications) hand rows to :class:`AuditWriter`, a
background thread that writes them in batches; its queue is bounded (``audit_queue_max``) and rows beyond
it are counted in ``voc_audit_dropped`` rather than held in memory.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import insert
from sqlalchemy.orm import sessionmaker

from voc_api.db import AuditEntry, utcnow
from voc_api.deps import StateDep
from voc_api.keys import Principal
from voc_api.state import ServiceState

log = logging.getLogger("voc.api")


@dataclass(frozen=True, slots=True)
class AuditRow:
    at: datetime
    key_id: str | None
    role: str | None
    action: str
    resource: str
    client: str | None


class AuditWriter:
    """Writes queued audit rows in batches on its own thread."""

    def __init__(self, sessions: sessionmaker, max_queue: int = 10_000, metrics: Any | None = None,
                 linger_s: float = 0.05):
        self.sessions = sessions
        self.linger_s = linger_s  # rows arriving this soon after the first share its transaction
        self.metrics = metrics
        self._queue: queue.Queue[AuditRow] = queue.Queue(max_queue)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0

    def submit(self, row: AuditRow) -> bool:
        """Queue a row without blocking; False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(row)
            return True
        except queue.Full:
            self.dropped += 1
            if self.metrics is not None:
                self.metrics.audit_dropped.inc()
            return False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="voc-audit", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.flush()

    def _take(self, wait: float, linger: float = 0.0) -> list[AuditRow]:
        """Up to 500 rows: waits ``wait`` for the first, then ``linger`` more for others (one commit for all)."""
        try:
            rows = [self._queue.get(timeout=wait)]
        except queue.Empty:
            return []
        until = time.monotonic() + linger
        while len(rows) < 500:
            try:
                left = until - time.monotonic()
                rows.append(self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return rows

    def _write(self, rows: list[AuditRow]) -> None:
        try:
            write_rows(self.sessions, rows)
        finally:
            for _ in rows:
                self._queue.task_done()

    def flush(self, timeout: float = 5.0) -> None:
        """Write whatever is queued now and wait (up to ``timeout``) for rows the writer thread holds (tests,
        shutdown)."""
        while rows := self._take(0.0):
            self._write(rows)
        done = self._queue.all_tasks_done
        end = time.monotonic() + timeout
        with done:
            while self._queue.unfinished_tasks and (left := end - time.monotonic()) > 0:
                done.wait(left)

    def _run(self) -> None:
        while not self._stop.is_set():
            rows = self._take(0.2, self.linger_s)
            if not rows:
                continue
            try:
                self._write(rows)
            except Exception as exc:  # noqa: BLE001 - keep going; the rows are re-queued once
                log.error(json.dumps({"event": "audit_write_failed", "error": type(exc).__name__}))
                for r in rows:
                    self.submit(r)
                self._stop.wait(1.0)


def write_rows(sessions: sessionmaker, rows: list[AuditRow]) -> None:
    """One multi-row INSERT (SQLAlchemy Core): 0.17 ms of CPU for one row against 0.23 ms with ORM objects."""
    if not rows:
        return
    with sessions.begin() as s:
        s.execute(insert(AuditEntry), [{"at": r.at, "key_id": r.key_id, "role": r.role, "action": r.action,
                                        "resource": r.resource, "client": r.client} for r in rows])


def record(sessions: sessionmaker, principal: Principal | None, action: str, resource: str,
           client: str | None) -> None:
    """Write one audit row."""
    with sessions.begin() as s:
        s.add(AuditEntry(at=utcnow(), key_id=principal.key_id if principal else None,
                         role=principal.role if principal else None, action=action, resource=resource,
                         client=client))


class RequestAudit:
    """The audit trail of one request: its principal (set by authentication) and client address."""

    def __init__(self, request: Request, state: ServiceState) -> None:
        self.request = request
        self.state = state

    def _who(self, principal: Principal | None, key_id: str | None) -> tuple[str | None, str | None, str | None]:
        principal = principal or getattr(self.request.state, "principal", None)
        client = self.request.client.host[:64] if self.request.client else None
        return (principal.key_id if principal else key_id), (principal.role if principal else None), client

    def record(self, action: str, resource: str) -> None:
        """Write a row now (from handlers that run on a worker thread)."""
        key_id, role, client = self._who(None, None)
        with self.state.sessions.begin() as s:
            s.add(AuditEntry(at=utcnow(), key_id=key_id, role=role, action=action, resource=resource, client=client))

    def queue(self, action: str, resource: str, principal: Principal | None = None,
              key_id: str | None = None) -> None:
        """Hand a row to the background writer (from the event loop: no database call here)."""
        key_id, role, client = self._who(principal, key_id)
        row = AuditRow(at=utcnow(), key_id=key_id, role=role, action=action, resource=resource[:300], client=client)
        if self.state.audit is not None:
            self.state.audit.submit(row)
        else:  # no writer (not started): write now rather than lose the row
            write_rows(self.state.sessions, [row])


async def get_audit(request: Request, state: StateDep) -> RequestAudit:
    return RequestAudit(request, state)


AuditDep = Annotated[RequestAudit, Depends(get_audit)]
