"""Drill-down filters return exactly the rows behind each number: every heatmap cell, priority item and trend of
a synthetic frame (with missing stages, channels and dates), and compact rows carry labels and evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from voc.aggregate import compute_aggregates
from voc.aggregate.columns import UNKNOWN_STAGE
from voc.aggregate.drill import DrillFilter, compact_rows, filter_mask, segment_column, select_rows
from voc.aggregate.synthetic import synthetic_frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    f = synthetic_frame(1500, weeks=5, seed=3)
    f.loc[f.index[::11], "journey_stage"] = None
    f.loc[f.index[::13], "channel"] = None
    f.loc[f.index[::17], "created_at"] = pd.NaT
    f["продукт"] = np.where(np.arange(len(f)) % 2 == 0, "Карта", "Вклад")
    return f


@pytest.fixture(scope="module")
def agg(frame):
    return compute_aggregates(frame)


def _n(frame: pd.DataFrame, **kw) -> int:
    return int(filter_mask(frame, DrillFilter(**kw)).sum())


def test_every_stage_emotion_cell(frame, agg) -> None:
    h = agg.heatmaps["stage_emotion"]
    assert UNKNOWN_STAGE in h.row_labels
    for i, stage in enumerate(h.row_labels):
        for j, emotion in enumerate(h.col_labels):
            if h.values[i][j] is None:
                continue
            assert _n(frame, stage=stage) == h.totals[i][j]
            assert _n(frame, stage=stage, emotion=emotion) == h.counts[i][j], (stage, emotion)


def test_every_stage_channel_cell(frame, agg) -> None:
    h = agg.heatmaps["stage_channel"]
    assert "unknown" in h.col_labels
    for i, stage in enumerate(h.row_labels):
        for j, channel in enumerate(h.col_labels):
            assert _n(frame, stage=stage, channel=channel) == h.totals[i][j]


def test_every_topic_week_cell_and_trend(frame, agg) -> None:
    h = agg.heatmaps["topic_week"]
    for i, topic in enumerate(h.row_labels):
        for j, week in enumerate(h.col_labels):
            assert _n(frame, topic=topic, week=week) == h.totals[i][j]
    assert agg.trends.rows
    for t in agg.trends.rows:
        key = {"topic": t.name} if t.kind == "topic" else {"cause": t.name}
        assert _n(frame, week=t.week_last, **key) == t.count_last
        assert _n(frame, week=t.week_prev, **key) == t.count_prev


def test_priority_items_and_examples(frame, agg) -> None:
    for item in agg.priority_topics + agg.priority_causes:
        key = {"topic": item.name} if item.kind == "topic" else {"cause": item.name}
        assert _n(frame, **key) == item.n
        shown = {q.id for q in item.examples}
        assert shown <= set(frame["id"][filter_mask(frame, DrillFilter(**key))])


def test_segment_ids_and_sorting(frame) -> None:
    assert segment_column(frame.columns) == "продукт"
    assert _n(frame, segment="Карта") == (len(frame) + 1) // 2
    assert _n(frame, ids=["fb0000001", "fb0000002", "nope"]) == 2
    assert _n(frame, segment="Карта", ids=["fb0000001"]) == 0
    negative = select_rows(frame, DrillFilter(sentiment="negative"), "negative")
    scores = frame["sentiment_score"].to_numpy()[negative]
    assert len(negative) and (np.diff(scores) >= 0).all()
    assert not DrillFilter().active() and DrillFilter(week="2026-W02").active()


def test_compact_rows_carry_labels_evidence_and_keys() -> None:
    frame = pd.DataFrame({
        "id": ["a", "b"], "text": ["Курьер опоздал, ужас", "x" * 2000], "sentiment": ["negative", None],
        "sentiment_score": [-0.8, np.nan], "emotions": [["раздражение/гнев"], []], "topics": [["доставка"], []],
        "topic_sentiments": [["negative"], []], "cause": ["ошибка процесса", None], "journey_stage": ["доставка", None],
        "channel": ["review", None], "created_at": pd.to_datetime(["2025-03-27T10:00:00Z", None], utc=True),
        "evidence": [["опоздал", "ужас", "опоздал"], []], "nps": [3.0, np.nan],
    })
    a, b = compact_rows(frame, max_text=100)
    assert a["evidence"] == ["опоздал", "ужас"] and a["week"] == "2025-W13" and a["date"] == "2025-03-27"
    assert a["topics"] == ["доставка"] and a["emotions"] == ["раздражение/гнев"] and a["nps"] == 3.0
    assert b["stage"] == UNKNOWN_STAGE and b["channel"] == "unknown" and b["week"] is None and b["score"] is None
    assert len(b["text"]) == 100 and b["text"].endswith("…")
