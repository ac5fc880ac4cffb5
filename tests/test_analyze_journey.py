"""Journey stage: precedence record > ticket > predicted, name normalisation, topic hints, default stage."""

from __future__ import annotations

import pytest

from voc.analyzers import registry
from voc.analyzers.journey import JourneyStageAnalyzer
from voc.config import JourneyConfig, Stage
from voc.schema import Feedback, Findings, TicketLink, TopicMention


def _ticket(category: str) -> TicketLink:
    return TicketLink(method="ticket_id", ticket_id="T-1", category=category)


@pytest.fixture(scope="module")
def analyzer() -> JourneyStageAnalyzer:
    return JourneyStageAnalyzer(model="lexicon")


def _run(analyzer: JourneyStageAnalyzer, rec: Feedback, findings: Findings | None = None) -> Findings:
    f = findings or Findings(feedback_id=rec.id)
    analyzer([rec], [f])
    return f


TEXT = "Курьер опоздал на три часа"  # the text alone says «доставка»


def test_registered() -> None:
    assert registry._FACTORIES["journey_stage"] is JourneyStageAnalyzer


def test_record_stage_wins_and_is_normalised(analyzer: JourneyStageAnalyzer) -> None:
    rec = Feedback(id="1", text=TEXT, journey_stage="  ВОЗВРАТ ", ticket=_ticket("Оплата"))
    f = _run(analyzer, rec)
    assert (f.journey_stage, f.journey_stage_source, f.journey_stage_confidence) == ("возврат", "record", 1.0)
    rec = Feedback(id="2", text=TEXT, journey_stage="Обслуживание / Поддержка")
    assert _run(analyzer, rec).journey_stage == "обслуживание/поддержка"


def test_ticket_category_beats_prediction(analyzer: JourneyStageAnalyzer) -> None:
    rec = Feedback(id="1", text=TEXT, ticket=_ticket("возврат ТОВАРА"))
    f = _run(analyzer, rec)
    assert (f.journey_stage, f.journey_stage_source) == ("возврат", "ticket")


def test_unknown_record_stage_falls_through_to_ticket_then_text(analyzer: JourneyStageAnalyzer) -> None:
    rec = Feedback(id="1", text=TEXT, journey_stage="космос", ticket=_ticket("Консультация"))
    f = _run(analyzer, rec)
    assert (f.journey_stage, f.journey_stage_source) == ("поиск информации", "ticket")
    rec = Feedback(id="2", text=TEXT, journey_stage="космос", ticket=_ticket("Непонятное"))
    f = _run(analyzer, rec)
    assert (f.journey_stage, f.journey_stage_source) == ("доставка", "predicted")
    assert 0 < f.journey_stage_confidence < 1
    assert any(e.label == "journey_stage:доставка" and TEXT[e.start : e.end] == e.text for e in f.evidence)


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("Хочу вернуть деньги за бракованный чайник", "возврат"),
        ("Оплата картой не проходит, деньги списали дважды", "оплата"),
        ("Бонусы сгорели, ухожу к конкурентам", "повторная покупка/лояльность"),
        ("Не могу оформить заказ, корзина очищается", "покупка/оформление"),
        ("Интернет пропадает каждый вечер, техподдержка не помогает", "обслуживание/поддержка"),
        ("Подскажите, есть ли в наличии зимние шины?", "поиск информации"),
    ],
)
def test_predicted_from_text(analyzer: JourneyStageAnalyzer, text: str, stage: str) -> None:
    f = _run(analyzer, Feedback(id="1", text=text))
    assert (f.journey_stage, f.journey_stage_source) == (stage, "predicted")


def test_topic_hint_and_touchpoint_count() -> None:
    config = JourneyConfig(
        stages=[Stage(name="a", topics=["связь"]), Stage(name="b", touchpoints=["салон"])], default_stage="b"
    )
    an = JourneyStageAnalyzer(config, model="lexicon")
    hinted = Findings(feedback_id="1", topics=[TopicMention(name="связь", confidence=0.9)])
    assert _run(an, Feedback(id="1", text="ну такое"), hinted).journey_stage == "a"
    rec = Feedback(id="2", text="ну такое", touchpoint="Салон")
    assert _run(an, rec).journey_stage == "b"


def test_no_cue_gives_default_stage_with_low_confidence(analyzer: JourneyStageAnalyzer) -> None:
    f = _run(analyzer, Feedback(id="1", text="Ну такое себе."))
    assert f.journey_stage == analyzer.config.default_stage
    assert f.journey_stage_source == "predicted"
    assert f.journey_stage_confidence == pytest.approx(0.2)


def test_without_default_stage_nothing_is_invented() -> None:
    an = JourneyStageAnalyzer(JourneyConfig(stages=[Stage(name="a", keywords=["касса"])]), model="lexicon")
    f = _run(an, Feedback(id="1", text="Ну такое себе."))
    assert f.journey_stage is None and f.journey_stage_source is None
