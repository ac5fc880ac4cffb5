"""The in-house labelled set: required size, label coverage, valid labels, no duplicates or split overlap."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from voc.config import load_taxonomy
from voc.vocab import CHANNELS, COMPLAINT_CAUSES, EMOTIONS, JOURNEY_STAGES, SENTIMENTS
from voc_datasets.inhouse import COLUMNS, load_inhouse


@pytest.fixture(scope="module")
def splits() -> dict[str, pd.DataFrame]:
    return {s: load_inhouse(s) for s in ("train", "eval")}


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def test_sizes_and_columns(splits: dict[str, pd.DataFrame]) -> None:
    assert len(splits["eval"]) >= 320
    assert len(splits["train"]) >= 300
    for frame in splits.values():
        assert tuple(frame.columns) == COLUMNS


def test_eval_covers_every_cause_and_stage_25_times(splits: dict[str, pd.DataFrame]) -> None:
    ev = splits["eval"]
    neg = ev[ev.sentiment == "negative"]
    assert set(COMPLAINT_CAUSES) <= set(neg.cause)
    assert neg.cause.value_counts().min() >= 25
    stages = ev.journey_stage.value_counts()
    assert set(stages.index) == set(JOURNEY_STAGES) and stages.min() >= 25


@pytest.mark.parametrize("split", ["train", "eval"])
def test_labels_are_valid(splits: dict[str, pd.DataFrame], split: str) -> None:
    frame = splits[split]
    topics = set(load_taxonomy().names())
    assert set(frame.sentiment) <= set(SENTIMENTS)
    assert set(frame.channel) <= set(CHANNELS)
    assert set(frame.journey_stage) <= set(JOURNEY_STAGES)
    assert all(set(t) <= topics for t in frame.topics)
    assert all(set(e) <= set(EMOTIONS) for e in frame.emotions)
    negative = frame.sentiment == "negative"
    assert frame.loc[negative, "cause"].isin(COMPLAINT_CAUSES).all()
    assert (frame.loc[~negative, "cause"] == "").all()  # cause only for negative rows
    assert frame.text.str.strip().ne("").all()


def test_no_duplicates_within_or_across_splits(splits: dict[str, pd.DataFrame]) -> None:
    train, ev = splits["train"], splits["eval"]
    for frame in (train, ev):
        assert frame.id.is_unique
        assert not frame.text.map(_norm).duplicated().any()
    assert not set(train.text.map(_norm)) & set(ev.text.map(_norm))
    assert not set(train.id) & set(ev.id)
