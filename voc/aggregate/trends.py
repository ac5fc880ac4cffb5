"""Week-over-week trends of topics and causes with a two-proportion z-test for emerging problems."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from voc.aggregate.columns import week_range
from voc.aggregate.models import Trend, TrendPoint, Trends
from voc.aggregate.view import FrameView

ALPHA = 0.05
MIN_GROWTH_PCT = 25.0
MIN_COUNT = 5


def two_proportion_z(x1: np.ndarray, n1: np.ndarray, x0: np.ndarray, n0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-proportion z statistic of x1/n1 vs x0/n0 and its two-sided p-value (NaN if undefined)."""
    x1, n1, x0, n0 = (np.asarray(a, dtype=float) for a in (x1, n1, x0, n0))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x0) / (n1 + n0)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        z = (x1 / n1 - x0 / n0) / se
    z = np.where(np.isfinite(z), z, np.nan)
    p = 2 * ndtr(-np.abs(z))
    return z, p


def last_complete_week(created_at: pd.Series) -> str | None:
    """The latest ISO week the data fully covers: the week of the last date if that date is a Sunday."""
    ts = pd.to_datetime(created_at, utc=True, errors="coerce").dropna()
    if ts.empty:
        return None
    last = ts.max()
    week_end = last if last.weekday() == 6 else last - pd.Timedelta(days=last.weekday() + 1)
    if week_end < ts.min().normalize():
        return None
    iso = week_end.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


def _trend_rows(kind: str, long: pd.DataFrame, week_n: pd.Series, weeks: list[str], prev: str,
                last: str) -> list[Trend]:
    """Trend rows from a long table (item, _week) with one row per record and item."""
    if long.empty:
        return []
    counts = long.groupby(["item", "_week"], observed=True).size().unstack("_week")
    counts.columns = counts.columns.astype(str)
    counts = counts.reindex(columns=weeks).fillna(0).astype(int)
    shares = counts / week_n.reindex(weeks).replace(0, np.nan).to_numpy()
    x1, x0 = counts[last].to_numpy(), counts[prev].to_numpy()
    n1, n0 = float(week_n.get(last, 0)), float(week_n.get(prev, 0))
    s1 = x1 / n1 if n1 else np.zeros(len(x1))
    s0 = x0 / n0 if n0 else np.zeros(len(x0))
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(s0 > 0, 100 * (s1 - s0) / s0, np.nan)
    z, p = two_proportion_z(x1, np.full(len(x1), n1), x0, np.full(len(x0), n0))
    grew = np.where(s0 > 0, growth >= MIN_GROWTH_PCT, s1 > 0)
    emerging = grew & (p < ALPHA) & (z > 0) & (x1 >= MIN_COUNT)
    rows = []
    for i, name in enumerate(counts.index):
        series = [TrendPoint(week=w, count=int(counts.iat[i, j]),
                             share=0.0 if np.isnan(shares.iat[i, j]) else round(float(shares.iat[i, j]), 4))
                  for j, w in enumerate(weeks)]
        rows.append(Trend(
            kind=kind, name=str(name), week_prev=prev, week_last=last, count_prev=int(x0[i]), count_last=int(x1[i]),
            count_change=int(x1[i] - x0[i]), share_prev=round(float(s0[i]), 4), share_last=round(float(s1[i]), 4),
            share_change_pct=None if np.isnan(growth[i]) else round(float(growth[i]), 2),
            z=None if np.isnan(z[i]) else round(float(z[i]), 3),
            p_value=None if np.isnan(p[i]) else round(float(p[i]), 5),
            emerging=bool(emerging[i]), series=series,
        ))
    rows.sort(key=lambda r: (not r.emerging, -(r.z or 0.0), -r.count_last))
    return rows


def compute_trends(view: FrameView) -> Trends:
    """Trends of every topic and cause: last complete ISO week vs the week before, with weekly series."""
    last = last_complete_week(view.created_at)
    if last is None:
        return Trends()
    all_weeks = week_range(view.created_at.min(), view.created_at.max())
    if last not in all_weeks or all_weeks.index(last) == 0:
        return Trends()
    weeks = all_weeks[: all_weeks.index(last) + 1]
    prev = weeks[-2]
    week_n = pd.Series(view.week).value_counts()
    rows = view.topics["row"].to_numpy()
    topics = pd.DataFrame({"item": view.topics["item"].to_numpy(), "_week": view.week[rows]})
    trend_rows = _trend_rows("topic", topics[topics["_week"].isin(weeks)], week_n, weeks, prev, last)
    cause_rows, causes = view.causes
    if len(cause_rows):
        cause_long = pd.DataFrame({"item": causes, "_week": view.week[cause_rows]})
        trend_rows += _trend_rows("cause", cause_long[cause_long["_week"].isin(weeks)], week_n, weeks, prev, last)
    return Trends(alpha=ALPHA, min_growth_pct=MIN_GROWTH_PCT, min_count=MIN_COUNT, week_prev=prev, week_last=last,
                  records_prev=int(week_n.get(prev, 0)), records_last=int(week_n.get(last, 0)), rows=trend_rows)
