"""Taxonomy topics: lemma matching of inflected forms, aspect sentiment, evidence offsets, speed-friendly index."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voc.analyzers import registry
from voc.analyzers.topics import PhraseIndex, TopicAnalyzer, match_confidence
from voc.config import Taxonomy, Topic
from voc.schema import Feedback, Findings, SentenceSentiment


@pytest.fixture(scope="module")
def analyzer() -> TopicAnalyzer:
    return TopicAnalyzer(model="lexicon")


def _run(analyzer: TopicAnalyzer, text: str, **findings: object) -> Findings:
    f = Findings(feedback_id="1", **findings)
    analyzer([Feedback(id="1", text=text)], [f])
    return f


@pytest.mark.parametrize("text", ["курьер опоздал", "Курьера ждали весь день", "Доставку задержали опять"])
def test_inflected_forms_match_delivery(analyzer: TopicAnalyzer, text: str) -> None:
    assert "доставка" in _run(analyzer, text).topic_names()


def test_registered_under_topics() -> None:
    assert registry._FACTORIES["topics"] is TopicAnalyzer
    assert TopicAnalyzer.requires == ("sentiment",)


def test_no_match_gets_no_topics(analyzer: TopicAnalyzer) -> None:
    f = _run(analyzer, "Ну вот так как-то.")
    assert f.topics == []
    assert not [e for e in f.evidence if e.label.startswith("topic:")]


def test_aspect_sentiment_comes_from_the_sentence_holding_the_mention(analyzer: TopicAnalyzer) -> None:
    text = "Курьер приехал вовремя. Приложение постоянно вылетает."
    cut = text.index("Приложение")
    sentences = [
        SentenceSentiment(text=text[:cut].strip(), start=0, end=cut - 1, sentiment="positive", score=0.8),
        SentenceSentiment(text=text[cut:], start=cut, end=len(text), sentiment="negative", score=-0.9),
    ]
    f = _run(analyzer, text, sentiment="neutral", sentiment_score=0.0, sentences=sentences)
    by_name = {t.name: t for t in f.topics}
    assert by_name["доставка"].sentiment == "positive"
    assert by_name["доставка"].sentiment_score == pytest.approx(0.8)
    assert by_name["приложение/сайт"].sentiment == "negative"


def test_document_sentiment_used_without_sentences(analyzer: TopicAnalyzer) -> None:
    f = _run(analyzer, "Кэшбэк так и не начислили", sentiment="negative", sentiment_score=-0.7)
    assert f.topics[0].name == "бонусы и лояльность"
    assert (f.topics[0].sentiment, f.topics[0].sentiment_score) == ("negative", -0.7)


def test_evidence_points_at_the_matched_phrase(analyzer: TopicAnalyzer) -> None:
    text = "Сдал товар, а деньги не вернули."
    f = _run(analyzer, text)
    ev = [e for e in f.evidence if e.label == "topic:возврат"]
    assert ev and all(text[e.start : e.end] == e.text for e in ev)
    assert any(e.text == "деньги не вернули" for e in ev)  # the longest keyword phrase


def test_longest_phrase_wins_over_its_first_word(analyzer: TopicAnalyzer) -> None:
    names = _run(analyzer, "Карта лояльности не работает").topic_names()
    assert "бонусы и лояльность" in names
    assert "карты и счета" not in names


def test_confidence_grows_with_evidence() -> None:
    assert match_confidence(1.0) < match_confidence(2.0) < match_confidence(5.0) <= 0.97
    tax = Taxonomy(topics=[Topic(name="связь", keywords=["связь", "сигнал", "нет связи"])])
    a = TopicAnalyzer(tax, model="lexicon")
    one = _run(a, "Связь плохая")
    three = _run(a, "Связь плохая, сигнал слабый, нет связи в метро")
    assert three.topics[0].confidence > one.topics[0].confidence


def test_rerun_replaces_own_topics_and_keeps_others(analyzer: TopicAnalyzer) -> None:
    f = Findings(feedback_id="1")
    rec = Feedback(id="1", text="Курьер опоздал")
    analyzer([rec], [f])
    f.topics.append(f.topics[0].model_copy(update={"name": "кластер 3", "source": "discovered"}))
    analyzer([rec], [f])
    assert [t.name for t in f.topics].count("доставка") == 1
    assert "кластер 3" in f.topic_names()


WORDS = ["курьер", "опоздал", "приложение", "вылетает", "и", "очень", "долго", "кэшбэк", "не", "пришел", "ура"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=25), st.sampled_from([" ", ", ", ". "]))
def test_evidence_offsets_always_slice_the_text(words: list[str], sep: str) -> None:
    text = sep.join(words)
    f = _run(TOPICS, text)
    for e in f.evidence:
        assert text[e.start : e.end] == e.text
    assert len(set(f.topic_names())) == len(f.topics)
    assert all(0 < t.confidence <= 0.97 for t in f.topics)


def test_phrase_index_scan_respects_word_positions() -> None:
    index = PhraseIndex({"a": ["нет связи"], "b": ["связь"]})
    matches = index.match_text("Связь есть, но нет связи")
    assert [(m.label, m.pos) for m in matches] == [("b", 0), ("a", 3)]


TOPICS = TopicAnalyzer(model="lexicon")


def test_dialog_topics_come_from_client_turns_only():
    from voc.analyzers.topics import TopicAnalyzer
    from voc.schema import DialogTurn, Feedback, Findings

    turns = [DialogTurn(speaker="operator", text="Здравствуйте! Оплата и возврат оформлены, чем помочь?"),
             DialogTurn(speaker="client", text="Курьер опоздал на три часа")]
    rec = Feedback(id="d1", text="\n".join(t.text for t in turns), turns=turns, channel="chat")
    f = Findings(feedback_id="d1")
    TopicAnalyzer(model="lexicon")([rec], [f])
    assert f.topic_names() == ["доставка"]
    assert all(rec.text[e.start:e.end] == e.text for e in f.evidence)
