"""Pydantic output types of the aggregates: heatmaps, priority list, score tables, trends, calls, FCR.

Every number keeps the rows behind it traceable: heatmap cells carry example feedback ids, priority
items carry example quotes, trends carry their weekly series.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

HeatmapKind = Literal["stage_emotion", "stage_channel", "topic_week"]
HEATMAP_KINDS: tuple[HeatmapKind, ...] = ("stage_emotion", "stage_channel", "topic_week")
Z_TEST_NAME = "two-proportion z-test"


class Heatmap(BaseModel):
    """A labelled 2-D table of values with the count and example feedback ids of each cell."""

    kind: HeatmapKind
    row_labels: list[str]
    col_labels: list[str]
    values: list[list[float | None]] = Field(description="rows × cols; None where the cell has no data")
    counts: list[list[int]] = Field(description="rows behind each cell's value (numerator rows for shares)")
    totals: list[list[int]] = Field(description="denominator of each cell (rows the value is computed over)")
    examples: list[list[list[str]]] = Field(description="up to 3 feedback ids per cell, strongest first")
    value_name: str
    description: str

    def cell(self, row: str, col: str) -> tuple[float | None, int, list[str]]:
        """Value, count and example ids of one cell, by labels."""
        i, j = self.row_labels.index(row), self.col_labels.index(col)
        return self.values[i][j], self.counts[i][j], self.examples[i][j]


class Quote(BaseModel):
    """A short example of a feedback record: its id and the start of its text."""

    id: str
    text: str
    sentiment_score: float | None = None


class PriorityItem(BaseModel):
    """One topic or cause ranked by часто × больно × влияет на бизнес."""

    kind: Literal["topic", "cause"]
    name: str
    rank: int
    n: int = Field(description="feedback records mentioning it")
    frequency: float = Field(description="share of all feedback mentioning it, 0..1")
    frequency_norm: float = Field(description="frequency divided by the largest frequency of its kind, 0..1")
    negative_share: float
    pain_emotion_share: float = Field(description="share with anger/irritation, disappointment or fear")
    mean_sentiment: float | None
    pain: float = Field(description="mean of negative share, pain-emotion share and (1 - mean score)/2")
    sla_breach_share: float | None = None
    detractor_share: float | None = Field(None, description="NPS ≤ 6 or CSAT ≤ 3 among records with a score")
    repeat_contact_share: float | None = None
    impact: float = Field(description="mean of the three business shares, a missing one counting 0")
    score: float = Field(description="geometric mean of frequency_norm, pain and impact (each floored at 0.01)")
    flags: list[str] = Field(default_factory=list, description="e.g. 'no_data:sla' when a share had no data")
    effect_share: float | None = Field(None, description="measured harm on NPS/CSAT/CES (driver analysis), 0..1; "
                                                         "counted in impact when its 95 % CI excludes 0")
    effect: str | None = Field(None, description="the measured effect in words, e.g. 'NPS ниже на 2.1 балла (…)'")
    examples: list[Quote] = Field(default_factory=list)


class ScoreRow(BaseModel):
    """NPS / CSAT / CES of one group."""

    group: str
    n: int
    n_nps: int = 0
    nps: float | None = Field(None, description="% promoters (9–10) minus % detractors (0–6)")
    promoters_pct: float | None = None
    detractors_pct: float | None = None
    n_csat: int = 0
    csat_share: float | None = Field(None, description="share of CSAT 4–5 on the 1–5 scale, in %")
    csat_mean: float | None = None
    n_ces: int = 0
    ces_mean: float | None = None


class ScoreTable(BaseModel):
    """Score rows for one dimension (journey stage, channel or topic); the first row is «всего»."""

    dimension: Literal["journey_stage", "channel", "topic"]
    rows: list[ScoreRow]


class TrendPoint(BaseModel):
    """One week of a topic's or cause's series."""

    week: str
    count: int
    share: float


class Trend(BaseModel):
    """Week-over-week change of one topic or cause: last complete week vs the week before."""

    kind: Literal["topic", "cause"]
    name: str
    week_prev: str
    week_last: str
    count_prev: int
    count_last: int
    count_change: int
    share_prev: float
    share_last: float
    share_change_pct: float | None = Field(None, description="relative share change in %; None if prev is 0")
    z: float | None
    p_value: float | None
    test: str = Z_TEST_NAME
    emerging: bool = Field(description="share grew ≥ 25 %, p < 0.05 and ≥ 5 mentions in the last week")
    series: list[TrendPoint] = Field(default_factory=list)


class Trends(BaseModel):
    """All trend rows and the weeks they compare."""

    test: str = Z_TEST_NAME
    alpha: float = 0.05
    min_growth_pct: float = 25.0
    min_count: int = 5
    week_prev: str | None = None
    week_last: str | None = None
    records_prev: int = 0
    records_last: int = 0
    rows: list[Trend] = Field(default_factory=list)


class CallMetricsSummary(BaseModel):
    """Averages of the per-call timing metrics and the client's mood at the start vs the end."""

    calls: int
    mean_duration_s: float | None = None
    mean_longest_pause_s: float | None = None
    mean_silence_share: float | None = None
    mean_talk_ratio_client: float | None = None
    mean_overlaps: float | None = None
    mean_client_sentiment_start: float | None = None
    mean_client_sentiment_end: float | None = None
    calls_with_sentiment: int = 0
    worse_share: float | None = Field(None, description="share of calls whose client sentiment fell by the end")


class FcrRow(BaseModel):
    """First contact resolution and repeat contacts of one topic (or «всего»), from linked tickets."""

    group: str
    n: int
    linked: int
    fcr_share: float | None = None
    repeat_contact_share: float | None = None
    sla_breach_share: float | None = None
    mean_reopen_count: float | None = None


class Driver(BaseModel):
    """One topic's or cause's OLS coefficient on a score, with its 95 % CI and the rows behind it."""

    kind: Literal["topic", "cause"]
    name: str
    n: int = Field(description="scored records with this topic/cause")
    coef: float = Field(description="change of the score (its own units) when the record has it, others fixed")
    ci_low: float
    ci_high: float
    p_value: float | None
    harm: float = Field(description="coef turned bad-is-positive and divided by the scale width (NPS 10, CSAT 4, CES 6)")
    measured: bool = Field(description="the 95 % CI excludes 0")


class DriverTable(BaseModel):
    """Driver analysis of one score: OLS on one-hot topics and causes over the records carrying it."""

    target: Literal["nps", "csat", "ces"]
    n: int
    r2: float | None
    intercept: float
    unit: str
    method: str = "OLS, one-hot topics and causes, 95 % t-intervals"
    drivers: list[Driver] = Field(default_factory=list)


class Aggregates(BaseModel):
    """Everything aggregated from one enriched frame."""

    records: int
    stages: list[str]
    heatmaps: dict[str, Heatmap] = Field(default_factory=dict)
    priority_topics: list[PriorityItem] = Field(default_factory=list)
    priority_causes: list[PriorityItem] = Field(default_factory=list)
    scores: list[ScoreTable] = Field(default_factory=list)
    trends: Trends = Field(default_factory=Trends)
    calls: CallMetricsSummary | None = None
    fcr: list[FcrRow] = Field(default_factory=list)
    drivers: list[DriverTable] = Field(default_factory=list)
