"""Discovered topics over time (ISO weeks), by segment, with sentiment, and emerging-topic detection.

All functions take the enriched frame (``voc.enriched``): ``discovered_topic`` (name), ``created_at``,
``sentiment_score``, ``journey_stage``, ``channel`` and, when present, a ``product`` column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import pandas as pd
from pydantic import BaseModel

TOPIC_COL = "discovered_topic"
SEGMENT_COLUMNS: tuple[str, ...] = ("journey_stage", "channel", "product")


class EmergingTopic(BaseModel):
    """A topic that is new vs the reference model or grows ≥ min_growth week over week (z-test)."""

    topic: str
    topic_id: int | None = None
    reason: Literal["new", "growth"]
    week: str
    count: int
    share: float
    previous_week: str | None = None
    previous_count: int = 0
    previous_share: float = 0.0
    growth: float | None = None
    z: float | None = None
    p_value: float | None = None


def iso_week(ts: pd.Series) -> pd.Series:
    """ISO week label like ``2025-W07`` for each timestamp (NaT → None)."""
    ts = pd.to_datetime(ts, utc=True, errors="coerce")
    iso = ts.dt.isocalendar()
    week = iso["year"].astype("string") + "-W" + iso["week"].astype("string").str.zfill(2)
    return week.astype(object).where(ts.notna(), None)


def _topics(frame: pd.DataFrame, topic_col: str) -> pd.Series:
    if topic_col not in frame.columns:
        raise KeyError(f"enriched frame has no {topic_col!r} column (run with --topic-model)")
    return frame[topic_col]


def topics_over_time(frame: pd.DataFrame, *, topic_col: str = TOPIC_COL, time_col: str = "created_at") -> pd.DataFrame:
    """Counts per (ISO week, topic) with the week's total and the topic's share; rows without a date drop."""
    if time_col not in frame.columns:
        raise KeyError(f"enriched frame has no {time_col!r} column")
    data = pd.DataFrame({"week": iso_week(frame[time_col]), "topic": _topics(frame, topic_col)}).dropna(subset=["week"])
    totals = data.groupby("week").size().rename("total")
    counts = data.dropna(subset=["topic"]).groupby(["week", "topic"]).size().rename("count").reset_index()
    counts = counts.join(totals, on="week")
    counts["share"] = counts["count"] / counts["total"]
    return counts.sort_values(["week", "count"], ascending=[True, False]).reset_index(drop=True)


def topics_by_segment(frame: pd.DataFrame, segment_cols: Sequence[str] | None = None, *,
                      topic_col: str = TOPIC_COL) -> dict[str, pd.DataFrame]:
    """Per segment column present (journey stage, channel, product): counts and share within the segment."""
    out: dict[str, pd.DataFrame] = {}
    topics = _topics(frame, topic_col)
    for col in segment_cols or SEGMENT_COLUMNS:
        if col not in frame.columns:
            continue
        data = pd.DataFrame({"segment": frame[col], "topic": topics}).dropna()
        if data.empty:
            continue
        counts = data.groupby(["segment", "topic"]).size().rename("count").reset_index()
        counts["share"] = counts["count"] / counts.groupby("segment")["count"].transform("sum")
        out[col] = counts.sort_values(["segment", "count"], ascending=[True, False]).reset_index(drop=True)
    return out


def topic_sentiment(frame: pd.DataFrame, *, topic_col: str = TOPIC_COL) -> pd.DataFrame:
    """Per topic: records, mean ``sentiment_score`` and the share of negative records."""
    data = pd.DataFrame({"topic": _topics(frame, topic_col)})
    data["score"] = pd.to_numeric(frame.get("sentiment_score"), errors="coerce") if "sentiment_score" in frame else math.nan
    data["negative"] = (frame["sentiment"] == "negative") if "sentiment" in frame else data["score"] < -0.05
    data = data.dropna(subset=["topic"])
    out = data.groupby("topic").agg(n=("topic", "size"), sentiment_mean=("score", "mean"),
                                    negative_share=("negative", "mean"))
    return out.sort_values("n", ascending=False).reset_index()


def two_proportion_z(count: int, total: int, prev_count: int, prev_total: int) -> tuple[float, float]:
    """One-sided two-proportion z-test that the share grew: (z, p-value)."""
    if total == 0 or prev_total == 0:
        return 0.0, 1.0
    p1, p0 = count / total, prev_count / prev_total
    pooled = (count + prev_count) / (total + prev_total)
    se = math.sqrt(pooled * (1 - pooled) * (1 / total + 1 / prev_total))
    if se == 0:
        return 0.0, 1.0
    z = (p1 - p0) / se
    return z, 0.5 * math.erfc(z / math.sqrt(2))


def emerging_topics(frame: pd.DataFrame, model=None, *, week: str | None = None, min_growth: float = 0.25,
                    alpha: float = 0.05, min_count: int = 5, topic_col: str = TOPIC_COL,
                    time_col: str = "created_at") -> list[EmergingTopic]:
    """Topics to flag in the report and the ``topic.spike`` alert, for ``week`` (default: the latest).

    * ``new`` — a topic of ``model`` with no match in its reference model (``TopicInfo.is_new``) that occurs
      in the frame;
    * ``growth`` — share this week ≥ (1 + min_growth) × share last week, ``count ≥ min_count`` and a
      one-sided two-proportion z-test p-value < ``alpha``.
    """
    result: list[EmergingTopic] = []
    by_name = {t.name: t for t in model.topics} if model is not None else {}
    series = topics_over_time(frame, topic_col=topic_col, time_col=time_col) if time_col in frame else None
    weeks = sorted(series["week"].unique()) if series is not None and not series.empty else []
    week = week or (weeks[-1] if weeks else None)
    prev = weeks[weeks.index(week) - 1] if week in weeks and weeks.index(week) > 0 else None
    counts = _topics(frame, topic_col).value_counts()
    total = int(len(frame))
    for name, info in by_name.items():
        if info.is_new and counts.get(name, 0) > 0:
            result.append(EmergingTopic(topic=name, topic_id=info.id, reason="new", week=week or "all",
                                        count=int(counts[name]), share=float(counts[name] / total)))
    if series is None or week is None or prev is None:
        return result
    cur = series[series["week"] == week].set_index("topic")
    old = series[series["week"] == prev].set_index("topic")
    n1 = int(cur["total"].iloc[0]) if not cur.empty else 0
    n0 = int(old["total"].iloc[0]) if not old.empty else 0
    flagged_new = {e.topic for e in result}
    for name, row in cur.iterrows():
        c1 = int(row["count"])
        c0 = int(old["count"].get(name, 0)) if not old.empty else 0
        p1, p0 = c1 / n1, (c0 / n0 if n0 else 0.0)
        growth = (p1 - p0) / p0 if p0 > 0 else math.inf
        z, p = two_proportion_z(c1, n1, c0, n0)
        if c1 >= min_count and growth >= min_growth and p < alpha and name not in flagged_new:
            info = by_name.get(name)
            result.append(EmergingTopic(
                topic=str(name), topic_id=info.id if info else None, reason="growth", week=week, count=c1, share=p1,
                previous_week=prev, previous_count=c0, previous_share=p0,
                growth=None if math.isinf(growth) else round(growth, 4), z=round(z, 4), p_value=p))
    return sorted(result, key=lambda e: (e.reason != "new", -(e.z or 0.0)))
