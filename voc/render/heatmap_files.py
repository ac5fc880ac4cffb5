"""Heatmap → interactive plotly HTML, JSON and CSV; ``render_heatmap`` for the HTTP API."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import plotly.graph_objects as go

from voc.aggregate.models import Heatmap
from voc.render.colours import NO_DATA_BG, bar_scales, plotly_scale, wrap
from voc.render.heatmap_png import TITLES, _col_titles, heatmap_png
from voc.safe_csv import write_csv

PlotlyJs = Literal["inline", "directory", "cdn"]


def heatmap_figure(heatmap: Heatmap) -> go.Figure:
    """A plotly heatmap whose hover shows value, n and example ids of each cell; colours as in the PNG and the
    report (one trace per colour bar: warm negative, cool positive emotions; diverging sentiment)."""
    rows, cols = len(heatmap.row_labels), len(heatmap.col_labels)
    custom = [[[heatmap.counts[i][j], heatmap.totals[i][j], ", ".join(heatmap.examples[i][j]) or "—"]
               for j in range(cols)] for i in range(rows)]
    finite = [v for row in heatmap.values for v in row if v is not None]
    top = max(finite) if finite else 1.0
    x = _col_titles(heatmap)
    fig = go.Figure()
    bars = bar_scales(heatmap, top)
    for k, (label, cmap, norm, members) in enumerate(bars):
        keep = set(members)
        z = [[heatmap.values[i][j] if j in keep else None for j in range(cols)] for i in range(rows)]
        fig.add_trace(go.Heatmap(
            z=z, x=x, y=heatmap.row_labels, customdata=custom, colorscale=plotly_scale(cmap),
            zmin=norm.vmin, zmax=norm.vmax, hoverongaps=False, texttemplate="%{z:.2f}",
            colorbar={"title": {"text": wrap(label, 18, "<br>"), "side": "right"}, "x": 1.02 + 0.16 * k,
                      "len": 0.9, "thickness": 14},
            hovertemplate="%{y} × %{x}<br>" + heatmap.value_name
            + ": %{z:.3f}<br>n = %{customdata[0]} из %{customdata[1]}<br>примеры: %{customdata[2]}<extra></extra>",
        ))
    empty = [[0 if heatmap.values[i][j] is None else None for j in range(cols)] for i in range(rows)]
    if any(v is not None for row in empty for v in row):  # no-data cells: grey, labelled
        fig.add_trace(go.Heatmap(z=empty, x=x, y=heatmap.row_labels, showscale=False, hoverongaps=False,
                                 colorscale=[[0, NO_DATA_BG], [1, NO_DATA_BG]], texttemplate="нет данных",
                                 hovertemplate="%{y} × %{x}<br>нет данных<extra></extra>"))
    fig.update_layout(title=TITLES.get(heatmap.kind, heatmap.kind), yaxis={"autorange": "reversed"},
                      height=max(350, 120 + 40 * rows), margin={"r": 80 + 90 * len(bars)})
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
