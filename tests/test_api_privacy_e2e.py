"""No raw personal data is stored or shown anywhere, end to end through the HTTP API.

One service run (tiny real models, an in-process JobRunner, a local webhook receiver) takes a CSV batch and an
XLSX batch with personal data in the texts, in PII-named columns, in other columns, in a header, in the file
name, in the customer keys, in rejected rows and in a tickets file keyed by the same phones; a /v1/classify
call with personal data in the text, the identifiers and the metadata; and a job that fails. Then every raw
value is searched for (as written and JSON-escaped) in every file under the data folder (outputs, parts,
errors, report, heatmaps, summary, the SQLite database bytes), in every response an analyst or admin can
fetch, in every webhook payload the receiver got, and in all log output and stdout/stderr of the run.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from helpers.api import bearer, make_settings, train_tiny_models

from voc_api.app import create_app
from voc_api.webhook_sender import WebhookDispatcher
from voc_api.worker import JobRunner

pytestmark = pytest.mark.slow  # whole file: left out of the fast lane (make test-fast)

KEY = "api-e2e-pseudonym-key-0123456789abcdef"

P1, P2, P3, P4, P5 = "+7 (916) 123-45-67", "8 916 765 43 21", "89031112233", "+7-926-555-44-33", "916.234.56.78"
EMAIL_RU, EMAIL = "иван.петров@почта.рф", "m.kuznetsova@example.ru"
PASSPORT, CARD, SNILS = "4510 987123", "4276 3800 1234 5679", "112-233-445 95"
NAME, ADDRESS = "Мария Кузнецова", "ул. Ленина, д. 5, кв. 12"

#: Raw personal values (and telling parts of them); none may appear anywhere.
RAW = [
    P1, P2, P3, P4, P5, "9161234567", "9167654321", "9031112233", "9265554433", "9162345678", "123-45-67",
    "765 43 21", "555-44-33", "234.56.78", "111 22 33", "765-43-21",
    EMAIL_RU, "иван.петров", "почта.рф", EMAIL, "m.kuznetsova",
    PASSPORT, "987123", CARD, "4276380012345679", "3800 1234", SNILS, "112-233-445",
    NAME, "Кузнецов", "Мария", "Марии", "Ленина", "кв. 12",
]


def _forms(raw: str) -> set[str]:
    """A raw value as it may be written: as is, JSON-escaped (ensure_ascii) and HTML-escaped."""
    return {raw, json.dumps(raw)[1:-1], raw.replace("&", "&amp;").replace('"', "&quot;")}


NEEDLES = {form: raw for raw in RAW for form in _forms(raw)}


def hits(where: str, text: str) -> list[tuple[str, str]]:
    return [(where, raw) for form, raw in NEEDLES.items() if form in text]


FEEDBACK = pd.DataFrame({
    "id": ["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8"],
    "дата": ["2026-01-05 10:00", "2026-01-06 11:00", "2026-01-07 12:00", "2026-01-08 13:00", "2026-01-09 09:00",
             "2026-01-10 09:00", f"звоните {P3}, {EMAIL}", "2026-01-11 10:00"],
    "клиент": [P1, P2, P3, "C-0042", P4, P5, P1, P2],
    "Отзыв": [
        f"Ужасно, курьер опять подвёл. Перезвоните {P1}",
        f"Оператор {NAME} нагрубила, очень плохо: поддержка не работает",
        f"Пишите на {EMAIL_RU}, возврат денег — полное разочарование, верните деньги",
        f"Карта {CARD} заблокирована, оплата картой отвратительно, больше не приду",
        f"Живу: {ADDRESS}, доставка опять подвела, СНИЛС {SNILS}, паспорт {PASSPORT}",
        "Спасибо, приложение просто отлично",
        "Курьер опоздал",
        "",
    ],
    "email клиента": [EMAIL_RU, EMAIL, "", "", "", "", "", ""],
    "ФИО": ["", NAME, "", "", "", "", "", NAME],
    "Паспорт": ["", "", PASSPORT, "", "", "", "", ""],
    "Номер карты": ["", "", "", CARD, "", "", "", ""],
    "СНИЛС": ["", "", "", "", SNILS, "", "", ""],
    "Адрес доставки": ["", ADDRESS, "", "", "", "", "", ""],
    "комментарий оператора": [f"перезвонить на {P2}", f"=HYPERLINK(\"{EMAIL}\")", "", "", "", "", "", ""],
    "примечание": [f"паспорт {PASSPORT}", f"{NAME}, {ADDRESS}", EMAIL_RU, f"карта {CARD}", "", "", "", ""],
    "продукт": ["Доставка", "Поддержка", "Возврат", "Кредитная карта", "Доставка", "Приложение", "Доставка", ""],
})

TICKETS = pd.DataFrame({
    "номер обращения": ["T-1", "T-2", "T-3", "T-4", "T-5"],
    "клиент": ["+79161234567", "8 (916) 765-43-21", "+7 903 111 22 33", "79265554433", EMAIL_RU],
    "создано": ["2026-01-05 09:00", "2026-01-06 10:30", "2026-01-07 11:00", "2026-01-09 08:00",
                f"звонил {P4}"],
    "категория": ["Доставка", "Обслуживание", "Возврат", "Доставка", "Доставка"],
})


class Receiver:
    """A local webhook receiver keeping every body it was sent."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                outer.bodies.append(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def captured_output() -> Iterator[dict[str, str]]:
    """All logging (every logger, DEBUG and up) and the process's stdout/stderr at file-descriptor level."""
    out: dict[str, str] = {}
    handler = _ListHandler()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    with tempfile.TemporaryFile() as sink:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        old_streams = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(1), "wb"), encoding="utf-8",
                                                   write_through=True)
        try:
            yield out
        finally:
            sys.stdout.flush()
            sys.stdout, sys.stderr = old_streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            root.removeHandler(handler)
            root.setLevel(old_level)
            sink.seek(0)
            out["logs"] = "\n".join(handler.lines)
            out["stdio"] = sink.read().decode("utf-8", errors="ignore")


@dataclass
class Run:
    data_dir: Path
    responses: dict[str, str] = field(default_factory=dict)
    webhook_bodies: list[str] = field(default_factory=list)
    output: dict[str, str] = field(default_factory=dict)
    results: dict[str, list[dict]] = field(default_factory=dict)
    states: dict[str, dict] = field(default_factory=dict)
    classify: dict = field(default_factory=dict)


def _xlsx(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_excel(buf, index=False)
    return buf.getvalue()


def _collect_batch(client, run: Run, name: str, job_id: str, analyst: dict) -> None:
    def get(label: str, url: str) -> httpx.Response:
        resp = client.get(url, headers=analyst)
        run.responses[f"{name} {label}"] = resp.content.decode("utf-8", errors="ignore")
        return resp

    status = get("status", f"/v1/batches/{job_id}").json()
    run.states[name] = status
    if status["state"] != "succeeded":
        get("errors.json", f"/v1/batches/{job_id}/errors?page_size=1000")
        return
    results = get("results.json", f"/v1/batches/{job_id}/results?page_size=1000").json()
    run.results[name] = results["items"]
    get("results.csv", f"/v1/batches/{job_id}/results?format=csv")
    parquet = client.get(f"/v1/batches/{job_id}/results?format=parquet", headers=analyst)
    frame = pd.read_parquet(io.BytesIO(parquet.content))
    run.responses[f"{name} results.parquet"] = frame.to_csv(index=False) + " ".join(map(str, frame.columns))
    get("errors.json", f"/v1/batches/{job_id}/errors?page_size=1000")
    get("errors.csv", f"/v1/batches/{job_id}/errors?format=csv")
    get("report", f"/v1/batches/{job_id}/report")
    for kind in ("stage_emotion", "stage_channel", "topic_week"):
        for fmt in ("json", "html", "png"):
            get(f"heatmap {kind}.{fmt}", f"/v1/batches/{job_id}/heatmap?kind={kind}&format={fmt}")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    return train_tiny_models(tmp_path_factory.mktemp("api_privacy_models"))


@pytest.fixture(scope="module")
def run(tmp_path_factory, models) -> Run:
    tmp = tmp_path_factory.mktemp("api_privacy")
    key_file = tmp / "secrets" / "pseudonym.key"
    key_file.parent.mkdir()
    key_file.write_text(KEY + "\n", encoding="utf-8")
    settings = make_settings(tmp, models, chunk_size=4, pseudonym_key_file=key_file, negative_threshold=0.0)
    result = Run(data_dir=settings.data_dir)
    receiver = Receiver()
    with captured_output() as output:
        app = create_app(settings, start_workers=False, start_sender=False)
        with TestClient(app) as client:
            state = app.state.voc
            keys = {role: bearer(state.sessions, role) for role in ("service", "analyst", "admin")}
            dispatcher = WebhookDispatcher(state.sessions, settings, state.metrics)
            state.dispatcher = dispatcher
            hook = client.post("/v1/webhooks", headers=keys["admin"], json={
                "url": f"http://127.0.0.1:{receiver.port}/voc",
                "events": ["feedback.negative", "batch.finished", "topic.spike"]})
            assert hook.status_code == 201, hook.text
            runner = JobRunner(settings, state.sessions, "privacy-e2e")
            analyst = keys["analyst"]

            csv_bytes = FEEDBACK.to_csv(index=False).encode("utf-8")
            tickets_csv = TICKETS.to_csv(index=False).encode("utf-8")
            created = client.post("/v1/batches", headers=analyst, data={"text_col": "Отзыв"},
                                  files={"file": ("отзывы.csv", csv_bytes), "tickets": ("обращения.csv", tickets_csv)})
            assert created.status_code == 202, created.text
            batches = {"csv": created.json()["id"]}
            assert runner.run_once()

            xlsx_frame = FEEDBACK.rename(columns={"продукт": f"заметка (звонить {P2})"})
            created = client.post("/v1/batches", headers=analyst,
                                  files={"file": (f"отзывы {NAME}.xlsx", _xlsx(xlsx_frame)),
                                         "tickets": (f"обращения {P3}.xlsx", _xlsx(TICKETS))})
            assert created.status_code == 202, created.text
            batches["xlsx"] = created.json()["id"]
            assert runner.run_once()

            # a tickets export without its header row: the worker fails the job, naming the headers it saw
            headerless = _xlsx(pd.DataFrame([["T-9", P1, "2026-01-05"]], columns=["T-1", P5, "2026-01-04"]))
            created = client.post("/v1/batches", headers=analyst, files={
                "file": ("ещё.csv", csv_bytes), "tickets": ("tickets.xlsx", headerless)})
            assert created.status_code == 202, created.text
            batches["failed"] = created.json()["id"]
            assert runner.run_once()

            body = {"items": [
                {"text": f"Ужасно, курьер опять подвёл. Звоните {P1}, пишите {EMAIL_RU}. {NAME}, {ADDRESS}",
                 "customer_id": P1, "ticket_id": "T-1", "id": P3,
                 "metadata": {"телефон": P2, "email": EMAIL, "примечание": f"паспорт {PASSPORT}, карта {CARD}",
                              "комментарий": f"СНИЛС {SNILS}, {NAME}"}},
                {"text": f"Очень плохо: поддержка не работает, я {NAME}", "customer_id": EMAIL_RU}]}
            resp = client.post("/v1/classify", headers={**keys["service"], "Idempotency-Key": "privacy-1"}, json=body)
            assert resp.status_code == 200, resp.text
            result.classify = resp.json()
            result.responses["classify"] = resp.text
            replay = client.post("/v1/classify", headers={**keys["service"], "Idempotency-Key": "privacy-1"}, json=body)
            assert replay.headers.get("idempotent-replayed") == "true"
            result.responses["classify replay"] = replay.text

            dispatcher._drain_incoming()
            with httpx.Client(timeout=5) as http:
                while dispatcher.send_due(http):
                    pass
            for name, job_id in batches.items():
                _collect_batch(client, result, name, job_id, analyst)
            for label, url, who in (("batch list", "/v1/batches", "analyst"), ("batch list admin", "/v1/batches",
                                                                                "admin"),
                                    ("webhooks", "/v1/webhooks", "admin"), ("models", "/v1/models", "analyst"),
                                    ("metrics", "/metrics", "analyst")):
                result.responses[label] = client.get(url, headers=keys[who]).text
            result.responses["deliveries"] = client.get(f"/v1/webhooks/{hook.json()['id']}/deliveries?limit=1000",
                                                        headers=keys["admin"]).text
            state.audit.flush()
            result.responses["audit"] = client.get("/v1/audit?limit=1000", headers=keys["admin"]).text
    receiver.server.shutdown()
    result.webhook_bodies = list(receiver.bodies)
    result.output = output
    return result


def _data_dir_texts(root: Path) -> dict[str, str]:
    """Every file under the data folder as text (UTF-8, errors ignored); Parquet also through pandas."""
    texts = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        texts[rel] = path.read_bytes().decode("utf-8", errors="ignore")
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            texts[rel + " (read)"] = frame.to_csv(index=False) + " ".join(map(str, frame.columns))
    return texts


def _report(found: list[tuple[str, str]]) -> str:
    by_place: dict[str, list[str]] = {}
    for where, raw in found:
        by_place.setdefault(where, []).append(raw)
    return "raw personal data found:\n" + "\n".join(f"  {w}: {sorted(set(r))}" for w, r in sorted(by_place.items()))


def test_the_run_did_what_it_should(run):
    assert run.states["csv"]["state"] == "succeeded" and run.states["xlsx"]["state"] == "succeeded"
    for name in ("csv", "xlsx"):
        assert run.states[name]["rows_in"] == 8 and run.states[name]["rows_rejected"] == 2
        assert {e["reason"] for e in run.states[name]["first_errors"]} == {"unparseable date", "empty text"}
    assert run.states["failed"]["state"] == "failed"
    assert "ticket id" in run.states["failed"]["error"]
    assert len(run.webhook_bodies) >= 4  # negatives of both batches and classify, batch.finished
    events = {json.loads(b)["event"] for b in run.webhook_bodies}
    assert {"feedback.negative", "batch.finished"} <= events
    assert any(json.loads(b)["data"].get("source") == "classify" for b in run.webhook_bodies)
    assert run.output["logs"].count('"event": "request"') > 20  # the capture saw the service's log lines


def test_no_raw_pii_in_any_file_of_the_data_dir(run):
    texts = _data_dir_texts(run.data_dir)
    assert any(p.endswith("voc.db") for p in texts)
    assert sum(p.endswith("enriched.parquet") for p in texts) >= 2 and any("parts/" in p for p in texts)
    assert not any("/input/" in p for p in texts)  # uploads are deleted when their job ends
    found = [h for p, text in texts.items() for h in hits(p, text)]
    assert not found, _report(found)


def test_no_raw_pii_in_any_api_response(run):
    assert len(run.responses) > 40
    found = [h for label, text in run.responses.items() for h in hits(label, text)]
    assert not found, _report(found)


def test_no_raw_pii_in_webhook_payloads(run):
    found = [h for i, body in enumerate(run.webhook_bodies) for h in hits(f"webhook {i}", body)]
    assert not found, _report(found)


def test_no_raw_pii_in_logs_or_stdio(run):
    found = hits("logs", run.output["logs"]) + hits("stdout/stderr", run.output["stdio"])
    assert not found, _report(found)


def test_linking_pseudonyms_and_masks_still_work(run):
    for name in ("csv", "xlsx"):
        rows = {r["id"]: r for r in run.results[name]}
        assert set(rows) == {"F1", "F2", "F3", "F4", "F5", "F6"}
        linked = {i: r.get("link_method") for i, r in rows.items() if r.get("link_method")}
        assert linked.keys() >= {"F1", "F2", "F3", "F5"}, linked
        assert rows["F1"]["ticket_id"] == "T-1" and rows["F3"]["ticket_id"] == "T-3"
        assert rows["F1"]["customer_id"].startswith("psn_") and rows["F4"]["customer_id"] == "C-0042"
        assert rows["F1"]["комментарий оператора"] == "перезвонить на [ТЕЛЕФОН]"
        assert "[ТЕЛЕФОН]" in rows["F1"]["text"] and "[EMAIL]" in rows["F3"]["text"]
        for gone in ("email клиента", "ФИО", "Паспорт", "Номер карты", "СНИЛС", "Адрес доставки"):
            assert gone not in rows["F1"], gone
    item = run.classify["items"][0]
    assert item["customer_id"].startswith("psn_") and item["ticket_id"] == "T-1"
    csv_rows = {r["id"]: r for r in run.results["csv"]}
    assert item["customer_id"] == csv_rows["F1"]["customer_id"]  # one key, one pseudonym across entry points


# ------------------------------------------------------------------------------ privacy options, failures


def test_upload_keeps_named_pii_columns_raw(tmp_path, models):
    settings = make_settings(tmp_path, models, pseudonym_key_file=_key_file(tmp_path))
    app = create_app(settings, start_workers=False, start_sender=False)
    csv_bytes = FEEDBACK.to_csv(index=False).encode("utf-8")
    with TestClient(app) as client:
        analyst = bearer(app.state.voc.sessions, "analyst")
        bad = client.post("/v1/batches", headers=analyst, data={"keep_pii_columns": "[1, 2"},
                          files={"file": ("a.csv", csv_bytes)})
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "keep_pii_columns"]
        created = client.post("/v1/batches", headers=analyst,
                              data={"text_col": "Отзыв", "keep_pii_columns": ["email клиента", '["ФИО"]']},
                              files={"file": ("a.csv", csv_bytes)})
        assert created.status_code == 202, created.text
        assert JobRunner(settings, app.state.voc.sessions, "keep").run_once()
        job_id = created.json()["id"]
        rows = {r["id"]: r for r in client.get(f"/v1/batches/{job_id}/results", headers=analyst).json()["items"]}
    assert rows["F1"]["email клиента"] == EMAIL_RU and rows["F2"]["ФИО"] == NAME  # kept raw, by choice
    assert "Паспорт" not in rows["F1"] and rows["F1"]["customer_id"].startswith("psn_")
    outdir = settings.data_dir / "batches" / job_id / "out"
    privacy = json.loads((outdir / "summary.json").read_text(encoding="utf-8"))["summary"]["privacy"]
    assert privacy["kept_pii_columns"] == {"email клиента": "email", "ФИО": "name"}


def _key_file(tmp: Path) -> Path:
    path = tmp / "pseudonym.key"
    path.write_text(KEY, encoding="utf-8")
    return path


def test_failure_reasons_name_files_only_and_are_masked(tmp_path, models, monkeypatch):
    monkeypatch.delenv("VOC_PSEUDONYM_KEY", raising=False)  # the key must come from the (missing) file
    missing = tmp_path / "secret-folder" / "voc.key"
    settings = make_settings(tmp_path, models, pseudonym_key_file=missing)
    app = create_app(settings, start_workers=False, start_sender=False)
    with TestClient(app) as client:
        ready = client.get("/readyz").json()  # the key is needed for /v1/classify: not ready, and why
        assert ready["status"] == "not ready" and "voc.key" in ready["error"] and str(tmp_path) not in ready["error"]
        analyst = bearer(app.state.voc.sessions, "analyst")
        created = client.post("/v1/batches", headers=analyst, data={"text_col": "Отзыв"},
                              files={"file": (f"отзывы {P3}.csv", FEEDBACK.to_csv(index=False).encode())})
        assert created.status_code == 202, created.text
        assert JobRunner(settings, app.state.voc.sessions, "nokey").run_once()
        status = client.get(f"/v1/batches/{created.json()['id']}", headers=analyst).json()
    assert status["state"] == "failed" and status["input_name"] == "отзывы [ТЕЛЕФОН].csv"
    assert status["error"] == "pseudonym key file not found: voc.key", status["error"]


def test_safe_reason_cuts_server_paths_and_masks_values():
    from voc_api.outputs import safe_reason

    names = {"/srv/voc/var/batches/ab/input/file.csv": "отзывы.csv", "file.csv": "отзывы.csv"}
    roots = ["var/batches/ab", "/srv/voc/var/batches/ab"]
    cases = {
        f"/srv/voc/var/batches/ab/input/file.csv: broken CSV near data row 3: звоните {P1}":
            "отзывы.csv: broken CSV near data row 3: звоните [ТЕЛЕФОН]",
        "[Errno 2] No such file or directory: '/opt/models/sentiment/model.safetensors'":
            "[Errno 2] No such file or directory: 'model.safetensors'",
        "var/batches/ab/out/parts/chunk-00001.parquet: disk full": "out/parts/chunk-00001.parquet: disk full",
        "C:\\Users\\ivan\\voc\\x.yaml: bad (see https://voc.local/problems/x)":
            "x.yaml: bad (see https://voc.local/problems/x)",
        f"headers seen: ['T-1', '{P3}', '{NAME}'], 1/2 of rows, var": "headers seen: ['T-1', '[ТЕЛЕФОН]', '[ИМЯ]'], "
                                                                     "1/2 of rows, var",
    }
    for text, want in cases.items():
        assert safe_reason(text, names, roots) == want


def test_pseudonym_key_file_is_a_setting(tmp_path):
    from voc_api.settings import Settings

    assert Settings.load({"VOC_PSEUDONYM_KEY_FILE": str(tmp_path / "k")}).pseudonym_key_file == tmp_path / "k"
