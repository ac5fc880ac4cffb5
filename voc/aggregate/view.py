"""FrameView: the enriched frame with the derived columns every aggregate needs, each computed once.

Keys (stage, channel, ISO week) are Categoricals (small integer codes + labels) and long tables hold row
positions rather than ids, so a 1,000,000-row frame costs tens of MB, not GBs; ids and texts are looked
up only for the few rows shown as examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np
import pandas as pd

from voc.aggregate.columns import boolean, categories, explode_list, iso_weeks, numeric, stage_labels


class FrameView:
    """Lazy, cached per-row arrays and exploded list columns of one enriched frame (positional rows)."""

    def __init__(self, frame: pd.DataFrame, stages: Sequence[str]) -> None:
        self.frame = frame
        self.stages = list(stages)

    def __len__(self) -> int:
        return len(self.frame)

    def has(self, column: str) -> bool:
        return column in self.frame.columns

    def ids_at(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """Feedback ids of the rows at these positions."""
        return [str(v) for v in self.frame["id"].iloc[np.asarray(rows, dtype=np.int64)]]

    def texts_at(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """Texts of the rows at these positions ('' where missing)."""
        if not self.has("text"):
            return [""] * len(rows)
        return ["" if pd.isna(v) else str(v) for v in self.frame["text"].iloc[np.asarray(rows, dtype=np.int64)]]

    @cached_property
    def score(self) -> np.ndarray:
        return numeric(self.frame, "sentiment_score").to_numpy()

    @cached_property
    def confidence(self) -> np.ndarray:
        return numeric(self.frame, "sentiment_confidence").to_numpy()

    @cached_property
    def negative(self) -> np.ndarray:
        """True where the record's sentiment is negative."""
        if not self.has("sentiment"):
            return np.zeros(len(self), dtype=bool)
        return (self.frame["sentiment"] == "negative").fillna(False).to_numpy(dtype=bool)

    @cached_property
    def _stage(self) -> tuple[pd.Categorical, list[str]]:
        return stage_labels(self.frame, self.stages)

    @property
    def stage(self) -> pd.Categorical:
        """Journey stage per row, «не определён» where missing."""
        return self._stage[0]

    @property
    def stage_order(self) -> list[str]:
        return self._stage[1]

    @cached_property
    def channel(self) -> pd.Categorical:
        return categories(self.frame["channel"], missing="unknown")

    @cached_property
    def created_at(self) -> pd.Series:
        if not self.has("created_at"):
            return pd.Series(pd.NaT, index=self.frame.index, dtype="datetime64[ns, UTC]")
        return pd.to_datetime(self.frame["created_at"], utc=True, errors="coerce", format="mixed")

    @cached_property
    def week(self) -> pd.Categorical:
        """ISO week label per row (NaN where the date is missing)."""
        return iso_weeks(self.created_at)

    @cached_property
    def topics(self) -> pd.DataFrame:
        """(row, item, aligned) per distinct topic of a row; ``aligned`` is the topic's own sentiment."""
        long = explode_list(self.frame, "topics", aligned="topic_sentiments").drop_duplicates(["row", "item"])
        return long.assign(item=pd.Categorical(long["item"])).reset_index(drop=True)

    @cached_property
    def emotions(self) -> pd.DataFrame:
        """(row, item) per distinct emotion of a row."""
        long = explode_list(self.frame, "emotions").drop_duplicates(["row", "item"])
        return long.assign(item=pd.Categorical(long["item"])).reset_index(drop=True)

    @cached_property
    def topic_negative(self) -> np.ndarray:
        """Per topic mention: 1.0 if its aspect sentiment (else the record's) is negative."""
        aligned = self.topics["aligned"]
        record = self.negative[self.topics["row"].to_numpy()]
        return np.where(aligned.isna().to_numpy(), record, (aligned == "negative").to_numpy()).astype(float)

    @cached_property
    def causes(self) -> tuple[np.ndarray, pd.Categorical]:
        """Positions of rows with a complaint cause, and the cause names."""
        if not self.has("cause"):
            return np.empty(0, dtype=np.int64), pd.Categorical([])
        cause = categories(self.frame["cause"])
        rows = np.flatnonzero(cause.codes >= 0)
        return rows, cause[rows]

    def number(self, column: str) -> np.ndarray:
        """A numeric column as a float array (NaN where missing)."""
        return numeric(self.frame, column).to_numpy()

    def flag(self, column: str) -> np.ndarray:
        """A bool/None column as 1.0/0.0/NaN."""
        return boolean(self.frame, column).to_numpy()
