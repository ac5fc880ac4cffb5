"""bench/quality.py: sentence-level aspect labels are built from the character offsets of the aspect terms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.quality import _matrix, aspect_sentences


def test_aspect_sentences_label_each_sentence_by_the_terms_it_contains(tmp_path: Path) -> None:
    text = "Суп был холодный. Официант грубил, счёт принесли через час. Интерьер обычный."
    aspects = [
        {"term": "Суп", "from": 0, "to": 3, "category": "Food", "type": "explicit"},
        {"term": "Официант", "from": 18, "to": 26, "category": "Service", "type": "explicit"},
        {"term": "счёт принесли через час", "from": 35, "to": 58, "category": "Service", "type": "fct"},
        {"term": "Интерьер", "from": 60, "to": 68, "category": "Interior", "type": "explicit"},
    ]
    for a in aspects:
        assert text[a["from"] : a["to"]] == a["term"]
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"text": text, "aspects": aspects}, ensure_ascii=False) + "\n", encoding="utf-8")
    texts, labels, terms = aspect_sentences(path, ["Food", "Service", "Interior", "Price"])
    assert texts == ["Суп был холодный.", "Официант грубил, счёт принесли через час.", "Интерьер обычный."]
    assert labels == [["Food"], ["Service"], ["Interior"]]
    assert terms[1] == ["Service\tОфициант"]  # sentiment facts are not lexicon terms
    # a category outside the scored set is ignored, a sentence may have none
    texts, labels, _ = aspect_sentences(path, ["Price"])
    assert labels == [[], [], []]


def test_matrix_marks_the_named_columns() -> None:
    m = _matrix([["b"], [], ["a", "b"]], ["a", "b"])
    assert np.array_equal(m, np.array([[False, True], [False, False], [True, True]]))
