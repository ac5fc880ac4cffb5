"""The PostgreSQL path (psycopg 3) against a real server at $VOC_TEST_POSTGRES_URL."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from fastapi.testclient import TestClient
from helpers.api import bearer, make_settings, train_tiny_models, write_feedback_csv

from voc_api import jobs
from voc_api.app import create_app
from voc_api.db import Base, make_engine
from voc_api.worker import JobRunner

URL = os.environ.get("VOC_TEST_POSTGRES_URL")


def _reachable(url: str) -> str | None:
    try:
        engine = make_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: skip with the reason
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


@pytest.fixture(scope="module")
def pg_url() -> str:
    if not URL:
        pytest.skip("VOC_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:55432/voc_test)")
    problem = _reachable(URL)
    if problem:
        pytest.skip(f"PostgreSQL at VOC_TEST_POSTGRES_URL cannot be reached: {problem}")
    engine = make_engine(URL)
    Base.metadata.drop_all(engine)  # a clean schema for this run
    engine.dispose()
    return URL


def test_postgres_service_path(tmp_path, pg_url):
    settings = make_settings(tmp_path, train_tiny_models(tmp_path / "models"), database_url=pg_url, chunk_size=20)
    app = create_app(settings, start_sender=False)
    with TestClient(app) as client:
        sessions = app.state.voc.sessions
        admin, analyst = bearer(sessions, "admin"), bearer(sessions, "analyst")
        h = {**analyst, "Idempotency-Key": str(uuid.uuid4())}
        first = client.post("/v1/classify", headers=h, json={"text": "Спасибо, доставка отлично"})
        assert first.status_code == 200
        assert client.post("/v1/classify", headers=h, json={"text": "Спасибо, доставка отлично"}).json() == first.json()
        assert client.post("/v1/classify", headers=h, json={"text": "другое"}).status_code == 422

        csv_path = write_feedback_csv(tmp_path / "fb.csv", n=30)
        batch_id = client.post("/v1/batches", headers=analyst, files={"file": ("fb.csv", csv_path.read_bytes())}
                               ).json()["id"]
        # two workers racing for one job: exactly one claim wins
        wins: list[object] = []
        barrier = threading.Barrier(6)

        def claim(i: int) -> None:
            barrier.wait()
            got = jobs.claim_next(sessions, f"racer-{i}")
            if got is not None:
                wins.append(got)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1
        job, _token = wins[0]
        assert jobs.requeue_stale(sessions, 0.0) == [job.id]  # its "worker" never heartbeats

        runner = JobRunner(settings, sessions, "pg-worker")
        assert runner.run_once() is True
        status = client.get(f"/v1/batches/{batch_id}", headers=analyst).json()
        assert status["state"] == "succeeded" and status["records"] == 30 and status["attempts"] == 2
        page = client.get(f"/v1/batches/{batch_id}/results?page_size=50", headers=analyst).json()
        assert page["total"] == 30
        audit = client.get("/v1/audit", headers=admin).json()
        assert any(a["action"] == "results.read.json" for a in audit)
