"""write_outputs / render_heatmap: files, self-contained report with the numbers, escaping, edge frames."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from voc.aggregate import compute_aggregates
from voc.aggregate.synthetic import synthetic_frame
from voc.enriched import FINDING_COLUMNS
from voc.render import render_heatmap, write_outputs
from voc.schema import RunSummary

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
SUMMARY = RunSummary(rows_in=412, rows_out=400, rows_rejected=12, records=400, rejected_by_reason={"пустой текст": 12},
                     pii_masked={"phone": 7, "email": 3}, model_versions={"sentiment": "rubert-tiny-voc-1"})


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, object]:
    frame = synthetic_frame(400, seed=7)
    frame.loc[0, "text"] = '<script>alert("x")</script> курьер'
    frame.loc[0, "topics"] = ["<b>тема</b>"]
    frame.loc[0, "topic_sentiments"] = ["negative"]
    frame.loc[0, "sentiment_score"] = -1.0
    agg = compute_aggregates(frame)
    out = tmp_path_factory.mktemp("run")
    write_outputs(out, frame, agg, SUMMARY, [("Новые темы", "<p id='discovered'>кластер 1</p>")])
    return out, frame, agg


def test_files_written(run) -> None:
    out, _, agg = run
    for kind in ("stage_emotion", "stage_channel", "topic_week"):
        for ext in ("png", "html", "json", "csv"):
            assert (out / "heatmaps" / f"{kind}.{ext}").stat().st_size > 0
        assert (out / "heatmaps" / f"{kind}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        cells = pd.read_csv(out / "heatmaps" / f"{kind}.csv")
        heat = agg.heatmaps[kind]
        assert len(cells) == len(heat.row_labels) * len(heat.col_labels)
        assert cells["count"].sum() == sum(map(sum, heat.counts))
    for name in ("priority.csv", "trends.csv", "scores.csv", "fcr.csv", "summary.json", "report.html"):
        assert (out / name).stat().st_size > 0
    priority = pd.read_csv(out / "priority.csv")
    assert priority.iloc[0]["name"] == agg.priority_topics[0].name


def test_summary_json_has_the_report_numbers(run) -> None:
    out, _, agg = run
    doc = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert doc["summary"]["rows_rejected"] == 12 and doc["summary"]["pii_masked"]["phone"] == 7
    assert doc["aggregates"]["priority_topics"][0]["score"] == agg.priority_topics[0].score
    html = (out / "report.html").read_text(encoding="utf-8")
    top = agg.priority_topics[0]
    assert f"{top.score:.3f}" in html and top.name in html
    nps = doc["aggregates"]["scores"][0]["rows"][0]["nps"]
    assert f"{nps:.1f}" in html
    assert f"{agg.calls.calls}" in html and "two-proportion z-test" in html


def test_report_self_contained_and_escaped(run) -> None:
    out, _, agg = run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert not EXTERNAL.search(html)
    # user text escaped; the only scripts are the drill-down's own (nonce'd) and its JSON data block
    tags = re.findall(r"<script[^>]*>", html)
    assert set(tags) == {'<script type="application/json" id="voc-data">', '<script nonce="voc-report-nonce">'}, tags
    assert 'alert("x")</script>' not in html and "\\u003cscript\\u003e" in html
    assert "&lt;b&gt;тема&lt;/b&gt;" in html
    assert "<p id='discovered'>кластер 1</p>" in html and "Новые темы" in html
    for text in ("412", "400", "12", "phone", "rubert-tiny-voc-1", "Эмоции по этапам пути клиента"):
        assert text in html
    value, count, examples = agg.heatmaps["stage_emotion"].values[0][0], agg.heatmaps["stage_emotion"].counts[0][0], \
        agg.heatmaps["stage_emotion"].examples[0][0]
    assert f"{value:.2f}<small>n={count}</small>" in html
    assert all(fid in html for fid in examples)
    assert len(html.encode("utf-8")) < 5 * 2**20


def test_heatmap_html_offline(run) -> None:
    out, _, _ = run
    page = (out / "heatmaps" / "stage_emotion.html").read_text(encoding="utf-8")
    assert 'src="plotly.min.js"' in page and not EXTERNAL.search(page)
    assert (out / "heatmaps" / "plotly.min.js").exists()


def test_render_heatmap_formats(run) -> None:
    _, _, agg = run
    heat = agg.heatmaps["stage_channel"]
    assert render_heatmap(heat, "png").startswith(b"\x89PNG")
    assert json.loads(render_heatmap(heat, "json"))["kind"] == "stage_channel"
    page = render_heatmap(heat, "html").decode("utf-8")
    assert "Plotly.newPlot" in page and "<script src=" not in page  # plotly.js inline, nothing fetched
    with pytest.raises(ValueError, match="expected one of"):
        render_heatmap(heat, "gif")  # type: ignore[arg-type]


@pytest.mark.parametrize("variant", ["empty", "bare"])
def test_edge_frames_render(tmp_path: Path, variant: str) -> None:
    if variant == "empty":
        frame = pd.DataFrame(columns=list(FINDING_COLUMNS))
    else:
        frame = synthetic_frame(60, scores=False, tickets=False, calls=False)
        frame["topics"] = [[] for _ in range(len(frame))]
        frame["topic_sentiments"] = [[] for _ in range(len(frame))]
    agg = compute_aggregates(frame)
    paths = write_outputs(tmp_path, frame, agg, RunSummary())
    names = {p.name for p in paths}
    assert {"report.html", "summary.json", "priority.csv", "trends.csv"} <= names
    assert "scores.csv" not in names and "fcr.csv" not in names
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "В данных нет оценок NPS, CSAT или CES." in html and not EXTERNAL.search(html)
