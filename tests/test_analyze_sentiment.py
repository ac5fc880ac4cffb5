"""SentimentAnalyzer: document/sentence/turn sentiment, evidence offsets, call trajectory, shipped model."""

from __future__ import annotations

import pytest
from helpers.tinydata import tiny_sentiment_model

from voc.analyzers.sentiment import SentimentAnalyzer
from voc.schema import CallMetrics, Channel, DialogTurn, Feedback, Findings, SpeakerRole
from voc_models import registry


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "sentiment-tiny"
    tiny_sentiment_model().save(path)
    return path


def _run(analyzer, records):
    findings = [Findings(feedback_id=r.id) for r in records]
    analyzer(records, findings)
    return findings


def _dialog() -> Feedback:
    turns = [
        DialogTurn(speaker=SpeakerRole.client, text="Деньги не вернули, очень плохо.", start=0, end=3),
        DialogTurn(speaker=SpeakerRole.operator, text="Спасибо, прекрасное обслуживание у нас.", start=3, end=6),
        DialogTurn(speaker=SpeakerRole.client, text="Ужасный сервис, никому не советую.", start=6, end=9),
        DialogTurn(speaker=SpeakerRole.client, text="Отличный сервис, всё понравилось!", start=9, end=12),
    ]
    return Feedback(id="call-1", channel=Channel.call, text="\n".join(t.text for t in turns), turns=turns,
                    call_metrics=CallMetrics(duration_s=12, longest_pause_s=0, silence_share=0))


def test_documents_sentences_and_evidence(tiny_dir):
    analyzer = SentimentAnalyzer(model=str(tiny_dir))
    recs = [Feedback(id="1", text="Ужасный сервис, никому не советую. Курьер опоздал!"),
            Feedback(id="2", text="Спасибо, очень доволен покупкой."),
            Feedback(id="3", text="Заказ оформил вчера. Отличный сервис, всё понравилось!")]
    f = _run(analyzer, recs)
    assert [x.sentiment for x in f[:2]] == ["negative", "positive"]
    assert f[0].sentiment_score < 0 < f[1].sentiment_score
    assert all(-1 <= x.sentiment_score <= 1 and 0 < x.sentiment_confidence <= 1 for x in f)
    assert [s.sentiment for s in f[2].sentences] == ["neutral", "positive"]
    for rec, fi in zip(recs, f, strict=True):
        for s in fi.sentences:
            assert rec.text[s.start:s.end] == s.text
        ev = [e for e in fi.evidence if e.label == f"sentiment:{fi.sentiment}"]
        assert ev, fi
        for e in ev:
            assert rec.text[e.start:e.end] == e.text
        assert fi.model_versions["sentiment"] == "sentiment-tiny@1"


def test_dialog_uses_client_turns_and_fills_call_metrics(tiny_dir):
    rec = _dialog()
    f = _run(SentimentAnalyzer(model=str(tiny_dir)), [rec])[0]
    assert [s.speaker for s in f.sentences] == [t.speaker for t in rec.turns]
    assert f.sentences[1].sentiment == "positive" and f.sentences[0].sentiment == "negative"
    assert f.sentiment == "negative"  # the operator's cheer does not count
    for e in f.evidence:  # evidence only from client turns
        assert rec.text[e.start:e.end] == e.text
        assert not (rec.text.index(rec.turns[1].text) <= e.start < rec.text.index(rec.turns[2].text))
    cm = f.call_metrics
    assert cm is not None and cm.duration_s == 12
    assert cm.client_sentiment_start < 0 < cm.client_sentiment_end
    assert rec.call_metrics.client_sentiment_start is None  # the record is not modified


def test_options_and_long_texts(tiny_dir):
    long = Feedback(id="l", text=" ".join(["Заказ оформил вчера."] * 30 + ["Ужасный сервис, никому не советую."]))
    f = _run(SentimentAnalyzer(model=str(tiny_dir), max_sentences=5), [long])[0]
    assert len(f.sentences) == 5
    g = _run(SentimentAnalyzer(model=str(tiny_dir), per_sentence=False), [long])[0]
    assert g.sentences == [] and g.sentiment == f.sentiment
    assert _run(SentimentAnalyzer(model=str(tiny_dir)), []) == []


def test_missing_model_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "absent")):
        SentimentAnalyzer(model=str(tmp_path / "absent"))


def test_wrong_task_model_is_rejected(tmp_path):
    from helpers.tinydata import tiny_emotion_model

    tiny_emotion_model().save(tmp_path / "emo")
    with pytest.raises(ValueError, match="not 'sentiment'"):
        SentimentAnalyzer(model=str(tmp_path / "emo"))


OBVIOUS = [
    ("Ужасное обслуживание, деньги списали дважды и никто не отвечает, больше никогда!", "negative"),
    ("Отвратительный сервис, хамство операторов, верните мои деньги", "negative"),
    ("Очень плохое приложение, постоянно зависает и вылетает", "negative"),
    ("Спасибо большое, всё отлично, быстро и вежливо, рекомендую!", "positive"),
    ("Прекрасный банк, очень доволен, лучшие условия", "positive"),
    ("Замечательная доставка, курьер молодец, всё понравилось", "positive"),
    ("Подскажите, пожалуйста, где ближайшее отделение", "neutral"),
    ("Заказ оформлен 5 марта, номер в письме", "neutral"),
]


def test_shipped_model_beats_trivial_baseline():
    registry.clear_cache()
    analyzer = SentimentAnalyzer(model=str(registry.SHIPPED_DIR / "sentiment-tfidf"))
    f = _run(analyzer, [Feedback(id=str(i), text=t) for i, (t, _) in enumerate(OBVIOUS)])
    correct = sum(x.sentiment == y for x, (_, y) in zip(f, OBVIOUS, strict=True))
    majority = max(sum(y == lab for _, y in OBVIOUS) for lab in ("negative", "neutral", "positive"))
    assert correct >= 7 and correct > majority
    assert analyzer.version.startswith("sentiment-tfidf@")
