"""Call metrics summary and FCR / repeat contacts per topic from linked tickets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from voc.aggregate.columns import TOTAL, numeric, rounded
from voc.aggregate.models import CallMetricsSummary, FcrRow
from voc.aggregate.view import FrameView
from voc.enriched import CALL_COLUMNS, TICKET_COLUMNS


def call_summary(frame: pd.DataFrame) -> CallMetricsSummary | None:
    """Averages over calls that have timing metrics; None when there are no such calls."""
    present = [c for c in CALL_COLUMNS if c in frame.columns]
    if not present:
        return None
    data = pd.DataFrame({c: numeric(frame, c) for c in CALL_COLUMNS})
    is_call = data[["call_duration_s", "call_longest_pause_s", "call_silence_share"]].notna().any(axis=1)
    calls = data[is_call]
    if calls.empty:
        return None
    start, end = calls["call_client_sentiment_start"], calls["call_client_sentiment_end"]
    both = start.notna() & end.notna()
    return CallMetricsSummary(
        calls=len(calls),
        mean_duration_s=rounded(calls["call_duration_s"].mean(), 2),
        mean_longest_pause_s=rounded(calls["call_longest_pause_s"].mean(), 2),
        mean_silence_share=rounded(calls["call_silence_share"].mean()),
        mean_talk_ratio_client=rounded(calls["call_talk_ratio_client"].mean()),
        mean_overlaps=rounded(calls["call_overlaps"].mean(), 2),
        mean_client_sentiment_start=rounded(start[both].mean()) if both.any() else None,
        mean_client_sentiment_end=rounded(end[both].mean()) if both.any() else None,
        calls_with_sentiment=int(both.sum()),
        worse_share=rounded((end[both] < start[both]).mean()) if both.any() else None,
    )


def has_ticket_columns(frame: pd.DataFrame) -> bool:
    """True when voc.link added ticket columns and at least one record is linked."""
    present = [c for c in TICKET_COLUMNS if c in frame.columns]
    if not present:
        return False
    if "link_method" in frame.columns:
        return bool(frame["link_method"].notna().any())
    return bool(frame[present].notna().any().any())


def fcr_by_topic(view: FrameView, max_rows: int = 50) -> list[FcrRow]:
    """FCR, repeat contact, SLA breach shares and mean reopen count per topic (first row: «всего»)."""
    if not has_ticket_columns(view.frame):
        return []
    linked = _linked(view.frame)
    columns = {"linked": linked.astype(float), "fcr": view.flag("fcr"), "repeat": view.flag("repeat_contact"),
               "sla": view.flag("sla_breached"), "reopen": view.number("reopen_count")}
    rows = view.topics["row"].to_numpy()
    per_topic = pd.DataFrame({"key": view.topics["item"].to_numpy(), **{k: v[rows] for k, v in columns.items()}})
    agg = per_topic.groupby("key", sort=False, observed=True).agg(
        n=("linked", "size"), linked=("linked", "sum"), fcr=("fcr", "mean"), repeat=("repeat", "mean"),
        sla=("sla", "mean"), reopen=("reopen", "mean"))
    agg = agg.sort_values("n", ascending=False, kind="stable").head(max_rows)
    total = FcrRow(group=TOTAL, n=len(view), linked=int(linked.sum()), fcr_share=_mean(columns["fcr"]),
                   repeat_contact_share=_mean(columns["repeat"]), sla_breach_share=_mean(columns["sla"]),
                   mean_reopen_count=_mean(columns["reopen"], 3))
    return [total] + [
        FcrRow(group=str(k), n=int(a["n"]), linked=int(a["linked"]), fcr_share=rounded(a["fcr"]),
               repeat_contact_share=rounded(a["repeat"]), sla_breach_share=rounded(a["sla"]),
               mean_reopen_count=rounded(a["reopen"], 3))
        for k, a in agg.iterrows()
    ]


def _linked(frame: pd.DataFrame) -> np.ndarray:
    """Rows linked to a ticket: ``link_method`` set, else some ticket field present. ``repeat_contact`` alone
    (found from a customer's own history, without a ticket export) is no link."""
    if "link_method" in frame.columns:
        return frame["link_method"].notna().to_numpy()
    ticket = [c for c in TICKET_COLUMNS if c in frame.columns and c not in ("link_method", "repeat_contact")]
    if not ticket:
        return np.zeros(len(frame), dtype=bool)
    return frame[ticket].notna().any(axis=1).to_numpy()


def _mean(values: np.ndarray, digits: int = 4) -> float | None:
    """Mean over non-missing values, rounded; None when all are missing."""
    present = values[~np.isnan(values)]
    return rounded(float(present.mean()), digits) if present.size else None
