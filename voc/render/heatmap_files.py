"""Heatmap → interactive plotly HTML, JSON and CSV; ``render_heatmap`` for the HTTP API."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import plotly.graph_objects as go

from voc.aggregate.models import Heatmap
from voc.render.heatmap_png import TITLES, heatmap_png
from voc.safe_csv import write_csv

PlotlyJs = Literal["inline", "directory", "cdn"]


def heatmap_figure(heatmap: Heatmap) -> go.Figure:
    """A plotly heatmap whose hover shows value, n and example ids of each cell."""
    custom = [[[heatmap.counts[i][j], heatmap.totals[i][j], ", ".join(heatmap.examples[i][j]) or "—"]
               for j in range(len(heatmap.col_labels))] for i in range(len(heatmap.row_labels))]
    colorscale = "RdYlGn" if heatmap.kind == "stage_channel" else "YlOrRd"
    scale = {"zmin": -1, "zmax": 1, "zmid": 0} if heatmap.kind == "stage_channel" else {"zmin": 0}
    fig = go.Figure(go.Heatmap(
        z=heatmap.values, x=heatmap.col_labels, y=heatmap.row_labels, customdata=custom, colorscale=colorscale,
        hoverongaps=False, colorbar={"title": {"text": heatmap.value_name}},
        texttemplate="%{z:.2f}",
        hovertemplate="%{y} × %{x}<br>" + heatmap.value_name
        + ": %{z:.3f}<br>n = %{customdata[0]} из %{customdata[1]}<br>примеры: %{customdata[2]}<extra></extra>",
        **scale,
    ))
    fig.update_layout(title=TITLES.get(heatmap.kind, heatmap.kind), yaxis={"autorange": "reversed"},
                      height=max(350, 120 + 40 * len(heatmap.row_labels)))
    return fig


def heatmap_html(heatmap: Heatmap, plotlyjs: PlotlyJs = "inline") -> str:
    """A standalone HTML page; ``inline`` embeds plotly.js, ``directory`` expects plotly.min.js beside it."""
    include = {"inline": True, "directory": "directory", "cdn": "cdn"}[plotlyjs]
    return heatmap_figure(heatmap).to_html(include_plotlyjs=include, full_html=True)


def heatmap_table(heatmap: Heatmap) -> pd.DataFrame:
    """Long table: one line per cell with value, count, total and example ids (pipe-joined)."""
    rows = [
        {"row": r, "column": c, "value": heatmap.values[i][j], "count": heatmap.counts[i][j],
         "total": heatmap.totals[i][j], "example_ids": "|".join(heatmap.examples[i][j])}
        for i, r in enumerate(heatmap.row_labels) for j, c in enumerate(heatmap.col_labels)
    ]
    return pd.DataFrame(rows, columns=["row", "column", "value", "count", "total", "example_ids"])


def render_heatmap(heatmap: Heatmap, fmt: Literal["png", "html", "json", "csv"]) -> bytes:
    """Bytes of a heatmap in one format (the HTTP API's response body)."""
    if fmt == "png":
        return heatmap_png(heatmap)
    if fmt == "html":
        return heatmap_html(heatmap, "inline").encode("utf-8")
    if fmt == "json":
        return heatmap.model_dump_json(indent=2).encode("utf-8")
    if fmt == "csv":
        return write_csv(heatmap_table(heatmap)).encode("utf-8")
    raise ValueError(f"heatmap format {fmt!r} is not supported; expected one of png, html, json, csv")
