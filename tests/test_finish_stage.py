"""The finish stage's memory-lean pieces give what the plain pandas versions give: the run frame's column-wise
concat, the report's strongest rows by integer keys, and the parent leaving long runs to the workers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from voc.aggregate.columns import explode_list
from voc.aggregate.drill import channel_keys, stage_keys, week_keys
from voc.render.view import _strongest
from voc.run.assemble import concat_columnwise


def test_concat_columnwise_equals_pd_concat():
    f1 = pd.DataFrame({"a": [1.0, 2.0], "t": pd.Series(["x", None], dtype="string[pyarrow]"),
                       "l": [["p"], []]})
    f2 = pd.DataFrame({"t": pd.Series(["z"], dtype="string[pyarrow]"), "b": [[1]], "a": [np.nan]}, index=[7])
    f3 = pd.DataFrame({"a": [5.0], "when": pd.to_datetime(["2026-01-05"], utc=True)})
    want = pd.concat([f1, f2, f3], ignore_index=True)
    frames = [f1.copy(), f2.copy(), f3.copy()]
    got = concat_columnwise(frames)
    assert frames == []
    pd.testing.assert_frame_equal(got, want)


def _strongest_by_strings(frame: pd.DataFrame, per_key: int) -> np.ndarray:
    """The reference: string keys and merges (what the report used before integer keys)."""
    score = pd.to_numeric(frame["sentiment_score"], errors="coerce").to_numpy(dtype=float)
    base = pd.DataFrame({"row": np.arange(len(frame)), "score": np.nan_to_num(score, nan=0.0),
                         "stage": stage_keys(frame), "channel": channel_keys(frame), "week": week_keys(frame),
                         "cause": frame["cause"].to_numpy()})
    picked: set[int] = set()

    def take(table: pd.DataFrame, keys: list[str]) -> None:
        head = table.sort_values("score", kind="stable").groupby(keys, sort=False, dropna=True).head(per_key)
        picked.update(int(r) for r in head["row"])

    topics = explode_list(frame, "topics").merge(base, on="row").rename(columns={"item": "topic"})
    emotions = explode_list(frame, "emotions").merge(base, on="row").rename(columns={"item": "emotion"})
    take(base, ["stage", "channel"])
    take(base, ["cause"])
    take(emotions, ["stage", "emotion"])
    take(topics, ["topic", "week"])
    take(topics, ["topic"])
    return np.array(sorted(picked), dtype=np.int64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_strongest_rows_match_the_string_keyed_reference(seed):
    rng = np.random.default_rng(seed)
    n = 600
    pick = lambda values, p_none=0.1: [None if rng.random() < p_none else values[rng.integers(len(values))]  # noqa: E731
                                       for _ in range(n)]
    frame = pd.DataFrame({
        "sentiment_score": np.round(rng.uniform(-1, 1, n), 1),  # ties: the stable order decides
        "journey_stage": pd.Series(pick(["доставка", "оплата", "поддержка", ""]), dtype="string[pyarrow]"),
        "channel": pick(["отзыв", "чат", "звонок"]),
        "created_at": pd.Series([None if rng.random() < 0.1 else pd.Timestamp("2026-01-01", tz="UTC")
                                 + pd.Timedelta(days=int(rng.integers(0, 60))) for _ in range(n)]),
        "cause": pick(["ошибка процесса", "технический сбой", "другое"], 0.5),
        "topics": [list(rng.choice(["оплата", "доставка", "персонал"], int(rng.integers(0, 3)), replace=False))
                   for _ in range(n)],
        "emotions": [list(rng.choice(["раздражение/гнев", "благодарность"], int(rng.integers(0, 2)), replace=False))
                     for _ in range(n)],
    })
    for per_key in (1, 3, 10):
        np.testing.assert_array_equal(_strongest(frame, per_key), _strongest_by_strings(frame, per_key))


def test_a_long_pooled_run_leaves_every_chunk_to_the_workers(tmp_path, monkeypatch):
    """With workers, the parent holds the first chunk; a run longer than ``workers`` chunks sends it to the
    pool too (the parent builds no lazy model state), a short one analyses it here."""
    from voc.run import dispatch

    calls: list[int] = []

    class FakePool:
        def __init__(self, workers, state, parts, spec):
            pass

        def submit(self, i, chunk):
            from concurrent.futures import Future

            fut: Future = Future()
            fut.set_result({"chunk": i})
            return fut

        def close(self):
            pass

    class Spec:
        engine, workers, inputs, chunk_size = "local", 2, [], 10

    accounted: list[int] = []

    class Tally:
        parts = tmp_path

        def account(self, i, stats):
            accounted.append(i)

    monkeypatch.setattr("voc.run.pool.LocalPool", FakePool)
    monkeypatch.setattr(dispatch, "committed_stats", lambda parts, i: None)
    monkeypatch.setattr(dispatch, "analyse_chunk", lambda state, chunk: calls.append(chunk) or chunk)
    monkeypatch.setattr(dispatch, "commit_chunk", lambda parts, i, out: {"chunk": i})
    for chunks, here in ((5, []), (3, []), (2, [0]), (1, [0])):
        calls.clear()
        accounted.clear()
        monkeypatch.setattr(dispatch, "read_chunks", lambda inputs, mapping, size, n=chunks: iter(range(n)))
        dispatch.analyse_chunks(Spec(), None, None, tmp_path, Tally(), None, None)
        assert calls == here and sorted(accounted) == list(range(chunks))
