"""report.html in Russian: translated channels, PII kinds, rejection reasons, link methods and flags; «Главное» at
the top linking to its sections; no «связано с обращением» without a ticket export; drill-down data embedded."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from voc.aggregate import compute_aggregates
from voc.aggregate.synthetic import synthetic_frame
from voc.render import report_html
from voc.render.ru import FLAGS, REJECTION_REASONS, dictionary
from voc.schema import RunSummary


@pytest.fixture(scope="module")
def frame():
    f = synthetic_frame(500, weeks=4, seed=7, tickets=False)
    f["repeat_contact"] = np.arange(len(f)) % 5 == 0  # found from customer history, no ticket export
    f["продукт"] = "Карта"
    return f


def _summary(**kw) -> RunSummary:
    base = {"rows_in": 505, "rows_out": 500, "rows_rejected": 5, "records": 500,
            "rejected_by_reason": {"empty text": 2, "unparseable date": 2, "unknown channel": 1},
            "pii_masked": {"phone": 3, "email": 1, "card": 1}}
    return RunSummary.model_validate({**base, **kw})


def test_every_reason_has_a_translation() -> None:
    from voc.ingest import errors

    reasons = {v for k, v in vars(errors).items() if k.isupper() and isinstance(v, str) and " " in v}
    assert reasons <= set(REJECTION_REASONS)


def test_russian_labels_and_no_ticket_link_without_tickets(frame) -> None:
    agg = compute_aggregates(frame)
    assert agg.fcr and agg.fcr[0].linked == 0  # repeat contacts alone are no link to a ticket
    html = report_html(frame, agg, _summary())
    for ru in ("пустой текст", "не удалось разобрать дату", "неизвестный канал", "телефон", "номер карты",
               "опрос", "Выгрузка обращений не загружена"):
        assert ru in html, ru
    assert "связано с обращением" not in html and ">empty text<" not in html and ">phone<" not in html
    for flag, text in FLAGS.items():
        if flag in {f for it in agg.priority_topics[:15] for f in it.flags}:
            assert text in html and f">{flag}<" not in html


def test_link_methods_translated_with_tickets(frame) -> None:
    agg = compute_aggregates(frame)
    html = report_html(frame, agg, _summary(tickets_in=40, linked={"ticket_id": 30, "customer_window": 5}))
    assert "по номеру обращения" in html and "по клиенту и времени" in html and ">ticket_id<" not in html


def test_summary_on_top_links_to_its_sections(frame) -> None:
    agg = compute_aggregates(frame)
    html = report_html(frame, agg, _summary())
    top = html.index('id="summary"')
    assert top < html.index('id="counts"') < html.index('id="heatmaps"')
    links = re.findall(r'href="#([^"]+)"', html[top:html.index('id="counts"')])
    assert len([x for x in links if x.startswith("priority-topic-")]) == min(5, len(agg.priority_topics))
    for anchor in links:
        assert f'id="{anchor}"' in html, anchor
    assert "CES" in html[top:html.index('id="counts"')] and "чем ниже — тем легче" in html


def test_drill_data_is_embedded_and_safe(frame) -> None:
    f = frame.copy()
    f.loc[f.index[0], "text"] = "</script><script>alert(1)</script> курьер"
    agg = compute_aggregates(f)
    html = report_html(f, agg, _summary())
    block = re.search(r'<script type="application/json" id="voc-data">(.*?)</script>', html, re.S).group(1)
    data = json.loads(block)
    assert len(data["rows"]) == len(f) and data["rows"][0]["text"].startswith("</script>")
    assert data["ru"] == dictionary() and data["options"]["segment"] == ["Карта"]
    assert "<script>alert(1)" not in html
    cells = re.findall(r"data-drill='([^']+)'", html.split('<script')[0])
    assert cells and all(isinstance(json.loads(c), dict) for c in cells)
