"""Heatmap numbers on hand-made frames, and cell counts/examples checked row by row on a synthetic frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from voc.aggregate import compute_aggregates
from voc.aggregate.columns import UNKNOWN_STAGE, iso_weeks
from voc.aggregate.synthetic import synthetic_frame

ANGER = "раздражение/гнев"
JOY = "радость/удовлетворение"


def _frame(rows: list[dict]) -> pd.DataFrame:
    base = {"channel": "review", "created_at": "2026-01-05T10:00:00Z", "text": "t", "sentiment": "neutral",
            "sentiment_score": 0.0, "sentiment_confidence": 0.9, "emotions": [], "topics": [],
            "topic_sentiments": [], "cause": None, "journey_stage": None}
    frame = pd.DataFrame([{**base, "id": f"r{i}", **row} for i, row in enumerate(rows)])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


@pytest.fixture(scope="module")
def delivery() -> pd.DataFrame:
    return _frame([
        {"journey_stage": "доставка", "emotions": [ANGER], "sentiment_score": -0.9, "channel": "chat"},
        {"journey_stage": "доставка", "emotions": [ANGER], "sentiment_score": -0.5, "channel": "chat"},
        {"journey_stage": "доставка", "emotions": [ANGER, "тревога/страх"], "sentiment_score": -0.7},
        {"journey_stage": "доставка", "emotions": [JOY], "sentiment_score": 0.8},
        {"journey_stage": "оплата", "emotions": [JOY], "sentiment_score": 0.6},
    ])


def test_stage_emotion_share(delivery: pd.DataFrame) -> None:
    heat = compute_aggregates(delivery).heatmaps["stage_emotion"]
    value, count, examples = heat.cell("доставка", ANGER)
    assert value == 0.75 and count == 3
    assert examples == ["r0", "r2", "r1"]  # most negative first
    assert heat.cell("доставка", JOY)[:2] == (0.25, 1)
    assert heat.cell("оплата", ANGER)[:2] == (0.0, 0)
    assert heat.cell("возврат", ANGER)[0] is None  # configured stage without rows: no data
    assert UNKNOWN_STAGE not in heat.row_labels


def test_stage_order_and_unknown_row(delivery: pd.DataFrame) -> None:
    frame = pd.concat([delivery, _frame([{"journey_stage": None, "emotions": [ANGER]}]).assign(id="x")])
    stages = ["оплата", "доставка"]
    heat = compute_aggregates(frame, stages=stages).heatmaps["stage_emotion"]
    assert heat.row_labels == ["оплата", "доставка", UNKNOWN_STAGE]
    assert heat.cell(UNKNOWN_STAGE, ANGER) == (1.0, 1, ["x"])


def test_stage_channel_mean(delivery: pd.DataFrame) -> None:
    heat = compute_aggregates(delivery).heatmaps["stage_channel"]
    assert heat.cell("доставка", "chat") == (pytest.approx(-0.7), 2, ["r0", "r1"])
    assert heat.cell("доставка", "review")[0] == pytest.approx(0.05)
    assert heat.col_labels == ["review", "chat"]


def test_topic_week_uses_aspect_sentiment() -> None:
    frame = _frame([
        {"topics": ["доставка", "цена"], "topic_sentiments": ["negative", "positive"], "sentiment": "neutral"},
        {"topics": ["доставка"], "topic_sentiments": ["neutral"], "sentiment": "negative"},
        {"topics": ["доставка"], "topic_sentiments": [], "sentiment": "negative", "created_at": "2026-01-14T10:00:00Z"},
    ])
    heat = compute_aggregates(frame).heatmaps["topic_week"]
    assert heat.col_labels == ["2026-W02", "2026-W03"]
    assert heat.row_labels == ["доставка", "цена"]
    assert heat.cell("доставка", "2026-W02") == (0.5, 1, ["r0"])
    assert heat.cell("доставка", "2026-W03") == (1.0, 1, ["r2"])  # no aspect sentiment: record's
    assert heat.cell("цена", "2026-W02")[:2] == (0.0, 0)
    assert heat.cell("цена", "2026-W03")[0] is None


def test_every_cell_matches_its_rows() -> None:
    frame = synthetic_frame(300, seed=3)
    agg = compute_aggregates(frame)
    by_id = frame.set_index("id")
    stage = frame["journey_stage"].fillna(UNKNOWN_STAGE)
    week = iso_weeks(frame["created_at"])
    heat = agg.heatmaps["stage_emotion"]
    for i, s in enumerate(heat.row_labels):
        for j, e in enumerate(heat.col_labels):
            members = frame[(stage == s) & frame["emotions"].map(lambda v, e=e: e in v)]
            assert heat.counts[i][j] == len(members)
            assert set(heat.examples[i][j]) <= set(members["id"])
            assert len(heat.examples[i][j]) == min(3, len(members))
    heat = agg.heatmaps["stage_channel"]
    for i, s in enumerate(heat.row_labels):
        for j, c in enumerate(heat.col_labels):
            members = frame[(stage == s) & (frame["channel"] == c)]
            assert heat.counts[i][j] == members["sentiment_score"].notna().sum()
            if len(members):
                assert heat.values[i][j] == pytest.approx(members["sentiment_score"].mean(), abs=1e-4)
                worst = members.nsmallest(len(heat.examples[i][j]), "sentiment_score")["id"].tolist()
                assert heat.examples[i][j] == worst
    heat = agg.heatmaps["topic_week"]
    for i, t in enumerate(heat.row_labels):
        for j, w in enumerate(heat.col_labels):
            ids = set()
            for fid, topics, sents in by_id.loc[np.asarray(week == w), ["topics", "topic_sentiments"]].itertuples():
                ids |= {fid for topic, sent in zip(topics, sents, strict=True) if topic == t and sent == "negative"}
            assert heat.counts[i][j] == len(ids)
            assert set(heat.examples[i][j]) <= ids
