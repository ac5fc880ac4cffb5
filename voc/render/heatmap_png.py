"""Heatmap → PNG with matplotlib (Agg canvas, no pyplot global state), annotated cells, Cyrillic labels."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from voc.aggregate.models import Heatmap
from voc.render.colours import bar_scales, cell_colour, wrap

TITLES = {
    "stage_emotion": "Эмоции по этапам пути клиента",
    "stage_channel": "Тональность по этапам и каналам",
    "topic_week": "Доля негатива по темам и неделям",
}


def heatmap_png(heatmap: Heatmap, dpi: int = 110) -> bytes:
    """PNG bytes of a heatmap: colours as in the report (warm negative, cool positive emotions; diverging
    sentiment), value and n in each cell, grey «нет данных» where a cell has no data, colour bars whose
    titles are wrapped and kept inside the image."""
    n_rows, n_cols = max(len(heatmap.row_labels), 1), max(len(heatmap.col_labels), 1)
    finite = [v for row in heatmap.values for v in row if v is not None]
    top = max(finite) if finite else 1.0
    bars = bar_scales(heatmap, top) if heatmap.row_labels and heatmap.col_labels else []
    width = min(3.5 + 1.1 * n_cols + 1.3 * len(bars), 32)
    fig = Figure(figsize=(width, min(max(2.2 + 0.5 * n_rows, 4.0), 30)), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    title = TITLES.get(heatmap.kind, heatmap.kind)
    if not heatmap.row_labels or not heatmap.col_labels:
        ax.text(0.5, 0.5, "нет данных", ha="center", va="center", fontsize=14)
        ax.set_axis_off()
    else:
        rgb = np.zeros((len(heatmap.row_labels), len(heatmap.col_labels), 3))
        for i, row in enumerate(heatmap.values):
            for j, value in enumerate(row):
                bg, fg = cell_colour(heatmap, j, value, top)
                rgb[i, j] = to_rgb(bg)
                label = "нет\nданных" if value is None else f"{value:.2f}\nn={heatmap.counts[i][j]}"
                ax.text(j, i, label, ha="center", va="center", fontsize=6.5 if value is None else 7, color=fg)
        ax.imshow(rgb, aspect="auto", interpolation="nearest")
        for k, (label, cmap, norm, _cols) in enumerate(reversed(bars)):  # the last added sits next to the cells
            bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.03,
                               pad=0.015 if k == len(bars) - 1 else 0.055)
            bar.set_label(wrap(label, 24), fontsize=7)
            bar.ax.tick_params(labelsize=7)
        ax.set_xticks(range(len(heatmap.col_labels)), _col_titles(heatmap), rotation=35, ha="right", fontsize=8)
        ax.set_yticks(range(len(heatmap.row_labels)), heatmap.row_labels, fontsize=8)
    ax.set_title(title, fontsize=11)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", pad_inches=0.15)  # nothing clipped, titles included
    return buf.getvalue()


def _col_titles(heatmap: Heatmap) -> list[str]:
    from voc.render.ru import CHANNELS, tr

    return [tr(CHANNELS, c) for c in heatmap.col_labels] if heatmap.kind == "stage_channel" else heatmap.col_labels
