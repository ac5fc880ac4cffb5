"""The problem list ranked by часто × больно × влияет на бизнес, per topic and per complaint cause.

Factors (each 0..1):
- часто: share of all feedback mentioning the item, divided by the largest such share of its kind;
- больно: mean of the negative share, the pain-emotion share (anger, disappointment, fear) and
  (1 − mean sentiment score) / 2;
- влияет: mean of the linked-ticket SLA breach share, the detractor share (NPS ≤ 6 or CSAT ≤ 3) and the
  repeat contact share; a share with no data counts as a neutral 0 and adds a ``no_data:*`` flag. When the
  driver analysis (:mod:`voc.aggregate.drivers`) measured a harmful effect of the item on NPS/CSAT/CES (95 %
  CI excluding 0), that effect, normalised to 0..1 by the scale width, is a fourth share of the mean.
Score = geometric mean of the three factors, each floored at 0.01 so one empty factor does not erase
the ranking of the other two.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from voc.aggregate.columns import rounded
from voc.aggregate.models import PriorityItem, Quote
from voc.aggregate.view import FrameView
from voc.vocab import PAIN_EMOTIONS

FACTOR_FLOOR = 0.01
QUOTE_CHARS = 200
MAX_ITEMS = 50


def row_features(view: FrameView) -> pd.DataFrame:
    """Per-row inputs of pain and impact (vectorised; one column each)."""
    has_pain = np.zeros(len(view), dtype=bool)
    emotions = view.emotions
    has_pain[emotions["row"].to_numpy()[emotions["item"].isin(PAIN_EMOTIONS).to_numpy()]] = True
    nps, csat = view.number("nps"), view.number("csat")
    scored = ~np.isnan(nps) | ~np.isnan(csat)
    with np.errstate(invalid="ignore"):
        detractor = np.where(scored, ((nps <= 6) | (csat <= 3)).astype(float), np.nan)
    return pd.DataFrame({
        "negative": view.negative.astype(float),
        "pain_emotion": has_pain.astype(float),
        "score": view.score,
        "sla": view.flag("sla_breached"),
        "detractor": detractor,
        "repeat": view.flag("repeat_contact"),
    })


def _quotes(view: FrameView, rows: np.ndarray, scores: np.ndarray, negative: np.ndarray, used: set[str],
            k: int = 3, candidates: int = 60) -> list[Quote]:
    """The ``k`` most negative rows as quotes (id + the start of the text): negative mentions first, and where
    possible rows and texts not yet quoted for a higher-ranked item (``used`` is updated), never the same text
    twice in one item."""
    order = np.argsort(np.nan_to_num(scores, nan=2.0) - 4 * negative, kind="stable")[:candidates]
    picked_rows = rows[order]
    ids, texts = view.ids_at(picked_rows), view.texts_at(picked_rows)
    fresh = [i for i in range(len(order)) if ids[i] not in used and texts[i].strip().lower() not in used]
    chosen: list[int] = []
    seen_texts: set[str] = set()
    fresh_set = set(fresh)
    for i in fresh + [i for i in range(len(order)) if i not in fresh_set]:
        key = texts[i].strip().lower()
        if key in seen_texts:
            continue
        chosen.append(i)
        seen_texts.add(key)
        if len(chosen) == k:
            break
    out = []
    for i in chosen:
        text, score = texts[i], scores[order[i]]
        used.update((ids[i], text.strip().lower()))
        text = text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"
        out.append(Quote(id=ids[i], text=text, sentiment_score=None if np.isnan(score) else round(float(score), 4)))
    return out


Effects = dict[tuple[str, str], tuple[float, str]]


def _rank(kind: str, long: pd.DataFrame, view: FrameView, features: pd.DataFrame,
          max_items: int, effects: Effects | None = None) -> list[PriorityItem]:
    """Rank items of a long table (row, item, negative) — one row per record and item."""
    if long.empty or len(view) == 0:
        return []
    rows = long["row"].to_numpy()
    feats = pd.DataFrame({col: features[col].to_numpy()[rows] for col in features.columns})
    feats["item"] = long["item"].to_numpy()
    feats["row"] = rows
    feats["negative"] = long["negative"].to_numpy()
    grouped = feats.groupby("item", sort=False, observed=True)
    stats = grouped.agg(n=("row", "size"), negative=("negative", "mean"), pain_emotion=("pain_emotion", "mean"),
                        mean_score=("score", "mean"), sla=("sla", "mean"), detractor=("detractor", "mean"),
                        repeat=("repeat", "mean"))
    stats["frequency"] = stats["n"] / len(view)
    stats["frequency_norm"] = stats["frequency"] / stats["frequency"].max()
    score_part = ((1 - stats["mean_score"]) / 2).where(stats["mean_score"].notna(), stats["negative"])
    stats["pain"] = (stats["negative"] + stats["pain_emotion"] + score_part) / 3
    stats["effect"] = [(effects or {}).get((kind, str(name)), (np.nan, ""))[0] for name in stats.index]
    shares = stats[["sla", "detractor", "repeat"]].fillna(0.0)
    # a measured harm on NPS/CSAT/CES (driver analysis) joins the three shares as a fourth
    stats["impact"] = shares.mean(axis=1).where(stats["effect"].isna(),
                                                (shares.sum(axis=1) + stats["effect"]) / 4)
    floored = stats[["frequency_norm", "pain", "impact"]].clip(lower=FACTOR_FLOOR)
    stats["score_total"] = np.exp(np.log(floored).mean(axis=1))
    stats = stats.sort_values(["score_total", "n"], ascending=[False, False]).head(max_items)
    top = feats[feats["item"].isin(stats.index)]
    by_item = {item: g for item, g in top.groupby("item", sort=False, observed=True)[["row", "score", "negative"]]}
    items = []
    used: set[str] = set()  # quoted ids and texts: each item gets its own quotes where it has any
    for rank, (name, s) in enumerate(stats.iterrows(), start=1):
        flags = [f"no_data:{key}" for key in ("sla", "detractor", "repeat") if pd.isna(s[key])]
        g = by_item[name]
        items.append(PriorityItem(
            kind=kind, name=str(name), rank=rank, n=int(s["n"]), frequency=round(float(s["frequency"]), 4),
            frequency_norm=round(float(s["frequency_norm"]), 4), negative_share=round(float(s["negative"]), 4),
            pain_emotion_share=round(float(s["pain_emotion"]), 4),
            mean_sentiment=rounded(s["mean_score"]), pain=round(float(s["pain"]), 4),
            sla_breach_share=rounded(s["sla"]), detractor_share=rounded(s["detractor"]),
            repeat_contact_share=rounded(s["repeat"]),
            impact=round(float(s["impact"]), 4), score=round(float(s["score_total"]), 4), flags=flags,
            effect_share=rounded(s["effect"]), effect=(effects or {}).get((kind, str(name)), (0, None))[1],
            examples=_quotes(view, g["row"].to_numpy(), g["score"].to_numpy(dtype=float),
                             g["negative"].to_numpy(dtype=float), used),
        ))
    return items


def topic_priority(view: FrameView, features: pd.DataFrame | None = None,
                   max_items: int = MAX_ITEMS, effects: Effects | None = None) -> list[PriorityItem]:
    """Topics ranked by часто × больно × влияет; negativity from the topic's aspect sentiment if known."""
    features = row_features(view) if features is None else features
    long = pd.DataFrame({"row": view.topics["row"].to_numpy(), "item": view.topics["item"].to_numpy(),
                         "negative": view.topic_negative})
    return _rank("topic", long, view, features, max_items, effects)


def cause_priority(view: FrameView, features: pd.DataFrame | None = None,
                   max_items: int = MAX_ITEMS, effects: Effects | None = None) -> list[PriorityItem]:
    """Complaint causes ranked by часто × больно × влияет."""
    if not view.has("cause"):
        return []
    features = row_features(view) if features is None else features
    rows, causes = view.causes
    long = pd.DataFrame({"row": rows, "item": causes, "negative": features["negative"].to_numpy()[rows]})
    return _rank("cause", long, view, features, max_items, effects)
