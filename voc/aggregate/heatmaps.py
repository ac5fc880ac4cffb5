"""The three emotional heatmaps: stage × emotion, stage × channel, topic × ISO week."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from voc.aggregate.columns import top_examples, week_range
from voc.aggregate.models import Heatmap
from voc.aggregate.view import FrameView
from voc.vocab import CHANNELS, NO_EMOTION, PAIN_EMOTIONS

POSITIVE_EMOTIONS: tuple[str, ...] = ("радость/удовлетворение", "благодарность")
MAX_TOPIC_ROWS = 30


def _grid(view: FrameView, row_labels: list[str], col_labels: list[str], cells: pd.DataFrame,
          examples: dict[tuple, list[int]]) -> tuple[list, list, list, list]:
    """values/counts/totals/example-id grids from a frame indexed by (row, col) with value, count, total."""
    shape = (len(row_labels), len(col_labels))
    values: list[list[float | None]] = [[None] * shape[1] for _ in range(shape[0])]
    counts = [[0] * shape[1] for _ in range(shape[0])]
    totals = [[0] * shape[1] for _ in range(shape[0])]
    ex: list[list[list[str]]] = [[[] for _ in range(shape[1])] for _ in range(shape[0])]
    r_index = {label: i for i, label in enumerate(row_labels)}
    c_index = {label: j for j, label in enumerate(col_labels)}
    cells = cells[cells.index.get_level_values(0).isin(list(r_index))]
    shown = sorted({r for rows in examples.values() for r in rows})
    id_of = dict(zip(shown, view.ids_at(shown), strict=True))
    for (row, col), value, count, total in zip(cells.index, cells["value"], cells["count"], cells["total"],
                                               strict=True):
        i, j = r_index.get(row), c_index.get(col)
        if i is None or j is None:
            continue
        values[i][j] = None if pd.isna(value) else round(float(value), 4)
        counts[i][j] = int(count)
        totals[i][j] = int(total)
        ex[i][j] = [id_of[r] for r in examples.get((row, col), [])]
    return values, counts, totals, ex


def _emotion_strength(emotion: np.ndarray, score: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """How strongly a row shows its emotion: −score for pain, +score for joy, |score| otherwise."""
    s = np.nan_to_num(score.astype(float))
    pain, joy = np.isin(emotion, PAIN_EMOTIONS), np.isin(emotion, POSITIVE_EMOTIONS)
    strength = np.where(pain, -s, np.where(joy, s, np.abs(s)))
    return strength + np.nan_to_num(confidence.astype(float)) * 1e-3


def stage_emotion(view: FrameView, emotions: Sequence[str]) -> Heatmap:
    """Share of each journey stage's feedback that carries each emotion."""
    row_labels = view.stage_order
    rows = view.emotions["row"].to_numpy()
    items = view.emotions["item"]
    seen = set(items.cat.categories)
    col_labels = list(emotions) + sorted(e for e in seen if e not in set(emotions) and e != NO_EMOTION)
    if NO_EMOTION in seen and NO_EMOTION not in col_labels:
        col_labels.append(NO_EMOTION)
    long = pd.DataFrame({"stage": view.stage[rows], "item": items.to_numpy(), "row": rows,
                         "strength": _emotion_strength(items.astype(object).to_numpy(), view.score[rows],
                                                       view.confidence[rows])})
    stage_n = pd.Series(view.stage).value_counts()
    stage_n = stage_n[stage_n > 0]
    counts = long.groupby(["stage", "item"], observed=True).size()
    full = pd.MultiIndex.from_product([[s for s in row_labels if s in stage_n.index], col_labels])
    cells = pd.DataFrame({"count": counts.reindex(full).fillna(0).to_numpy(),
                          "total": stage_n.reindex(full.get_level_values(0)).to_numpy()}, index=full)
    cells["value"] = cells["count"] / cells["total"]
    examples = top_examples(long, ["stage", "item"], "strength")
    values, cnt, tot, ex = _grid(view, row_labels, col_labels, cells, examples)
    return Heatmap(kind="stage_emotion", row_labels=row_labels, col_labels=col_labels, values=values,
                   counts=cnt, totals=tot, examples=ex, value_name="доля отзывов этапа с эмоцией",
                   description="Этап пути клиента × эмоция: доля отзывов этапа, в которых есть эмоция. "
                               "Примеры — самые яркие отзывы ячейки.")


def stage_channel(view: FrameView) -> Heatmap:
    """Mean sentiment score of each journey stage × channel."""
    row_labels = view.stage_order
    channel_n = pd.Series(view.channel).value_counts()
    seen = set(channel_n[channel_n > 0].index)
    col_labels = [c for c in CHANNELS if c in seen] + sorted(seen - set(CHANNELS))
    long = pd.DataFrame({"stage": view.stage, "channel": view.channel, "score": view.score,
                         "row": np.arange(len(view))})
    grouped = long.groupby(["stage", "channel"], observed=True)
    cells = pd.DataFrame({"value": grouped["score"].mean(), "count": grouped["score"].count(),
                          "total": grouped.size()})
    scored = long[long["score"].notna()].assign(strength=lambda d: -d["score"])
    examples = top_examples(scored, ["stage", "channel"], "strength")
    values, cnt, tot, ex = _grid(view, row_labels, col_labels, cells, examples)
    return Heatmap(kind="stage_channel", row_labels=row_labels, col_labels=col_labels, values=values,
                   counts=cnt, totals=tot, examples=ex, value_name="средняя тональность (−1..1)",
                   description="Этап пути клиента × канал: средняя оценка тональности. "
                               "Примеры — самые негативные отзывы ячейки.")


def topic_week(view: FrameView, max_topics: int = MAX_TOPIC_ROWS) -> Heatmap:
    """Negative share of each topic's mentions per ISO week (the most frequent topics)."""
    description = ("Тема × ISO-неделя: доля негативных упоминаний темы (тональность аспекта, иначе отзыва). "
                   "Примеры — самые негативные упоминания.")
    rows = view.topics["row"].to_numpy()
    long = pd.DataFrame({"item": view.topics["item"].to_numpy(), "week": view.week[rows],
                         "neg": view.topic_negative, "score": view.score[rows], "row": rows})
    long = long[long["week"].notna()]
    if long.empty:
        return Heatmap(kind="topic_week", row_labels=[], col_labels=[], values=[], counts=[], totals=[],
                       examples=[], value_name="доля негатива", description=description)
    totals_by_topic = long["item"].value_counts()
    totals_by_topic = totals_by_topic[totals_by_topic > 0]
    row_labels = [str(t) for t in totals_by_topic.index[:max_topics]]
    if len(totals_by_topic) > max_topics:
        description += f" Показаны {max_topics} самых частых тем из {len(totals_by_topic)}."
    long = long[long["item"].isin(row_labels)]
    col_labels = week_range(view.created_at.min(), view.created_at.max())
    grouped = long.groupby(["item", "week"], observed=True)
    cells = pd.DataFrame({"count": grouped["neg"].sum(), "total": grouped.size()})
    cells["value"] = cells["count"] / cells["total"]
    negatives = long[long["neg"] == 1].assign(strength=lambda d: -d["score"].astype(float))
    examples = top_examples(negatives, ["item", "week"], "strength")
    values, cnt, tot, ex = _grid(view, row_labels, col_labels, cells, examples)
    return Heatmap(kind="topic_week", row_labels=row_labels, col_labels=col_labels, values=values,
                   counts=cnt, totals=tot, examples=ex, value_name="доля негатива", description=description)
