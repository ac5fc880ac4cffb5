"""GET /v1/batches/{id}/results with drill-down filters (JSON compact/full, CSV) and /summary, on a finished batch
whose outputs the test writes itself (several Parquet row groups, so row-group reads are exercised)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from helpers.api import bearer, make_settings, no_pipeline

from voc.aggregate import compute_aggregates
from voc.aggregate.drill import DrillFilter, filter_mask
from voc.aggregate.synthetic import synthetic_frame
from voc_api import jobs
from voc_api.app import create_app
from voc_api.db import Job


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("drill")
    frame = synthetic_frame(700, weeks=4, seed=5)
    frame.loc[frame.index[:3], "text"] = ["=HYPERLINK(\"x\")", "курьер опоздал", "ok"]
    app = create_app(make_settings(tmp, tmp / "none.yaml"), pipeline_factory=no_pipeline, start_workers=False,
                     start_sender=False)
    with TestClient(app) as client:
        sessions = app.state.voc.sessions
        analyst = bearer(sessions, "analyst")
        key_id = analyst["Authorization"].split("_")[1]
        out = tmp / "out"
        out.mkdir()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out / "enriched.parquet", row_group_size=128)
        agg = compute_aggregates(frame)
        (out / "summary.json").write_text(json.dumps({"summary": {}, "aggregates": agg.model_dump(mode="json")}),
                                          encoding="utf-8")
        job = jobs.create_job(sessions, key_id=key_id, input_name="f.csv", inputs={}, outdir=str(out))
        with sessions.begin() as s:
            s.get(Job, job.id).state = "succeeded"
        yield client, analyst, job.id, frame, agg


def test_filtered_json_matches_the_heatmap_cell(setup) -> None:
    client, analyst, batch, frame, agg = setup
    h = agg.heatmaps["stage_emotion"]
    i, j = next((i, j) for i in range(len(h.row_labels)) for j in range(len(h.col_labels)) if h.counts[i][j] > 3)
    params = {"stage": h.row_labels[i], "emotion": h.col_labels[j], "view": "compact", "sort": "negative",
              "page_size": 2}
    r = client.get(f"/v1/batches/{batch}/results", params=params, headers=analyst)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == h.counts[i][j] and len(body["items"]) == 2
    first = body["items"][0]
    assert {"text", "evidence", "emotions", "topics", "cause", "stage", "week", "score"} <= set(first)
    assert first["stage"] == h.row_labels[i] and h.col_labels[j] in first["emotions"]
    assert first["score"] <= body["items"][1]["score"]  # most negative first
    page2 = client.get(f"/v1/batches/{batch}/results", params={**params, "page": 2}, headers=analyst).json()
    assert page2["items"][0]["id"] not in {it["id"] for it in body["items"]}


def test_filtered_full_rows_and_csv(setup) -> None:
    client, analyst, batch, frame, agg = setup
    week = agg.heatmaps["topic_week"].col_labels[1]
    topic = agg.heatmaps["topic_week"].row_labels[0]
    expected = frame.loc[filter_mask(frame, DrillFilter(topic=topic, week=week)), "id"].tolist()
    full = client.get(f"/v1/batches/{batch}/results", params={"topic": topic, "week": week, "page_size": 1000},
                      headers=analyst).json()
    assert [it["id"] for it in full["items"]] == expected and "sentiment_confidence" in full["items"][0]
    csv = client.get(f"/v1/batches/{batch}/results", params={"topic": topic, "week": week, "format": "csv"},
                     headers=analyst)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    got = pd.read_csv(io.StringIO(csv.text))
    assert got["id"].tolist() == expected and list(got.columns) == list(frame.columns)
    formula = client.get(f"/v1/batches/{batch}/results", params={"ids": frame["id"][0], "format": "csv"},
                         headers=analyst)
    assert "'=HYPERLINK" in formula.text  # CSV injection neutralised as in enriched.csv


def test_filter_problems_and_summary(setup) -> None:
    client, analyst, batch, _frame, agg = setup
    bad = client.get(f"/v1/batches/{batch}/results", params={"week": "13"}, headers=analyst)
    assert bad.status_code == 422 and "week" in bad.text
    pq_filtered = client.get(f"/v1/batches/{batch}/results", params={"topic": "x", "format": "parquet"},
                             headers=analyst)
    assert pq_filtered.status_code == 422
    none = client.get(f"/v1/batches/{batch}/results", params={"topic": "нет такой темы"}, headers=analyst).json()
    assert none["total"] == 0 and none["items"] == []
    summary = client.get(f"/v1/batches/{batch}/summary", headers=analyst)
    assert summary.status_code == 200 and summary.headers["cache-control"] == "private, no-store"
    assert summary.json()["aggregates"]["records"] == agg.records
    assert client.get(f"/v1/batches/{batch}/summary").status_code == 401
    assert client.get(f"/v1/batches/{batch}/summary", headers=bearer(client.app.state.voc.sessions,
                                                                     "analyst")).status_code == 404


def test_progress_moves_in_phases_and_small_files_get_small_chunks() -> None:
    from voc_api.batches import chunk_size_for, progress_of

    def job(state: str, rows_in: int, total: int | None) -> Job:
        return Job(id="j", state=state, rows_in=rows_in, rows_total=total)

    assert progress_of(job("queued", 0, 1000)) == (0.0, "queued")
    assert progress_of(job("running", 0, 1000)) == (0.0, "starting")
    assert progress_of(job("running", 500, 1000)) == (47.5, "analysing")
    assert progress_of(job("running", 1000, 1000)) == (97.0, "summarising")
    assert progress_of(job("running", 300, None)) == (0.0, "analysing")
    assert progress_of(job("succeeded", 1000, 1000)) == (100.0, "done")
    assert progress_of(job("failed", 200, 1000))[1] == "failed"
    assert chunk_size_for(1000, 20_000) == 50 and chunk_size_for(100_000, 20_000) == 5000
    assert chunk_size_for(10_000_000, 20_000) == 20_000 and chunk_size_for(None, 20_000) == 20_000
    assert chunk_size_for(10, 20_000) == 50
