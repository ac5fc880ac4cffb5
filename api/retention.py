"""How long uploaded inputs live: deleted when their job ends (``upload_retention_days`` = 0, the default)
or that many days after; upload folders without a job row (a crash between saving the files and creating
the job) are removed at start-up and by a periodic sweep. Batch outputs are not touched.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from voc_api.db import Job, utcnow
from voc_api.jobs import FINAL_STATES

log = logging.getLogger("voc.api")
INPUT_DIR = "input"


def inputs_dir(job: Job) -> Path:
    """``<data>/batches/<id>/input`` of a job (its outputs sit beside it in ``out``)."""
    return Path(job.outdir).parent / INPUT_DIR


def delete_inputs(job: Job) -> bool:
    """Remove a job's uploaded files; True when something was removed."""
    folder = inputs_dir(job)
    if not folder.exists():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def job_ended(job: Job, retention_days: float) -> None:
    """Call when a job reaches a final state: with no retention its inputs go at once."""
    if retention_days <= 0 and delete_inputs(job):
        log.info(json.dumps({"event": "inputs_deleted", "job": job.id}))


def purge_expired(sessions: sessionmaker, retention_days: float) -> list[str]:
    """Delete the inputs of jobs that ended more than ``retention_days`` ago; returns their ids."""
    cutoff = utcnow() - timedelta(days=retention_days)
    with sessions() as s:
        ended = list(s.scalars(select(Job).where(Job.state.in_(sorted(FINAL_STATES)),
                                                 Job.finished_at.is_not(None), Job.finished_at <= cutoff)))
    return [job.id for job in ended if delete_inputs(job)]


def remove_orphans(sessions: sessionmaker, batches_dir: Path, older_than_s: float) -> list[str]:
    """Remove batch folders that have no job row and were last changed more than ``older_than_s`` ago."""
    if not batches_dir.is_dir():
        return []
    now = time.time()
    candidates = [p for p in batches_dir.iterdir() if p.is_dir() and now - p.stat().st_mtime >= older_than_s]
    if not candidates:
        return []
    with sessions() as s:
        known = set(s.scalars(select(Job.id).where(Job.id.in_([p.name for p in candidates]))))
    removed = []
    for folder in candidates:
        if folder.name not in known:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def sweep(sessions: sessionmaker, batches_dir: Path, retention_days: float, orphan_grace_s: float) -> None:
    """One pass: expired inputs, then orphan folders."""
    expired = purge_expired(sessions, retention_days)
    orphans = remove_orphans(sessions, batches_dir, orphan_grace_s)
    if expired or orphans:
        log.info(json.dumps({"event": "retention_sweep", "inputs_deleted": len(expired),
                             "orphans_removed": len(orphans)}))


class Janitor:
    """Runs :func:`sweep` at start-up and every ``interval_s`` on a daemon thread."""

    def __init__(self, sessions: sessionmaker, batches_dir: Path, retention_days: float, orphan_grace_s: float,
                 interval_s: float):
        self.args = (sessions, batches_dir, retention_days, orphan_grace_s)
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        try:
            sweep(*self.args)
        except Exception as exc:  # noqa: BLE001 - e.g. the database is briefly unreachable; next pass retries
            log.error(json.dumps({"event": "retention_sweep_failed", "error": type(exc).__name__}))

    def start(self) -> None:
        self.run_once()
        self._thread = threading.Thread(target=self._run, name="voc-janitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.run_once()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
