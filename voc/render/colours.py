"""Heatmap colours that mean something, shared by the PNG, report.html and the web page.

* stage × emotion — share of the stage's feedback with the emotion (0..1, one scale for all columns):
  negative emotions (anger, disappointment, fear) on a warm scale, positive ones (joy, gratitude) on a cool
  scale, the rest (surprise, no emotion) grey-violet; darker = more of the stage's feedback.
* stage × channel — mean sentiment −1..1 on a diverging scale: red negative, white 0, blue positive.
* topic × week — share of the topic's mentions that week that are negative (0..1, fixed scale, warm).
* a cell without data is light grey and says «нет данных» (never a colour of 0).
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Colormap, ListedColormap, Normalize, TwoSlopeNorm, to_hex

from voc.aggregate.heatmaps import POSITIVE_EMOTIONS
from voc.aggregate.models import Heatmap
from voc.vocab import PAIN_EMOTIONS

NO_DATA_BG = "#e3e3e3"
NO_DATA_FG = "#6b6b6b"
NO_DATA_LABEL = "нет данных"
WARM, COOL, NEUTRAL, DIVERGING = "YlOrRd", "Blues", "Purples", "RdBu"


def emotion_group(emotion: str) -> str:
    """'negative' (warm), 'positive' (cool) or 'neutral' for a stage × emotion column."""
    if emotion in PAIN_EMOTIONS:
        return "negative"
    if emotion in POSITIVE_EMOTIONS:
        return "positive"
    return "neutral"


GROUP_MAPS = {"negative": WARM, "positive": COOL, "neutral": NEUTRAL}


def scale(heatmap: Heatmap, col: int, top: float) -> tuple[Colormap, Normalize]:
    """Colour map and normalisation of one column of a heatmap."""
    if heatmap.kind == "stage_channel":
        return colormaps[DIVERGING], TwoSlopeNorm(vmin=-1, vcenter=0, vmax=1)
    if heatmap.kind == "topic_week":
        return colormaps[WARM], Normalize(vmin=0, vmax=1)
    group = emotion_group(heatmap.col_labels[col]) if col < len(heatmap.col_labels) else "neutral"
    # a light start: 0 is pale, never white-on-white; the top value is the darkest
    return colormaps[GROUP_MAPS[group]], Normalize(vmin=-0.08 * max(top, 1e-9), vmax=max(top, 1e-9))


def text_colour(r: float, g: float, b: float) -> str:
    return "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "#000000"


def cell_colour(heatmap: Heatmap, col: int, value: float | None, top: float) -> tuple[str, str]:
    """(background, text) hex colours of one cell; grey for no data."""
    if value is None:
        return NO_DATA_BG, NO_DATA_FG
    cmap, norm = scale(heatmap, col, top)
    r, g, b, _ = cmap(norm(value))
    return to_hex((r, g, b)), text_colour(r, g, b)


def _stops(cmap_name: str, lo: float, hi: float, norm: Normalize, n: int = 5) -> list[str]:
    cmap = colormaps[cmap_name]
    return [to_hex(cmap(norm(lo + (hi - lo) * k / (n - 1)))[:3]) for k in range(n)]


def legend(heatmap: Heatmap, top: float) -> dict:
    """What a cell's number is and what its colour says: title, one or more colour bars, the no-data swatch."""
    no_data = {"colour": NO_DATA_BG, "label": NO_DATA_LABEL + " (в ячейке нет отзывов)"}
    if heatmap.kind == "stage_channel":
        norm: Normalize = TwoSlopeNorm(vmin=-1, vcenter=0, vmax=1)
        return {"title": "Число в ячейке — средняя тональность отзывов (от −1 до +1), n — число отзывов",
                "bars": [{"label": "красный — негатив, белый — нейтрально, синий — позитив", "low": "−1",
                          "high": "+1", "stops": _stops(DIVERGING, -1, 1, norm)}], "no_data": no_data}
    if heatmap.kind == "topic_week":
        norm = Normalize(vmin=0, vmax=1)
        return {"title": "Число в ячейке — доля негативных упоминаний темы за неделю (0–1, не число отзывов); "
                         "n — негативных упоминаний из всех упоминаний",
                "bars": [{"label": "чем краснее, тем больше негатива", "low": "0", "high": "1",
                          "stops": _stops(WARM, 0, 1, norm)}], "no_data": no_data}
    t = max(top, 1e-9)
    norm = Normalize(vmin=-0.08 * t, vmax=t)
    high = f"{t:.2f}"
    groups = {emotion_group(c) for c in heatmap.col_labels}
    bars = [{"label": label, "low": "0", "high": high, "stops": _stops(GROUP_MAPS[g], 0, t, norm)}
            for g, label in (("negative", "негативные эмоции — тёплая шкала"),
                             ("positive", "позитивные эмоции — холодная шкала"),
                             ("neutral", "нейтральные (удивление, нет эмоции)")) if g in groups]
    return {"title": "Число в ячейке — доля отзывов этапа с этой эмоцией (0–1, не число отзывов); "
                     "n — отзывов этапа с эмоцией", "bars": bars, "no_data": no_data}


def wrap(text: str, width: int = 22, sep: str = "\n") -> str:
    """A colour-bar title broken into short lines, so it is never clipped."""
    return sep.join(textwrap.wrap(text, width)) or text


def bar_scales(heatmap: Heatmap, top: float) -> list[tuple[str, Colormap, Normalize, list[int]]]:
    """One (title, colour map, norm, column indices) per colour bar of a heatmap, as the cells are coloured.

    The maps are cut to the part the cells use (a light start for emotion shares), so a bar's ticks run over
    the cells' own values: 0..top for emotion shares, −1..1 for sentiment, 0..1 for negative shares.
    """
    cols = list(range(len(heatmap.col_labels)))
    if heatmap.kind == "stage_channel":
        return [("средняя тональность: −1 негатив … +1 позитив", colormaps[DIVERGING],
                 TwoSlopeNorm(vmin=-1, vcenter=0, vmax=1), cols)]
    if heatmap.kind == "topic_week":
        return [("доля негативных упоминаний (0–1)", colormaps[WARM], Normalize(vmin=0, vmax=1), cols)]
    t = max(top, 1e-9)
    start = 0.08 / 1.08  # where 0 falls on Normalize(-0.08 t, t)
    out: list[tuple[str, Colormap, Normalize, list[int]]] = []
    for group, title in (("negative", "доля отзывов этапа: негативные эмоции"),
                         ("positive", "доля отзывов этапа: позитивные эмоции"),
                         ("neutral", "доля отзывов этапа: нейтральные")):
        members = [j for j in cols if emotion_group(heatmap.col_labels[j]) == group]
        if members:
            cut = ListedColormap(colormaps[GROUP_MAPS[group]](np.linspace(start, 1, 256)), name=f"{group}-cut")
            out.append((title, cut, Normalize(vmin=0, vmax=t), members))
    return out


def plotly_scale(cmap: Colormap, n: int = 11) -> list[list[float | str]]:
    """A plotly colorscale sampled from a matplotlib colour map (so the HTML matches the PNG)."""
    return [[k / (n - 1), to_hex(cmap(k / (n - 1))[:3])] for k in range(n)]
