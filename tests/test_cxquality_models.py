"""The shipped sentiment/emotion models on customer-experience text, and the CX training-data loaders.

All sentences below were written for this test (not taken from any dataset).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voc.analyzers.sentiment import SentimentAnalyzer
from voc.schema import Feedback, Findings
from voc.vocab import EMOTIONS
from voc_models.registry import SHIPPED_DIR, load_model
from voc_training.data import (
    CLAUSE_SENTIMENTS,
    DataError,
    clause_label,
    load_cx_sentiment_train,
    load_gazprombank_clauses,
    load_gazprombank_rated,
    load_inhouse_emotions,
    load_inhouse_sentiment,
)
from voc_training.shipped import MAX_MODEL_BYTES
from voc_training.train_defaults import SENTIMENT_SOURCE_WEIGHTS

OBVIOUS_CX = [
    ("Курьер так и не приехал, весь день прождал впустую", "negative"),
    ("Списали деньги дважды, а в поддержке одни отписки", "negative"),
    ("Приложение постоянно вылетает, невозможно оплатить заказ", "negative"),
    ("Ужасное обслуживание, больше никогда не приду в этот магазин", "negative"),
    ("Третью неделю жду возврат денег за бракованный чайник", "negative"),
    ("Оператор нагрубил и бросил трубку", "negative"),
    ("Спасибо, доставили быстро и всё в целости", "positive"),
    ("Очень вежливый консультант, помог подобрать тариф", "positive"),
    ("Отличный сервис, всем рекомендую", "positive"),
    ("Вопрос решили за пять минут, я довольна", "positive"),
    ("Подскажите, пожалуйста, как изменить адрес доставки?", "neutral"),
    ("Хочу уточнить время работы пункта выдачи", "neutral"),
]


@pytest.fixture(scope="module")
def sentiment_model():
    return load_model(SHIPPED_DIR / "sentiment-tfidf")


def test_shipped_sentiment_gets_obvious_cx_polarity(sentiment_model):
    texts = [t for t, _ in OBVIOUS_CX]
    proba = sentiment_model.predict_proba(texts)
    predicted = [sentiment_model.labels[i] for i in proba.argmax(axis=1)]
    wrong = [(t, g, p) for (t, g), p in zip(OBVIOUS_CX, predicted, strict=True) if g != p]
    assert len(wrong) <= 1, wrong


def test_sentiment_analyzer_documents_agree(sentiment_model):
    records = [Feedback(id=str(i), text=t) for i, (t, _) in enumerate(OBVIOUS_CX)]
    findings = [Findings(feedback_id=r.id) for r in records]
    SentimentAnalyzer(model=str(SHIPPED_DIR / "sentiment-tfidf"))(records, findings)
    right = sum(f.sentiment == gold for f, (_, gold) in zip(findings, OBVIOUS_CX, strict=True))
    assert right >= 11


def test_emotions_do_not_see_joy_in_plain_complaints():
    model = load_model(SHIPPED_DIR / "emotions-tfidf")
    complaints = [t for t, g in OBVIOUS_CX if g == "negative"]
    proba = model.predict_proba(complaints)
    joy = model.labels.index(EMOTIONS[0])
    threshold = model.info.thresholds.get(EMOTIONS[0], model.info.threshold)
    assert (proba[:, joy] >= threshold).sum() == 0


def test_shipped_sentiment_card_records_sources_and_weights():
    path = SHIPPED_DIR / "sentiment-tfidf"
    info = json.loads((path / "voc_model.json").read_text(encoding="utf-8"))
    assert info["training"]["source_weights"] == SENTIMENT_SOURCE_WEIGHTS
    assert set(SENTIMENT_SOURCE_WEIGHTS) <= set(info["training"]["data"])
    assert "eval:inhouse" in info["metrics"]
    assert sum(p.stat().st_size for p in path.iterdir()) <= MAX_MODEL_BYTES


# ---------------------------------------------------------------------------- loaders
@given(st.lists(st.sampled_from([*CLAUSE_SENTIMENTS, "смешанно"]), max_size=4))
def test_clause_label_only_when_all_agree(sentiments):
    label = clause_label(sentiments)
    if sentiments and len(set(sentiments)) == 1 and sentiments[0] in CLAUSE_SENTIMENTS:
        assert label == CLAUSE_SENTIMENTS[sentiments[0]]
    else:
        assert label is None


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    sent = tmp_path / "sentiment" / "alpha"
    sent.mkdir(parents=True)
    pd.DataFrame({"text": ["хорошо", "плохо"], "label": ["positive", "negative"]}).to_csv(sent / "train.csv",
                                                                                          index=False)
    clauses = tmp_path / "topics" / "gazprombank_clauses"
    clauses.mkdir(parents=True)
    rows = [{"text": "долго ждал", "sentiments": ["отрицательно", "отрицательно"]},
            {"text": "смешанный отзыв", "sentiments": ["отрицательно", "положительно"]},
            {"text": "без темы", "sentiments": []},
            {"text": "все понятно", "sentiments": ["нейтрально"]}]
    (clauses / "all.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                                       encoding="utf-8")
    rated = tmp_path / "topics" / "gazprombank_ipoteka_rated"
    rated.mkdir(parents=True)
    pd.DataFrame({"text": ["отлично", "ужас", "  "], "label": ["positive", "negative", "negative"]}).to_csv(
        rated / "all.csv", index=False)
    return tmp_path


def test_cx_loaders_on_small_files(fake_root):
    clauses = load_gazprombank_clauses(fake_root)
    assert list(zip(clauses.texts, clauses.labels, strict=True)) == [("долго ждал", "negative"),
                                                                      ("все понятно", "neutral")]
    assert load_gazprombank_rated(fake_root).labels == ["positive", "negative"]
    data = load_cx_sentiment_train(fake_root, inhouse=False)
    assert data.counts() == {"alpha": 2, "gazprombank_clauses": 2, "gazprombank_ipoteka_rated": 2}
    with_own = load_cx_sentiment_train(fake_root)
    assert with_own.counts()["inhouse"] == len(load_inhouse_sentiment("train"))


def test_bad_clause_line_names_the_line(fake_root):
    path = fake_root / "topics" / "gazprombank_clauses" / "all.jsonl"
    path.write_text(path.read_text(encoding="utf-8") + '{"text": "нет поля"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"line 5: expected a JSON object"):
        load_gazprombank_clauses(fake_root)


def test_missing_cx_source_is_clear(tmp_path):
    with pytest.raises(DataError, match="dataset file not found"):
        load_gazprombank_clauses(tmp_path)


def test_inhouse_loaders_keep_eval_apart():
    train, held = load_inhouse_sentiment("train"), load_inhouse_sentiment("eval")
    assert not set(train.texts) & set(held.texts)
    emotions = load_inhouse_emotions("train")
    assert all(set(labs) <= set(EMOTIONS) for labs in emotions.labels)
    assert emotions.known is not None and all(k == list(EMOTIONS) for k in emotions.known)
