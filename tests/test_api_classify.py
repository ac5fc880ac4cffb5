"""/v1/classify, roles, problem documents, idempotency, keys, models, health, metrics and logs."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from helpers.api import bearer, make_settings, train_tiny_models
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voc.schema import Feedback
from voc_api.app import create_app
from voc_api.classify import parse_body
from voc_api.problems import ProblemError

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api_classify")
    pipeline_yaml = train_tiny_models(tmp / "models")
    app = create_app(make_settings(tmp, pipeline_yaml, max_request_kb=64), start_sender=False)
    with TestClient(app) as client:
        sessions = app.state.voc.sessions
        keys = {role: bearer(sessions, role) for role in ("service", "analyst", "admin")}
        yield client, keys, app


def assert_problem(resp, status: int, loc_part: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert {"type", "title", "status", "detail", "instance", "errors"} <= body.keys()
    assert body["status"] == status
    if loc_part is not None:
        assert any(loc_part in [str(x) for x in e["loc"]] for e in body["errors"]), body
    return body


def test_classify_single_item(service):
    client, keys, _ = service
    resp = client.post("/v1/classify", headers=keys["service"],
                       json={"text": "Ужасно, курьер опять подвёл. Звоните мне: +7 912 345-67-89",
                             "channel": "review", "ticket_id": "T-1"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["sentiment"] == "negative" and body["sentiment_score"] < 0
    assert body["ticket_id"] == "T-1" and body["channel"] == "review"
    assert "912" not in body["text"]  # PII masked before anything is returned or stored
    assert body["model_versions"]["sentiment"] == "sentiment-test@1"
    assert body["took_ms"] > 0 and body["journey_stage_source"] in ("record", "ticket", "predicted")
    assert all({"label", "text"} <= e.keys() for e in body["evidence"])


def test_classify_many_items(service):
    client, keys, _ = service
    items = [{"text": "Спасибо, доставка просто отлично", "channel": "survey"},
             {"text": "Очень плохо: приложение не работает", "channel": "chat", "customer_id": "C-1"}]
    resp = client.post("/v1/classify", headers=keys["analyst"], json={"items": items})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [i["sentiment"] for i in body["items"]] == ["positive", "negative"]
    assert body["items"][1]["customer_id"] == "C-1" and body["took_ms"] > 0 and body["model_versions"]


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "я" * 20_001}, "text"),
        ({"text": 5}, "text"),
        ({"text": "норм", "channel": "telegram"}, "channel"),
        ({"items": []}, "items"),
        ({"items": [{"text": "ok"}] * 257}, "items"),
        ({"items": [{"text": "ok"}, {"text": ""}]}, "text"),
        ({"text": "ok", "unknown": 1}, "unknown"),
        ([1, 2], "body"),
    ],
)
def test_classify_bad_input_is_a_problem(service, payload, loc):
    client, keys, _ = service
    body = assert_problem(client.post("/v1/classify", headers=keys["service"], json=payload), 422, loc)
    assert body["instance"] == "/v1/classify"


def test_classify_broken_json_and_surrogates(service):
    client, keys, _ = service
    h = {**keys["service"], "Content-Type": "application/json"}
    assert_problem(client.post("/v1/classify", headers=h, content=b'{"text": "oops'), 422, "body")
    assert_problem(client.post("/v1/classify", headers=h, content=b'{"text": "\\ud800"}'), 422, "body")
    assert_problem(client.post("/v1/classify", headers=h, content="{\"text\": \"привет\"}".encode("cp1251")), 422,
                   "body")


def test_request_too_large_is_413(service):
    client, keys, _ = service
    items = [{"text": "я" * 19_000} for _ in range(4)]  # ~150 KB of UTF-8 > 64 KB limit
    assert_problem(client.post("/v1/classify", headers=keys["service"], json={"items": items}), 413)


def test_auth_missing_wrong_and_forbidden(service):
    client, keys, _ = service
    assert_problem(client.post("/v1/classify", json={"text": "ok"}), 401, "Authorization")
    assert_problem(client.post("/v1/classify", headers={"Authorization": "Bearer voc_nope_nope"},
                               json={"text": "ok"}), 401)
    assert_problem(client.get("/v1/models", headers=keys["service"]), 403)
    assert_problem(client.get("/v1/batches/abc", headers=keys["service"]), 403)
    assert_problem(client.get("/v1/keys", headers=keys["analyst"]), 403)
    assert_problem(client.get("/v1/audit", headers=keys["analyst"]), 403)
    assert_problem(client.get("/v1/webhooks", headers=keys["analyst"]), 403)
    assert_problem(client.get("/v1/batches/doesnotexist", headers=keys["analyst"]), 404, "batch_id")


def test_idempotency_key(service):
    client, keys, _ = service
    h = {**keys["service"], "Idempotency-Key": "req-42"}
    first = client.post("/v1/classify", headers=h, json={"text": "Спасибо, заказ прекрасно"})
    again = client.post("/v1/classify", headers=h, json={"text": "Спасибо, заказ прекрасно"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    other = client.post("/v1/classify", headers=h, json={"text": "Другой текст"})
    assert assert_problem(other, 422, "Idempotency-Key")["type"].endswith("idempotency-key-reuse")
    # keys are per API key: the same Idempotency-Key from another key is a new request
    fresh = client.post("/v1/classify", headers={**keys["analyst"], "Idempotency-Key": "req-42"},
                        json={"text": "Другой текст"})
    assert fresh.status_code == 200 and "Idempotent-Replayed" not in fresh.headers


def test_keys_crud_and_revocation(service):
    client, keys, _ = service
    created = client.post("/v1/keys", headers=keys["admin"], json={"role": "service", "name": "бот"})
    assert created.status_code == 201
    token, key_id = created.json()["key"], created.json()["id"]
    listed = client.get("/v1/keys", headers=keys["admin"]).json()
    assert any(k["id"] == key_id and k["key"] is None for k in listed)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/v1/classify", headers=auth, json={"text": "ок"}).status_code == 200
    assert client.delete(f"/v1/keys/{key_id}", headers=keys["admin"]).status_code == 204
    assert_problem(client.post("/v1/classify", headers=auth, json={"text": "ок"}), 401)
    assert_problem(client.delete("/v1/keys/nokey", headers=keys["admin"]), 404)
    assert_problem(client.post("/v1/keys", headers=keys["admin"], json={"role": "root"}), 422, "role")


def test_ops_endpoints(service):
    client, keys, _ = service
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["models_loaded"] is True
    models = client.get("/v1/models", headers=keys["analyst"]).json()
    assert models["components"]["sentiment"] == "sentiment-test@1" and "доставка" in models["stages"]
    text = client.get("/metrics").text
    assert any(line.startswith("voc_http_request_seconds_bucket") and 'route="/v1/classify"' in line
               and 'status="200"' in line for line in text.splitlines())
    assert "voc_inference_seconds_count" in text and "voc_batch_queue_depth" in text
    schema = client.get("/openapi.json").json()
    assert "Курьер" in json.dumps(schema, ensure_ascii=False)


def test_access_log_has_no_text(service, caplog):
    client, keys, _ = service
    with caplog.at_level(logging.INFO, logger="voc.api.access"):
        client.post("/v1/classify", headers=keys["service"], json={"text": "Секретный отзыв про возврат денег"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "voc.api.access"]
    assert lines and lines[-1]["route"] == "/v1/classify" and lines[-1]["status"] == 200
    assert lines[-1]["key_id"] and "latency_ms" in lines[-1]
    assert all("Секретный" not in r.getMessage() for r in caplog.records)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                              lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                              max_leaves=10).map(lambda v: json.dumps(v).encode())))
def test_parse_body_never_crashes(raw):
    try:
        items, single, digest = parse_body(raw, 256)
    except ProblemError as exc:
        assert exc.status == 422 and exc.errors
    else:
        assert items and len(digest) == 64 and all(i.text.strip() for i in items)


def test_returned_text_is_the_pipelines_masked_text(service):
    client, keys, app = service
    text = "Пишите на ivan.petrov@mail.ru, курьер опять подвёл"
    resp = client.post("/v1/classify", headers=keys["service"], json={"text": text})
    masked, _ = app.state.voc.pipeline.redact([Feedback(id="x", text=text)])
    assert resp.json()["text"] == masked[0].text and "ivan.petrov" not in resp.json()["text"]


def test_cyrillic_email_is_masked_in_the_response(service):
    client, keys, _ = service
    resp = client.post("/v1/classify", headers=keys["service"],
                       json={"text": "Мой адрес иван.петров@почта.рф, курьер опять подвёл"})
    assert resp.status_code == 200 and "иван.петров" not in resp.json()["text"]


def test_classify_answers_readable_utf8(service):
    client, keys, _ = service
    resp = client.post("/v1/classify", headers=keys["service"], json={"text": "Курьер опоздал, ужасно и плохо"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    assert "Курьер".encode() in resp.content and b"\\u04" not in resp.content  # raw bytes, no \uXXXX escapes
    many = client.post("/v1/classify", headers=keys["service"], json={"items": [{"text": "Спасибо, всё отлично"}]})
    assert "Спасибо".encode() in many.content and b"\\u" not in many.content
    problem = client.post("/v1/classify", headers=keys["service"], json={"text": "ок", "channel": "телеграм"})
    assert problem.status_code == 422 and "телеграм".encode() in problem.content


def test_classify_errors_name_the_field_not_the_union_branch(service):
    client, keys, _ = service
    h = {**keys["service"], "Content-Type": "application/json"}
    body = assert_problem(client.post("/v1/classify", headers=h, json={"items": [{"text": "ok"}, {"text": ""}]}), 422)
    assert body["errors"][0]["loc"] == ["body", "items", 1, "text"] and body["detail"].startswith("body.items.1.text")
    body = assert_problem(client.post("/v1/classify", headers=h, json={"text": "ok", "extra": 1}), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "extra"]]
    body = assert_problem(client.post("/v1/classify", headers=h, json=[{"text": "ok"}]), 422)
    assert body["errors"][0]["loc"] == ["body"] and "must be a JSON object" in body["errors"][0]["msg"]
    body = assert_problem(client.post("/v1/classify", headers={**h, "Content-Type": "text/plain"},
                                      content=b'{"text": "ok"}'), 422)
    assert "application/json" in body["errors"][0]["msg"]
    body = assert_problem(client.post("/v1/classify", headers=h, content=b'{"text": "oops'), 422)
    assert "not valid JSON" in body["errors"][0]["msg"]
    body = assert_problem(client.post("/v1/classify", headers=h, content=b'{"text": "ok", "id": "\\udc00"}'), 422)
    assert body["errors"][0]["loc"] == ["body", "id"] and "surrogate" in body["errors"][0]["msg"]
    body = assert_problem(client.post("/v1/classify", headers=h, content="{\"text\": \"ок\"}".encode("cp1251")), 422)
    assert body["detail"] == "body is not UTF-8"
    body = assert_problem(client.post("/v1/classify", headers={**h, "Idempotency-Key": "x" * 201},
                                      json={"text": "ok"}), 422, "Idempotency-Key")


def test_idempotent_replay_of_many_items_is_the_same_typed_answer(service):
    client, keys, _ = service
    h = {**keys["service"], "Idempotency-Key": "many-1"}
    payload = {"items": [{"text": "Спасибо, заказ прекрасно"}, {"text": "Ужасно, курьер подвёл", "id": "a"}]}
    first = client.post("/v1/classify", headers=h, json=payload)
    again = client.post("/v1/classify", headers=h, json={"items": list(reversed(payload["items"]))[::-1]})
    assert first.status_code == again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and len(again.json()["items"]) == 2
    assert "Спасибо".encode() in again.content
