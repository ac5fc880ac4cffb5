"""The service under bad input and hostile use (issue #9), with a fake pipeline (fast, controllable):
no 5xx from bad classify bodies (fuzzed), deep JSON named, an unexpected error is a problem that keeps
the connection, a full queue is a 503, audit rows, key revocation within 1 s, /metrics protection,
webhook address checks at registration and at send, upload clean-up and bombs, masked text flowing."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from helpers.api import bearer, make_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from test_api_guards import HOSTS, stub_resolver

from voc.schema import Findings
from voc_api import jobs
from voc_api.app import create_app
from voc_api.db import ApiKey, Delivery, DeliveryAttempt, utcnow

PROBLEM = "application/problem+json"


class FakePipeline:
    """Masks the word 'секрет', calls everything negative; 'boom' raises, 'slow' waits for ``gate``."""

    versions = {"sentiment": "fake@1"}
    stages = ["доставка"]

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.gate = threading.Event()
        self.gate.set()

    def analyze(self, records):
        out, found = [], []
        for r in records:
            if r.text == "boom":
                raise RuntimeError("pipeline failed on a text it must not echo")
            if r.text == "slow":
                self.gate.wait(20)
            masked = r.text.replace("секрет", "[МАСКА]")
            out.append(r.model_copy(update={"text": masked}))
            found.append(Findings(feedback_id=r.id, sentiment="negative", sentiment_score=-0.9,
                                  pii_masked={"secret": 1} if masked != r.text else {}))
        return out, found


class Recorder:
    """Stands in for the webhook dispatcher: keeps what classify hands it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def submit(self, event: str, data: dict, score: float | None = None) -> None:
        self.events.append((event, data))

    def stop(self) -> None:
        pass


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hardening")
    pipeline = FakePipeline()
    app = create_app(make_settings(tmp, tmp / "unused.yaml", max_request_kb=64, metrics_token="m" * 20,
                                   metrics_role="analyst"),
                     pipeline_factory=lambda _s: pipeline, start_workers=False, start_sender=False,
                     resolver=stub_resolver)
    with TestClient(app) as client:
        sessions = app.state.voc.sessions
        client.keys = {role: bearer(sessions, role) for role in ("service", "analyst", "admin")}  # type: ignore
        client.pipeline = pipeline  # type: ignore[attr-defined]
        app.state.voc.dispatcher = Recorder()
        yield client


def assert_problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert body["status"] == status and "Traceback" not in resp.text
    return body


# ------------------------------------------------------------------------------- classify bodies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4), max_leaves=12)
item_like = st.fixed_dictionaries({"text": st.one_of(st.text(max_size=60), st.integers(), st.none(),
                                                     st.text(min_size=19_990, max_size=20_010))},
                                  optional={"channel": st.sampled_from(["review", "chat", "telegram", 5]),
                                            "metadata": json_values, "id": st.one_of(st.text(max_size=210), st.none()),
                                            "extra": st.integers()})


def _deep(depth: int, kind: str) -> bytes:
    inner = "[" * depth + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth
    return ('{"text": "ok", "metadata": {"x": ' + inner + "}}").encode()


bodies = st.one_of(
    st.binary(max_size=300),  # anything, invalid UTF-8 included
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    item_like.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
    st.lists(item_like, max_size=3).map(lambda items: json.dumps({"items": items}).encode()),
    st.tuples(st.integers(1, 3000), st.sampled_from(["list", "dict"])).map(lambda t: _deep(*t)),
    st.binary(min_size=1, max_size=40).map(lambda b: b'{"text": "' + b + b'"}'),
)


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(raw=bodies)
def test_classify_fuzz_never_5xx(fake, raw):
    resp = fake.post("/v1/classify", content=raw,
                     headers={**fake.keys["service"], "Content-Type": "application/json"})
    assert resp.status_code < 500, resp.text
    assert "Traceback" not in resp.text and "File \"" not in resp.text
    if resp.status_code >= 400:
        assert resp.headers["content-type"].startswith(PROBLEM) and resp.json()["errors"]


def test_deep_metadata_is_a_422_naming_the_field(fake):
    raw = b'{"text": "ok", "metadata": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}"
    h = {**fake.keys["service"], "Content-Type": "application/json"}
    # over the 64 KB body limit of this service: 413; within a 2 MB limit the nesting check answers
    assert_problem(fake.post("/v1/classify", content=raw, headers=h), 413)
    raw = b'{"text": "ok", "metadata": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}"
    body = assert_problem(fake.post("/v1/classify", content=raw, headers=h), 422)
    assert body["type"].endswith("json-too-deep") and body["errors"][0]["loc"][:3] == ["body", "metadata", "a"]
    assert body["detail"].startswith("body.metadata.a")
    deep_list = b'{"items": [{"text": "ok", "metadata": {"k": ' + b"[" * 40 + b"]" * 40 + b"}}]}"
    loc = assert_problem(fake.post("/v1/classify", content=deep_list, headers=h), 422)["errors"][0]["loc"]
    assert loc[:5] == ["body", "items", 0, "metadata", "k"]
    webhook = b'{"url": "https://hooks.example.ru/x", "events": ' + b"[" * 40 + b"]" * 40 + b"}"
    assert_problem(fake.post("/v1/webhooks", content=webhook, headers={**fake.keys["admin"],
                                                                        "Content-Type": "application/json"}), 422)
    ok = fake.post("/v1/classify", headers=fake.keys["service"], json={"text": "ок", "metadata": {"a": {"b": [1]}}})
    assert ok.status_code == 200


# ---------------------------------------------------------------- a real server: 500s and the queue


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live")
    pipeline = FakePipeline()
    app = create_app(make_settings(tmp, tmp / "unused.yaml", inference_threads=1, max_items=4,
                                   classify_queue_max_items=4),
                     pipeline_factory=lambda _s: pipeline, start_workers=False, start_sender=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    key = bearer(app.state.voc.sessions, "service")
    yield port, key, pipeline
    pipeline.gate.set()
    server.should_exit = True
    thread.join(10)


def _post(conn: http.client.HTTPConnection, key: dict, body: dict) -> tuple[int, dict, http.client.HTTPResponse]:
    conn.request("POST", "/v1/classify", body=json.dumps(body).encode(),
                 headers={**key, "Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read() or b"{}"), resp


def test_unexpected_error_is_a_problem_and_the_connection_stays(live):
    port, key, _ = live
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    status, body, resp = _post(conn, key, {"text": "boom"})
    assert status == 500 and resp.getheader("content-type").startswith(PROBLEM)
    assert body["status"] == 500 and "must not echo" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    assert not resp.will_close
    sock = conn.sock
    status, body, _ = _post(conn, key, {"text": "всё хорошо"})
    assert status == 200 and conn.sock is sock  # the same keep-alive connection
    conn.close()


def test_full_queue_is_a_503_with_retry_after(live):
    port, key, pipeline = live
    pipeline.gate.clear()
    results: list[tuple[int, str | None]] = []

    def call(text: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        status, _, resp = _post(conn, key, {"text": text})
        results.append((status, resp.getheader("retry-after")))
        conn.close()

    first = threading.Thread(target=call, args=("slow",))
    first.start()
    time.sleep(0.5)  # taken by the only inference thread, which now waits
    waiting = [threading.Thread(target=call, args=(f"текст {i}",)) for i in range(4)]
    for t in waiting:
        t.start()
    time.sleep(0.5)  # 4 items wait: the bound
    call("one too many")
    assert results[-1] == (503, "1")
    pipeline.gate.set()
    for t in [first, *waiting]:
        t.join(30)
    assert sorted(s for s, _ in results) == [200] * 5 + [503]


# ----------------------------------------------------------------------------- masked text flows


def test_masked_text_is_what_classify_returns_and_webhooks_carry(fake):
    recorder = fake.app.state.voc.dispatcher
    recorder.events.clear()
    resp = fake.post("/v1/classify", headers=fake.keys["service"],
                     json={"items": [{"text": "мой секрет: курьер опоздал", "ticket_id": "T-1"}]})
    assert resp.status_code == 200
    item = resp.json()["items"][0]
    assert item["text"] == "мой [МАСКА]: курьер опоздал" and item["pii_masked"] == {"secret": 1}
    assert recorder.events and all("секрет" not in json.dumps(d, ensure_ascii=False) for _, d in recorder.events)
    assert recorder.events[0][1]["text"] == item["text"]


# --------------------------------------------------------------------------- audit, keys, metrics


def test_reads_classify_and_failed_authentications_are_audited(fake):
    keys = fake.keys
    fake.get("/v1/batches", headers=keys["analyst"])
    fake.post("/v1/classify", headers=keys["service"], json={"items": [{"text": "а"}, {"text": "б"}]})
    fake.get("/v1/batches", headers={"Authorization": "Bearer voc_0123abcd_wrongsecret"})
    fake.get("/v1/batches", headers={})
    fake.get("/v1/keys", headers=keys["analyst"])
    fake.app.state.voc.audit.flush()
    rows = fake.get("/v1/audit?limit=1000", headers=keys["admin"]).json()
    by_action = {}
    for r in rows:
        by_action.setdefault(r["action"], []).append(r)
    assert by_action["batch.list"][0]["role"] == "analyst"
    assert any(r["resource"] == "items:2" and r["role"] == "service" for r in by_action["classify"])
    failed = by_action["auth.failed"]
    assert any(r["key_id"] == "0123abcd" and r["resource"] == "GET /v1/batches" and r["client"] for r in failed)
    assert "wrongsecret" not in json.dumps(rows)
    assert by_action["auth.missing"] and by_action["auth.forbidden"][0]["resource"] == "GET /v1/keys"


def test_revocation_from_another_process_counts_within_a_second(fake):
    created = fake.post("/v1/keys", headers=fake.keys["admin"], json={"role": "service"}).json()
    auth = {"Authorization": f"Bearer {created['key']}"}
    assert fake.post("/v1/classify", headers=auth, json={"text": "ок"}).status_code == 200  # now cached
    with fake.app.state.voc.sessions.begin() as s:  # what `voc keys revoke` does from its own process
        s.execute(update(ApiKey).where(ApiKey.id == created["id"]).values(revoked_at=utcnow()))
    revoked_at = time.monotonic()
    while fake.post("/v1/classify", headers=auth, json={"text": "ок"}).status_code == 200:
        assert time.monotonic() - revoked_at < 1.0, "revocation not seen within 1 s"
        time.sleep(0.05)
    assert_problem(fake.post("/v1/classify", headers=auth, json={"text": "ок"}), 401)


def test_metrics_can_be_protected(fake):
    assert_problem(fake.get("/metrics"), 401)
    assert_problem(fake.get("/metrics", headers={"Authorization": "Bearer " + "x" * 20}), 401)
    assert fake.get("/metrics", headers={"Authorization": "Bearer " + "m" * 20}).status_code == 200
    assert fake.get("/metrics", headers=fake.keys["analyst"]).status_code == 200
    assert_problem(fake.get("/metrics", headers=fake.keys["service"]), 403)


def test_web_page_has_a_content_security_policy(fake):
    csp = fake.get("/").headers["content-security-policy"]
    script = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert fake.get("/ui/static/app.js").headers["content-security-policy"] == csp


# ---------------------------------------------------------------------------------------- webhooks


def test_webhook_registration_checks_the_resolved_address(fake):
    admin = fake.keys["admin"]
    for url in ("http://intranet.corp/h", "http://169.254.169.254/latest", "http://2852039166/h", "http://0x7f000002/",
                "http://[::ffff:10.0.0.1]/h", "http://mapped.example.ru/h", "http://nowhere.example/h"):
        body = assert_problem(fake.post("/v1/webhooks", headers=admin, json={"url": url, "events": ["batch.finished"]}),
                              422)
        assert body["errors"][0]["loc"] == ["body", "url"], body
    ok = fake.post("/v1/webhooks", headers=admin, json={"url": "https://hooks.example.ru/voc",
                                                        "events": ["batch.finished"]})
    assert ok.status_code == 201


class Receiver:
    def __init__(self, status: int = 200, location: str | None = None):
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.hits.append(self.path)
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_send_time_checks_redirects_and_generic_errors(fake, monkeypatch):
    from voc_api.webhook_sender import WebhookDispatcher, enqueue

    state = fake.app.state.voc
    admin = fake.keys["admin"]
    target = Receiver()
    redirect = Receiver(302, f"http://127.0.0.1:{target.port}/stolen")
    hooks = {}
    monkeypatch.setitem(HOSTS, "flip.example.ru", ["93.184.216.34"])
    for name, url in (("redirect", f"http://127.0.0.1:{redirect.port}/r"), ("closed", "http://127.0.0.1:9/x"),
                      ("flip", "http://flip.example.ru/h")):
        resp = fake.post("/v1/webhooks", headers=admin, json={"url": url, "events": ["topic.spike"]})
        assert resp.status_code == 201, resp.text
        hooks[name] = resp.json()["id"]
    HOSTS["flip.example.ru"] = ["127.0.0.2"]  # the name now points inside (DNS rebinding)
    assert enqueue(state.sessions, "topic.spike", {"name": "доставка"}) >= 3
    dispatcher = WebhookDispatcher(state.sessions, state.settings, resolver=stub_resolver)
    with httpx.Client(timeout=2) as client:
        dispatcher.send_due(client)
    assert redirect.hits == ["/r"] and target.hits == []  # the redirect was not followed
    errors = {}
    for name, hook_id in hooks.items():
        log = fake.get(f"/v1/webhooks/{hook_id}/deliveries", headers=admin).json()
        errors[name] = log[0]["attempt_log"][0]["error"]
    assert errors == {"redirect": "HTTP 302 (redirects are not followed)",
                      "closed": "no HTTP response (connection failed or timed out)",
                      "flip": "destination address not allowed"}
    with state.sessions() as s:
        texts = [a.error or "" for a in s.query(DeliveryAttempt)]
        assert s.query(Delivery).count() >= 3
    assert not any("Errno" in t or "Connect" in t for t in texts)
    state.audit.flush()
    audit = fake.get("/v1/audit?action=webhook.deliveries.read", headers=admin).json()
    assert {a["resource"] for a in audit} >= {f"webhook:{h}" for h in hooks.values()}
    for r in (target, redirect):
        r.server.shutdown()


# ------------------------------------------------------------------------------------------ uploads


def _batches(client) -> set[str]:
    root = client.app.state.voc.batches_dir
    return {p.name for p in root.iterdir()} if root.exists() else set()


def test_upload_failures_leave_no_folder(fake, monkeypatch):
    analyst = fake.keys["analyst"]
    before = _batches(fake)
    csv = "id,text\n1,Курьер опоздал\n".encode()

    def broken(*_a, **_k):
        raise RuntimeError("database went away")

    monkeypatch.setattr(jobs, "create_job", broken)
    assert_problem(fake.post("/v1/batches", headers=analyst, files={"file": ("a.csv", csv)}), 500)
    monkeypatch.undo()
    assert_problem(fake.post("/v1/batches", headers=analyst, files={"file": ("a.csv", b"")}), 422)
    assert_problem(fake.post("/v1/batches", headers=analyst,
                             files={"file": ("a.csv", csv), "journey": ("j.yaml", b"a: &x [1]\nb: *x\n")}), 422)
    assert _batches(fake) == before


def test_xlsx_is_not_parsed_by_the_api_and_bombs_are_refused(fake, monkeypatch, tmp_path):
    import openpyxl
    from test_api_guards import _xlsx

    analyst = fake.keys["analyst"]
    before = _batches(fake)
    bomb = _xlsx(tmp_path / "bomb.xlsx", b"<si><t>" + b"A" * (60 * 2**20) + b"</t></si>")
    body = assert_problem(fake.post("/v1/batches", headers=analyst,
                                    files={"file": ("bomb.xlsx", bomb.read_bytes())}), 422)
    assert body["type"].endswith("unsafe-archive") and body["errors"][0]["loc"] == ["body", "file"]
    assert _batches(fake) == before

    book = openpyxl.Workbook()
    book.active.append(["Отзыв"])
    book.active.append(["Курьер опоздал"])
    book.save(tmp_path / "ok.xlsx")

    def forbidden(*_a, **_k):
        raise AssertionError("the API process opened a workbook")

    monkeypatch.setattr(openpyxl, "load_workbook", forbidden)
    monkeypatch.setattr("openpyxl.reader.excel.load_workbook", forbidden)
    created = fake.post("/v1/batches", headers=analyst, files={"file": ("ok.xlsx", (tmp_path / "ok.xlsx").read_bytes())})
    assert created.status_code == 202, created.text
    status = fake.get(f"/v1/batches/{created.json()['id']}", headers=analyst).json()
    assert status["rows_total"] is None and status["input_name"] == "ok.xlsx"  # counted by the worker


def test_orphan_upload_folders_are_removed_at_start_up(tmp_path):
    settings = make_settings(tmp_path, tmp_path / "unused.yaml", orphan_grace_s=60)
    root = settings.data_dir / "batches"
    for name in ("orphan", "recent"):
        (root / name / "input").mkdir(parents=True)
        (root / name / "input" / "file.csv").write_text("text\nx\n", encoding="utf-8")
    old = time.time() - 3600
    os.utime(root / "orphan", (old, old))
    app = create_app(settings, pipeline_factory=lambda _s: FakePipeline(), start_workers=False, start_sender=False)
    with TestClient(app):
        assert not (root / "orphan").exists() and (root / "recent").exists()
        jobs.create_job(app.state.voc.sessions, key_id="k", input_name="a.csv", inputs={}, job_id="withjob",
                        outdir=str(root / "withjob" / "out"))
    (root / "withjob" / "input").mkdir(parents=True)
    os.utime(root / "withjob", (old, old))
    with TestClient(create_app(settings, pipeline_factory=lambda _s: FakePipeline(), start_workers=False,
                               start_sender=False)):
        assert (root / "withjob").exists()  # it has a job row: not an orphan


def test_stale_crashed_job_is_failed_by_the_pool_start(tmp_path):
    from voc_api.db import Job
    from voc_api.worker import WorkerPool

    settings = make_settings(tmp_path, tmp_path / "unused.yaml", job_max_attempts=2, workers=0)
    app = create_app(settings, pipeline_factory=lambda _s: FakePipeline(), start_workers=False, start_sender=False)
    with TestClient(app):
        sessions = app.state.voc.sessions
        jobs.create_job(sessions, key_id="k", input_name="a.csv", inputs={}, job_id="dead", outdir=str(tmp_path / "o"))
        with sessions.begin() as s:
            s.execute(update(Job).where(Job.id == "dead").values(state="running", attempts=2,
                                                                 heartbeat_at=utcnow() - timedelta(hours=1)))
        WorkerPool(settings, 0).start()
        job = jobs.get_job(sessions, "dead")
        assert job.state == "failed" and "2 times" in job.error



@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test certificate")
def test_https_delivery_goes_to_the_checked_address_with_the_name_for_tls(fake, tmp_path, monkeypatch):
    """The connection is pinned to the resolved address, and TLS still verifies the certificate for the name."""
    import ssl
    import subprocess

    from voc_api.webhook_sender import WebhookDispatcher, enqueue

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hooks.test",
                    "-addext", "subjectAltName=DNS:hooks.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    receiver = Receiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    monkeypatch.setitem(HOSTS, "hooks.test", ["127.0.0.1"])
    state = fake.app.state.voc
    with state.sessions.begin() as s:
        s.query(Delivery).filter(Delivery.state == "pending").update({"state": "failed"})
    hook = fake.post("/v1/webhooks", headers=fake.keys["admin"],
                     json={"url": f"https://hooks.test:{receiver.port}/tls", "events": ["batch.finished"]})
    assert hook.status_code == 201, hook.text
    assert enqueue(state.sessions, "batch.finished", {"batch": {"id": "b"}}) >= 1
    dispatcher = WebhookDispatcher(state.sessions, state.settings, resolver=stub_resolver)
    with httpx.Client(timeout=5, verify=ssl.create_default_context(cafile=str(cert))) as client:
        dispatcher.send_due(client)
    receiver.server.shutdown()
    assert receiver.hits == ["/tls"]
    log = fake.get(f"/v1/webhooks/{hook.json()['id']}/deliveries", headers=fake.keys["admin"]).json()
    assert log[0]["state"] == "delivered"


def test_an_undecodable_body_is_a_400_naming_the_body(fake):
    resp = fake.post("/v1/classify", content=b"\x00\x00\x00\x00\x00",
                     headers={**fake.keys["service"], "Content-Type": "application/json"})
    body = assert_problem(resp, 400)
    assert body["errors"][0]["loc"] == ["body"] and "UTF-8" in body["detail"]
