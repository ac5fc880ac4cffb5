"""Shared helpers of the API tests: tiny trained models, settings, a client with keys (no tests here)."""

from __future__ import annotations

import csv
import itertools
import random
from pathlib import Path

import yaml

from voc.vocab import EMOTIONS
from voc_api.keys import create_key
from voc_api.settings import Settings

OBJECTS = ["доставка", "курьер", "оплата картой", "приложение", "поддержка", "возврат денег", "заказ", "кассир"]
NEGATIVE = ["ужасно, {o} опять подвёл", "{o} — полное разочарование, верните деньги", "очень плохо: {o} не работает",
            "{o} отвратительно, больше не приду", "я зол, {o} сорвался третий раз"]
POSITIVE = ["спасибо, {o} просто отлично", "{o} понравился, всё быстро и удобно", "прекрасно, {o} на высоте",
            "{o} порадовал, рекомендую", "благодарю, {o} сработал идеально"]
NEUTRAL = ["{o} был во вторник", "хочу уточнить про {o}", "{o} оформлен по договору", "где посмотреть {o}?",
           "{o} указан в личном кабинете"]


def synthetic_texts(seed: int = 0) -> list[tuple[str, str]]:
    """(text, sentiment) pairs made from templates (our own words, no dataset text)."""
    rows = []
    for label, templates in (("negative", NEGATIVE), ("positive", POSITIVE), ("neutral", NEUTRAL)):
        for t, o in itertools.product(templates, OBJECTS):
            text = t.format(o=o)
            rows.append((text[0].upper() + text[1:], label))
    random.Random(seed).shuffle(rows)
    return rows


def train_tiny_models(root: Path) -> Path:
    """Train tiny TF-IDF sentiment and emotion models under ``root``; returns a pipeline.yaml using them."""
    from voc_models.base import ModelInfo
    from voc_models.tfidf import TfidfClassifier

    root.mkdir(parents=True, exist_ok=True)
    rows = synthetic_texts()
    texts = [t for t, _ in rows]
    sent = TfidfClassifier(ModelInfo(name="sentiment-test", version="1", task="sentiment", kind="tfidf", labels=[]),
                           min_df=1, max_word_features=2000, max_char_features=4000)
    sent.fit(texts, [lab for _, lab in rows], label_set=["negative", "neutral", "positive"])
    sent.save(root / "sentiment")
    emo_of = {"negative": ["раздражение/гнев"], "positive": ["радость/удовлетворение"], "neutral": []}
    emo = TfidfClassifier(ModelInfo(name="emotions-test", version="1", task="emotions", kind="tfidf", labels=[],
                                    multilabel=True), min_df=1, max_word_features=2000, max_char_features=4000)
    emo.fit(texts, [emo_of[lab] for _, lab in rows], label_set=list(EMOTIONS), multilabel=True)
    emo.save(root / "emotions")
    config = {"components": [{"name": "sentiment", "config": {"model": str(root / "sentiment")}},
                             {"name": "emotions", "config": {"model": str(root / "emotions")}},
                             "topics", "cause", "journey_stage"],
              "redact": {"enabled": True, "names": "morph"}}
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def write_feedback_csv(path: Path, n: int = 50, seed: int = 1) -> Path:
    """A small feedback CSV: n rows with ids, dates over three weeks, channels, texts, plus 2 bad rows."""
    rows = synthetic_texts(seed)
    channels = ["review", "survey", "chat"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "date", "channel", "customer_id", "text"])
        for i in range(n):
            text, _ = rows[i % len(rows)]
            w.writerow([f"r{i:04d}", f"2026-01-{1 + i % 21:02d}", channels[i % 3], f"c{i % 7}", text])
        w.writerow(["bad1", "2026-01-05", "review", "c1", ""])
        w.writerow(["bad2", "2026-01-06", "review", "c2", "   "])
    return path


def make_settings(tmp: Path, pipeline_yaml: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp / "data", "workers": 0, "pipeline_config": pipeline_yaml, "poll_interval_s": 0.2,
        "heartbeat_s": 0.5, "stale_after_s": 3.0, "webhook_backoff_s": 0.2, "webhook_max_attempts": 3,
        "webhook_timeout_s": 2.0, "chunk_size": 10,
        "webhook_allow_cidrs": ["127.0.0.1/32"],  # the tests' webhook receivers listen on loopback
    }
    values.update(overrides)
    return Settings.model_validate(values)


def bearer(sessions, role: str) -> dict[str, str]:
    token, _ = create_key(sessions, role, f"test-{role}")
    return {"Authorization": f"Bearer {token}"}


def no_pipeline(_settings: object) -> None:
    """A ``pipeline_factory`` for apps whose tests never classify."""
    raise RuntimeError("not needed")
