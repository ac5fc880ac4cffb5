"""Label corrections: stored with who/when/model version and the model's label, audited, checked against the batch;
exported as CSV and Label Studio tasks and imported back; `voc train --with-corrections` trains on them."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from fastapi.testclient import TestClient
from helpers.api import bearer, make_settings, no_pipeline
from helpers.tinydata import sentiment_rows
from typer.testing import CliRunner

from voc.aggregate.synthetic import synthetic_frame
from voc_api import corrections as corr
from voc_api import jobs
from voc_api.app import create_app
from voc_api.cli import app as api_cli
from voc_api.db import AuditEntry, Job, init_db, make_engine, session_factory
from voc_models import registry
from voc_training.cli import app as training_cli

runner = CliRunner()



@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corr")
    frame = synthetic_frame(60, weeks=2, seed=1)
    settings = make_settings(tmp, tmp / "none.yaml")
    app = create_app(settings, pipeline_factory=no_pipeline, start_workers=False, start_sender=False)
    with TestClient(app) as client:
        sessions = app.state.voc.sessions
        analyst = bearer(sessions, "analyst")
        key_id = analyst["Authorization"].split("_")[1]
        out = tmp / "out"
        out.mkdir()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out / "enriched.parquet")
        (out / "summary.json").write_text(json.dumps({"summary": {"model_versions": {
            "sentiment": "sentiment-tfidf@1", "topics": "rules-1"}}, "aggregates": {}}), encoding="utf-8")
        job = jobs.create_job(sessions, key_id=key_id, input_name="f.csv", inputs={}, outdir=str(out))
        running = jobs.create_job(sessions, key_id=key_id, input_name="g.csv", inputs={}, outdir=str(tmp / "none"))
        with sessions.begin() as s:
            s.get(Job, job.id).state = "succeeded"
        settings_file = tmp / "settings.yaml"
        settings_file.write_text(yaml.safe_dump({"data_dir": str(settings.data_dir)}), encoding="utf-8")
        yield client, analyst, job.id, running.id, frame, settings_file


def test_correction_is_stored_with_who_when_model_and_audited(setup) -> None:
    client, analyst, batch, _running, frame, _ = setup
    row = frame.iloc[3]
    right = "positive" if row["sentiment"] != "positive" else "negative"
    r = client.post(f"/v1/batches/{batch}/corrections", headers=analyst,
                    json={"feedback_id": row["id"], "task": "sentiment", "value": right, "note": "сарказм"})
    assert r.status_code == 201, r.text
    saved = r.json()
    assert saved["old_value"] == row["sentiment"] and saved["new_value"] == right
    assert saved["model_version"] == "sentiment-tfidf@1" and saved["author"] == "test-analyst"
    assert saved["key_id"] and saved["created_at"].endswith("Z") and saved["text"] == row["text"]
    topics = client.post(f"/v1/batches/{batch}/corrections", headers=analyst,
                         json={"feedback_id": row["id"], "task": "topics", "value": ["доставка", "курьер"]})
    assert topics.status_code == 201 and topics.json()["new_value"] == ["доставка", "курьер"]
    assert topics.json()["old_value"] == list(row["topics"])
    listed = client.get(f"/v1/batches/{batch}/corrections", headers=analyst).json()
    assert [c["task"] for c in listed] == ["sentiment", "topics"]
    with client.app.state.voc.sessions() as s:
        actions = {a.action for a in s.query(AuditEntry).filter(AuditEntry.resource.like(f"batch:{batch}/%"))}
    assert "correction.create" in actions


@pytest.mark.parametrize("body, status, field", [
    ({"feedback_id": "nope", "task": "sentiment", "value": "positive"}, 422, "feedback_id"),
    ({"feedback_id": "fb0000001", "task": "sentiment", "value": "great"}, 422, "value"),
    ({"feedback_id": "fb0000001", "task": "cause", "value": "  "}, 422, "value"),
    ({"feedback_id": "fb0000001", "task": "colour", "value": "x"}, 422, "task"),
])
def test_bad_corrections_name_the_field(setup, body, status, field) -> None:
    client, analyst, batch, *_ = setup
    r = client.post(f"/v1/batches/{batch}/corrections", headers=analyst, json=body)
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")
    assert field in r.text


def test_other_keys_and_unfinished_batches(setup) -> None:
    client, analyst, batch, running, *_ = setup
    body = {"feedback_id": "fb0000001", "task": "sentiment", "value": "positive"}
    other = bearer(client.app.state.voc.sessions, "analyst")
    assert client.post(f"/v1/batches/{batch}/corrections", headers=other, json=body).status_code == 404
    assert client.post(f"/v1/batches/{running}/corrections", headers=analyst, json=body).status_code == 409
    service = bearer(client.app.state.voc.sessions, "service")
    assert client.post(f"/v1/batches/{batch}/corrections", headers=service, json=body).status_code == 403
    assert client.get("/v1/corrections", headers=other).json() == []  # only one's own


def test_exports_and_label_studio_round_trip(setup, tmp_path) -> None:
    client, analyst, batch, _r, frame, settings_file = setup
    fid = frame.iloc[5]["id"]
    for value in ("neutral", "negative"):  # the newest counts
        client.post(f"/v1/batches/{batch}/corrections", headers=analyst,
                    json={"feedback_id": fid, "task": "sentiment", "value": value})
    csv = pd.read_csv(io.StringIO(client.get("/v1/corrections?task=sentiment&format=csv", headers=analyst).text))
    assert list(csv.columns) == list(corr.EXPORT_COLUMNS)
    assert csv.loc[csv["feedback_id"] == fid, "label"].tolist() == ["negative"]
    ls = client.get("/v1/corrections?format=label-studio", headers=analyst).json()
    task = next(t for t in ls if t["data"]["feedback_id"] == fid)
    assert task["annotations"][0]["result"][0]["value"]["choices"] == ["negative"]
    assert task["predictions"][0]["model_version"] == "sentiment-tfidf@1"

    # CLI: export as Label Studio, import into a fresh database
    path = tmp_path / "ls.json"
    res = runner.invoke(api_cli, ["corrections", "export", "--format", "label-studio", "-o", str(path),
                                  "--settings", str(settings_file)])
    assert res.exit_code == 0, res.output
    exported = json.loads(path.read_text(encoding="utf-8"))
    exported[0]["annotations"][0]["completed_by"] = "anna@example.org"
    exported.append({"data": {"text": "x"}, "annotations": [{"result": []}]})  # broken: reported, not fatal
    path.write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
    fresh = tmp_path / "fresh.yaml"
    fresh.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "fresh")}), encoding="utf-8")
    res = runner.invoke(api_cli, ["corrections", "import", str(path), "--settings", str(fresh)])
    assert res.exit_code == 0, res.output
    assert f"imported {len(exported) - 1} corrections" in res.output and "task" in res.output
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh' / 'voc.db'}")
    init_db(engine)
    stored = corr.query(session_factory(engine))
    assert {(c.feedback_id, c.task) for c in stored} == {(t["data"]["feedback_id"], t["data"]["task"])
                                                         for t in exported[:-1]}
    assert any(c.author == "label-studio:anna@example.org" and c.source == "label-studio" for c in stored)
    engine.dispose()


@pytest.fixture()
def sentiment_csv(tmp_path, user_registry):
    """The tiny sentiment rows as tmp_path/s.csv (text, label), an empty user registry; (texts, labels)."""
    texts, labels = sentiment_rows()
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "s.csv", index=False)
    return texts, labels


def test_train_with_corrections(tmp_path, sentiment_csv) -> None:
    texts, labels = sentiment_csv
    fixes = pd.DataFrame({"task": ["sentiment", "sentiment", "topics"],
                          "text": [texts[0], "совершенно новый текст про доставку", "x"],
                          "label": ["neutral" if labels[0] != "neutral" else "positive", "negative", "доставка"]})
    fixes.to_csv(tmp_path / "corr.csv", index=False)
    out = tmp_path / "model"
    res = runner.invoke(training_cli, ["train", "sentiment", "--data", str(tmp_path / "s.csv"), "-o", str(out),
                                       "--with-corrections", str(tmp_path / "corr.csv")])
    assert res.exit_code == 0, res.output
    assert "1 labels replaced, 1 texts added" in res.output
    info = json.loads((out / "voc_model.json").read_text(encoding="utf-8"))
    assert info["training"]["corrections"] == {"file": str(tmp_path / "corr.csv"), "replaced": 1, "added": 1}
    assert "--with-corrections" in info["training"]["retrain"]
    bad = runner.invoke(training_cli, ["train", "sentiment", "--data", str(tmp_path / "s.csv"), "-o",
                                       str(tmp_path / "m2"), "--with-corrections", str(tmp_path / "s.csv")])
    assert bad.exit_code != 0 and "no column 'task'" in bad.output


def test_a_correction_changes_the_next_models_prediction(tmp_path, sentiment_csv) -> None:
    """The issue's target: a correction made by an analyst flips the retrained model on that text."""
    texts, _ = sentiment_csv
    res = runner.invoke(training_cli, ["train", "sentiment", "--data", str(tmp_path / "s.csv"), "-o", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    target = texts[0]
    before = registry.load_model(tmp_path / "a").predict([target])[0]
    wanted = next(lab for lab in ("negative", "neutral", "positive") if lab != before)
    pd.DataFrame({"task": ["sentiment"], "text": [target], "label": [wanted]}).to_csv(tmp_path / "c.csv", index=False)
    res = runner.invoke(training_cli, ["train", "sentiment", "--data", str(tmp_path / "s.csv"), "-o", str(tmp_path / "b"),
                                       "--with-corrections", str(tmp_path / "c.csv")])
    assert res.exit_code == 0, res.output
    registry.clear_cache()
    assert registry.load_model(tmp_path / "b").predict([target])[0] == wanted
    registry.clear_cache()
