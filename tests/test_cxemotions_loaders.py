"""``drop_sparse_annotations``: a source's rows stop counting as negatives of labels it barely has."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voc_training.data import DataError, LabelledTexts, drop_sparse_annotations

LABELS = ["a", "b", "c"]


def _data(rows: list[tuple[str, list[str]]]) -> LabelledTexts:
    return LabelledTexts([f"t{i}" for i in range(len(rows))], [labs for _, labs in rows], True, list(LABELS),
                         [list(LABELS) for _ in rows], [src for src, _ in rows])


@given(st.lists(st.tuples(st.sampled_from(["own", "other"]), st.lists(st.sampled_from(LABELS), unique=True)),
                max_size=30),
       st.integers(min_value=0, max_value=5))
def test_only_the_source_and_only_sparse_labels_change(rows, min_positives):
    data = _data(rows)
    positives = drop_sparse_annotations(data, "own", min_positives)
    for lab in LABELS:
        assert positives[lab] == sum(lab in labs for src, labs in rows if src == "own")
    assert data.known is not None
    for (src, _), known in zip(rows, data.known, strict=True):
        if src == "other":
            assert known == LABELS
        else:
            assert known == [lab for lab in LABELS if positives[lab] >= min_positives]
    assert data.labels == [labs for _, labs in rows]  # labels untouched


def test_example_counts():
    data = _data([("own", ["a"]), ("own", ["a", "b"]), ("own", []), ("other", ["c"])])
    assert drop_sparse_annotations(data, "own", 2) == {"a": 2, "b": 1, "c": 0}
    assert data.known == [["a"], ["a"], ["a"], LABELS]


def test_single_label_data_is_refused():
    data = LabelledTexts(["x"], ["a"], False, ["a"], None, ["own"])
    with pytest.raises(DataError, match="known"):
        drop_sparse_annotations(data, "own", 1)
