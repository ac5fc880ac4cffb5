"""Batch workers: separate processes (multiprocessing spawn) that claim queued jobs from the database and
run :func:`voc.batch.run` on them (the job's run spec: ``voc_api.uploads.spec_from_form``), off the API's event loop.

A worker heartbeats its job, writes progress after every committed chunk, and polls for cancellation.
On shutdown it stops claiming, lets the current chunk commit and puts its job back in the queue; a job
whose worker died (stale heartbeat) is re-queued and resumes from its last committed chunk.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from voc.enriched import WEBHOOK_COLUMNS
from voc_api import jobs
from voc_api.db import Job, Webhook, init_db, make_engine, session_factory
from voc_api.events import negative_from_row
from voc_api.outputs import display_names, first_errors, safe_reason, scrub_outputs
from voc_api.retention import job_ended
from voc_api.settings import Settings
from voc_api.webhook_sender import enqueue

log = logging.getLogger("voc.worker")


def _log(event: str, **fields: Any) -> None:
    log.info(json.dumps({"event": event, **fields}, ensure_ascii=False, default=str))


def count_rows(path: Path) -> int | None:
    """A cheap row count of an upload for the progress %, or None when unknown."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        if suffix in (".jsonl", ".ndjson"):
            with open(path, "rb") as fh:
                return sum(1 for line in fh if line.strip())
        if suffix == ".csv":
            import csv

            from voc.ingest.tables import detect_encoding

            with open(path, encoding=detect_encoding(path), errors="replace", newline="") as fh:
                return max(sum(1 for _ in csv.reader(fh)) - 1, 0)
        if suffix == ".xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(path, read_only=True)
            return max((wb.worksheets[0].max_row or 1) - 1, 0)
    except Exception:  # noqa: BLE001 - the count only feeds the progress bar
        return None
    return None


class JobRunner:
    """Runs claimed jobs in this process; keeps the default pipeline loaded between jobs."""

    def __init__(self, settings: Settings, sessions: sessionmaker, worker_id: str,
                 stop: threading.Event | Any | None = None):
        self.settings = settings
        self.sessions = sessions
        self.worker_id = worker_id
        self.stop = stop if stop is not None else threading.Event()
        self._pipeline: Any | None = None

    def pipeline_for(self, spec: Any) -> Any:
        """The pipeline for a job's run spec: the cached default one when the job names no configs, presets or
        models of its own, else one built for it (``Pipeline.from_spec``)."""
        from voc.pipeline import Pipeline
        from voc.runspec import RunSpec

        default = RunSpec(inputs=spec.inputs, pipeline_config=spec.pipeline_config)
        if spec.pipeline_key() != default.pipeline_key():
            return Pipeline.from_spec(spec)
        if self._pipeline is None:
            self._pipeline = Pipeline.from_spec(default)
        return self._pipeline

    def run_once(self) -> bool:
        """Claim and run one job; False when the queue was empty."""
        reap_stale(self.sessions, self.settings)
        claimed = jobs.claim_next(self.sessions, self.worker_id)
        if claimed is None:
            return False
        job, token = claimed
        self.run_job(job, token)
        return True

    def run_job(self, job: Job, token: str) -> None:
        from voc.batch import BatchCancelled, BatchProgress, run
        from voc_api.uploads import spec_from_form

        _log("job_started", job=job.id, worker=self.worker_id, attempt=job.attempts)
        inputs = job.inputs or {}
        names = display_names(inputs, job.input_name)
        if job.rows_total is None and inputs.get("feedback"):
            jobs.set_rows_total(self.sessions, job.id, count_rows(Path(inputs["feedback"])))
        flags = {"lost": False, "cancel": False}
        beat_stop = threading.Event()

        def beat() -> None:
            while not beat_stop.wait(self.settings.heartbeat_s):
                try:
                    ours, cancel = jobs.heartbeat(self.sessions, job.id, token)
                except Exception:  # noqa: BLE001 - retried on the next beat
                    continue
                flags["lost"] = flags["lost"] or not ours
                flags["cancel"] = flags["cancel"] or cancel

        def progress(p: BatchProgress) -> None:
            ok = jobs.update_progress(self.sessions, job.id, token, rows_in=p.rows_in, rows_out=p.rows_out,
                                      rows_rejected=p.rows_rejected, records=p.records,
                                      chunks_done=p.chunk_index + (0 if p.done else 1))
            flags["lost"] = flags["lost"] or not ok

        def should_stop() -> bool:
            return flags["lost"] or flags["cancel"] or self.stop.is_set()

        beater = threading.Thread(target=beat, name=f"heartbeat-{job.id}", daemon=True)
        beater.start()
        started = time.perf_counter()
        try:
            spec = spec_from_form(inputs, Path(job.outdir), self.settings)
            result = run(spec, pipeline=self.pipeline_for(spec), progress=progress, should_stop=should_stop)
        except BatchCancelled:
            beat_stop.set()
            if flags["lost"]:
                _log("job_claim_lost", job=job.id, worker=self.worker_id)
            elif flags["cancel"] or self._cancel_requested(job.id):
                if jobs.finish(self.sessions, job.id, token, "cancelled"):
                    job_ended(job, self.settings.upload_retention_days)
                _log("job_cancelled", job=job.id)
            else:  # shutting down: back to the queue, resumes from the last committed chunk
                jobs.finish(self.sessions, job.id, token, "queued")
                _log("job_released", job=job.id)
            return
        except Exception as exc:  # noqa: BLE001 - any failure is the job's, not the worker's
            beat_stop.set()
            folder = Path(job.outdir).parent
            message = safe_reason(str(exc) or type(exc).__name__, names,
                                  (folder, folder.resolve(), self.settings.data_dir, self.settings.data_dir.resolve()))
            if jobs.finish(self.sessions, job.id, token, "failed", error=message,
                           first_errors=first_errors(Path(job.outdir), names),
                           seconds=time.perf_counter() - started):
                job_ended(job, self.settings.upload_retention_days)
            _log("job_failed", job=job.id, error_type=type(exc).__name__)
            return
        finally:
            beat_stop.set()
        s = result.summary
        scrub_outputs(Path(job.outdir), names)
        errors = first_errors(Path(job.outdir), names)
        counts = {"rows_in": s.rows_in, "rows_out": s.rows_out, "rows_rejected": s.rows_rejected,
                  "records": s.records, "first_errors": errors, "seconds": time.perf_counter() - started}
        if s.records == 0:  # nothing usable: the job fails with the reason instead of "succeeding" empty
            if jobs.finish(self.sessions, job.id, token, "failed", error=no_rows_reason(s), **counts):
                job_ended(job, self.settings.upload_retention_days)
            _log("job_failed", job=job.id, error_type="NoUsableRows")
            return
        if not jobs.finish(self.sessions, job.id, token, "succeeded", **counts):
            return
        job_ended(job, self.settings.upload_retention_days)
        _log("job_succeeded", job=job.id, rows_in=s.rows_in, records=s.records)
        try:
            self.emit_events(job, result)
        except Exception as exc:  # noqa: BLE001 - a webhook problem must not fail a finished job
            _log("job_events_failed", job=job.id, error_type=type(exc).__name__)

    def _cancel_requested(self, job_id: str) -> bool:
        job = jobs.get_job(self.sessions, job_id)
        return bool(job and job.cancel_requested)

    def emit_events(self, job: Job, result: Any) -> None:
        """batch.finished, topic.spike for emerging trends, feedback.negative for negative rows."""
        url = f"/v1/batches/{job.id}"
        s = result.summary
        enqueue(self.sessions, "batch.finished", {
            "batch": {"id": job.id, "url": url, "report": url + "/report", "results": url + "/results"},
            "state": "succeeded", "rows_in": s.rows_in, "rows_out": s.rows_out, "rows_rejected": s.rows_rejected,
            "records": s.records, "input_name": job.input_name})
        for trend in emerging_trends(result.aggregates):
            enqueue(self.sessions, "topic.spike", {"batch": {"id": job.id, "url": url}, **trend})
        with self.sessions() as sess:
            limits = {h.id: self.settings.webhook_max_events_per_batch
                      for h in sess.scalars(select(Webhook).where(Webhook.active.is_(True)))
                      if "feedback.negative" in h.events}
        if not limits:
            return
        for row in negative_rows(result.frame):
            enqueue(self.sessions, "feedback.negative", negative_from_row(row, job.id, url),
                    float(row["sentiment_score"]), limit_per_webhook=limits)



def emerging_trends(aggregates: Any) -> list[dict[str, Any]]:
    """topic.spike data: the run's trends flagged as emerging (from its aggregates, not trends.csv)."""
    keep = ("kind", "name", "week_prev", "week_last", "count_prev", "count_last", "share_prev", "share_last",
            "share_change_pct", "z", "p_value")
    trends = getattr(getattr(aggregates, "trends", None), "rows", None) or []
    return [{k: getattr(t, k, None) for k in keep} for t in trends if getattr(t, "emerging", False)]


def negative_rows(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """feedback.negative rows, most negative first, from the run's frame (texts cut to the report's quote
    length; evidence kept as a list)."""
    if frame is None or not len(frame) or "sentiment" not in frame:
        return []
    neg = frame[(frame["sentiment"] == "negative") & frame["sentiment_score"].notna()]
    neg = neg[[c for c in WEBHOOK_COLUMNS if c in neg.columns]].sort_values("sentiment_score")
    rows = neg.astype(object).where(neg.notna(), None).to_dict("records")
    for row in rows:
        evidence = row.get("evidence")
        if isinstance(evidence, str):  # the run frame joins evidence with "|" (voc.run.assemble)
            row["evidence"] = [e for e in evidence.split("|") if e]
    return rows


def no_rows_reason(summary: Any) -> str:
    """Why a batch without a single usable row failed: counts per rejection reason."""
    by_reason = getattr(summary, "rejected_by_reason", None) or {}
    detail = ", ".join(f"{reason}: {n}" for reason, n in sorted(by_reason.items(), key=lambda kv: -kv[1]))
    if summary.rows_in == 0:
        return "no usable rows: the file has no data rows"
    return (f"no usable rows: all {summary.rows_in} rows were rejected" + (f" ({detail})" if detail else "")
            + "; see /errors for file, row, field and reason")


def reap_stale(sessions: sessionmaker, settings: Settings) -> list[str]:
    """Jobs whose worker died: fail those out of attempts (their inputs go), re-queue the rest."""
    for job in jobs.fail_exhausted(sessions, settings.stale_after_s, settings.job_max_attempts):
        _log("job_failed", job=job.id, error_type="AttemptsExhausted", attempts=job.attempts)
        job_ended(job, settings.upload_retention_days)
    return jobs.requeue_stale(sessions, settings.stale_after_s)


def worker_main(settings_json: str, worker_id: str, stop: Any | None = None) -> None:
    """Entry point of one worker process: loop claiming jobs until ``stop`` is set or SIGTERM arrives."""
    settings = Settings.model_validate_json(settings_json)
    logging.basicConfig(level=settings.log_level, format="%(message)s")
    if settings.worker_nice:
        os.nice(settings.worker_nice)  # batch work yields the CPU to the online /v1/classify path
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    engine = make_engine(settings.resolved_database_url())
    init_db(engine)
    stop_event = stop if stop is not None else threading.Event()
    if stop is None or threading.current_thread() is threading.main_thread():
        local = threading.Event()

        def _term(_sig: int, _frame: Any) -> None:
            local.set()
            if hasattr(stop_event, "set"):
                stop_event.set()

        try:
            signal.signal(signal.SIGTERM, _term)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; Ctrl-C reaches the whole group
        except ValueError:  # not the main thread
            pass
    runner = JobRunner(settings, session_factory(engine), worker_id, stop_event)
    _log("worker_started", worker=worker_id, pid=os.getpid())
    while not stop_event.is_set():
        try:
            busy = runner.run_once()
        except Exception as exc:  # noqa: BLE001 - e.g. the database is briefly unreachable
            _log("worker_error", worker=worker_id, error_type=type(exc).__name__)
            busy = False
        if not busy:
            stop_event.wait(settings.poll_interval_s)
    _log("worker_stopped", worker=worker_id)
    engine.dispose()


class WorkerPool:
    """N spawned worker processes, restarted if one dies; stopped gracefully."""

    def __init__(self, settings: Settings, n: int | None = None):
        self.settings = settings
        self.n = settings.workers if n is None else n
        self._ctx = mp.get_context("spawn")
        self._stop = self._ctx.Event()
        self._procs: dict[str, Any] = {}
        self._watch: threading.Thread | None = None
        self._closing = threading.Event()

    def _spawn(self, worker_id: str) -> None:
        proc = self._ctx.Process(target=worker_main, args=(self.settings.model_dump_json(), worker_id, self._stop),
                                 name=f"voc-worker-{worker_id}", daemon=False)
        proc.start()
        self._procs[worker_id] = proc

    def start(self) -> None:
        engine = make_engine(self.settings.resolved_database_url())
        moved = reap_stale(session_factory(engine), self.settings)
        engine.dispose()
        if moved:
            _log("jobs_requeued", jobs=moved)
        for i in range(self.n):
            self._spawn(f"{os.getpid()}-{i}")
        self._watch = threading.Thread(target=self._watchdog, name="voc-worker-watchdog", daemon=True)
        self._watch.start()

    def _watchdog(self) -> None:
        while not self._closing.wait(2.0):
            for worker_id, proc in list(self._procs.items()):
                if not proc.is_alive() and not self._stop.is_set():
                    _log("worker_died", worker=worker_id, exitcode=proc.exitcode)
                    self._spawn(worker_id)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs.values() if p.pid is not None]

    def stop(self, timeout: float = 120.0) -> None:
        """Stop claiming, let each current chunk commit (job goes back to the queue), then exit."""
        self._closing.set()
        self._stop.set()
        deadline = time.monotonic() + timeout
        for proc in self._procs.values():
            proc.join(max(deadline - time.monotonic(), 0.1))
        for proc in self._procs.values():
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
