"""The analysts' web page: served without a key, self-contained (no outside hosts), wired to real endpoints,
and its multipart field names are the ones ``POST /v1/batches`` reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers.api import bearer, make_settings, no_pipeline
from hypothesis import given, settings
from hypothesis import strategies as st

from voc_api import batches, ui
from voc_api.app import create_app

STATIC = Path(ui.__file__).parent / "static"
PAGE_FILES = [STATIC / ui.PAGE, *(ui.LIBRARY_ASSETS.get(name, STATIC / name) for name in ui.ASSETS)]
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    app = create_app(make_settings(tmp, tmp / "unused-pipeline.yaml"), pipeline_factory=no_pipeline,
                     start_workers=False, start_sender=False)
    with TestClient(app) as c:
        c.analyst = bearer(app.state.voc.sessions, "analyst")  # type: ignore[attr-defined]
        c.service = bearer(app.state.voc.sessions, "service")  # type: ignore[attr-defined]
        yield c


def _js() -> str:
    return (STATIC / "app.js").read_text(encoding="utf-8")


def js_form_fields(source: str) -> set[str]:
    """Field names the page appends to its upload FormData: ``form.append("name", …)``."""
    return set(re.findall(r"""\bform\.append\(\s*["']([A-Za-z_][\w-]*)["']""", source))


def api_form_fields(client: TestClient) -> tuple[set[str], set[str]]:
    """(all, required) multipart field names of ``POST /v1/batches`` from the OpenAPI document."""
    spec = client.app.openapi()
    body = spec["paths"]["/v1/batches"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    if "$ref" in body:
        body = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    return set(body["properties"]), set(body.get("required", []))


@pytest.mark.parametrize("path", ["/", "/ui"])
def test_page_is_served_without_a_key_in_russian(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["x-frame-options"] == "DENY"
    html = r.text
    assert '<html lang="ru">' in html
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title and re.search(r"[а-яё]{4}", title.group(1), re.I)
    for asset in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert asset.startswith("/ui/static/"), asset
        got = client.get(asset)
        name = asset.rsplit("/", 1)[-1]
        assert got.status_code == 200 and got.content == ui.LIBRARY_ASSETS.get(name, STATIC / name).read_bytes()


def test_assets_have_their_media_types_and_nothing_else_is_reachable(client: TestClient) -> None:
    assert client.get("/ui/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/ui/static/style.css").headers["content-type"].startswith("text/css")
    for name in ("index.html", "..%2Fui.py", "secret.txt"):
        r = client.get(f"/ui/static/{name}")
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


@settings(max_examples=40)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30))
def test_any_unknown_asset_name_is_a_404_problem(client: TestClient, name: str) -> None:
    r = client.get("/ui/static/" + name.replace("%", "%25").replace("/", "%2F").replace("?", "%3F")
                   .replace("#", "%23"))
    if name in ui.ASSETS:
        assert r.status_code == 200
    else:
        assert r.status_code in (404, 422) and r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_page_refers_to_no_outside_host(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"(?i:https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import)|\burl\(", text), path.name


def test_script_calls_real_endpoints_with_the_key() -> None:
    js = _js()
    assert '"Authorization": "Bearer " + key' in js
    assert "sessionStorage" in js and "localStorage" not in js
    for fragment in ('"/v1/batches"', "/v1/batches?limit=", "/results?format=csv", "/results?format=parquet",
                     "/errors?format=csv", "/heatmap?kind=", "&format=png", "&format=html", "/report",
                     'method: "DELETE"', 'method: "POST"'):
        assert fragment in js, fragment
    assert set(re.findall(r'\["(\w+)", "[^"]+"\]', js)) == set(batches.HEATMAP_KINDS)
    for status in (401, 403, 413, 422):
        assert re.search(rf"\b{status}: \"", js), status


@pytest.mark.parametrize("name", ["app.js", "drill.js"])
def test_script_never_inserts_html(name: str) -> None:
    js = ui.LIBRARY_ASSETS.get(name, STATIC / name).read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in js, sink
    assert "textContent" in js


def test_endpoints_used_by_the_script_exist(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]
    for method, path in (("post", "/v1/batches"), ("get", "/v1/batches"), ("get", "/v1/batches/{batch_id}"),
                         ("delete", "/v1/batches/{batch_id}"), ("get", "/v1/batches/{batch_id}/results"),
                         ("get", "/v1/batches/{batch_id}/errors"), ("get", "/v1/batches/{batch_id}/heatmap"),
                         ("get", "/v1/batches/{batch_id}/report"), ("get", "/v1/batches/{batch_id}/summary")):
        assert method in paths.get(path, {}), (method, path)
    # heatmap pages opened from a blob load plotly.min.js through the <base> the script sets: public, no key
    r = client.get("/v1/batches/any/plotly.min.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")


def test_form_field_names_match_the_upload_endpoint(client: TestClient, tmp_path: Path) -> None:
    page_fields = js_form_fields(_js())
    accepted, required = api_form_fields(client)
    assert page_fields == accepted and required <= page_fields
    # the html inputs carry the same names (so a plain form post would match too)
    html = (STATIC / ui.PAGE).read_text(encoding="utf-8")
    assert set(re.findall(r'<input id="[^"]+" name="([^"]+)"', html)) == accepted

    csv = "id,Отзыв\nr1,Курьер опоздал на два часа\nr2,Спасибо за быструю доставку\n".encode()
    r = client.post("/v1/batches", files={"file": ("отзывы.csv", csv, "text/csv")}, data={"text_col": "Отзыв"},
                    headers=client.analyst)
    assert r.status_code == 202, r.text
    job = client.get(r.headers["location"], headers=client.analyst).json()
    assert job["state"] == "queued" and job["input_name"] == "отзывы.csv" and job["rows_total"] == 2
    assert job["id"] in [j["id"] for j in client.get("/v1/batches?limit=5", headers=client.analyst).json()]

    # every optional name the page sends is read by the server: a wrong value under it is reported under it
    r = client.post("/v1/batches", files={"file": ("a.csv", csv, "text/csv")}, data={"text_col": "Нет такой"},
                    headers=client.analyst)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    r = client.post("/v1/batches", files={"file": ("a.csv", csv, "text/csv")}, data={"keep_pii_columns": "[1"},
                    headers=client.analyst)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "keep_pii_columns"]
    from voc_api.uploads import UPLOAD_OPTIONS

    for name in page_fields - {"file"} - set(UPLOAD_OPTIONS):
        r = client.post("/v1/batches", files={"file": ("a.csv", csv, "text/csv"), name: ("x.txt", b"x", "text/plain")},
                        data={"text_col": "Отзыв"}, headers=client.analyst)
        assert r.status_code == 415, (name, r.text)
        assert r.json()["errors"][0]["loc"] == ["body", name]
    bad = {"channel": "x" * 60, "preset": "insurance", "profile": "turbo", "redact_names": "ner",
           "link_window_days": "-1", "repeat_window_days": "soon"}
    assert set(bad) == page_fields - {"file", "text_col", "keep_pii_columns"} - {"tickets", "journey", "taxonomy",
                                                                                  "causes", "columns"}
    for name, value in bad.items():  # a run option's wrong value is reported under its name
        r = client.post("/v1/batches", files={"file": ("a.csv", csv, "text/csv")},
                        data={"text_col": "Отзыв", name: value}, headers=client.analyst)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"][:2] == ["body", name], (name, r.text)


def test_data_calls_without_the_right_key_are_problems_the_page_can_show(client: TestClient) -> None:
    for headers, status in (({}, 401), ({"Authorization": "Bearer voc_nope_nope"}, 401), (client.service, 403)):
        r = client.get("/v1/batches", headers=headers)
        assert r.status_code == status and r.headers["content-type"] == PROBLEM
        assert {"detail", "errors", "status"} <= set(r.json())


def test_russian_labels_are_served_without_a_key(client: TestClient) -> None:
    r = client.get("/ui/static/ru.json")
    assert r.status_code == 200 and r.headers["content-security-policy"].startswith("default-src 'none'")
    labels = r.json()
    assert labels["reasons"]["empty text"] == "пустой текст" and labels["channels"]["survey"] == "опрос"
    assert labels["links"]["customer_window"].startswith("по клиенту") and "no_data:sla" in labels["flags"]
