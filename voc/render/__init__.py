"""Renderers: heatmap PNG/HTML/JSON/CSV, priority/trends/scores CSVs, summary.json and report.html."""

from voc.render.heatmap_files import heatmap_figure, heatmap_html, heatmap_table, render_heatmap
from voc.render.heatmap_png import heatmap_png
from voc.render.outputs import summary_document, write_outputs
from voc.render.report import report_html

__all__ = [
    "heatmap_figure",
    "heatmap_html",
    "heatmap_png",
    "heatmap_table",
    "render_heatmap",
    "report_html",
    "summary_document",
    "write_outputs",
]
