"""Data loaders: the user's labelled file (errors name column and rows), dataset loaders on made-up data."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voc.vocab import EMOTIONS
from voc_training.data import (
    DataError,
    load_emotion_eval,
    load_emotions_train,
    load_labelled_file,
    load_sentiment_eval,
    load_sentiment_train,
)
from voc_training.emotion_mapping import ANNOTATED, MAPPING, map_labels, silver_gratitude


def _csv(tmp_path, rows, name="data.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_csv_jsonl_parquet_read_alike(tmp_path):
    rows = [{"text": "хорошо", "label": "positive"}, {"text": "плохо", "label": "negative"}]
    csv = _csv(tmp_path, rows)
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    parquet = tmp_path / "d.parquet"
    pd.DataFrame(rows).to_parquet(parquet)
    for path in (csv, jsonl, parquet):
        data = load_labelled_file(path)
        assert data.texts == ["хорошо", "плохо"] and data.labels == ["positive", "negative"]
        assert data.label_set == ["negative", "positive"]


def test_missing_column_names_it(tmp_path):
    path = _csv(tmp_path, [{"review": "хорошо", "label": "positive"}])
    with pytest.raises(DataError, match="no column 'text'; columns are: review, label"):
        load_labelled_file(path)


def test_one_class_is_an_error(tmp_path):
    path = _csv(tmp_path, [{"text": "a", "label": "x"}, {"text": "b", "label": "x"}])
    with pytest.raises(DataError, match="'label' has only one class \\('x'\\)"):
        load_labelled_file(path)
    assert len(load_labelled_file(path, require_two_classes=False)) == 2


def test_empty_texts_and_labels_name_rows(tmp_path):
    path = _csv(tmp_path, [{"text": "ok", "label": "a"}, {"text": "  ", "label": "b"}, {"text": "", "label": "a"}])
    with pytest.raises(DataError, match="column 'text' is empty in 2 row\\(s\\): 2, 3"):
        load_labelled_file(path)
    path = _csv(tmp_path, [{"text": "ok", "label": "a"}, {"text": "ну", "label": ""}], "l.csv")
    with pytest.raises(DataError, match="column 'label' is empty in 1 row\\(s\\): 2"):
        load_labelled_file(path)


def test_bad_file_type_and_missing_file(tmp_path):
    (tmp_path / "x.xml").write_text("<a/>")
    with pytest.raises(DataError, match="unsupported file type '.xml'"):
        load_labelled_file(tmp_path / "x.xml")
    with pytest.raises(DataError, match="file not found"):
        load_labelled_file(tmp_path / "none.csv")
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(DataError, match="cannot read as jsonl"):
        load_labelled_file(tmp_path / "bad.jsonl")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "b c", "д", "е-ж"]), max_size=3), min_size=1, max_size=8))
def test_multilabel_pipe_round_trip(tmp_path_factory, label_lists):
    tmp = tmp_path_factory.mktemp("ml")
    rows = [{"text": f"текст {i}", "labels": "|".join(ls)} for i, ls in enumerate(label_lists)]
    if not any(label_lists[i] for i in range(len(label_lists))):
        path = _csv(tmp, rows)
        with pytest.raises(DataError, match="no labels at all"):
            load_labelled_file(path, label_col="labels", multilabel=True)
        return
    data = load_labelled_file(_csv(tmp, rows), label_col="labels", multilabel=True)
    assert data.labels == [list(ls) for ls in label_lists]


def test_emotion_mapping_table():
    assert map_labels("cedr", []) == []
    assert map_labels("ru_izard", ["neutral"]) == []
    assert map_labels("ru_izard", ["guilt"]) is None
    assert map_labels("ru_izard", ["guilt", "anger", "disgust"]) == ["раздражение/гнев"]
    assert map_labels("ru_goemotions", ["gratitude", "joy"]) == ["благодарность", "радость/удовлетворение"]
    for ds, table in MAPPING.items():
        assert {v for v in table.values() if v} <= set(EMOTIONS)
        assert set(ANNOTATED[ds]) <= set(EMOTIONS)
    assert silver_gratitude("Спасибо за помощь") and silver_gratitude("благодарю") and not silver_gratitude("ок")


@pytest.fixture()
def fake_datasets(tmp_path, monkeypatch):
    """A made-up miniature of the shared datasets layout."""
    root = tmp_path / "datasets"
    s = root / "sentiment"
    (s / "alpha").mkdir(parents=True)
    pd.DataFrame({"text": ["хорошо", "плохо", "речь", "нормально"], "label": ["positive", "negative", "", "neutral"]}
                 ).to_csv(s / "alpha" / "train.csv", index=False)
    pd.DataFrame({"text": ["тест"], "label": ["neutral"]}).to_csv(s / "alpha" / "test.csv", index=False)
    (s / "beta").mkdir()
    pd.DataFrame({"text": ["спасибо, отлично"], "label": ["positive"]}).to_csv(s / "beta" / "all.csv", index=False)
    e = root / "emotion"
    for ds, rows in {
        "cedr": [("рад", "joy"), ("ничего", ""), ("злюсь|", "anger")],
        "semeval2025_ru": [("фу", "disgust"), ("ой", "surprise|fear")],
        "ru_izard": [("стыдно", "shame"), ("спасибо, рад", "joy|enthusiasm")],
    }.items():
        (e / ds).mkdir(parents=True)
        pd.DataFrame({"text": [t for t, _ in rows], "labels": [lab for _, lab in rows]}).to_csv(
            e / ds / "train.csv", index=False)
    pd.DataFrame({"text": ["грусть"], "labels": ["sadness"]}).to_csv(e / "cedr" / "test.csv", index=False)
    monkeypatch.setenv("VOC_DATASETS_DIR", str(root))
    return root


def test_sentiment_loaders(fake_datasets):
    train = load_sentiment_train()
    assert train.texts == ["хорошо", "плохо", "нормально", "спасибо, отлично"]
    assert train.counts() == {"alpha": 3, "beta": 1}
    assert load_sentiment_eval("alpha").labels == ["neutral"]


def test_emotion_loaders(fake_datasets):
    data = load_emotions_train()
    by_text = dict(zip(data.texts, data.labels, strict=True))
    assert by_text["рад"] == ["радость/удовлетворение"] and by_text["ничего"] == []
    assert by_text["фу"] == ["раздражение/гнев"]
    assert by_text["ой"] == ["тревога/страх", "удивление"]
    assert "стыдно" not in by_text  # only an unmapped label
    assert by_text["спасибо, рад"] == ["благодарность", "радость/удовлетворение"]
    sentiment_rows = [i for i, s in enumerate(data.sources) if s.startswith("sentiment")]
    assert len(sentiment_rows) == 4 and all(data.known[i] == ["благодарность"] for i in sentiment_rows)
    assert data.labels[sentiment_rows[-1]] == ["благодарность"]
    test = load_emotion_eval("cedr", "test")
    assert test.labels == [["разочарование/грусть"]] and "благодарность" not in test.label_set
    assert load_emotion_eval("cedr", "test", original_labels=True).labels == [["sadness"]]


def test_missing_datasets_dir_is_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("VOC_DATASETS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="no sentiment datasets under"):
        load_sentiment_train()
