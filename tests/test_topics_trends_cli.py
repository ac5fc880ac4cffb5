"""Topics over time, emerging topics, the report section, the analyzer, the CLI and the gazprombank purity."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from test_topics_model import SEEDS, synthetic_corpus
from typer.testing import CliRunner

from voc.topics import TopicModel
from voc.topics.cli import app
from voc.topics.report import topic_report_section
from voc.topics.trends import (
    emerging_topics,
    iso_week,
    topic_sentiment,
    topics_by_segment,
    topics_over_time,
    two_proportion_z,
)

DATASETS = Path(os.environ.get("VOC_DATASETS_DIR", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


def weekly_frame() -> pd.DataFrame:
    """Two weeks: «оплата» jumps from 10 % to 40 % of 100 records; «доставка» stays flat."""
    rows = []
    for week_start, pay in (("2025-03-03", 10), ("2025-03-10", 40)):
        for i in range(100):
            topic = "оплата" if i < pay else ("доставка" if i < pay + 30 else None)
            rows.append({"created_at": pd.Timestamp(week_start, tz="UTC") + pd.Timedelta(hours=i),
                         "discovered_topic": topic, "sentiment_score": -0.5 if topic == "оплата" else 0.2,
                         "sentiment": "negative" if topic == "оплата" else "positive",
                         "channel": "review" if i % 2 else "chat", "text": f"Запись {i} <script>x</script>"})
    return pd.DataFrame(rows)


def test_iso_week_and_over_time() -> None:
    assert iso_week(pd.Series(["2025-01-01", None])).tolist() == ["2025-W01", None]
    series = topics_over_time(weekly_frame())
    row = series[(series.week == "2025-W11") & (series.topic == "оплата")].iloc[0]
    assert (row["count"], row["total"], row["share"]) == (40, 100, 0.4)


def test_segments_and_sentiment() -> None:
    seg = topics_by_segment(weekly_frame())
    assert set(seg) == {"channel"}
    sent = topic_sentiment(weekly_frame()).set_index("topic")
    assert sent.loc["оплата", "n"] == 50 and sent.loc["оплата", "negative_share"] == 1.0


def test_two_proportion_z() -> None:
    z, p = two_proportion_z(40, 100, 10, 100)
    assert z == pytest.approx(4.90, abs=0.01) and p < 1e-5
    assert two_proportion_z(0, 0, 1, 1) == (0.0, 1.0)


def test_emerging_growth_flags_only_the_jump() -> None:
    items = emerging_topics(weekly_frame())
    assert [(e.topic, e.reason, e.previous_count, e.count) for e in items] == [("оплата", "growth", 10, 40)]
    assert items[0].growth == pytest.approx(3.0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    texts, _ = synthetic_corpus(n_per_theme=40, seed=3)
    return TopicModel(n_components=20, n_topics=4).fit(texts, taxonomy=SEEDS).save(tmp_path_factory.mktemp("m") / "m")


def test_report_section_is_escaped_and_self_contained(model_dir) -> None:
    html = topic_report_section(TopicModel.load(model_dir), weekly_frame())
    assert "<svg" in html and "data:image/png;base64," in html and "оплата" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html


def test_analyzer_sets_discovered_topic(model_dir) -> None:
    import voc.analyzers.discovered_topics  # noqa: F401
    from voc.analyzers.registry import _FACTORIES
    from voc.schema import Feedback, Findings

    analyzer = _FACTORIES["discovered_topics"](model=model_dir)
    records = [Feedback(id="1", text="Курьер опоздал, посылка пришла поздно"), Feedback(id="2", text="Спасибо!")]
    findings = [Findings(feedback_id=r.id) for r in records]
    analyzer(records, findings)
    assert findings[0].discovered_topic == "доставка" and findings[1].discovered_topic is None
    assert findings[0].model_versions["discovered_topics"].startswith("topics-bertopic@")


def test_cli_fit_show_assign_merge_rename_promote(tmp_path) -> None:
    texts, _ = synthetic_corpus(n_per_theme=30, seed=5)
    src = tmp_path / "feedback.csv"
    pd.DataFrame({"id": range(len(texts)), "Отзыв": texts}).to_csv(src, index=False)
    runner = CliRunner()
    out = tmp_path / "model"
    res = runner.invoke(app, ["fit", str(src), "-o", str(out), "--text-col", "Отзыв", "--json", "--n-topics", "4"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["n_topics"] >= 3 and summary["outlier_share"] <= 0.15
    ids = [t["id"] for t in summary["topics"]][:2]
    assert runner.invoke(app, ["merge", str(out), str(ids[0]), str(ids[1]), "--name", "слитая"]).exit_code == 0
    assert runner.invoke(app, ["rename", str(out), str(ids[0]), "новое имя"]).exit_code == 0
    shown = json.loads(runner.invoke(app, ["show", str(out), "--json"]).stdout)
    assert "новое имя" in [t["name"] for t in shown["topics"]] and ids[1] not in [t["id"] for t in shown["topics"]]
    csv = tmp_path / "assigned.csv"
    assert runner.invoke(app, ["assign", str(out), str(src), "-o", str(csv), "--text-col", "Отзыв"]).exit_code == 0
    assert len(pd.read_csv(csv)) == len(texts)
    tax = tmp_path / "tax.yaml"
    res = runner.invoke(app, ["promote", str(out), str(ids[0]), "--taxonomy", str(tax)])
    assert res.exit_code == 0 and "новое имя" in tax.read_text(encoding="utf-8")
    bad = runner.invoke(app, ["rename", str(out), "999", "x"])
    assert bad.exit_code == 2 and "unknown topic id 999" in bad.output
    missing = runner.invoke(app, ["show", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "not a topic model directory" in missing.output


GAZPROM = DATASETS / "topics" / "gazprombank_products" / "all.csv"


@pytest.mark.skipif(not GAZPROM.is_file(), reason=f"dataset folder missing: {GAZPROM.parent}")
def test_gazprombank_purity_beats_majority_baseline() -> None:
    data = pd.read_csv(GAZPROM, dtype=str, keep_default_na=False).sample(1200, random_state=0)
    model = TopicModel(n_components=60).fit(data["text"].tolist())
    labels = pd.Series(model.labels_, index=data.index)
    ok = labels != -1
    purity = data["product"][ok].groupby(labels[ok]).agg(lambda s: s.value_counts().iloc[0]).sum() / ok.sum()
    majority = data["product"].value_counts().iloc[0] / len(data)
    assert model.stats_.outlier_share <= 0.15
    assert purity >= majority + 0.1, (purity, majority)
