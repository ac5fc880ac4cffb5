"""Priority ranking by часто × больно × влияет на бизнес."""

from __future__ import annotations

import pandas as pd
import pytest

from voc.aggregate import compute_aggregates
from voc.aggregate.priority import FACTOR_FLOOR, topic_priority
from voc.aggregate.synthetic import synthetic_frame
from voc.aggregate.view import FrameView
from voc.vocab import JOURNEY_STAGES

ANGER = "раздражение/гнев"


def _rows() -> pd.DataFrame:
    rows = []
    # доставка: 4 records, 3 negative and angry, 2 SLA breaches of 4 linked, 2 detractors of 4
    for i, (sent, score, emo, sla, nps) in enumerate([
        ("negative", -0.9, [ANGER], True, 2), ("negative", -0.6, [ANGER], True, 5),
        ("negative", -0.3, [ANGER], False, 8), ("positive", 0.6, [], False, 10),
    ]):
        rows.append({"id": f"d{i}", "text": f"текст доставки {i}", "sentiment": sent, "sentiment_score": score,
                     "emotions": emo, "topics": ["доставка"], "topic_sentiments": [sent], "sla_breached": sla,
                     "nps": nps, "repeat_contact": i == 0, "cause": "ошибка процесса" if sent == "negative" else None})
    # цена: 2 records, positive, no tickets
    for i in range(2):
        rows.append({"id": f"p{i}", "text": "цена норм", "sentiment": "positive", "sentiment_score": 0.5,
                     "emotions": [], "topics": ["цена"], "topic_sentiments": ["positive"], "sla_breached": None,
                     "nps": None, "repeat_contact": False, "cause": None})
    # 4 records with no topic
    for i in range(4):
        rows.append({"id": f"n{i}", "text": "ок", "sentiment": "neutral", "sentiment_score": 0.0, "emotions": [],
                     "topics": [], "topic_sentiments": [], "sla_breached": None, "nps": None,
                     "repeat_contact": False, "cause": None})
    frame = pd.DataFrame(rows)
    frame["sla_breached"] = frame["sla_breached"].astype(object)
    return frame


def test_factors_and_rank() -> None:
    items = topic_priority(FrameView(_rows(), JOURNEY_STAGES))
    assert [i.name for i in items] == ["доставка", "цена"]
    top = items[0]
    assert top.rank == 1 and top.n == 4 and top.frequency == 0.4 and top.frequency_norm == 1.0
    assert top.negative_share == 0.75 and top.pain_emotion_share == 0.75
    mean = (-0.9 - 0.6 - 0.3 + 0.6) / 4
    assert top.mean_sentiment == pytest.approx(mean)
    assert top.pain == pytest.approx((0.75 + 0.75 + (1 - mean) / 2) / 3, abs=1e-4)
    assert top.sla_breach_share == 0.5 and top.detractor_share == 0.5 and top.repeat_contact_share == 0.25
    assert top.impact == pytest.approx((0.5 + 0.5 + 0.25) / 3, abs=1e-4)
    assert top.score == pytest.approx((top.frequency_norm * top.pain * top.impact) ** (1 / 3), abs=1e-3)
    assert [q.id for q in top.examples] == ["d0", "d1", "d2"]  # most negative first
    assert top.examples[0].text == "текст доставки 0"
    assert top.flags == []


def test_missing_business_data_is_flagged_and_floored() -> None:
    price = topic_priority(FrameView(_rows(), JOURNEY_STAGES))[1]
    assert price.sla_breach_share is None and price.detractor_share is None
    assert set(price.flags) == {"no_data:sla", "no_data:detractor"}
    assert price.impact == 0.0 and price.negative_share == 0.0
    assert price.score == pytest.approx((0.5 * max(price.pain, FACTOR_FLOOR) * FACTOR_FLOOR) ** (1 / 3), abs=1e-3)


def test_causes_ranked() -> None:
    agg = compute_aggregates(_rows())
    assert [c.name for c in agg.priority_causes] == ["ошибка процесса"]
    cause = agg.priority_causes[0]
    assert cause.n == 3 and cause.negative_share == 1.0 and cause.frequency == 0.3


def test_factors_bounded_on_synthetic() -> None:
    agg = compute_aggregates(synthetic_frame(300, seed=5))
    assert agg.priority_topics and agg.priority_causes
    for item in agg.priority_topics + agg.priority_causes:
        for value in (item.frequency, item.frequency_norm, item.pain, item.impact, item.score):
            assert 0.0 <= value <= 1.0
        assert len(item.examples) <= 3
    scores = [i.score for i in agg.priority_topics]
    assert scores == sorted(scores, reverse=True)


def test_each_item_quotes_its_own_rows_and_no_text_twice() -> None:
    rows = [{"id": f"r{i}", "text": "одинаковый текст" if i < 4 else f"жалоба номер {i}", "sentiment": "negative",
             "sentiment_score": -0.9 + i / 100, "topics": ["доставка", "оплата"], "emotions": []}
            for i in range(12)]
    frame = pd.DataFrame(rows)
    agg = compute_aggregates(frame)
    first, second = agg.priority_topics[0].examples, agg.priority_topics[1].examples
    assert len(first) == len(second) == 3
    assert len({q.text for q in first}) == 3 and not {q.id for q in first} & {q.id for q in second}
    assert first[0].id == "r0"  # still the most negative first
