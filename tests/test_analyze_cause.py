"""Complaint cause: negatives only, lexicon + TF-IDF similarity, negation handling, fallback, evidence."""

from __future__ import annotations

import pytest

from voc.analyzers import registry
from voc.analyzers.cause import CauseAnalyzer, client_segments
from voc.config import Cause, CauseConfig
from voc.schema import DialogTurn, Feedback, Findings


@pytest.fixture(scope="module")
def analyzer() -> CauseAnalyzer:
    return CauseAnalyzer(model="lexicon")


def _run(analyzer: CauseAnalyzer, texts: list[str], sentiment: str = "negative") -> list[Findings]:
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(texts)]
    findings = [Findings(feedback_id=r.id, sentiment=sentiment) for r in records]
    analyzer(records, findings)
    return findings


def test_registered_and_requires_sentiment() -> None:
    assert registry._FACTORIES["cause"] is CauseAnalyzer
    assert CauseAnalyzer.requires == ("sentiment",)


def test_cause_only_for_negative_records(analyzer: CauseAnalyzer) -> None:
    records = [Feedback(id=str(i), text="Оператор нахамил и бросил трубку") for i in range(3)]
    findings = [Findings(feedback_id=r.id, sentiment=s) for r, s in zip(records, ["negative", "positive", None], strict=True)]
    analyzer(records, findings)
    assert findings[0].cause is not None and findings[0].cause.name == "человеческий фактор"
    assert findings[1].cause is None and findings[2].cause is None


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("Приложение вылетает после обновления, войти невозможно", "технический сбой"),
        ("Тариф поменяли без предупреждения, никто не сообщил", "информационный разрыв"),
        ("Чайник сломался через неделю, пластик потрескался", "качество продукта"),
        ("Комиссия за перевод выросла в два раза, очень дорого", "цена и условия"),
        ("Заказ потеряли на складе, а деньги списали дважды", "ошибка процесса"),
        ("Кассир нахамила и швырнула сдачу", "человеческий фактор"),
    ],
)
def test_typical_complaints(analyzer: CauseAnalyzer, text: str, cause: str) -> None:
    assert _run(analyzer, [text])[0].cause.name == cause


def test_unclear_complaint_falls_back_with_low_confidence(analyzer: CauseAnalyzer) -> None:
    label = _run(analyzer, ["Ну такое себе, не впечатлило"])[0].cause
    assert label.name == "другое"
    assert label.confidence <= 0.3


def test_negated_cue_is_not_counted() -> None:
    config = CauseConfig(
        causes=[Cause(name="качество", keywords=["брак"]), Cause(name="цена", keywords=["дорого"]), Cause(name="другое")]
    )
    a = CauseAnalyzer(config, similarity_weight=0.0, model="lexicon")
    plain, negated = _run(a, ["Это брак, и дорого", "Это не брак, а просто дорого"])
    assert negated.cause.name == "цена"
    assert not [e for e in negated.evidence if e.text.lower() == "брак"]
    assert plain.cause.name in {"качество", "цена"}


def test_evidence_is_cue_words_with_offsets(analyzer: CauseAnalyzer) -> None:
    text = "Оператор бросил трубку и нагрубил"
    f = _run(analyzer, [text])[0]
    ev = [e for e in f.evidence if e.label == f"cause:{f.cause.name}"]
    assert ev and all(text[e.start : e.end] == e.text for e in ev)


def test_dialog_uses_client_turns_with_offsets_into_text(analyzer: CauseAnalyzer) -> None:
    turns = [
        DialogTurn(speaker="operator", text="Здравствуйте, чем помочь? Нагрубить могу."),
        DialogTurn(speaker="client", text="Приложение зависает и выдаёт ошибку"),
    ]
    rec = Feedback(id="d", text="\n".join(t.text for t in turns), channel="chat", turns=turns)
    assert client_segments(rec) == [(len(turns[0].text) + 1, turns[1].text)]
    f = Findings(feedback_id="d", sentiment="negative")
    analyzer([rec], [f])
    assert f.cause.name == "технический сбой"
    assert all(rec.text[e.start : e.end] == e.text for e in f.evidence)


def test_missing_model_is_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="model 'models/shipped/cause-x' not found"):
        CauseAnalyzer(model="models/shipped/cause-x")


def test_score_parts_add_up_to_the_score(analyzer: CauseAnalyzer) -> None:
    import numpy as np

    texts = ["Приложение вылетает после обновления", "Комиссия за перевод выросла", "Спасибо"]
    parts = analyzer.score_parts(texts)
    scores, _ = analyzer.score(texts)
    assert set(parts) == {"lexicon", "similarity"} and parts["lexicon"].shape == (3, len(analyzer.labels_))
    assert np.allclose(parts["lexicon"] + analyzer.similarity_weight * parts["similarity"], scores)
