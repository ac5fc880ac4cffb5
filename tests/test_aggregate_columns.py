"""Property tests of the frame helpers: exploding list columns, categorical keys, ISO weeks."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from voc.aggregate.columns import categories, explode_list, iso_weeks, week_range

words = st.sampled_from(["доставка", "цена", "оплата", " курьер ", ""])
cells = st.one_of(st.none(), st.lists(words, max_size=4))


@given(st.lists(cells, max_size=30), st.lists(st.one_of(st.none(), st.lists(st.sampled_from(["negative", "positive"]),
                                                                                  max_size=5)), max_size=30))
@settings(max_examples=60, deadline=None)
def test_explode_list_matches_python(topic_cells: list, sentiment_cells: list) -> None:
    n = len(topic_cells)
    sentiment_cells = (sentiment_cells + [None] * n)[:n]
    frame = pd.DataFrame({"topics": pd.Series(topic_cells, dtype=object),
                          "topic_sentiments": pd.Series(sentiment_cells, dtype=object)})
    long = explode_list(frame, "topics", aligned="topic_sentiments")
    expected = [(i, t, (s or [])[k] if k < len(s or []) else None)
                for i, (ts, s) in enumerate(zip(topic_cells, sentiment_cells, strict=True)) for k, t in enumerate(ts or [])]
    aligned = [None if pd.isna(a) else a for a in long["aligned"]]
    assert list(zip(long["row"], long["item"], aligned, strict=True)) == expected


@given(st.lists(st.one_of(st.none(), words), max_size=40))
@settings(max_examples=60, deadline=None)
def test_categories_strip_and_fill(values: list) -> None:
    cat = categories(pd.Series(values, dtype=object), missing="нет")
    expected = [v.strip() if isinstance(v, str) and v.strip() else "нет" for v in values]
    assert list(cat.astype(object)) == expected


@given(st.lists(st.one_of(st.none(), st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1))),
                max_size=30))
@settings(max_examples=60, deadline=None)
def test_iso_weeks_match_isocalendar(values: list) -> None:
    series = pd.Series(pd.to_datetime([v.replace(tzinfo=UTC) if v else None for v in values], utc=True))
    labels = list(np.asarray(iso_weeks(series).astype(object)))
    for value, label in zip(values, labels, strict=True):
        if value is None:
            assert pd.isna(label)
        else:
            year, week, _ = value.isocalendar()
            assert label == f"{year}-W{week:02d}"
    present = [v for v in values if v]
    if present:
        span = week_range(pd.Timestamp(min(present), tz="UTC"), pd.Timestamp(max(present), tz="UTC"))
        assert {label for label in labels if not pd.isna(label)} <= set(span)
        assert len(span) == len(set(span))
