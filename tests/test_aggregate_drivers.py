"""Driver analysis: a planted effect of a topic on NPS is recovered with a 95 % CI that covers it, a null topic's
interval covers 0, coefficients equal a dense least-squares fit, and the measured effect feeds «влияет»."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from voc.aggregate import compute_aggregates
from voc.aggregate.drivers import fit_drivers, measured_effects
from voc.aggregate.view import FrameView
from voc.vocab import JOURNEY_STAGES


def _frame(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    delivery = rng.random(n) < 0.3
    app = rng.random(n) < 0.3
    cause = np.where(rng.random(n) < 0.2, "технический сбой", None)
    nps = 8.0 - 3.0 * delivery + 0.0 * app - 1.5 * (cause == "технический сбой") + rng.normal(0, 1.5, n)
    ces = 3.0 + 2.0 * delivery + rng.normal(0, 1.0, n)
    topics = [[t for t, on in (("доставка", d), ("приложение", a)) if on] for d, a in zip(delivery, app, strict=True)]
    return pd.DataFrame({
        "id": [f"r{i}" for i in range(n)], "text": ["т"] * n, "sentiment": "neutral", "sentiment_score": 0.0,
        "topics": topics, "emotions": [[] for _ in range(n)], "cause": cause,
        "nps": np.where(rng.random(n) < 0.8, np.clip(nps, 0, 10), np.nan),
        "ces": np.where(rng.random(n) < 0.5, ces, np.nan),
    })


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


def test_planted_effects_recovered_with_intervals(frame) -> None:
    table = fit_drivers(FrameView(frame, JOURNEY_STAGES), "nps")
    by = {(d.kind, d.name): d for d in table.drivers}
    delivery, app, failure = by[("topic", "доставка")], by[("topic", "приложение")], by[("cause", "технический сбой")]
    assert delivery.ci_low < -3.0 < delivery.ci_high and delivery.measured and delivery.coef < -2.5
    assert app.ci_low < 0 < app.ci_high and not app.measured
    assert failure.measured and failure.coef < -1
    assert table.drivers[0].name == "доставка"  # most harmful first
    assert delivery.n == int(frame.loc[frame["nps"].notna(), "topics"].map(lambda t: "доставка" in t).sum())
    assert table.n == int(frame["nps"].notna().sum()) and 0 < table.r2 < 1


def test_sparse_fit_equals_dense_least_squares(frame) -> None:
    table = fit_drivers(FrameView(frame, JOURNEY_STAGES), "nps")
    scored = frame[frame["nps"].notna()]
    names = [(d.kind, d.name) for d in table.drivers]
    cols = [np.ones(len(scored))]
    for kind, name in names:
        cols.append(scored["topics"].map(lambda t, n=name: n in t).to_numpy(float) if kind == "topic"
                    else (scored["cause"] == name).to_numpy(float))
    x = np.column_stack(cols)
    beta, *_ = np.linalg.lstsq(x, scored["nps"].to_numpy(), rcond=None)
    for d, b in zip(table.drivers, beta[1:], strict=True):
        assert d.coef == pytest.approx(b, abs=1e-3)
    assert table.intercept == pytest.approx(beta[0], abs=1e-3)


def test_ces_harm_is_a_rise_and_effects_feed_impact(frame) -> None:
    ces = fit_drivers(FrameView(frame, JOURNEY_STAGES), "ces")
    delivery = next(d for d in ces.drivers if d.name == "доставка")
    assert delivery.coef > 1.5 and delivery.harm > 0
    agg = compute_aggregates(frame)
    assert {t.target for t in agg.drivers} == {"nps", "ces"}  # no CSAT in the data
    effects = measured_effects(agg.drivers)
    assert ("topic", "доставка") in effects and ("topic", "приложение") not in effects
    item = next(i for i in agg.priority_topics if i.name == "доставка")
    assert item.effect_share == pytest.approx(effects[("topic", "доставка")][0], abs=1e-4)
    assert item.effect and "95 % ДИ" in item.effect
    shares = [v or 0.0 for v in (item.sla_breach_share, item.detractor_share, item.repeat_contact_share)]
    assert item.impact == pytest.approx((sum(shares) + item.effect_share) / 4, abs=1e-3)
    plain = next(i for i in agg.priority_topics if i.name == "приложение")
    assert plain.effect is None and plain.effect_share is None


def test_too_few_scores_no_table() -> None:
    small = _frame(40).assign(nps=np.nan)
    assert fit_drivers(FrameView(small, JOURNEY_STAGES), "nps") is None


def test_drivers_in_report_and_csv(frame, tmp_path) -> None:
    from voc.render import write_outputs
    from voc.schema import RunSummary

    agg = compute_aggregates(frame)
    write_outputs(tmp_path, frame, agg, RunSummary(rows_in=len(frame), rows_out=len(frame), records=len(frame)))
    table = pd.read_csv(tmp_path / "drivers.csv")
    row = table[(table["target"] == "nps") & (table["name"] == "доставка")].iloc[0]
    assert row["measured"] and row["ci_low"] < row["coef"] < row["ci_high"] and row["n"] > 100
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="drivers-nps"' in html and "вредит" in html and "95 % ДИ" in html
    assert "effect" in pd.read_csv(tmp_path / "priority.csv").columns
