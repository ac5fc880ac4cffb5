"""End to end: `voc analyze` on the bundled sample data through the CLI, and `voc.analyze()` from Python."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import voc
from voc.batch import BatchCancelled, run_batch
from voc.cli import EXIT_BAD_INPUT, EXIT_NO_ROWS, _mount, app
from voc.enriched import FINDING_COLUMNS
from voc.pipeline import Pipeline
from voc.vocab import COMPLAINT_CAUSES, JOURNEY_STAGES

pytestmark = pytest.mark.slow  # whole file: left out of the fast lane (make test-fast)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "datasets" / "sample"
REQUIRED = ["sentiment", "sentiment_score", "emotions", "topics", "cause", "journey_stage", "journey_stage_source", "evidence"]


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    cmd = [sys.executable, "-m", "voc.cli", "analyze", str(SAMPLE / "feedback.csv"), str(SAMPLE / "chats.jsonl"),
           str(SAMPLE / "calls"), "--tickets", str(SAMPLE / "tickets.csv"), "--journey", str(SAMPLE / "journey.yaml"),
           "-o", str(out), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return out


def test_outputs_exist(demo_out: Path):
    for name in ("enriched.parquet", "enriched.csv", "errors.csv", "summary.json", "report.html", "priority.csv",
                 "trends.csv"):
        assert (demo_out / name).stat().st_size > 0, name
    for kind in ("stage_emotion", "stage_channel", "topic_week"):
        for ext in ("png", "html", "json", "csv"):
            assert (demo_out / "heatmaps" / f"{kind}.{ext}").stat().st_size > 0, (kind, ext)


def test_counts_in_equal_out_plus_rejected(demo_out: Path):
    run = json.loads((demo_out / "summary.json").read_text(encoding="utf-8"))["summary"]
    sample_rows = len(pd.read_csv(SAMPLE / "feedback.csv", dtype=str, keep_default_na=False))
    assert run["rows_in"] == run["rows_out"] + run["rows_rejected"]
    assert run["rows_rejected"] == 5  # the sample's 5 deliberate bad rows
    errors = pd.read_csv(demo_out / "errors.csv", dtype=str, keep_default_na=False)
    assert len(errors) == 5 and set(errors["field"]) == {"text", "created_at", "channel"}
    assert errors["row"].astype(int).between(1, sample_rows).all()
    enriched = pd.read_parquet(demo_out / "enriched.parquet")
    chats = sum(1 for _ in open(SAMPLE / "chats.jsonl", encoding="utf-8"))
    calls = len(list((SAMPLE / "calls").glob("*.json")))
    assert len(enriched) == run["records"] == sample_rows - 5 + chats + calls
    assert enriched["id"].is_unique
    assert run["pii_masked"], "the sample has synthetic PII that must be masked"


def test_enriched_schema(demo_out: Path):
    enriched = pd.read_parquet(demo_out / "enriched.parquet")
    for col in [*FINDING_COLUMNS, "link_method", "sla_breached", "repeat_contact", "fcr"]:
        assert col in enriched.columns, col
    assert {"оценка", "этап", "продукт"} <= set(enriched.columns)  # input columns kept (masked)
    assert "текст" not in enriched.columns and "input:text" not in enriched.columns  # the raw text is not
    assert enriched["sentiment"].isin(["negative", "neutral", "positive"]).all()
    assert enriched["sentiment_score"].between(-1, 1).all()
    assert enriched["journey_stage_source"].isin(["record", "ticket", "predicted"]).sum() > 0.9 * len(enriched)
    assert set(enriched["journey_stage_source"].dropna()) == {"record", "ticket", "predicted"}
    neg = enriched[enriched["sentiment"] == "negative"]
    assert neg["cause"].notna().all()
    others = enriched.loc[enriched["sentiment"] != "negative", "cause"]  # a cause only where the head sees a complaint
    assert others.dropna().isin(COMPLAINT_CAUSES).all() and others.notna().mean() < 0.5
    assert enriched["link_method"].isin(["ticket_id", "customer_window"]).sum() > 0
    csv = pd.read_csv(demo_out / "enriched.csv", dtype=str, keep_default_na=False)
    assert len(csv) == len(enriched) and all(c in csv.columns for c in REQUIRED)
    assert csv["emotions"].str.contains("|", regex=False).any()  # lists pipe-joined
    assert not csv["text"].str.contains(r"\+7 ?\(?\d{3}\)? ?\d{3}-\d{2}-\d{2}").any()  # phones masked


def test_calls_have_metrics(demo_out: Path):
    enriched = pd.read_parquet(demo_out / "enriched.parquet")
    calls = enriched[enriched["channel"] == "call"]
    assert len(calls) >= 20
    assert calls["call_longest_pause_s"].gt(0).all()
    assert calls["call_client_sentiment_start"].notna().all() and calls["call_client_sentiment_end"].notna().all()


def test_heatmap_cells_trace_to_rows(demo_out: Path):
    enriched = pd.read_parquet(demo_out / "enriched.parquet").set_index("id")
    hm = json.loads((demo_out / "heatmaps" / "stage_emotion.json").read_text(encoding="utf-8"))
    rows, cols = hm["row_labels"], hm["col_labels"]
    assert [r for r in rows if r in JOURNEY_STAGES] == list(JOURNEY_STAGES)
    checked = 0
    for i, stage in enumerate(rows):
        for j, emotion in enumerate(cols):
            for fid in hm["examples"][i][j]:
                got = enriched.loc[fid, "journey_stage"]
                assert got == stage or (stage == "не определён" and pd.isna(got))
                assert emotion in list(enriched.loc[fid, "emotions"])
                checked += 1
    assert checked > 20
    report = (demo_out / "report.html").read_text(encoding="utf-8")
    assert "доставка" in report and "src=\"http" not in report


def test_python_api_on_dataframe(tmp_path: Path):
    frame = pd.DataFrame(
        {
            "Отзыв": ["Ужасный сервис, курьер опоздал на три часа, больше не закажу", "Спасибо, всё пришло вовремя!", ""],
            "Дата": ["01.10.2026", "02.10.2026", "03.10.2026"],
        }
    )
    result = voc.analyze(frame, outdir=tmp_path / "out")
    assert len(result.frame) == 2 and len(result.errors) == 1
    assert result.errors.iloc[0]["field"] == "text" and result.errors.iloc[0]["row"] == "3"
    assert result.frame.loc[0, "sentiment"] == "negative" and "доставка" in list(result.frame.loc[0, "topics"])
    assert result.summary.rows_in == 3 and result.aggregates is not None


def test_resume_after_interruption_loses_and_duplicates_nothing(tmp_path: Path):
    src = tmp_path / "in.csv"
    texts = [f"Заказ №{i}: курьер опоздал, поддержка не отвечает" if i % 2 else f"Всё отлично, спасибо ({i})"
             for i in range(450)]
    pd.DataFrame({"id": [f"r{i}" for i in range(450)], "text": texts}).to_csv(src, index=False)
    pipe = Pipeline.load(redact_names="morph")
    calls = {"n": 0}

    def stop_after_two() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    out = tmp_path / "out"
    with pytest.raises(BatchCancelled):
        run_batch(src, out, pipeline=pipe, chunk_size=100, should_stop=stop_after_two)
    assert len(list((out / "parts").glob("chunk-*.json"))) == 2
    result = run_batch(src, out, pipeline=pipe, chunk_size=100)
    enriched = pd.read_parquet(result.frame_path)
    assert len(enriched) == 450 and enriched["id"].is_unique and set(enriched["id"]) == {f"r{i}" for i in range(450)}
    assert result.summary.rows_in == 450


def test_cli_errors_are_clear(tmp_path: Path):
    _mount()
    runner = CliRunner()
    res = runner.invoke(app, ["analyze", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o")])
    assert res.exit_code == EXIT_BAD_INPUT and "input not found" in res.output
    bad = tmp_path / "bad.txt"
    bad.write_text("hello", encoding="utf-8")
    res = runner.invoke(app, ["analyze", str(bad), "-o", str(tmp_path / "o2"), "--quiet"])
    assert res.exit_code == EXIT_BAD_INPUT and "Traceback" not in res.output
    empty = tmp_path / "empty.csv"
    empty.write_text("text,date\n,01.01.2026\n  ,02.01.2026\n", encoding="utf-8")
    res = runner.invoke(app, ["analyze", str(empty), "-o", str(tmp_path / "o3"), "--quiet"])
    assert res.exit_code == EXIT_NO_ROWS


def test_analyze_with_a_fitted_topic_model(tmp_path: Path):
    from voc.topics import TopicModel

    sample = pd.read_csv(SAMPLE / "feedback.csv", dtype=str, keep_default_na=False)
    texts = [t for t in sample["текст"] if t.strip()][:400]
    TopicModel(n_topics=8).fit(texts).save(tmp_path / "topics")
    src = tmp_path / "small.csv"
    sample.head(120).to_csv(src, index=False)
    result = voc.analyze(src, outdir=tmp_path / "out", topic_model=tmp_path / "topics")
    assert result.frame["discovered_topic"].notna().mean() > 0.5
    assert result.summary.model_versions.get("discovered_topics")
    assert "Новые темы" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_sample_spike_is_flagged_emerging(demo_out: Path):
    trends = pd.read_csv(demo_out / "trends.csv", dtype=str, keep_default_na=False)
    delivery = trends[(trends["kind"] == "topic") & (trends["name"] == "доставка")].iloc[0]
    assert delivery["emerging"] == "True" and delivery["test"] == "two-proportion z-test"
    assert float(delivery["p_value"]) < 0.05
