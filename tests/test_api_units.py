"""Units of the service: settings, key hashing and CLI, job claiming and re-queueing, webhook retries."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from voc_api import jobs
from voc_api.cli import app as cli_app
from voc_api.db import (
    ApiKey,
    Delivery,
    DeliveryAttempt,
    Job,
    Webhook,
    init_db,
    make_engine,
    session_factory,
    utcnow,
)
from voc_api.keys import create_key, revoke_key, verify_token
from voc_api.settings import Settings, SettingsError
from voc_api.webhook_sender import WebhookDispatcher, enqueue, sign


@pytest.fixture()
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    init_db(engine)
    yield session_factory(engine)
    engine.dispose()


def test_settings_precedence_and_errors(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("workers: 3\nmax_upload_mb: 5\n", encoding="utf-8")
    s = Settings.load({"VOC_SETTINGS_FILE": str(f), "VOC_WORKERS": "2"})
    assert (s.workers, s.max_upload_mb) == (2, 5.0)
    assert Settings.load({"VOC_DATA_DIR": str(tmp_path)}).resolved_database_url().endswith("voc.db")
    with pytest.raises(SettingsError, match="VOC_WORKERS"):
        Settings.load({"VOC_WORKERS": "many"})
    f.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="expected a mapping"):
        Settings.load({}, file=f)


def test_keys_are_salted_hashes_and_revocable(sessions):
    token, row = create_key(sessions, "analyst", "x")
    with sessions() as s:
        stored = s.get(ApiKey, row.id)
        assert token.split("_", 2)[2] not in (stored.key_hash, stored.salt)
        assert verify_token(s, token).role == "analyst"
        assert verify_token(s, token + "x") is None
        assert verify_token(s, "garbage") is None
    assert revoke_key(sessions, row.id) and not revoke_key(sessions, "missing")
    with sessions() as s:
        assert verify_token(s, token) is None
    with pytest.raises(ValueError, match="unknown role"):
        create_key(sessions, "root")


@given(st.text(max_size=80))
def test_verify_token_never_crashes(token):
    engine = make_engine("sqlite://")
    init_db(engine)
    with session_factory(engine)() as s:
        assert verify_token(s, token) is None


def test_cli_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("VOC_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    created = runner.invoke(cli_app, ["keys", "create", "--role", "service", "--name", "бот"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("voc_")
    listed = runner.invoke(cli_app, ["keys", "list"])
    key_id = token.split("_")[1]
    assert key_id in listed.stdout and token not in listed.stdout
    assert runner.invoke(cli_app, ["keys", "revoke", key_id]).exit_code == 0
    assert runner.invoke(cli_app, ["keys", "revoke", "nope"]).exit_code == 1
    bad = runner.invoke(cli_app, ["keys", "create", "--role", "root"])
    assert bad.exit_code == 2 and "--role" in bad.output


def test_claims_are_exclusive_and_stale_jobs_requeue(sessions):
    for i in range(3):
        jobs.create_job(sessions, key_id="k", input_name=f"{i}.csv", inputs={}, outdir="/tmp/x", job_id=f"job{i}")
    got: list = []
    barrier = threading.Barrier(8)

    def claim(i: int) -> None:
        barrier.wait()
        while (c := jobs.claim_next(sessions, f"w{i}")) is not None:
            got.append(c[0].id)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == ["job0", "job1", "job2"]
    assert jobs.requeue_stale(sessions, 60) == []
    with sessions.begin() as s:
        s.get(Job, "job1").heartbeat_at = utcnow() - timedelta(seconds=120)
    assert jobs.requeue_stale(sessions, 60) == ["job1"]
    assert jobs.request_cancel(sessions, "job1") == "cancelled"
    assert jobs.request_cancel(sessions, "job0") == "running"  # the worker is asked to stop
    assert jobs.heartbeat(sessions, "job0", "wrong-token") == (False, True)
    assert jobs.request_cancel(sessions, "nope") is None


def test_webhook_retries_with_backoff_then_fails(sessions):
    hits: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            hits.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sessions.begin() as s:
            s.add(Webhook(id="h1", key_id="k", url=f"http://127.0.0.1:{server.server_address[1]}/x",
                          events=["feedback.negative"], secret="s" * 20, negative_threshold=-0.5, active=True))
        assert enqueue(sessions, "feedback.negative", {"feedback_id": "f1"}, score=-0.2) == 0  # above threshold
        assert enqueue(sessions, "batch.finished", {"batch": {}}) == 0  # not subscribed
        assert enqueue(sessions, "feedback.negative", {"feedback_id": "f1"}, score=-0.9) == 1
        settings = Settings(webhook_max_attempts=3, webhook_backoff_s=0.0, webhook_timeout_s=2,
                            webhook_allow_cidrs=["127.0.0.1/32"])  # a local receiver: loopback opened on purpose
        dispatcher = WebhookDispatcher(sessions, settings)
        with httpx.Client() as client:
            for _ in range(5):
                dispatcher.send_due(client)
        with sessions() as s:
            d = s.query(Delivery).one()
            attempts = s.query(DeliveryAttempt).order_by(DeliveryAttempt.attempt).all()
        assert d.state == "failed" and d.attempts == 3 and len(hits) == 3
        assert [a.status_code for a in attempts] == [503, 503, 503] and attempts[0].error == "HTTP 503"
        assert sign("s" * 20, hits[0], 1).startswith("sha256=") and hits[0] == d.payload.encode()
    finally:
        server.shutdown()


def test_backoff_delays_double(sessions):
    with sessions.begin() as s:
        s.add(Webhook(id="h2", key_id="k", url="http://127.0.0.1:9/none", events=["batch.finished"],
                      secret="s" * 20, negative_threshold=-0.5, active=True))
    enqueue(sessions, "batch.finished", {"batch": {"id": "b"}})
    dispatcher = WebhookDispatcher(sessions, Settings(webhook_max_attempts=5, webhook_backoff_s=10,
                                                      webhook_timeout_s=1, webhook_allow_cidrs=["127.0.0.1/32"]))
    with httpx.Client() as client:
        before = utcnow()
        dispatcher.send_due(client)  # connection refused → retry in 10 s
        with sessions() as s:
            d = s.query(Delivery).one()
        assert d.state == "pending" and d.attempts == 1
        assert timedelta(seconds=9) < d.next_attempt_at - before < timedelta(seconds=13)
        assert dispatcher.send_due(client) == 0  # not due yet


def test_microbatcher_groups_concurrent_requests_and_isolates_failures():
    import asyncio
    import time

    from voc.schema import Feedback, Findings
    from voc_api.microbatch import MicroBatcher

    calls: list[int] = []

    def analyze(records):
        calls.append(len(records))
        if any(r.text == "boom" for r in records):
            raise RuntimeError("bad record")
        time.sleep(0.02)
        return list(records), [Findings(feedback_id=r.id) for r in records]

    async def scenario():
        batcher = MicroBatcher(analyze, consumers=1, max_items=8)
        batcher.start()
        reqs = [[Feedback(id=f"{i}-{j}", text="ok") for j in range(1 + i % 2)] for i in range(10)]
        results = await asyncio.gather(*(batcher.submit(r) for r in reqs))
        for req, (_recs, finds) in zip(reqs, results, strict=True):
            assert [f.feedback_id for f in finds] == [r.id for r in req]
        good = batcher.submit([Feedback(id="g", text="ok")])
        bad = batcher.submit([Feedback(id="b", text="boom")])
        out = await asyncio.gather(good, bad, return_exceptions=True)
        batcher.stop()
        return out

    good, bad = asyncio.run(scenario())
    assert good[1][0].feedback_id == "g" and isinstance(bad, RuntimeError)
    assert max(calls) > 2 and len(calls) < 12 and max(calls) <= 8


def test_audit_writer_groups_rows_and_flush_waits_for_rows_it_holds(sessions):
    import time

    from sqlalchemy import func, select

    from voc_api.audit import AuditRow, AuditWriter
    from voc_api.db import AuditEntry, utcnow

    writer = AuditWriter(sessions, linger_s=0.3)
    writer.start()
    try:
        for i in range(3):
            writer.submit(AuditRow(at=utcnow(), key_id="k", role="service", action="classify",
                                   resource=f"items:{i}", client="127.0.0.1"))
        time.sleep(0.05)  # the writer has taken the rows and lingers for more
        writer.flush()
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(AuditEntry)) == 3
    finally:
        writer.stop()
