"""report.html: one self-contained Russian page (no external resources) built from the aggregates."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from voc.aggregate.models import Aggregates, Heatmap, Trend
from voc.render.colours import NO_DATA_LABEL, emotion_group
from voc.render.heatmap_png import TITLES
from voc.render.ru import CHANNELS, dictionary, tr
from voc.render.view import drill_options, heatmap_view, report_rows
from voc.schema import RunSummary

TEMPLATES = Path(__file__).parent / "templates"
DRILL_JS = Path(__file__).parent / "static" / "drill.js"
#: the report's scripts carry this nonce; the HTTP API swaps it for a fresh one per response (its CSP allows
#: only scripts with that nonce), a report opened from disk has no CSP at all
NONCE_PLACEHOLDER = "voc-report-nonce"
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
    tables = dictionary()
    env.filters["ru"] = lambda value, table: tr(tables[table], value)
    return env


def _drill(**filters: str | None) -> dict[str, str]:
    """A drill-down filter for a data-drill attribute (empty values dropped)."""
    return {k: v for k, v in filters.items() if v}


def sort_of(heatmap: Heatmap, col: str) -> str | None:
    """Drill-down order of a cell: a positive emotion's rows most positive first, else most negative first."""
    return "positive" if heatmap.kind == "stage_emotion" and emotion_group(col) == "positive" else None


def _heatmap_view(heatmap: Heatmap, texts: dict[str, str]) -> dict:
    """Rows of cells with colours, tooltips (value, n, example ids with the start of their text), filters."""
    view = heatmap_view(heatmap)
    keys = {"stage_emotion": ("stage", "emotion"), "stage_channel": ("stage", "channel"),
            "topic_week": ("topic", "week")}[heatmap.kind]
    rows = []
    for i, label in enumerate(heatmap.row_labels):
        cells = []
        for j, col in enumerate(heatmap.col_labels):
            value = heatmap.values[i][j]
            shown_col = tr(CHANNELS, col) if heatmap.kind == "stage_channel" else col
            if value is None:
                lines = [f"{label} × {shown_col}", NO_DATA_LABEL]
            else:
                lines = [f"{label} × {shown_col}", f"{heatmap.value_name}: {_fmt_num(value)}",
                         f"n = {heatmap.counts[i][j]} из {heatmap.totals[i][j]}", "щёлкните — отзывы за числом"]
            lines += [f"{fid}: {texts.get(fid, '')[:TOOLTIP_CHARS]}" for fid in heatmap.examples[i][j]]
            cells.append({"value": value, "count": heatmap.counts[i][j], "bg": view["bg"][i][j],
                          "fg": view["fg"][i][j], "tooltip": "\n".join(lines), "examples": heatmap.examples[i][j],
                          "drill": _drill(**{keys[0]: label, keys[1]: col}, sort=sort_of(heatmap, col))
                          if value is not None else None,
                          "drill_title": f"{label} × {shown_col}"})
        rows.append({"label": label, "cells": cells})
    col_titles = [tr(CHANNELS, c) for c in heatmap.col_labels] if heatmap.kind == "stage_channel" else heatmap.col_labels
    return {"kind": heatmap.kind, "title": TITLES.get(heatmap.kind, heatmap.kind), "heatmap": heatmap, "rows": rows,
            "col_titles": col_titles, "legend": view["legend"]}


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


def json_for_script(data: object) -> Markup:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' can end the block."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def report_html(frame: pd.DataFrame, aggregates: Aggregates, summary: RunSummary,
                extra_sections: Sequence[tuple[str, str]] = ()) -> str:
    """The whole report page. ``extra_sections`` are (title, trusted HTML) pairs appended at the end."""
    texts = example_texts(frame, aggregates)
    heatmaps = [_heatmap_view(h, texts) for h in aggregates.heatmaps.values()]
    trends = [{"trend": t, "spark": _sparkline(t), "index": k} for k, t in enumerate(aggregates.trends.rows, 1)]
    rows, note = report_rows(frame)
    data = {"rows": rows, "note": note, "options": drill_options(frame, aggregates), "ru": dictionary()}
    template = _environment().get_template("report.html.j2")
    return template.render(
        summary=summary, agg=aggregates, heatmaps=heatmaps, trends=trends,
        emerging=[t for t in aggregates.trends.rows if t.emerging],
        dimension_titles=DIMENSION_TITLES, max_rows=MAX_TABLE_ROWS,
        extra_sections=[(title, Markup(html)) for title, html in extra_sections],
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        drill_data=json_for_script(data), drill_js=Markup(DRILL_JS.read_text(encoding="utf-8")),
        nonce=NONCE_PLACEHOLDER,
    )
