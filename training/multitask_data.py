"""Training rows for the multi-task encoder: every train-side set mapped onto voc's label sets, per head.

A row carries a text and targets for the heads its source annotates (the others are masked out):

| source | heads | mapping |
|---|---|---|
| ``sentiment/*`` train/all, Gazprombank clauses (silver) and rated reviews | sentiment | as shipped TF-IDF (voc_training.data) |
| cedr, semeval2025_ru, ru_izard train | emotions | voc_training.emotion_mapping (per-dataset annotated labels) |
| Gazprombank clauses (silver) | topics | ``CLAUSE_TOPICS`` below, only the four topics the mapping can confirm or deny |
| in-house train | every head | its own CX labels |
| real-text CX set, train split (``datasets/cxreal``) | every head | its own CX labels (when present) |

Evaluation splits are never read here.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voc.vocab import COMPLAINT_CAUSES, EMOTIONS, JOURNEY_STAGES, SENTIMENTS
from voc_training.data import (
    DataError,
    datasets_root,
    load_cx_sentiment_train,
    load_emotions_train,
)
from voc_training.emotion_mapping import silver_gratitude

NONE_LABEL = "—"
#: voc's topic vocabulary for the encoder head (the default taxonomy + banking topics of the labelling guide).
TOPICS: tuple[str, ...] = (
    "доставка", "оплата", "возврат", "качество товара", "цена и условия", "персонал", "приложение/сайт",
    "скорость/ожидание", "коммуникация/уведомления", "ассортимент/наличие", "бонусы и лояльность",
    "связь и интернет", "карты и счета", "кредиты и ипотека", "оформление заказа", "вклады и накопления",
    "безопасность/мошенничество",
)
HEADS: dict[str, tuple[tuple[str, ...], bool]] = {
    "sentiment": (SENTIMENTS, False),
    "emotions": (EMOTIONS, True),
    "topics": (TOPICS, True),
    "cause": ((*COMPLAINT_CAUSES, NONE_LABEL), False),
    "journey_stage": ((*JOURNEY_STAGES, NONE_LABEL), False),
}
#: Gazprombank clause topics (LLM silver) → voc topics; topics left out have no defensible equivalent.
CLAUSE_TOPICS: dict[str, str] = {
    "Дебетовая карта": "карты и счета", "Кредитная карта": "карты и счета", "Денежные переводы": "карты и счета",
    "Потребительский кредит": "кредиты и ипотека", "Ипотека": "кредиты и ипотека",
    "Рефинансирование кредитов": "кредиты и ипотека", "Автокредит": "кредиты и ипотека",
    "Вклады": "вклады и накопления", "Мобильное приложение": "приложение/сайт",
    "Дистанционное обслуживание": "приложение/сайт",
}
CLAUSE_KNOWN = sorted(set(CLAUSE_TOPICS.values()))
#: How many times a source's rows are drawn per epoch (fractions subsample).
SOURCE_WEIGHTS: dict[str, float] = {"inhouse": 8.0, "cxreal": 4.0, "ru_izard": 0.4,
                                    "sentiment (silver благодарность)": 0.0, "koziev_polarity": 0.5}


@dataclass
class Row:
    text: str
    source: str
    single: dict[str, int] = field(default_factory=dict)  # head → class index
    multi: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # head → (targets, mask)
    soft: np.ndarray | None = None  # distillation: the teacher's probabilities, every head concatenated


def _vec(labels: list[str], label_set: tuple[str, ...], known: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
    index = {lab: i for i, lab in enumerate(label_set)}
    y = np.zeros(len(label_set), np.float32)
    for lab in labels:
        if lab in index:
            y[index[lab]] = 1.0
    mask = np.ones(len(label_set), np.float32) if known is None else np.zeros(len(label_set), np.float32)
    if known is not None:
        for lab in known:
            if lab in index:
                mask[index[lab]] = 1.0
    return y, mask


def _clause_topic_rows(root: Path) -> list[Row]:
    path = root / "topics" / "gazprombank_clauses" / "all.jsonl"
    rows: list[Row] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            text = str(obj.get("text", "")).strip()
            topics = list(obj.get("topics") or [])
            if not text or not topics:
                continue  # a clause without topics is not a reliable "none of them"
            mapped = sorted({CLAUSE_TOPICS[t] for t in topics if t in CLAUSE_TOPICS})
            rows.append(Row(text, "gazprombank_clauses", multi={"topics": _vec(mapped, TOPICS, CLAUSE_KNOWN)}))
    return rows


def full_label_row(text: str, source: str, sentiment: str, emotions: list[str], topics: list[str],
                   cause: str, stage: str) -> Row:
    """A row labelled on every head (in-house and real-text CX sets)."""
    single = {"sentiment": SENTIMENTS.index(sentiment)}
    causes, stages = HEADS["cause"][0], HEADS["journey_stage"][0]
    single["cause"] = causes.index(cause or NONE_LABEL)
    single["journey_stage"] = stages.index(stage or NONE_LABEL)
    multi = {"emotions": _vec(emotions, EMOTIONS, None), "topics": _vec(topics, TOPICS, None)}
    return Row(text, source, single, multi)


def _inhouse_rows() -> list[Row]:
    from voc_datasets.inhouse import load_inhouse

    frame = load_inhouse("train")
    rows = []
    for r in frame.itertuples(index=False):
        topics = [t for t in r.topics if t in TOPICS]
        rows.append(full_label_row(r.text, "inhouse", r.sentiment, list(r.emotions), topics, r.cause,
                                   r.journey_stage))
    return rows


def _cxreal_rows(root: Path) -> list[Row]:
    try:
        from voc_training.cxlabels.loader import load_cxreal
    except ImportError:
        return []
    try:
        frame = load_cxreal("train", root=root)
    except (DataError, FileNotFoundError):
        return []
    return [full_label_row(r.text, "cxreal", r.sentiment, list(r.emotions), list(r.topics), r.cause,
                           r.journey_stage) for r in frame.itertuples(index=False)]


def _cxreal_eval_texts(root: Path) -> set[str]:
    try:
        from voc_training.cxlabels.loader import load_cxreal

        return set(load_cxreal("eval", root=root)["text"])
    except (ImportError, DataError, FileNotFoundError):
        return set()


def build_rows(root: Path | None = None, *, cxreal: bool = True) -> list[Row]:
    """Every training row for every head (no evaluation split is read; the real-text CX eval texts, which
    come from train-side files, are dropped from every source)."""
    root = root or datasets_root()
    held_out = _cxreal_eval_texts(root)
    rows: list[Row] = []
    sent = load_cx_sentiment_train(root, inhouse=False)
    gratitude = EMOTIONS[1]
    for text, label, source in zip(sent.texts, sent.labels, sent.sources, strict=True):
        thanks = [gratitude] if silver_gratitude(text) else []
        rows.append(Row(text, source, single={"sentiment": SENTIMENTS.index(label)},
                        multi={"emotions": _vec(thanks, EMOTIONS, [gratitude])}))
    emo = load_emotions_train(root, silver_gratitude_from_sentiment=False)
    for text, labels, known, source in zip(emo.texts, emo.labels, emo.known or [], emo.sources, strict=True):
        rows.append(Row(text, source, multi={"emotions": _vec(labels, EMOTIONS, known)}))
    rows += _clause_topic_rows(root)
    rows += _inhouse_rows()
    if cxreal:
        rows += _cxreal_rows(root)
    return _merge_same_text([r for r in rows if r.text not in held_out])


def _merge_same_text(rows: list[Row]) -> list[Row]:
    """Rows with the same text and source-compatible heads merge (a clause with sentiment and topics)."""
    merged: dict[str, Row] = {}
    out: list[Row] = []
    for row in rows:
        prev = merged.get(row.text)
        if prev is not None and not (set(prev.single) & set(row.single)) and not (set(prev.multi) & set(row.multi)):
            prev.single.update(row.single)
            prev.multi.update(row.multi)
            continue
        merged[row.text] = row
        out.append(row)
    return out


def epoch_indices(rows: list[Row], seed: int, weights: dict[str, float] | None = None) -> list[int]:
    """Row indices for one epoch: each source drawn ``weight`` times (fractions subsample), shuffled."""
    weights = {**SOURCE_WEIGHTS, **(weights or {})}
    rng = random.Random(seed)
    out: list[int] = []
    by_source: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_source.setdefault(row.source, []).append(i)
    for source, idx in by_source.items():
        w = weights.get(source, 1.0)
        whole, frac = int(w), w - int(w)
        out += idx * whole
        if frac > 0:
            out += rng.sample(idx, round(len(idx) * frac))
    rng.shuffle(out)
    return out
