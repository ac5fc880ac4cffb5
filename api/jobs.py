"""Batch job rows: create, claim (compare-and-set, so two workers never take one job), heartbeat,
progress, finish, cancel, and re-queue of jobs whose worker died."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker

from voc_api.db import Job, utcnow

STATES: tuple[str, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})


def create_job(sessions: sessionmaker, *, key_id: str | None, input_name: str, inputs: dict[str, Any],
               outdir: str, job_id: str | None = None, rows_total: int | None = None) -> Job:
    job = Job(id=job_id or secrets.token_hex(8), key_id=key_id, state="queued", created_at=utcnow(),
              input_name=input_name, inputs=inputs, outdir=outdir, rows_total=rows_total, first_errors=[])
    with sessions.begin() as s:
        s.add(job)
    return job


def get_job(sessions: sessionmaker, job_id: str) -> Job | None:
    with sessions() as s:
        return s.get(Job, job_id)


def claim_next(sessions: sessionmaker, worker_id: str) -> tuple[Job, str] | None:
    """Take the oldest queued job; returns it with the claim token, or None when nothing is queued."""
    for _ in range(5):
        with sessions() as s:
            job_id = s.scalar(select(Job.id).where(Job.state == "queued").order_by(Job.created_at, Job.id).limit(1))
        if job_id is None:
            return None
        token = secrets.token_hex(8)
        now = utcnow()
        with sessions.begin() as s:
            taken = s.execute(
                update(Job).where(Job.id == job_id, Job.state == "queued")
                .values(state="running", claim_token=token, worker_id=worker_id, heartbeat_at=now,
                        started_at=func.coalesce(Job.started_at, now), attempts=Job.attempts + 1)
            ).rowcount
        if taken == 1:
            job = get_job(sessions, job_id)
            assert job is not None
            return job, token
    return None


def heartbeat(sessions: sessionmaker, job_id: str, token: str) -> tuple[bool, bool]:
    """Refresh the heartbeat; returns (still ours, cancel requested)."""
    with sessions.begin() as s:
        ok = s.execute(update(Job).where(Job.id == job_id, Job.claim_token == token, Job.state == "running")
                       .values(heartbeat_at=utcnow())).rowcount == 1
        cancel = bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))
    return ok, cancel


def update_progress(sessions: sessionmaker, job_id: str, token: str, *, rows_in: int, rows_out: int,
                    rows_rejected: int, records: int, chunks_done: int) -> bool:
    with sessions.begin() as s:
        return s.execute(
            update(Job).where(Job.id == job_id, Job.claim_token == token)
            .values(rows_in=rows_in, rows_out=rows_out, rows_rejected=rows_rejected, records=records,
                    chunks_done=chunks_done, heartbeat_at=utcnow())
        ).rowcount == 1


def finish(sessions: sessionmaker, job_id: str, token: str, state: str, **values: Any) -> bool:
    """Move a running job to ``state`` (a final one, or back to queued); False if the claim was lost."""
    if state not in STATES:
        raise ValueError(state)
    extra: dict[str, Any] = {"finished_at": utcnow()} if state in FINAL_STATES else {"claim_token": None,
                                                                                        "worker_id": None}
    with sessions.begin() as s:
        return s.execute(
            update(Job).where(Job.id == job_id, Job.claim_token == token, Job.state == "running")
            .values(state=state, **extra, **values)
        ).rowcount == 1


def request_cancel(sessions: sessionmaker, job_id: str) -> str | None:
    """Cancel a queued job at once, or ask its worker to stop; returns the state after, None if unknown."""
    with sessions.begin() as s:
        done = s.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                         .values(state="cancelled", cancel_requested=True, finished_at=utcnow())).rowcount
        if not done:
            s.execute(update(Job).where(Job.id == job_id, Job.state == "running").values(cancel_requested=True))
        return s.scalar(select(Job.state).where(Job.id == job_id))


def fail_exhausted(sessions: sessionmaker, stale_after_s: float, max_attempts: int) -> list[Job]:
    """Stale running jobs (their worker died) that have used ``max_attempts`` claims fail with the reason
    instead of going back to the queue; returns them."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    with sessions() as s:
        ids = list(s.scalars(select(Job.id).where(Job.state == "running", Job.heartbeat_at < cutoff,
                                                  Job.attempts >= max_attempts)))
    failed = []
    for job_id in ids:
        with sessions.begin() as s:
            attempts = s.scalar(select(Job.attempts).where(Job.id == job_id))
            reason = (f"the batch worker stopped (crashed or was killed) while running this job, "
                      f"{attempts} times out of {max_attempts} allowed attempts; not retried again")
            n = s.execute(update(Job).where(Job.id == job_id, Job.state == "running", Job.heartbeat_at < cutoff,
                                            Job.attempts >= max_attempts)
                          .values(state="failed", error=reason, finished_at=utcnow(), claim_token=None,
                                  worker_id=None)).rowcount
        if n == 1:
            job = get_job(sessions, job_id)
            if job is not None:
                failed.append(job)
    return failed


def set_rows_total(sessions: sessionmaker, job_id: str, rows_total: int | None) -> None:
    """Fill in the row count (for the progress %) when the upload check did not count rows."""
    with sessions.begin() as s:
        s.execute(update(Job).where(Job.id == job_id, Job.rows_total.is_(None)).values(rows_total=rows_total))


def requeue_stale(sessions: sessionmaker, stale_after_s: float) -> list[str]:
    """Jobs left running by a dead worker (heartbeat older than ``stale_after_s``) go back to the queue."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    with sessions() as s:
        ids = list(s.scalars(select(Job.id).where(Job.state == "running", Job.heartbeat_at < cutoff)))
    moved = []
    for job_id in ids:
        with sessions.begin() as s:
            n = s.execute(update(Job).where(Job.id == job_id, Job.state == "running", Job.heartbeat_at < cutoff)
                          .values(state="queued", claim_token=None, worker_id=None)).rowcount
        if n == 1:
            moved.append(job_id)
    return moved


def count_by_state(sessions: sessionmaker) -> dict[str, int]:
    with sessions() as s:
        return {state: n for state, n in s.execute(select(Job.state, func.count()).group_by(Job.state))}


def running_rows_per_second(sessions: sessionmaker) -> float:
    """Sum over running jobs of rows read / seconds since start."""
    now = utcnow()
    total = 0.0
    with sessions() as s:
        for rows_in, started in s.execute(select(Job.rows_in, Job.started_at).where(Job.state == "running")):
            if started is not None:
                total += rows_in / max((now - started).total_seconds(), 1e-3)
    return total
