"""NPS / CSAT / CES arithmetic and grouping."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from voc.aggregate import compute_aggregates
from voc.aggregate.scores import net_promoter_score, score_tables
from voc.aggregate.view import FrameView


def _frame(nps: list, csat: list, ces: list, stages: list, channels: list) -> pd.DataFrame:
    n = len(nps)
    return pd.DataFrame({"id": [f"s{i}" for i in range(n)], "nps": nps, "csat": csat, "ces": ces,
                         "journey_stage": stages, "channel": channels, "topics": [["доставка"]] * n})


def test_nps_csat_ces_by_stage_and_channel() -> None:
    frame = _frame(nps=[10, 9, 8, 7, 6, 0, None], csat=[5, 4, 3, 1, None, None, 5],
                   ces=[2, None, None, None, None, None, 4],
                   stages=["доставка"] * 4 + ["оплата"] * 3, channels=["chat"] * 6 + ["call"])
    tables = {t.dimension: t for t in score_tables(FrameView(frame, ["оплата", "доставка"]))}
    total = tables["journey_stage"].rows[0]
    assert total.group == "всего" and total.n == 7 and total.n_nps == 6
    assert total.nps == 0.0 and total.promoters_pct == round(200 / 6, 2)
    assert total.n_csat == 5 and total.csat_share == 60.0 and total.csat_mean == 3.6
    assert total.n_ces == 2 and total.ces_mean == 3.0
    stage_rows = {r.group: r for r in tables["journey_stage"].rows[1:]}
    assert [r.group for r in tables["journey_stage"].rows[1:]] == ["оплата", "доставка"]
    assert stage_rows["доставка"].nps == 50.0  # 2 promoters, 0 detractors of 4
    assert stage_rows["оплата"].nps == -100.0 and stage_rows["оплата"].n_nps == 2
    assert stage_rows["оплата"].csat_share == 100.0
    channel_rows = {r.group: r for r in tables["channel"].rows}
    assert channel_rows["call"].n_nps == 0 and channel_rows["call"].nps is None
    assert tables["topic"].rows[1].group == "доставка" and tables["topic"].rows[1].n == 7


def test_no_scores_no_tables() -> None:
    frame = _frame([None] * 3, [None] * 3, [None] * 3, ["доставка"] * 3, ["chat"] * 3)
    assert score_tables(FrameView(frame, ["доставка"])) == []
    assert compute_aggregates(frame.drop(columns=["nps", "csat", "ces"])).scores == []


@given(st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=60))
@settings(max_examples=40, deadline=None)
def test_nps_property(values: list[int]) -> None:
    result = net_promoter_score(values)
    promoters = sum(v >= 9 for v in values)
    detractors = sum(v <= 6 for v in values)
    assert result is not None and -100 <= result <= 100
    assert math.isclose(result, 100 * (promoters - detractors) / len(values), abs_tol=1e-9)
    frame = _frame(values, [None] * len(values), [None] * len(values), ["доставка"] * len(values),
                   ["chat"] * len(values))
    total = score_tables(FrameView(frame, ["доставка"]))[0].rows[0]
    assert math.isclose(total.nps, round(result, 2), abs_tol=1e-9)


def test_nps_ignores_missing() -> None:
    assert net_promoter_score([np.nan, 10, 0]) == 0.0
    assert net_promoter_score([]) is None
