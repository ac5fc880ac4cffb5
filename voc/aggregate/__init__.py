"""Aggregates of the enriched frame: heatmaps, priority, NPS/CSAT/CES, trends, call metrics, FCR."""

from voc.aggregate.compute import AggregateInputError, compute_aggregates
from voc.aggregate.models import (
    HEATMAP_KINDS,
    Aggregates,
    CallMetricsSummary,
    FcrRow,
    Heatmap,
    PriorityItem,
    Quote,
    ScoreRow,
    ScoreTable,
    Trend,
    TrendPoint,
    Trends,
)

__all__ = [
    "HEATMAP_KINDS",
    "AggregateInputError",
    "Aggregates",
    "CallMetricsSummary",
    "FcrRow",
    "Heatmap",
    "PriorityItem",
    "Quote",
    "ScoreRow",
    "ScoreTable",
    "Trend",
    "TrendPoint",
    "Trends",
    "compute_aggregates",
]
