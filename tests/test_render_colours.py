"""Heatmap colours that mean something: warm negative and cool positive emotions, a diverging sentiment scale,
grey labelled no-data cells, legends that say what a cell's number is — the same in the PNG, HTML and report."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from voc.aggregate import compute_aggregates
from voc.aggregate.models import Heatmap
from voc.aggregate.synthetic import synthetic_frame
from voc.render import heatmap_figure, heatmap_png, report_html
from voc.render.colours import NO_DATA_BG, cell_colour, emotion_group, legend
from voc.render.view import heatmap_view
from voc.schema import RunSummary

ANGER, JOY, SURPRISE = "раздражение/гнев", "радость/удовлетворение", "удивление"


def _heat(kind: str, cols: list[str], values: list[list[float | None]]) -> Heatmap:
    n = [[0 if v is None else 5 for v in row] for row in values]
    return Heatmap(kind=kind, row_labels=[f"этап {i}" for i in range(len(values))], col_labels=cols, values=values,
                   counts=n, totals=n, examples=[[[] for _ in cols] for _ in values], value_name="v", description="d")


def _warmth(hex_colour: str) -> float:
    r, _g, b = to_rgb(hex_colour)
    return r - b


def test_negative_emotions_warm_positive_cool_empty_grey() -> None:
    h = _heat("stage_emotion", [ANGER, JOY, SURPRISE], [[0.5, 0.5, 0.5], [None, 0.1, 0.0]])
    assert [emotion_group(c) for c in h.col_labels] == ["negative", "positive", "neutral"]
    anger, joy, _ = (cell_colour(h, j, 0.5, 0.5)[0] for j in range(3))
    assert _warmth(anger) > 0.3 and _warmth(joy) < -0.3
    assert cell_colour(h, 0, None, 0.5) == (NO_DATA_BG, "#6b6b6b")
    assert sum(to_rgb(cell_colour(h, 0, 0.5, 0.5)[0])) < sum(to_rgb(cell_colour(h, 0, 0.05, 0.5)[0]))  # more = darker
    lg = legend(h, 0.5)
    assert "доля отзывов этапа" in lg["title"] and "не число отзывов" in lg["title"]
    assert [b["label"].split(" —")[0] for b in lg["bars"]] == ["негативные эмоции", "позитивные эмоции",
                                                                "нейтральные (удивление, нет эмоции)"]
    assert "нет данных" in lg["no_data"]["label"]
    view = heatmap_view(h)
    assert view["bg"][1][0] == NO_DATA_BG and view["bg"][0][0] == anger


def test_sentiment_diverges_and_negative_share_is_fixed() -> None:
    sc = _heat("stage_channel", ["review", "chat"], [[-0.8, 0.8], [0.0, None]])
    assert _warmth(cell_colour(sc, 0, -0.8, 0.8)[0]) > 0.3 and _warmth(cell_colour(sc, 1, 0.8, 0.8)[0]) < -0.3
    neutral = to_rgb(cell_colour(sc, 0, 0.0, 0.8)[0])
    assert min(neutral) > 0.9  # white-ish at 0
    assert "средняя тональность" in legend(sc, 0.8)["title"]
    tw = _heat("topic_week", ["2025-W01", "2025-W02"], [[0.2, 0.9]])
    assert cell_colour(tw, 0, 0.2, 0.2) != cell_colour(tw, 0, 0.9, 0.9)  # fixed 0..1 scale, not relative to top
    assert "доля негативных упоминаний" in legend(tw, 0.9)["title"]


@pytest.fixture(scope="module")
def agg():
    frame = synthetic_frame(600, weeks=4, seed=2)
    frame.loc[frame["journey_stage"] == "возврат", "channel"] = "chat"  # some stage × channel cells stay empty
    return compute_aggregates(frame), frame


def test_png_colours_cells_as_the_report_and_keeps_the_bar_titles(agg) -> None:
    aggregates, _ = agg
    h = aggregates.heatmaps["stage_channel"]
    assert any(v is None for row in h.values for v in row)
    png = Image.open(io.BytesIO(heatmap_png(h)))
    wide = heatmap_png(_heat("stage_channel", ["review"], [[0.1]]))
    assert Image.open(io.BytesIO(wide)).size[0] > 300  # bbox_inches=tight keeps the wrapped colour-bar title
    colours = {c for row in heatmap_view(h)["bg"] for c in row}
    pixels = {"#{:02x}{:02x}{:02x}".format(*p[:3]) for p in png.convert("RGB").getdata()}
    assert NO_DATA_BG in pixels and len(colours & pixels) >= len(colours) - 1


def test_html_and_report_use_the_same_scales(agg) -> None:
    aggregates, frame = agg
    fig = heatmap_figure(aggregates.heatmaps["stage_emotion"])
    titles = [t.colorbar.title.text for t in fig.data if t.showscale is not False]
    assert any("негативные" in t for t in titles) and any("позитивные" in t for t in titles)
    html = report_html(frame, aggregates, RunSummary(rows_in=600, rows_out=600, records=600))
    view = heatmap_view(aggregates.heatmaps["stage_emotion"])
    assert f"background:{view['bg'][0][0]}" in html
    assert "CES — усилие клиента от 1 (очень легко) до 7 (очень трудно): ниже — лучше" in html
    assert html.count('class="legend"') == len(aggregates.heatmaps)
    assert pd.notna(view["legend"]["bars"][0]["stops"][0])
