"""What the report and the web page draw beyond the numbers: cell colours and legends of the heatmaps, the
values each drill-down filter offers, and the compact rows report.html embeds for its click-to-drill table.

The colours are computed here once and shipped in ``summary.json`` (``view``), so the page and the report
colour a cell the same way the PNG does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from voc.aggregate.columns import UNKNOWN_STAGE, categories, explode_list, iso_weeks
from voc.aggregate.drill import channel_keys, compact_rows, segment_column, stage_keys
from voc.aggregate.models import Aggregates, Heatmap
from voc.render.colours import cell_colour, legend
from voc.vocab import SENTIMENTS

#: report.html embeds every row up to this many records, else the strongest rows of every drill key
REPORT_ROWS = 5000
PER_KEY = 20
MAX_OPTIONS = 300


def heatmap_view(heatmap: Heatmap) -> dict:
    """Background/text colour of every cell and the legend of one heatmap."""
    finite = [v for row in heatmap.values for v in row if v is not None]
    top = max(finite) if finite else 1.0
    bg: list[list[str]] = []
    fg: list[list[str]] = []
    for row in heatmap.values:
        colours = [cell_colour(heatmap, j, value, top) for j, value in enumerate(row)]
        bg.append([c[0] for c in colours])
        fg.append([c[1] for c in colours])
    return {"bg": bg, "fg": fg, "legend": legend(heatmap, top)}


def _unique(values: np.ndarray | list) -> list[str]:
    seen = pd.Series(values, dtype=object).dropna().astype(str)
    seen = seen[seen != ""]
    return sorted(seen.unique().tolist())[:MAX_OPTIONS]


def drill_options(frame: pd.DataFrame, aggregates: Aggregates) -> dict[str, list[str]]:
    """The values each drill-down filter offers (in the aggregates' order where they have one)."""
    heat = aggregates.heatmaps
    options: dict[str, list[str]] = {
        "stage": list(heat["stage_emotion"].row_labels) if "stage_emotion" in heat else _unique(stage_keys(frame)),
        "channel": _unique(channel_keys(frame)) if "channel" in frame.columns else [],
        "topic": list(dict.fromkeys([p.name for p in aggregates.priority_topics]
                                    + (heat["topic_week"].row_labels if "topic_week" in heat else []))),
        "cause": [p.name for p in aggregates.priority_causes],
        "emotion": list(heat["stage_emotion"].col_labels) if "stage_emotion" in heat else [],
        "week": list(heat["topic_week"].col_labels) if "topic_week" in heat else [],
        "sentiment": list(SENTIMENTS) if "sentiment" in frame.columns else [],
    }
    seg = segment_column(frame.columns)
    options["segment"] = _unique(frame[seg].to_numpy()) if seg else []
    return options


def page_view(frame: pd.DataFrame, aggregates: Aggregates) -> dict:
    """The ``view`` part of summary.json: heatmap colours and legends, drill-down options."""
    return {"heatmaps": {kind: heatmap_view(h) for kind, h in aggregates.heatmaps.items()},
            "drill_options": drill_options(frame, aggregates), "segment_column": segment_column(frame.columns)}


def _codes(frame: pd.DataFrame, column: str, missing: str | None) -> np.ndarray:
    """Integer key per row, grouped exactly as :mod:`voc.aggregate.drill`'s string keys (−1: no value)."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=np.int64) if missing is not None else np.full(len(frame), -1, np.int64)
    return np.asarray(categories(frame[column], missing=missing).codes, dtype=np.int64)


def _strongest(frame: pd.DataFrame, per_key: int) -> np.ndarray:
    """Positions of the most negative ``per_key`` rows of every drill key (cells, topics, causes, weeks).

    Keys are integer codes (a rowless week is a key of its own, a rowless cause none), so a 1M-row frame
    costs tens of MB here rather than the ~600 MB of per-row label strings."""
    score = pd.to_numeric(frame.get("sentiment_score", pd.Series(np.nan, index=frame.index)),
                          errors="coerce").to_numpy(dtype=float)
    score = np.nan_to_num(score, nan=0.0)
    stage = _codes(frame, "journey_stage", UNKNOWN_STAGE)
    channel = _codes(frame, "channel", "unknown")
    week = (np.asarray(iso_weeks(pd.to_datetime(frame["created_at"], utc=True, errors="coerce", format="mixed")).codes,
                       dtype=np.int64) if "created_at" in frame.columns else np.full(len(frame), -1, np.int64))
    cause = _codes(frame, "cause", None)
    picked: set[int] = set()

    def take(rows: np.ndarray, **keys: np.ndarray) -> None:
        if not len(rows):
            return
        table = pd.DataFrame({"row": rows, "score": score[rows], **keys})
        head = table.sort_values("score", kind="stable").groupby(list(keys), sort=False).head(per_key)
        picked.update(head["row"].tolist())

    every = np.arange(len(frame), dtype=np.int64)
    take(every, stage=stage, channel=channel)
    has_cause = every[cause >= 0]
    take(has_cause, cause=cause[has_cause])
    for column, extra in (("emotions", {"stage": stage}), ("topics", {"week": week})):
        long = explode_list(frame, column)
        rows = long["row"].to_numpy(dtype=np.int64)
        item = pd.factorize(long["item"])[0].astype(np.int64)
        del long
        take(rows, item=item, **{k: v[rows] for k, v in extra.items()})
        if column == "topics":
            take(rows, item=item)
    return np.array(sorted(picked), dtype=np.int64)


def report_rows(frame: pd.DataFrame, limit: int = REPORT_ROWS) -> tuple[list[dict], str]:
    """Compact rows for report.html and a note on what was left out (empty when every row is there)."""
    if len(frame) <= limit:
        return compact_rows(frame, max_text=600), ""
    rows = _strongest(frame, PER_KEY)[:limit]
    note = (f"В отчёт встроены {len(rows)} из {len(frame)} отзывов — самые негативные в каждой ячейке, теме и "
            "причине; все строки — в enriched.csv и на странице сервиса.")
    return compact_rows(frame.iloc[rows], max_text=400), note
