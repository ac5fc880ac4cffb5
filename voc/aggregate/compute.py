"""compute_aggregates: every aggregate of an enriched frame in one call (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from voc.aggregate.calls import call_summary, fcr_by_topic
from voc.aggregate.drivers import compute_drivers, measured_effects
from voc.aggregate.heatmaps import stage_channel, stage_emotion, topic_week
from voc.aggregate.models import Aggregates
from voc.aggregate.priority import cause_priority, row_features, topic_priority
from voc.aggregate.scores import score_tables
from voc.aggregate.trends import compute_trends
from voc.aggregate.view import FrameView
from voc.vocab import EMOTIONS, JOURNEY_STAGES

REQUIRED_COLUMNS = ("id",)


class AggregateInputError(ValueError):
    """The frame lacks a column the aggregates need, or a column has the wrong kind of values."""


def _check(frame: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise AggregateInputError(f"enriched frame lacks column(s) {missing}; expected voc.enriched.FINDING_COLUMNS")
    if "created_at" in frame.columns and not pd.api.types.is_datetime64_any_dtype(frame["created_at"]):
        parsed = pd.to_datetime(frame["created_at"], utc=True, errors="coerce", format="mixed")
        bad = frame["created_at"].notna() & parsed.isna()
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise AggregateInputError(f"row {i + 1}: field 'created_at' = {frame['created_at'].iloc[i]!r} "
                                      "is not a date/time")


def compute_aggregates(frame: pd.DataFrame, stages: Sequence[str] | None = None,
                       emotions: Sequence[str] | None = None) -> Aggregates:
    """Heatmaps, priority lists, score tables, trends, call metrics and FCR of an enriched frame.

    ``stages`` is the configured journey stage order (default voc.vocab.JOURNEY_STAGES), ``emotions`` the
    emotion columns of the stage × emotion heatmap (default voc.vocab.EMOTIONS).
    """
    _check(frame)
    stages = list(stages) if stages is not None else list(JOURNEY_STAGES)
    emotions = list(emotions) if emotions is not None else list(EMOTIONS)
    view = FrameView(frame, stages)
    features = row_features(view)
    drivers = compute_drivers(view)
    effects = measured_effects(drivers)
    heatmaps = {"stage_emotion": stage_emotion(view, emotions)}
    if view.has("channel"):
        heatmaps["stage_channel"] = stage_channel(view)
    if view.has("created_at"):
        heatmaps["topic_week"] = topic_week(view)
    return Aggregates(
        records=len(view),
        stages=stages,
        heatmaps=heatmaps,
        priority_topics=topic_priority(view, features, effects=effects),
        priority_causes=cause_priority(view, features, effects=effects),
        scores=score_tables(view),
        trends=compute_trends(view),
        calls=call_summary(view.frame),
        fcr=fcr_by_topic(view),
        drivers=drivers,
    )
