"""EmotionAnalyzer: multi-label CX emotions, «нет эмоции», evidence offsets, shipped model."""

from __future__ import annotations

import pytest
from helpers.tinydata import tiny_emotion_model

from voc.analyzers.emotions import EmotionAnalyzer
from voc.schema import Channel, DialogTurn, Feedback, Findings, SpeakerRole
from voc.vocab import EMOTIONS, NO_EMOTION
from voc_models import registry


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "emotions-tiny"
    tiny_emotion_model().save(path)
    return path


def _run(analyzer, records):
    findings = [Findings(feedback_id=r.id) for r in records]
    analyzer(records, findings)
    return findings


def test_labels_confidence_and_evidence(tiny_dir):
    recs = [Feedback(id="1", text="Большое спасибо за заботу!"),
            Feedback(id="2", text="Как же я зол на вас, бесит это хамство."),
            Feedback(id="3", text="Оплата картой.")]
    f = _run(EmotionAnalyzer(model=str(tiny_dir)), recs)
    assert f[0].emotion_names()[0] == "благодарность"
    assert "раздражение/гнев" in f[1].emotion_names()
    assert f[2].emotion_names() == [NO_EMOTION] and f[2].evidence == []
    for rec, fi in zip(recs, f, strict=True):
        assert all(0 <= e.confidence <= 1 for e in fi.emotions)
        for ev in fi.evidence:
            assert ev.label.startswith("emotion:") and ev.label[8:] in fi.emotion_names()
            assert rec.text[ev.start:ev.end] == ev.text
        assert fi.model_versions["emotions"] == "emotions-tiny@1"


def test_dialog_reads_client_only(tiny_dir):
    turns = [DialogTurn(speaker=SpeakerRole.operator, text="Большое спасибо за заботу"),
             DialogTurn(speaker=SpeakerRole.client, text="Боюсь, что деньги пропадут")]
    rec = Feedback(id="c", channel=Channel.chat, text="\n".join(t.text for t in turns), turns=turns)
    f = _run(EmotionAnalyzer(model=str(tiny_dir)), [rec])[0]
    assert "тревога/страх" in f.emotion_names() and "благодарность" not in f.emotion_names()
    assert all(e.start >= len(turns[0].text) for e in f.evidence)


def test_missing_model_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "absent")):
        EmotionAnalyzer(model=str(tmp_path / "absent"))


OBVIOUS = [
    ("Огромное спасибо оператору Анне, очень помогла!", "благодарность"),
    ("Я в бешенстве, это просто издевательство, достали!", "раздражение/гнев"),
    ("Как же грустно, очень жаль, что так вышло", "разочарование/грусть"),
    ("Боюсь, что мои деньги пропали, очень страшно", "тревога/страх"),
    ("Я так счастлива, всё просто прекрасно!", "радость/удовлетворение"),
]


def test_shipped_model_finds_obvious_emotions():
    registry.clear_cache()
    analyzer = EmotionAnalyzer(model=str(registry.SHIPPED_DIR / "emotions-tfidf"))
    assert set(analyzer.model.labels) == set(EMOTIONS)
    f = _run(analyzer, [Feedback(id=str(i), text=t) for i, (t, _) in enumerate(OBVIOUS)])
    hits = sum(y in x.emotion_names() for x, (_, y) in zip(f, OBVIOUS, strict=True))
    assert hits >= 4  # a constant «нет эмоции» baseline gets 0
