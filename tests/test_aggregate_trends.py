"""Trends: last complete ISO week, the two-proportion z-test and emerging flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from voc.aggregate import compute_aggregates
from voc.aggregate.trends import last_complete_week, two_proportion_z


def _weekly(topic_counts: list[int], per_week: int = 100, start: str = "2026-01-05") -> pd.DataFrame:
    """``per_week`` records per ISO week (Mon..Sun covered), ``topic_counts[k]`` of them about «доставка»."""
    rows = []
    for week, k in enumerate(topic_counts):
        monday = pd.Timestamp(start, tz="UTC") + pd.Timedelta(weeks=week)
        for i in range(per_week):
            at = monday + pd.Timedelta(hours=(i * 167) // max(per_week - 1, 1))
            topics = ["доставка"] if i < k else ["цена"]
            rows.append({"id": f"w{week}-{i}", "created_at": at, "topics": topics,
                         "topic_sentiments": ["negative"], "cause": "ошибка процесса" if i < k else None})
    return pd.DataFrame(rows)


def test_z_test_matches_formula() -> None:
    z, p = two_proportion_z(np.array([30]), np.array([100]), np.array([10]), np.array([100]))
    pooled = 40 / 200
    expected = (0.3 - 0.1) / np.sqrt(pooled * (1 - pooled) * (2 / 100))
    assert z[0] == pytest.approx(expected)
    assert p[0] == pytest.approx(2 * norm.sf(expected))
    z, p = two_proportion_z(np.array([0]), np.array([10]), np.array([0]), np.array([10]))
    assert np.isnan(z[0]) and np.isnan(p[0])


def test_spike_is_emerging() -> None:
    trends = compute_aggregates(_weekly([10, 10, 10, 30])).trends
    assert (trends.week_prev, trends.week_last) == ("2026-W04", "2026-W05")
    row = next(t for t in trends.rows if t.kind == "topic" and t.name == "доставка")
    assert (row.count_prev, row.count_last, row.count_change) == (10, 30, 20)
    assert row.share_change_pct == 200.0 and row.emerging and row.p_value < 0.05
    assert row.test == "two-proportion z-test"
    assert [p.count for p in row.series] == [10, 10, 10, 30]
    cause = next(t for t in trends.rows if t.kind == "cause")
    assert cause.emerging
    price = next(t for t in trends.rows if t.name == "цена")
    assert not price.emerging


def test_flat_and_small_changes_not_flagged() -> None:
    flat = compute_aggregates(_weekly([20, 21, 19, 20])).trends
    assert flat.rows and not any(t.emerging for t in flat.rows)
    small = compute_aggregates(_weekly([1, 1, 1, 4], per_week=20)).trends  # +300 % but only 4 mentions
    assert not any(t.emerging for t in small.rows)
    noisy = compute_aggregates(_weekly([10, 10, 10, 13])).trends  # +30 % but not significant
    row = next(t for t in noisy.rows if t.name == "доставка")
    assert row.share_change_pct == 30.0 and row.p_value > 0.05 and not row.emerging


def test_incomplete_last_week_is_skipped() -> None:
    frame = _weekly([10, 10, 30])
    extra = pd.DataFrame([{"id": "late", "created_at": pd.Timestamp("2026-01-27T09:00Z"), "topics": ["доставка"],
                           "topic_sentiments": ["negative"], "cause": None}])
    frame = pd.concat([frame, extra], ignore_index=True)
    assert last_complete_week(frame["created_at"]) == "2026-W04"
    trends = compute_aggregates(frame).trends
    assert trends.week_last == "2026-W04" and trends.records_last == 100


def test_single_week_has_no_trends() -> None:
    trends = compute_aggregates(_weekly([10])).trends
    assert trends.rows == [] and trends.week_last is None
