"""compute_aggregates end to end: edge frames, bad input, call metrics, FCR, JSON round trip, 50k rows."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from voc.aggregate import AggregateInputError, Aggregates, compute_aggregates
from voc.aggregate.synthetic import synthetic_frame
from voc.enriched import FINDING_COLUMNS, to_csv_frame


def test_empty_frame() -> None:
    agg = compute_aggregates(pd.DataFrame(columns=list(FINDING_COLUMNS)))
    assert agg.records == 0 and agg.priority_topics == [] and agg.scores == [] and agg.calls is None
    assert all(v is None for row in agg.heatmaps["stage_emotion"].values for v in row)


def test_no_topics_scores_tickets_calls() -> None:
    frame = synthetic_frame(120, scores=False, tickets=False, calls=False)
    frame["topics"] = [[] for _ in range(len(frame))]
    frame["topic_sentiments"] = [[] for _ in range(len(frame))]
    agg = compute_aggregates(frame)
    assert agg.priority_topics == [] and agg.scores == [] and agg.fcr == [] and agg.calls is None
    assert agg.heatmaps["topic_week"].row_labels == []
    assert agg.priority_causes and all("no_data:sla" in c.flags for c in agg.priority_causes)


def test_bad_created_at_names_the_row() -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "created_at": ["2026-01-05", "вчера"]})
    with pytest.raises(AggregateInputError, match=r"row 2: field 'created_at' = 'вчера'"):
        compute_aggregates(frame)
    with pytest.raises(AggregateInputError, match="lacks column"):
        compute_aggregates(pd.DataFrame({"text": ["x"]}))


def test_call_metrics() -> None:
    frame = pd.DataFrame({
        "id": ["c1", "c2", "r1"], "channel": ["call", "call", "review"],
        "call_duration_s": [100.0, 300.0, None], "call_longest_pause_s": [10.0, 20.0, None],
        "call_silence_share": [0.1, 0.3, None], "call_overlaps": [2, 4, None],
        "call_talk_ratio_client": [0.4, 0.6, None], "call_client_sentiment_start": [0.5, -0.2, None],
        "call_client_sentiment_end": [-0.5, 0.2, None],
    })
    calls = compute_aggregates(frame).calls
    assert calls is not None and calls.calls == 2
    assert calls.mean_longest_pause_s == 15.0 and calls.mean_silence_share == 0.2
    assert calls.mean_talk_ratio_client == 0.5 and calls.mean_overlaps == 3.0
    assert calls.worse_share == 0.5 and calls.mean_client_sentiment_start == 0.15


def test_fcr_by_topic() -> None:
    frame = pd.DataFrame({
        "id": ["a", "b", "c", "d"], "topics": [["доставка"], ["доставка"], ["цена"], []],
        "link_method": ["ticket_id", "customer_window", None, "ticket_id"],
        "fcr": pd.array([True, False, None, True], dtype=object),
        "repeat_contact": [False, True, False, False],
        "sla_breached": pd.array([None, True, None, False], dtype=object),
        "reopen_count": [0, 2, None, 1],
    })
    rows = {r.group: r for r in compute_aggregates(frame).fcr}
    assert rows["всего"].n == 4 and rows["всего"].linked == 3 and rows["всего"].fcr_share == pytest.approx(2 / 3,
                                                                                                       abs=1e-4)
    assert rows["доставка"].fcr_share == 0.5 and rows["доставка"].repeat_contact_share == 0.5
    assert rows["доставка"].sla_breach_share == 1.0 and rows["доставка"].mean_reopen_count == 1.0
    assert rows["цена"].linked == 0 and rows["цена"].fcr_share is None


def test_json_round_trip_and_custom_vocab() -> None:
    frame = synthetic_frame(200, seed=2)
    agg = compute_aggregates(frame, stages=["доставка", "оплата"], emotions=["раздражение/гнев"])
    heat = agg.heatmaps["stage_emotion"]
    assert heat.row_labels[:2] == ["доставка", "оплата"] and heat.col_labels[0] == "раздражение/гнев"
    assert Aggregates.model_validate_json(agg.model_dump_json()) == agg


def test_50k_rows_fast() -> None:
    frame = synthetic_frame(50_000, weeks=12, seed=1)
    frame = frame.sample(frac=1.0, random_state=0)  # unsorted, non-default index
    start = time.perf_counter()
    agg = compute_aggregates(frame)
    elapsed = time.perf_counter() - start
    assert agg.records == 50_000 and len(agg.heatmaps) == 3
    assert sum(np.array(agg.heatmaps["stage_channel"].totals).ravel()) == 50_000
    assert elapsed < 20, f"aggregates of 50k rows took {elapsed:.1f}s"


def test_pipe_joined_csv_lists_give_same_numbers() -> None:
    frame = synthetic_frame(150, seed=4)
    from_lists = compute_aggregates(frame)
    from_csv = compute_aggregates(to_csv_frame(frame))
    assert from_csv.heatmaps == from_lists.heatmaps
    assert from_csv.priority_topics == from_lists.priority_topics
