"""Made-up Russian training rows and tiny fitted TF-IDF models for fast model tests (no third-party text)."""

from __future__ import annotations

import copy
import itertools
from functools import lru_cache

from voc_models.base import ModelInfo
from voc_models.tfidf import TfidfClassifier

_POS = ["отличный сервис, всё понравилось", "спасибо, очень доволен покупкой", "быстрая доставка, рекомендую",
        "прекрасное обслуживание, молодцы", "замечательный магазин, буду заказывать ещё"]
_NEG = ["ужасный сервис, никому не советую", "деньги не вернули, очень плохо", "курьер опоздал, товар сломан",
        "отвратительная поддержка, ждал час", "кошмарное качество, сплошное разочарование"]
_NEU = ["заказ оформил вчера", "подскажите адрес отделения", "доставка была во вторник",
        "карта пришла по почте", "номер заказа указан в письме"]
_PREFIX = ["", "В целом ", "Честно говоря, ", "Коротко: "]
_SUFFIX = ["", ".", "!", " в этот раз."]

EMOTION_SEEDS: dict[str, list[str]] = {
    "радость/удовлетворение": ["я так рад, чудесный день", "ура, наконец-то всё получилось", "счастлива и довольна"],
    "благодарность": ["спасибо огромное оператору", "благодарю за помощь", "большое спасибо за заботу"],
    "раздражение/гнев": ["бесит это хамство", "как же я зол на вас", "достали уже своими звонками"],
    "разочарование/грусть": ["очень жаль, грустно", "печально, ожидал большего", "обидно до слёз"],
    "тревога/страх": ["боюсь, что деньги пропадут", "страшно за свои сбережения", "волнуюсь, где моя посылка"],
    "удивление": ["вот это да, неожиданно", "не ожидал такого поворота", "удивительно, как быстро"],
}
_NONE = ["заказ номер пять", "адрес указан в анкете", "оплата картой", "отделение на улице Ленина",
         "тариф базовый"]


def sentiment_rows() -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    for label, seeds in (("positive", _POS), ("negative", _NEG), ("neutral", _NEU)):
        for seed, pre, suf in itertools.product(seeds, _PREFIX, _SUFFIX):
            body = seed if pre else seed[0].upper() + seed[1:]
            texts.append(f"{pre}{body}{suf}")
            labels.append(label)
    return texts, labels


def emotion_rows() -> tuple[list[str], list[list[str]]]:
    texts: list[str] = []
    labels: list[list[str]] = []
    for pre, suf in itertools.product(_PREFIX, _SUFFIX):
        for label, seeds in EMOTION_SEEDS.items():
            for seed in seeds:
                texts.append(f"{pre}{seed}{suf}")
                labels.append([label])
        for seed in _NONE:
            texts.append(f"{pre}{seed}{suf}")
            labels.append([])
    return texts, labels


def tiny_sentiment_model(name: str = "sentiment-tiny", version: str = "1") -> TfidfClassifier:
    """A fresh copy of a tiny fitted sentiment model (fitted once per test process)."""
    return copy.deepcopy(_tiny_sentiment(name, version))


def tiny_emotion_model(name: str = "emotions-tiny", version: str = "1") -> TfidfClassifier:
    """A fresh copy of a tiny fitted emotion model (fitted once per test process)."""
    return copy.deepcopy(_tiny_emotion(name, version))


@lru_cache(maxsize=4)
def _tiny_sentiment(name: str, version: str) -> TfidfClassifier:
    texts, labels = sentiment_rows()
    info = ModelInfo(name=name, version=version, task="sentiment", kind="tfidf", labels=[])
    return TfidfClassifier(info, C=10.0).fit(texts, labels, label_set=["negative", "neutral", "positive"])


@lru_cache(maxsize=4)
def _tiny_emotion(name: str, version: str) -> TfidfClassifier:
    texts, labels = emotion_rows()
    info = ModelInfo(name=name, version=version, task="emotions", kind="tfidf", labels=[])
    return TfidfClassifier(info, C=10.0).fit(texts, labels, label_set=list(EMOTION_SEEDS), multilabel=True)
