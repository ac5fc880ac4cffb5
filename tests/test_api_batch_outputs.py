"""Batch outputs with real (tiny) models, run by an in-process JobRunner: uploaded names instead of server
paths, masked rejected values, CSP on HTML outputs, inputs deleted when the job ends, a batch without a
usable row fails with the reason, and a job whose worker process keeps crashing fails after the cap."""

from __future__ import annotations

import csv
import io
import multiprocessing as mp
import os
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers.api import bearer, make_settings, train_tiny_models, write_feedback_csv

from voc_api import jobs
from voc_api.app import create_app
from voc_api.worker import JobRunner, worker_main

pytestmark = pytest.mark.slow  # whole file: left out of the fast lane (make test-fast)

PROBLEM = "application/problem+json"
PHONE = "+7 912 345-67-89"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch_outputs")
    settings = make_settings(tmp, train_tiny_models(tmp / "models"), chunk_size=40)
    app = create_app(settings, start_workers=False, start_sender=False)
    with TestClient(app) as client:
        sessions = app.state.voc.sessions
        client.analyst = bearer(sessions, "analyst")  # type: ignore[attr-defined]
        client.runner = JobRunner(settings, sessions, "test-worker")  # type: ignore[attr-defined]
        client.tmp = tmp  # type: ignore[attr-defined]
        yield client


def _run(client, job_id: str) -> dict:
    assert client.runner.run_once()
    return client.get(f"/v1/batches/{job_id}", headers=client.analyst).json()


def test_outputs_name_the_upload_and_mask_values(service):
    path = write_feedback_csv(service.tmp / "in.csv", n=60)
    with open(path, "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow(["bad3", f"звоните {PHONE}", "review", "c3", "Курьер опоздал"])
    name = "май <отзывы>.csv"
    created = service.post("/v1/batches", headers=service.analyst, files={"file": (name, path.read_bytes())})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    status = _run(service, job_id)
    assert status["state"] == "succeeded", status
    data_dir = str(service.app.state.voc.settings.data_dir.resolve())
    job = jobs.get_job(service.app.state.voc.sessions, job_id)
    assert not (Path(job.outdir).parent / "input").exists()  # retention 0: inputs gone when the job ended

    assert {e["file"] for e in status["first_errors"]} == {name}
    bad = [e for e in status["first_errors"] if e["reason"] == "unparseable date"]
    assert bad and "912" not in bad[0]["value"]
    errors = service.get(f"/v1/batches/{job_id}/errors?page_size=2&page=2", headers=service.analyst).json()
    assert errors["total"] == 3 and len(errors["items"]) == 1 and errors["items"][0]["file"] == name
    text = service.get(f"/v1/batches/{job_id}/errors?format=csv", headers=service.analyst).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3 and {r["file"] for r in rows} == {name} and PHONE not in text and data_dir not in text

    report = service.get(f"/v1/batches/{job_id}/report", headers=service.analyst)
    assert "май &lt;отзывы&gt;.csv" in report.text and data_dir not in report.text and "/input/" not in report.text
    csp = report.headers["content-security-policy"]
    nonce = re.search(r"script-src 'nonce-([\w-]+)';", csp).group(1)  # only the report's own scripts, fresh nonce
    assert "sandbox allow-scripts allow-downloads" in csp and "allow-same-origin" not in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0] and "connect-src 'none'" in csp
    assert f'nonce="{nonce}"' in report.text and "voc-report-nonce" not in report.text
    assert report.headers["x-content-type-options"] == "nosniff"
    heat = service.get(f"/v1/batches/{job_id}/heatmap?format=html", headers=service.analyst)
    assert heat.status_code == 200 and "sandbox allow-scripts" in heat.headers["content-security-policy"]
    summary = (Path(job.outdir) / "summary.json").read_text(encoding="utf-8")
    assert data_dir not in summary and name in summary


def test_a_batch_without_usable_rows_fails_with_the_reason(service):
    lines = ["id,text"] + [f"r{i}," for i in range(60)]
    created = service.post("/v1/batches", headers=service.analyst,
                           files={"file": ("пусто.csv", "\n".join(lines).encode())})
    assert created.status_code == 202, created.text  # more rows than the upload check reads
    status = _run(service, created.json()["id"])
    assert status["state"] == "failed" and status["rows_out"] == 0 and status["rows_rejected"] == 60
    assert "no usable rows" in status["error"] and "empty text: 60" in status["error"]
    assert status["first_errors"][0]["file"] == "пусто.csv"
    errors = service.get(f"/v1/batches/{created.json()['id']}/errors", headers=service.analyst).json()
    assert errors["total"] == 60
    # a small file read whole at upload: the 422 comes at once
    small = service.post("/v1/batches", headers=service.analyst, files={"file": ("мало.csv", b"id,text\n1,\n2, \n")})
    assert small.status_code == 422 and small.headers["content-type"] == PROBLEM
    assert small.json()["type"].endswith("no-usable-rows") and "empty text" in small.json()["detail"]


def crashing_worker(settings_json: str, worker_id: str) -> None:
    """A worker whose process dies (as on a segfault or OOM kill) as soon as it runs a job."""
    from voc_api.worker import JobRunner as Runner

    def die(self, job, token):  # noqa: ARG001
        os._exit(3)

    Runner.run_job = die
    worker_main(settings_json, worker_id, None)


def test_a_job_that_crashes_its_worker_fails_after_the_attempt_cap(service, tmp_path):
    settings = make_settings(tmp_path, tmp_path / "unused.yaml", job_max_attempts=2, stale_after_s=1.0,
                             heartbeat_s=0.2, poll_interval_s=0.1)
    app = create_app(settings, pipeline_factory=lambda _s: None, start_workers=False, start_sender=False)
    csv_bytes = write_feedback_csv(tmp_path / "a.csv", n=5).read_bytes()
    with TestClient(app) as client:
        sessions = app.state.voc.sessions
        created = client.post("/v1/batches", headers=bearer(sessions, "analyst"), files={"file": ("a.csv", csv_bytes)})
        job_id = created.json()["id"]
        ctx = mp.get_context("spawn")
        for attempt in (1, 2):
            proc = ctx.Process(target=crashing_worker, args=(settings.model_dump_json(), f"crash{attempt}"))
            proc.start()
            proc.join(90)
            assert proc.exitcode == 3
            assert jobs.get_job(sessions, job_id).attempts == attempt
            time.sleep(settings.stale_after_s + 0.3)
        # the next worker finds the stale job out of attempts: it fails it instead of running it again
        runner = JobRunner(settings, sessions, "healthy")
        assert runner.run_once() is False
        job = jobs.get_job(sessions, job_id)
        assert job.state == "failed" and job.attempts == 2 and "2 times" in job.error
        assert not (Path(job.outdir).parent / "input").exists()
