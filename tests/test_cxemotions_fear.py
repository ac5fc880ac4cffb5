"""The shipped emotion model finds тревога/страх in customer-experience text, and not in neutral notes.

All sentences below were written for this test (not taken from any dataset, not used to train or tune).
"""

from __future__ import annotations

import json

import pytest

from voc.vocab import EMOTIONS
from voc_models.base import TextClassifier
from voc_models.registry import SHIPPED_DIR, load_model
from voc_training.shipped import MAX_MODEL_BYTES
from voc_training.train_defaults import EMOTION_SOURCE_WEIGHTS

FEAR = EMOTIONS[4]
MODEL_DIR = SHIPPED_DIR / "emotions-tfidf"

FEAR_LIKE_CX = [
    "Боюсь, что мои деньги просто потерялись при переводе",
    "Очень переживаю, вдруг посылку отдали кому-то другому",
    "Страшно оставлять карту привязанной, после того списания я на нервах",
    "Волнуюсь, кредит одобрили, а договор так и не прислали",
    "Мне тревожно, третий день нет ответа, где мой возврат",
]

NEUTRAL_CX = [
    "Подскажите, до скольки работает пункт выдачи в субботу?",
    "Заказ получил, номер накладной совпадает",
    "Хочу сменить тариф на другой с понедельника",
    "Прошу прислать копию договора на почту",
    "Курьер приехал в указанное время, оплата картой",
]


@pytest.fixture(scope="module")
def model() -> TextClassifier:
    return load_model(MODEL_DIR)


@pytest.mark.xfail(strict=True, reason="CX fear is still under-detected (3 of 5 here, the previous model 2): the "
                   "in-house train set has 2 fear rows; see docs/models.md. Passes once CX fear rows are added.")
def test_fear_fires_on_fear_like_cx_text(model: TextClassifier) -> None:
    predicted = model.predict(FEAR_LIKE_CX)
    hits = [t for t, labels in zip(FEAR_LIKE_CX, predicted, strict=True) if FEAR in labels]
    assert len(hits) >= 4, f"тревога/страх only on {hits}"


def test_fear_stays_off_neutral_cx_text(model: TextClassifier) -> None:
    predicted = model.predict(NEUTRAL_CX)
    false_alarms = [t for t, labels in zip(NEUTRAL_CX, predicted, strict=True) if FEAR in labels]
    assert len(false_alarms) <= 1, false_alarms


def test_fear_like_texts_rank_above_neutral_ones(model: TextClassifier) -> None:
    """The fear-like texts score clearly above the neutral ones (ranking, independent of the threshold)."""
    j = model.labels.index(FEAR)
    fear = model.predict_proba(FEAR_LIKE_CX)[:, j]
    neutral = model.predict_proba(NEUTRAL_CX)[:, j]
    assert float(sorted(fear)[1]) > float(neutral.max())


def test_emotions_card_records_weights_and_in_house_scores() -> None:
    info = json.loads((MODEL_DIR / "voc_model.json").read_text(encoding="utf-8"))
    assert info["training"]["source_weights"] == EMOTION_SOURCE_WEIGHTS
    assert FEAR in info["metrics"]["eval:inhouse"]["f1"]
    assert FEAR in info["training"]["inhouse_not_annotating"]  # 2 in-house positives: left to the shared sets
    assert sum(p.stat().st_size for p in MODEL_DIR.iterdir()) <= MAX_MODEL_BYTES
