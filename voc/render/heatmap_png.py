"""Heatmap → PNG with matplotlib (Agg canvas, no pyplot global state), annotated cells, Cyrillic labels."""

from __future__ import annotations

import io

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from voc.aggregate.models import Heatmap

TITLES = {
    "stage_emotion": "Эмоции по этапам пути клиента",
    "stage_channel": "Тональность по этапам и каналам",
    "topic_week": "Доля негатива по темам и неделям",
}


def heatmap_png(heatmap: Heatmap, dpi: int = 110) -> bytes:
    """PNG bytes of a heatmap: colour per value, value and n written in each cell, grey where no data."""
    n_rows, n_cols = max(len(heatmap.row_labels), 1), max(len(heatmap.col_labels), 1)
    fig = Figure(figsize=(min(3 + 1.1 * n_cols, 30), min(1.5 + 0.5 * n_rows, 30)), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    title = TITLES.get(heatmap.kind, heatmap.kind)
    if not heatmap.row_labels or not heatmap.col_labels:
        ax.text(0.5, 0.5, "нет данных", ha="center", va="center", fontsize=14)
        ax.set_axis_off()
    else:
        values = np.array([[np.nan if v is None else v for v in row] for row in heatmap.values], dtype=float)
        masked = np.ma.masked_invalid(values)
        if heatmap.kind == "stage_channel":
            cmap, norm = "RdYlGn", TwoSlopeNorm(vmin=-1, vcenter=0, vmax=1)
        else:
            cmap, norm = "YlOrRd", None
        cmap_obj = colormaps[cmap].with_extremes(bad="#e6e6e6")
        top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
        scale = {"norm": norm} if norm is not None else {"vmin": 0.0, "vmax": max(top, 1e-9)}
        image = ax.imshow(masked, cmap=cmap_obj, aspect="auto", **scale)
        fig.colorbar(image, ax=ax, label=heatmap.value_name)
        ax.set_xticks(range(len(heatmap.col_labels)), heatmap.col_labels, rotation=35, ha="right", fontsize=8)
        ax.set_yticks(range(len(heatmap.row_labels)), heatmap.row_labels, fontsize=8)
        for i, row in enumerate(heatmap.values):
            for j, value in enumerate(row):
                if value is None:
                    continue
                r, g, b, _ = cmap_obj(image.norm(value))
                colour = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"
                ax.text(j, i, f"{value:.2f}\nn={heatmap.counts[i][j]}", ha="center", va="center", fontsize=7,
                        color=colour)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
