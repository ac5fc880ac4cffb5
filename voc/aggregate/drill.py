"""Drill-down: the enriched rows behind a number — filters with the aggregates' own keys and compact rows.

A heatmap cell, a priority item, a trend or a score row is a filter over the enriched frame: journey stage
(«не определён» where missing), channel («unknown» where missing), emotion, topic, complaint cause, ISO week
of ``created_at``, sentiment and a segment column (``product``/``продукт``/``segment``/``сегмент``). The keys
are computed exactly as :mod:`voc.aggregate.heatmaps` computes them, so a cell's ``count``/``total`` rows
are what the filter returns. Pure functions on in-memory frames (the API and the report do the I/O).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from voc.aggregate.columns import UNKNOWN_STAGE, as_list, categories, iso_weeks
from voc.enriched import FILTER_COLUMNS as FILTER_COLUMNS

#: columns a segment filter looks at, first present wins (input columns are kept in the enriched frame)
SEGMENT_COLUMNS: tuple[str, ...] = ("segment", "сегмент", "product", "продукт")
# FILTER_COLUMNS (voc.enriched): what a drill-down needs to filter (read these, not the whole frame)
COMPACT_TEXT_CHARS = 1000
SORTS = ("row", "negative", "positive")


class DrillFilter(BaseModel):
    """Which rows: every given field must match (lists: the row carries the value)."""

    stage: str | None = Field(None, description="journey stage; «не определён» matches rows without one")
    channel: str | None = Field(None, description="channel; «unknown» matches rows without one")
    emotion: str | None = None
    topic: str | None = None
    cause: str | None = None
    week: str | None = Field(None, description="ISO week of created_at, e.g. 2025-W13")
    sentiment: str | None = Field(None, description="negative | neutral | positive")
    segment: str | None = Field(None, description="value of the segment column (product, продукт, …)")
    ids: list[str] = Field(default_factory=list, description="feedback ids")

    def active(self) -> bool:
        return any(v for k, v in self.model_dump().items())


def segment_column(columns: Sequence[str]) -> str | None:
    """The frame's segment column (the first of SEGMENT_COLUMNS present), or None."""
    present = set(columns)
    return next((c for c in SEGMENT_COLUMNS if c in present), None)


def _strings(frame: pd.DataFrame, column: str, missing: str | None) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), missing, dtype=object)
    cat = categories(frame[column], missing=missing)
    return np.asarray(cat.astype(object), dtype=object)


def stage_keys(frame: pd.DataFrame) -> np.ndarray:
    """Journey stage per row as the heatmaps label it (missing → «не определён»)."""
    return _strings(frame, "journey_stage", UNKNOWN_STAGE)


def channel_keys(frame: pd.DataFrame) -> np.ndarray:
    """Channel per row as the heatmaps label it (missing → «unknown»)."""
    return _strings(frame, "channel", "unknown")


def week_keys(frame: pd.DataFrame) -> np.ndarray:
    """ISO week label per row ('' where there is no date)."""
    if "created_at" not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    ts = pd.to_datetime(frame["created_at"], utc=True, errors="coerce", format="mixed")
    return np.asarray(pd.Series(iso_weeks(ts)).astype(object).fillna(""), dtype=object)


def _has(frame: pd.DataFrame, column: str, value: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return np.fromiter((value in [str(v) for v in as_list(cell)] for cell in frame[column].to_numpy()),
                       dtype=bool, count=len(frame))


def filter_mask(frame: pd.DataFrame, f: DrillFilter) -> np.ndarray:
    """Boolean mask of the rows that match every field of ``f``."""
    mask = np.ones(len(frame), dtype=bool)
    if f.stage:
        mask &= stage_keys(frame) == f.stage
    if f.channel:
        mask &= channel_keys(frame) == f.channel
    if f.cause:
        mask &= _strings(frame, "cause", None) == f.cause
    if f.sentiment:
        mask &= _strings(frame, "sentiment", None) == f.sentiment
    if f.week:
        mask &= week_keys(frame) == f.week
    if f.segment:
        col = segment_column(frame.columns)
        mask &= (_strings(frame, col, None) == f.segment) if col else False
    if f.ids:
        mask &= frame["id"].astype(str).isin(set(f.ids)).to_numpy() if "id" in frame.columns else False
    if f.emotion and mask.any():
        sub = np.flatnonzero(mask)
        mask[sub] = _has(frame.iloc[sub], "emotions", f.emotion)
    if f.topic and mask.any():
        sub = np.flatnonzero(mask)
        mask[sub] = _has(frame.iloc[sub], "topics", f.topic)
    return mask


def order_rows(frame: pd.DataFrame, positions: np.ndarray, sort: str = "row") -> np.ndarray:
    """Row positions in file order, most negative first (``negative``) or most positive first."""
    if sort == "row" or "sentiment_score" not in frame.columns or len(positions) == 0:
        return positions
    score = pd.to_numeric(frame["sentiment_score"].iloc[positions], errors="coerce").to_numpy(dtype=float)
    key = np.nan_to_num(score, nan=0.0) * (1 if sort == "negative" else -1)
    return positions[np.argsort(key, kind="stable")]


def _num(value: object, digits: int = 3) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if not np.isfinite(v) else round(v, digits)


def _text(value: object) -> str | None:
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):  # type: ignore[arg-type]
        return None
    text = str(value)
    return text or None


def compact_rows(frame: pd.DataFrame, max_text: int = COMPACT_TEXT_CHARS) -> list[dict]:
    """Rows as the drill-down shows them: masked text, every label, evidence spans, scores, keys.

    Keys are the aggregates' (stage «не определён», channel «unknown», ISO week), so client-side filters
    match the numbers they open.
    """
    if frame.empty:
        return []
    stages, channels, weeks = stage_keys(frame), channel_keys(frame), week_keys(frame)
    seg = segment_column(frame.columns)

    def col(name: str) -> np.ndarray:
        return frame[name].to_numpy() if name in frame.columns else np.full(len(frame), None, dtype=object)

    ids, texts, sentiment, score = col("id"), col("text"), col("sentiment"), col("sentiment_score")
    emotions, topics, topic_sent, cause = col("emotions"), col("topics"), col("topic_sentiments"), col("cause")
    cause_conf, source, evidence = col("cause_confidence"), col("journey_stage_source"), col("evidence")
    nps, csat, ces, segments = col("nps"), col("csat"), col("ces"), col(seg) if seg else col("_none")
    created = pd.to_datetime(pd.Series(col("created_at")), utc=True, errors="coerce", format="mixed")
    dates = created.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    rows = []
    for i in range(len(frame)):
        text = _text(texts[i]) or ""
        rows.append({
            "id": str(ids[i]), "date": dates[i] if isinstance(dates[i], str) else None, "week": weeks[i] or None,
            "channel": channels[i], "stage": stages[i], "stage_source": _text(source[i]),
            "sentiment": _text(sentiment[i]), "score": _num(score[i]),
            "emotions": [str(v) for v in as_list(emotions[i])], "topics": [str(v) for v in as_list(topics[i])],
            "topic_sentiments": [None if v is None else str(v) for v in as_list(topic_sent[i])],
            "cause": _text(cause[i]), "cause_confidence": _num(cause_conf[i]),
            "evidence": sorted({str(v) for v in as_list(evidence[i]) if str(v).strip()}, key=lambda s: -len(s)),
            "nps": _num(nps[i], 1), "csat": _num(csat[i], 1), "ces": _num(ces[i], 1),
            "segment": _text(segments[i]),
            "text": text if len(text) <= max_text else text[: max_text - 1] + "…",
        })
    return rows


def select_rows(frame: pd.DataFrame, f: DrillFilter, sort: str = "negative") -> np.ndarray:
    """Positions of the rows matching ``f`` in the requested order."""
    return order_rows(frame, np.flatnonzero(filter_mask(frame, f)), sort)
