"""The in-house labelled set: Russian customer feedback written in-project (see CARD.md in this folder).

``eval.csv`` is for evaluation only; ``train.csv`` is for tuning. Lists are pipe-joined in the CSV and
returned as Python lists by :func:`load_inhouse`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

INHOUSE_DIR = Path(__file__).parent
COLUMNS: tuple[str, ...] = ("id", "text", "channel", "sentiment", "emotions", "topics", "cause", "journey_stage")
LIST_COLUMNS: tuple[str, ...] = ("emotions", "topics")
SPLITS: tuple[str, ...] = ("train", "eval")


def inhouse_path(split: str) -> Path:
    """Path of ``train.csv`` or ``eval.csv``."""
    if split not in SPLITS:
        raise ValueError(f"unknown in-house split {split!r}; expected one of {', '.join(SPLITS)}")
    return INHOUSE_DIR / f"{split}.csv"


def load_inhouse(split: str) -> pd.DataFrame:
    """One split as a frame; ``emotions`` and ``topics`` as lists, empty ``cause`` as ''."""
    frame = pd.read_csv(inhouse_path(split), dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{inhouse_path(split)}: missing columns {missing}")
    for col in LIST_COLUMNS:
        frame[col] = frame[col].map(lambda v: [x for x in v.split("|") if x])
    return frame
