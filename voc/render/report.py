"""report.html: one self-contained Russian page (no external resources) built from the aggregates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from matplotlib import colormaps
from matplotlib.colors import Normalize, TwoSlopeNorm, to_hex

from voc.aggregate.models import Aggregates, Heatmap, Trend
from voc.render.heatmap_png import TITLES
from voc.schema import RunSummary

TEMPLATES = Path(__file__).parent / "templates"
TOOLTIP_CHARS = 100
MAX_TABLE_ROWS = 50
DIMENSION_TITLES = {"journey_stage": "по этапам пути клиента", "channel": "по каналам", "topic": "по темам"}


def _fmt_num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _fmt_pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f} %"


def _file_name(path: str) -> str:
    """A file's name without its folders: the report never shows where the server keeps files."""
    return Path(str(path).replace("\\", "/")).name


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["num"] = _fmt_num
    env.filters["file_name"] = _file_name
    env.filters["pct"] = _fmt_pct
    return env


def _cell_colour(heatmap: Heatmap, value: float | None, top: float) -> tuple[str, str]:
    """Background and text colour of a heatmap cell, matching the PNG colour maps."""
    if value is None:
        return "#e6e6e6", "#555555"
    if heatmap.kind == "stage_channel":
        cmap, norm = colormaps["RdYlGn"], TwoSlopeNorm(vmin=-1, vcenter=0, vmax=1)
    else:
        cmap, norm = colormaps["YlOrRd"], Normalize(vmin=0, vmax=max(top, 1e-9))
    r, g, b, _ = cmap(norm(value))
    text = "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "#000000"
    return to_hex((r, g, b)), text


def _heatmap_view(heatmap: Heatmap, texts: dict[str, str]) -> dict:
    """Rows of cells with colours and tooltips (value, n, example ids with the start of their text)."""
    finite = [v for row in heatmap.values for v in row if v is not None]
    top = max(finite) if finite else 1.0
    rows = []
    for i, label in enumerate(heatmap.row_labels):
        cells = []
        for j, col in enumerate(heatmap.col_labels):
            value = heatmap.values[i][j]
            bg, fg = _cell_colour(heatmap, value, top)
            lines = [f"{label} × {col}", f"{heatmap.value_name}: {_fmt_num(value)}",
                     f"n = {heatmap.counts[i][j]} из {heatmap.totals[i][j]}"]
            lines += [f"{fid}: {texts.get(fid, '')[:TOOLTIP_CHARS]}" for fid in heatmap.examples[i][j]]
            cells.append({"value": value, "count": heatmap.counts[i][j], "bg": bg, "fg": fg,
                          "tooltip": "\n".join(lines), "examples": heatmap.examples[i][j]})
        rows.append({"label": label, "cells": cells})
    return {"kind": heatmap.kind, "title": TITLES.get(heatmap.kind, heatmap.kind), "heatmap": heatmap, "rows": rows}


def _sparkline(trend: Trend, width: int = 120, height: int = 24) -> Markup:
    """An inline SVG polyline of a trend's weekly shares (numbers only, so safe to mark up)."""
    shares = [p.share for p in trend.series]
    if len(shares) < 2:
        return Markup("")
    top = max(shares) or 1.0
    step = width / (len(shares) - 1)
    points = " ".join(f"{k * step:.1f},{height - 2 - (height - 4) * s / top:.1f}" for k, s in enumerate(shares))
    colour = "#c0392b" if trend.emerging else "#555555"
    return Markup(f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
                  f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/></svg>')


def example_texts(frame: pd.DataFrame, aggregates: Aggregates) -> dict[str, str]:
    """id → text of every feedback id shown as a heatmap example."""
    ids = {fid for h in aggregates.heatmaps.values() for row in h.examples for cell in row for fid in cell}
    if not ids or "id" not in frame.columns or "text" not in frame.columns:
        return {}
    hits = frame.loc[frame["id"].astype(str).isin(ids), ["id", "text"]]
    return {str(i): "" if t is None else str(t) for i, t in zip(hits["id"], hits["text"], strict=True)}


def report_html(frame: pd.DataFrame, aggregates: Aggregates, summary: RunSummary,
                extra_sections: Sequence[tuple[str, str]] = ()) -> str:
    """The whole report page. ``extra_sections`` are (title, trusted HTML) pairs appended at the end."""
    texts = example_texts(frame, aggregates)
    heatmaps = [_heatmap_view(h, texts) for h in aggregates.heatmaps.values()]
    trends = [{"trend": t, "spark": _sparkline(t)} for t in aggregates.trends.rows]
    template = _environment().get_template("report.html.j2")
    return template.render(
        summary=summary, agg=aggregates, heatmaps=heatmaps, trends=trends,
        emerging=[t for t in aggregates.trends.rows if t.emerging],
        dimension_titles=DIMENSION_TITLES, max_rows=MAX_TABLE_ROWS,
        extra_sections=[(title, Markup(html)) for title, html in extra_sections],
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
