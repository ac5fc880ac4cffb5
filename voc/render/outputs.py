"""write_outputs: every file of a run's output folder from the frame, the aggregates and the summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import plotly.offline

from voc.aggregate.models import Aggregates
from voc.render.heatmap_files import heatmap_html, heatmap_table
from voc.render.heatmap_png import heatmap_png
from voc.render.report import report_html
from voc.render.tables import drivers_table, fcr_table, priority_table, scores_table, trends_table
from voc.render.view import page_view
from voc.safe_csv import write_csv
from voc.schema import RunSummary

PLOTLY_JS = "plotly.min.js"


def summary_document(aggregates: Aggregates, summary: RunSummary, frame: pd.DataFrame | None = None) -> dict:
    """The summary.json content: the run summary and all aggregates (the numbers of the report); with the
    frame also ``view`` (heatmap colours and legends, drill-down filter values) for the web page."""
    document = {"summary": summary.model_dump(mode="json"), "aggregates": aggregates.model_dump(mode="json")}
    if frame is not None:
        document["view"] = page_view(frame, aggregates)
    return document


def write_outputs(outdir: str | Path, frame: pd.DataFrame, aggregates: Aggregates, summary: RunSummary,
                  extra_sections: Sequence[tuple[str, str]] = ()) -> list[Path]:
    """Write heatmaps (png/html/json/csv), priority/trends/scores/fcr CSVs, summary.json and report.html.

    Heatmap HTML pages share one ``heatmaps/plotly.min.js`` (offline, no CDN). Every CSV goes through
    ``voc.safe_csv.write_csv`` (no cell can start a spreadsheet formula). Returns the written paths.
    """
    out = Path(outdir)
    heat_dir = out / "heatmaps"
    heat_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(path: Path, data: str | bytes) -> None:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
        written.append(path)

    if aggregates.heatmaps:
        put(heat_dir / PLOTLY_JS, plotly.offline.get_plotlyjs())
    for kind, heatmap in aggregates.heatmaps.items():
        put(heat_dir / f"{kind}.png", heatmap_png(heatmap))
        put(heat_dir / f"{kind}.html", heatmap_html(heatmap, "directory"))
        put(heat_dir / f"{kind}.json", heatmap.model_dump_json(indent=2))
        put(heat_dir / f"{kind}.csv", write_csv(heatmap_table(heatmap)))
    put(out / "priority.csv", write_csv(priority_table(aggregates)))
    put(out / "trends.csv", write_csv(trends_table(aggregates)))
    if aggregates.scores:
        put(out / "scores.csv", write_csv(scores_table(aggregates)))
    if aggregates.fcr:
        put(out / "fcr.csv", write_csv(fcr_table(aggregates)))
    if aggregates.drivers:
        put(out / "drivers.csv", write_csv(drivers_table(aggregates)))
    document = summary_document(aggregates, summary, frame)
    put(out / "summary.json", json.dumps(document, ensure_ascii=False, indent=2))
    put(out / "report.html", report_html(frame, aggregates, summary, extra_sections))
    return written
