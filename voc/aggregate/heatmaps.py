"""The three emotional heatmaps: stage × emotion, stage × channel, topic × ISO week."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from voc.aggregate.columns import explode_list, iso_weeks, numeric, stage_labels, top_examples, week_range
from voc.aggregate.models import Heatmap
from voc.vocab import CHANNELS, NO_EMOTION, PAIN_EMOTIONS

POSITIVE_EMOTIONS: tuple[str, ...] = ("радость/удовлетворение", "благодарность")
MAX_TOPIC_ROWS = 30


def _grid(row_labels: list[str], col_labels: list[str], cells: pd.DataFrame,
          examples: dict[tuple, list[str]]) -> tuple[list, list, list, list]:
    """values/counts/totals/examples grids from a frame indexed by (row, col) with value, count, total."""
    shape = (len(row_labels), len(col_labels))
    values: list[list[float | None]] = [[None] * shape[1] for _ in range(shape[0])]
    counts = [[0] * shape[1] for _ in range(shape[0])]
    totals = [[0] * shape[1] for _ in range(shape[0])]
    ex: list[list[list[str]]] = [[[] for _ in range(shape[1])] for _ in range(shape[0])]
    r_index = {label: i for i, label in enumerate(row_labels)}
    c_index = {label: j for j, label in enumerate(col_labels)}
    for (row, col), rec in cells.iterrows():
        i, j = r_index.get(row), c_index.get(col)
        if i is None or j is None:
            continue
        value = rec["value"]
        values[i][j] = None if pd.isna(value) else round(float(value), 4)
        counts[i][j] = int(rec["count"])
        totals[i][j] = int(rec["total"])
        ex[i][j] = examples.get((row, col), [])
    return values, counts, totals, ex


def _emotion_strength(emotion: pd.Series, score: pd.Series, confidence: pd.Series) -> pd.Series:
    """How strongly a row shows its emotion: −score for pain, +score for joy, |score| otherwise."""
    s = score.fillna(0.0)
    strength = np.where(emotion.isin(PAIN_EMOTIONS), -s, np.where(emotion.isin(POSITIVE_EMOTIONS), s, s.abs()))
    return pd.Series(strength, index=emotion.index) + confidence.fillna(0.0) * 1e-3


def stage_emotion(frame: pd.DataFrame, stages: Sequence[str], emotions: Sequence[str]) -> Heatmap:
    """Share of each journey stage's feedback that carries each emotion."""
    stage, row_labels = stage_labels(frame, stages)
    long = explode_list(frame.assign(_stage=stage.to_numpy()), "emotions", extra=["_stage", "id"])
    long = long.drop_duplicates(["row", "item"])
    seen = set(long["item"].unique())
    col_labels = list(emotions) + sorted(e for e in seen if e not in set(emotions) and e != NO_EMOTION)
    if NO_EMOTION in seen and NO_EMOTION not in col_labels:
        col_labels.append(NO_EMOTION)
    stage_n = stage.value_counts()
    counts = long.groupby(["_stage", "item"], observed=True).size().rename("count").to_frame()
    counts["total"] = stage_n.reindex(counts.index.get_level_values(0)).to_numpy()
    counts["value"] = counts["count"] / counts["total"]
    # stages with rows but no emotion in a column: share 0 (known), not None
    full = pd.MultiIndex.from_product([[s for s in row_labels if s in stage_n.index], col_labels])
    cells = counts.reindex(full)
    cells["total"] = stage_n.reindex(full.get_level_values(0)).to_numpy()
    cells["count"] = cells["count"].fillna(0)
    cells["value"] = cells["count"] / cells["total"]
    long["strength"] = _emotion_strength(long["item"], numeric(frame, "sentiment_score").to_numpy()[long["row"]]
                                         if len(long) else pd.Series(dtype=float),
                                         numeric(frame, "sentiment_confidence").to_numpy()[long["row"]]
                                         if len(long) else pd.Series(dtype=float)) if len(long) else 0.0
    examples = top_examples(long, ["_stage", "item"], "strength")
    values, cnt, tot, ex = _grid(row_labels, col_labels, cells, examples)
    return Heatmap(kind="stage_emotion", row_labels=row_labels, col_labels=col_labels, values=values,
                   counts=cnt, totals=tot, examples=ex, value_name="доля отзывов этапа с эмоцией",
                   description="Этап пути клиента × эмоция: доля отзывов этапа, в которых есть эмоция. "
                               "Примеры — самые яркие отзывы ячейки.")


def stage_channel(frame: pd.DataFrame, stages: Sequence[str]) -> Heatmap:
    """Mean sentiment score of each journey stage × channel."""
    stage, row_labels = stage_labels(frame, stages)
    channel = frame["channel"].astype(object).where(frame["channel"].notna(), "unknown").astype(str)
    seen = set(channel.unique())
    col_labels = [c for c in CHANNELS if c in seen] + sorted(seen - set(CHANNELS))
    score = numeric(frame, "sentiment_score")
    long = pd.DataFrame({"_stage": stage.to_numpy(), "_channel": channel.to_numpy(), "score": score.to_numpy(),
                         "id": frame["id"].to_numpy()})
    grouped = long.groupby(["_stage", "_channel"], observed=True)
    cells = pd.DataFrame({"value": grouped["score"].mean(), "count": grouped["score"].count(),
                          "total": grouped.size()})
    scored = long[long["score"].notna()].assign(strength=lambda d: -d["score"])
    examples = top_examples(scored, ["_stage", "_channel"], "strength")
    values, cnt, tot, ex = _grid(row_labels, col_labels, cells, examples)
    return Heatmap(kind="stage_channel", row_labels=row_labels, col_labels=col_labels, values=values,
                   counts=cnt, totals=tot, examples=ex, value_name="средняя тональность (−1..1)",
                   description="Этап пути клиента × канал: средняя оценка тональности. "
                               "Примеры — самые негативные отзывы ячейки.")


def topic_week(frame: pd.DataFrame, max_topics: int = MAX_TOPIC_ROWS) -> Heatmap:
    """Negative share of each topic's mentions per ISO week (the most frequent topics)."""
    weeks = iso_weeks(frame["created_at"]) if "created_at" in frame.columns else pd.Series(None, index=frame.index)
    ts = pd.to_datetime(frame.get("created_at"), utc=True, errors="coerce") if len(frame) else pd.Series([])
    long = explode_list(frame.assign(_week=weeks.to_numpy(), _score=numeric(frame, "sentiment_score").to_numpy(),
                                     _sent=frame.get("sentiment", pd.Series(None, index=frame.index)).to_numpy()),
                        "topics", extra=["_week", "_score", "_sent", "id"], aligned="topic_sentiments")
    long = long[long["_week"].notna()]
    description = ("Тема × ISO-неделя: доля негативных упоминаний темы (тональность аспекта, иначе отзыва). "
                   "Примеры — самые негативные упоминания.")
    if long.empty or ts.notna().sum() == 0:
        return Heatmap(kind="topic_week", row_labels=[], col_labels=[], values=[], counts=[], totals=[],
                       examples=[], value_name="доля негатива", description=description)
    sentiment = long["aligned"].where(long["aligned"].notna(), long["_sent"])
    long["neg"] = (sentiment == "negative").astype(int)
    totals_by_topic = long["item"].value_counts()
    row_labels = [str(t) for t in totals_by_topic.index[:max_topics]]
    if len(totals_by_topic) > max_topics:
        description += f" Показаны {max_topics} самых частых тем из {len(totals_by_topic)}."
    col_labels = week_range(ts.min(), ts.max())
    grouped = long.groupby(["item", "_week"], observed=True)
    cells = pd.DataFrame({"count": grouped["neg"].sum(), "total": grouped.size()})
    cells["value"] = cells["count"] / cells["total"]
    negatives = long[long["neg"] == 1].assign(strength=lambda d: -d["_score"].astype(float))
    examples = top_examples(negatives, ["item", "_week"], "strength")
    values, cnt, tot, ex = _grid(row_labels, col_labels, cells, examples)
    return Heatmap(kind="topic_week", row_labels=row_labels, col_labels=col_labels, values=values,
                   counts=cnt, totals=tot, examples=ex, value_name="доля негатива", description=description)
