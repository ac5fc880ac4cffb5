"""Batch jobs end to end through real worker processes, a graceful stop and a worker killed mid-job, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import multiprocessing as mp
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from helpers.api import bearer, make_settings, train_tiny_models, write_feedback_csv

from voc_api import jobs
from voc_api.app import create_app
from voc_api.worker import WorkerPool, worker_main

pytestmark = pytest.mark.slow  # whole file: left out of the fast lane (make test-fast)

PROBLEM = "application/problem+json"


class Receiver:
    """A local webhook receiver; answers 500 to the first ``fail_first`` posts, then 200."""

    def __init__(self, fail_first: int = 0):
        self.received: list[dict] = []
        self.fail_left = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append({"headers": dict(self.headers), "body": body})
                if outer.fail_left > 0:
                    outer.fail_left -= 1
                    self.send_response(500)
                else:
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def wait_for(predicate, timeout: float = 60.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    return train_tiny_models(tmp_path_factory.mktemp("api_batch_models"))


@pytest.fixture()
def receiver():
    r = Receiver(fail_first=1)
    yield r
    r.close()


def test_batch_end_to_end_with_webhooks(tmp_path, models, receiver):
    settings = make_settings(tmp_path, models, workers=1)
    app = create_app(settings)
    csv_path = write_feedback_csv(tmp_path / "отзывы.csv", n=50)
    with TestClient(app) as client:
        sessions = app.state.voc.sessions
        admin, analyst, service = (bearer(sessions, r) for r in ("admin", "analyst", "service"))
        hook = client.post("/v1/webhooks", headers=admin, json={
            "url": receiver.url, "events": ["feedback.negative", "batch.finished", "topic.spike"],
            "negative_threshold": 0.0})
        assert hook.status_code == 201, hook.text
        hook_id, secret = hook.json()["id"], hook.json()["secret"]

        # online negative feedback reaches the receiver, first attempt fails (500), the retry succeeds
        resp = client.post("/v1/classify", headers=service, json={"text": "Ужасно, курьер опять подвёл",
                                                                   "ticket_id": "T-9", "customer_id": "C-9"})
        assert resp.json()["sentiment"] == "negative"

        assert client.post("/v1/batches", headers=service, files={"file": ("a.csv", b"x")}).status_code == 403
        created = client.post("/v1/batches", headers=analyst,
                              files={"file": ("отзывы.csv", csv_path.read_bytes(), "text/csv")})
        assert created.status_code == 202, created.text
        batch_id = created.json()["id"]
        assert created.json()["state"] == "queued"

        status = wait_for(lambda: (s := client.get(f"/v1/batches/{batch_id}", headers=analyst).json())["state"]
                          in ("succeeded", "failed") and s, timeout=120)
        assert status["state"] == "succeeded", status
        assert status["progress"] == 100.0
        assert (status["rows_in"], status["rows_out"], status["rows_rejected"], status["records"]) == (52, 50, 2, 50)
        assert {e["reason"] for e in status["first_errors"]} == {"empty text"}

        page = client.get(f"/v1/batches/{batch_id}/results?format=json&page=2&page_size=20", headers=analyst).json()
        assert page["total"] == 50 and len(page["items"]) == 20 and page["items"][0]["id"] == "r0020"
        csv_resp = client.get(f"/v1/batches/{batch_id}/results?format=csv", headers=analyst)
        assert csv_resp.headers["content-type"].startswith("text/csv")
        assert len(pd.read_csv(io.StringIO(csv_resp.text))) == 50
        pq_resp = client.get(f"/v1/batches/{batch_id}/results?format=parquet", headers=analyst)
        assert pd.read_parquet(io.BytesIO(pq_resp.content))["id"].is_unique
        errors = client.get(f"/v1/batches/{batch_id}/errors", headers=analyst).json()
        assert errors["total"] == 2 and errors["items"][0]["field"] == "text"
        for kind in ("stage_emotion", "stage_channel", "topic_week"):
            assert client.get(f"/v1/batches/{batch_id}/heatmap?kind={kind}&format=json",
                              headers=analyst).status_code == 200
        png = client.get(f"/v1/batches/{batch_id}/heatmap?kind=stage_emotion&format=png", headers=analyst)
        assert png.content[:4] == b"\x89PNG"
        assert "<html" in client.get(f"/v1/batches/{batch_id}/heatmap?format=html", headers=analyst).text.lower()
        report = client.get(f"/v1/batches/{batch_id}/report", headers=analyst)
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
        bad = client.get(f"/v1/batches/{batch_id}/heatmap?kind=nope", headers=analyst)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
        # other analysts do not see this batch; admins do
        assert client.get(f"/v1/batches/{batch_id}", headers=bearer(sessions, "analyst")).status_code == 404
        assert client.get(f"/v1/batches/{batch_id}", headers=admin).status_code == 200

        # every read of results/errors/heatmaps/report is audited with key, role and client address
        audit = client.get("/v1/audit?limit=1000", headers=admin).json()
        actions = {a["action"] for a in audit if a["resource"].startswith(f"batch:{batch_id}")}
        assert {"results.read.json", "results.read.csv", "results.read.parquet", "errors.read.json",
                "heatmap.read.json", "heatmap.read.png", "heatmap.read.html", "report.read"} <= actions
        assert all(a["key_id"] and a["role"] and a["client"] for a in audit)

        def events() -> dict[str, list[dict]]:
            out: dict[str, list[dict]] = {}
            for r in receiver.received:
                out.setdefault(r["headers"]["X-Voc-Event"], []).append(r)
            return out

        def batch_negative_arrived() -> bool:
            return any((json.loads(r["body"])["data"].get("batch") or {}).get("id") == batch_id
                       for r in events().get("feedback.negative", []))

        wait_for(lambda: "batch.finished" in events() and batch_negative_arrived(), timeout=60)
        for r in receiver.received:  # every delivery is signed: HMAC of "<timestamp>.<body>" with the secret
            ts = r["headers"]["X-Voc-Timestamp"]
            assert abs(time.time() - int(ts)) < 120
            expected = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + r["body"], hashlib.sha256).hexdigest()
            assert r["headers"]["X-Voc-Signature"] == expected and r["headers"]["X-Voc-Delivery"]
        finished = json.loads(events()["batch.finished"][0]["body"])
        assert finished["data"]["batch"]["id"] == batch_id and finished["data"]["records"] == 50
        online = [json.loads(r["body"])["data"] for r in events()["feedback.negative"]]
        assert any(d["ticket_id"] == "T-9" and d["batch"] is None and d["labels"] for d in online)
        assert any(d["batch"] and d["batch"]["id"] == batch_id for d in online)

        deliveries = client.get(f"/v1/webhooks/{hook_id}/deliveries?limit=1000", headers=admin).json()
        retried = [d for d in deliveries if d["attempts"] == 2]
        assert retried and retried[0]["attempt_log"][0]["status_code"] == 500
        assert retried[0]["state"] == "delivered" and retried[0]["attempt_log"][1]["status_code"] == 200
        assert client.delete(f"/v1/webhooks/{hook_id}", headers=admin).status_code == 204
        assert client.get("/v1/webhooks", headers=admin).json() == []


def test_batch_upload_problems(tmp_path, models):
    app = create_app(make_settings(tmp_path, models, max_upload_mb=0.01), start_sender=False)
    with TestClient(app) as client:
        analyst = bearer(app.state.voc.sessions, "analyst")

        def post(files, data=None):
            resp = client.post("/v1/batches", headers=analyst, files=files, data=data)
            assert resp.headers["content-type"].startswith(PROBLEM), resp.text
            return resp

        assert post({"file": ("a.txt", b"text\nhello")}).status_code == 415
        assert post({"file": ("a.csv", b"")}).status_code == 422
        assert post({"file": ("a.csv", "колонка\nпривет\n".encode())}).status_code == 422  # no text column
        assert post({"file": ("a.parquet", b"not parquet at all")}).status_code == 422
        assert post({"file": ("a.xlsx", b"PK\x03\x04broken")}).status_code == 422
        resp = post({"file": ("a.csv", "text\nпривет\n".encode())}, {"text_col": "отзыв"})
        assert resp.status_code == 422 and "отзыв" in resp.json()["detail"]
        resp = post({"file": ("a.csv", "text\nпривет\n".encode()), "journey": ("j.yaml", b"stages: 5")})
        assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["body", "journey"]
        assert post({"file": ("a.csv", b"text\n" + b"x" * 20_000)}).status_code == 413
        ok = client.post("/v1/batches", headers=analyst, files={"file": ("a.csv", "text\nпривет\n".encode("cp1251"))})
        assert ok.status_code == 202  # cp1251 is detected, not rejected
        cancelled = client.delete(f"/v1/batches/{ok.json()['id']}", headers=analyst)
        assert cancelled.json()["state"] == "cancelled"  # no worker: cancelled while queued


def test_worker_killed_mid_job_resumes_without_loss_or_duplicates(tmp_path, models):
    settings = make_settings(tmp_path, models, chunk_size=5, stale_after_s=1.5, heartbeat_s=0.3)
    app = create_app(settings, start_sender=False)
    n = 200
    csv_path = write_feedback_csv(tmp_path / "big.csv", n=n)
    with TestClient(app) as client:
        sessions = app.state.voc.sessions
        analyst = bearer(sessions, "analyst")
        batch_id = client.post("/v1/batches", headers=analyst,
                               files={"file": ("big.csv", csv_path.read_bytes())}).json()["id"]
        parts = Path(jobs.get_job(sessions, batch_id).outdir) / "parts"

        ctx = mp.get_context("spawn")
        # graceful stop: the worker lets its current chunk commit and puts the job back in the queue
        stop = ctx.Event()
        polite = ctx.Process(target=worker_main, args=(settings.model_dump_json(), "polite", stop))
        polite.start()
        wait_for(lambda: (parts / "chunk-00000.json").exists(), timeout=90, step=0.01)
        stop.set()
        polite.join(60)
        assert polite.exitcode == 0
        released = jobs.get_job(sessions, batch_id)
        first = len(list(parts.glob("chunk-*.json")))
        assert released.state == "queued" and released.chunks_done == first >= 1

        victim = ctx.Process(target=worker_main, args=(settings.model_dump_json(), "victim", None))
        victim.start()
        wait_for(lambda: len(list(parts.glob("chunk-*.json"))) > first, timeout=90, step=0.01)
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(10)
        job = jobs.get_job(sessions, batch_id)
        committed = len(list(parts.glob("chunk-*.json")))
        assert job.state == "running" and first < committed < 41, (job.state, committed)

        time.sleep(settings.stale_after_s + 0.5)  # the heartbeat goes stale
        pool = WorkerPool(settings, 1)
        pool.start()  # start-up re-queues the dead worker's job; the new worker resumes it
        try:
            done = wait_for(lambda: (j := jobs.get_job(sessions, batch_id)).state in ("succeeded", "failed") and j,
                            timeout=120)
        finally:
            pool.stop(timeout=30)
        assert done.state == "succeeded", done.error
        assert done.attempts == 3
        assert (done.rows_in, done.rows_out, done.rows_rejected, done.records) == (n + 2, n, 2, n)
        frame = pd.read_parquet(Path(done.outdir) / "enriched.parquet")
        assert len(frame) == n and frame["id"].is_unique
        assert set(frame["id"]) == {f"r{i:04d}" for i in range(n)}
        assert len(pd.read_csv(Path(done.outdir) / "errors.csv")) == 2
