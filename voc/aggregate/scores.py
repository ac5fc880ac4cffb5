"""NPS, CSAT and CES by journey stage, channel and topic."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from voc.aggregate.columns import TOTAL
from voc.aggregate.models import ScoreRow, ScoreTable
from voc.aggregate.view import FrameView


def _score_rows(keys: np.ndarray | pd.Categorical, nps: np.ndarray, csat: np.ndarray, ces: np.ndarray,
                order: Sequence[str] | None = None) -> list[ScoreRow]:
    """One ScoreRow per key value (in ``order`` if given, else by n desc)."""
    with np.errstate(invalid="ignore"):
        data = pd.DataFrame({
            "key": keys, "nps_n": ~np.isnan(nps), "promoter": nps >= 9, "detractor": nps <= 6,
            "csat_n": ~np.isnan(csat), "csat_good": csat >= 4, "csat": csat, "ces_n": ~np.isnan(ces), "ces": ces,
        })
    agg = data.groupby("key", sort=False, observed=True).agg(
        n=("key", "size"), nps_n=("nps_n", "sum"), promoter=("promoter", "sum"), detractor=("detractor", "sum"),
        csat_n=("csat_n", "sum"), csat_good=("csat_good", "sum"), csat_mean=("csat", "mean"),
        ces_n=("ces_n", "sum"), ces_mean=("ces", "mean"))
    if order is not None:
        labels = [k for k in order if k in agg.index]
    else:
        labels = list(agg.sort_values("n", ascending=False, kind="stable").index)
    rows = []
    for key in labels:
        a = agg.loc[key]
        n_nps, n_csat, n_ces = int(a["nps_n"]), int(a["csat_n"]), int(a["ces_n"])
        promoters = 100 * a["promoter"] / n_nps if n_nps else None
        detractors = 100 * a["detractor"] / n_nps if n_nps else None
        rows.append(ScoreRow(
            group=str(key), n=int(a["n"]), n_nps=n_nps,
            nps=None if promoters is None else round(promoters - detractors, 2),
            promoters_pct=None if promoters is None else round(promoters, 2),
            detractors_pct=None if detractors is None else round(detractors, 2),
            n_csat=n_csat, csat_share=round(100 * a["csat_good"] / n_csat, 2) if n_csat else None,
            csat_mean=round(float(a["csat_mean"]), 3) if n_csat else None,
            n_ces=n_ces, ces_mean=round(float(a["ces_mean"]), 3) if n_ces else None,
        ))
    return rows


def score_tables(view: FrameView) -> list[ScoreTable]:
    """Score tables by journey stage, channel and topic; empty when no NPS, CSAT or CES is present."""
    nps, csat, ces = view.number("nps"), view.number("csat"), view.number("ces")
    if np.isnan(nps).all() and np.isnan(csat).all() and np.isnan(ces).all():
        return []
    total = _score_rows(np.full(len(view), TOTAL, dtype=object), nps, csat, ces)
    by_stage = _score_rows(view.stage, nps, csat, ces, view.stage_order)
    tables = [ScoreTable(dimension="journey_stage", rows=total + by_stage)]
    if view.has("channel"):
        tables.append(ScoreTable(dimension="channel", rows=total + _score_rows(view.channel, nps, csat, ces)))
    if len(view.topics):
        rows = view.topics["row"].to_numpy()
        topic_rows = _score_rows(view.topics["item"].to_numpy(), nps[rows], csat[rows], ces[rows])
        scored = [r for r in topic_rows if r.n_nps or r.n_csat or r.n_ces]
        tables.append(ScoreTable(dimension="topic", rows=total + scored))
    return tables


def net_promoter_score(values: Sequence[float] | np.ndarray) -> float | None:
    """NPS of 0..10 answers: % promoters (9–10) minus % detractors (0–6); None when empty."""
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return None
    return float(100 * ((arr >= 9).mean() - (arr <= 6).mean()))
