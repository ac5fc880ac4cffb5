"""A fabricated enriched frame for tests, demos and benchmarks (no real customer text)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from voc.vocab import CHANNELS, COMPLAINT_CAUSES, EMOTIONS, JOURNEY_STAGES, NO_EMOTION

TOPICS: tuple[str, ...] = ("доставка", "оплата", "качество товара", "поддержка", "цена", "приложение",
                           "возврат денег", "курьер")
_PHRASES = ("заказ пришёл вовремя", "курьер опоздал на два часа", "деньги списали дважды",
            "оператор помог быстро", "приложение зависает", "товар бракованный", "спасибо за сервис")


def _pick_lists(rng: np.random.Generator, pool: list[str], sizes: np.ndarray) -> list[list[str]]:
    """A list of ``sizes[i]`` distinct pool items per row."""
    order = np.argsort(rng.random((len(sizes), len(pool))), axis=1)
    names = np.array(pool, dtype=object)[order].tolist()
    return [row[:k] for row, k in zip(names, sizes.tolist(), strict=True)]


def synthetic_frame(n: int = 400, weeks: int = 8, seed: int = 0, scores: bool = True, tickets: bool = True,
                    calls: bool = True, start: str = "2026-01-05") -> pd.DataFrame:
    """``n`` enriched rows spread over ``weeks`` ISO weeks (from a Monday), with random but valid values."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(rng.uniform(0, weeks * 7 * 86400, n), unit="s")
    score = np.round(rng.uniform(-1, 1, n), 3)
    sentiment = np.where(score < -0.2, "negative", np.where(score > 0.2, "positive", "neutral"))
    emo_pool = list(EMOTIONS) + [NO_EMOTION]
    n_emo = rng.integers(0, 3, n)
    n_top = rng.integers(0, 3, n)
    emotions = _pick_lists(rng, emo_pool, n_emo)
    topics = _pick_lists(rng, list(TOPICS), n_top)
    sentiments = np.array(["negative", "neutral", "positive"], dtype=object)[rng.integers(0, 3, (n, 2))].tolist()
    topic_sent = [sent[: len(t)] for sent, t in zip(sentiments, topics, strict=True)]
    stage = rng.choice(list(JOURNEY_STAGES) + [None], n)
    frame = pd.DataFrame({
        "id": [f"fb{i:07d}" for i in range(n)],
        "channel": rng.choice(CHANNELS, n),
        "created_at": created,
        "customer_id": [f"c{i}" for i in rng.integers(0, max(n // 3, 1), n)],
        "text": [f"{_PHRASES[i % len(_PHRASES)]} (запись {i})" for i in range(n)],
        "sentiment": sentiment,
        "sentiment_score": score,
        "sentiment_confidence": np.round(rng.uniform(0.5, 1, n), 3),
        "emotions": emotions,
        "topics": topics,
        "topic_sentiments": topic_sent,
        "cause": np.where(sentiment == "negative", np.array(COMPLAINT_CAUSES, dtype=object)[  # type: ignore[call-overload]
            rng.integers(0, len(COMPLAINT_CAUSES), n)], None),
        "journey_stage": stage,
        "evidence": [[] for _ in range(n)],
        "pii_masked": rng.integers(0, 2, n),
    })
    if scores:
        frame["nps"] = np.where(rng.random(n) < 0.5, rng.integers(0, 11, n), np.nan)
        frame["csat"] = np.where(rng.random(n) < 0.5, rng.integers(1, 6, n), np.nan)
        frame["ces"] = np.where(rng.random(n) < 0.3, rng.integers(1, 8, n), np.nan)
    if calls:
        is_call = frame["channel"].to_numpy() == "call"
        for col, values in {
            "call_duration_s": rng.uniform(30, 900, n),
            "call_longest_pause_s": rng.uniform(0, 60, n),
            "call_silence_share": rng.uniform(0, 0.5, n),
            "call_overlaps": rng.integers(0, 10, n).astype(float),
            "call_talk_ratio_client": rng.uniform(0.2, 0.8, n),
            "call_client_sentiment_start": rng.uniform(-1, 1, n),
            "call_client_sentiment_end": rng.uniform(-1, 1, n),
        }.items():
            frame[col] = np.where(is_call, values, np.nan)
    if tickets:
        linked = rng.random(n) < 0.6
        frame["link_method"] = np.where(linked, "ticket_id", None)  # type: ignore[call-overload]
        frame["sla_breached"] = pd.array(np.where(linked, rng.random(n) < 0.2, None), dtype=object)  # type: ignore[call-overload]
        frame["reopen_count"] = np.where(linked, rng.integers(0, 3, n), np.nan)
        frame["repeat_contact"] = rng.random(n) < 0.15
        frame["fcr"] = pd.array(np.where(linked, rng.random(n) < 0.7, None), dtype=object)  # type: ignore[call-overload]
    return frame
