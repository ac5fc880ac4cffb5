"""One model contract for every analyzer: no model-class branches, default occlusion evidence as spans."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voc.schema import DialogTurn, Feedback
from voc_models.base import ModelInfo, TextClassifier, TextFeatures
from voc_models.evidence import plan_occlusion, select_spans

ANALYZERS = Path(__file__).resolve().parents[1] / "voc" / "analyzers"


def test_no_model_class_branches_in_analyzers():
    for path in ANALYZERS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"isinstance\([^)]*TfidfClassifier", source), path
        assert "voc_models.tfidf" not in source, f"{path} imports a model class; use the TextClassifier contract"


class KeywordModel(TextClassifier):
    """negative/positive from keywords: a text with «ужас» is negative (a model any test can reason about)."""

    def __init__(self) -> None:
        self.info = ModelInfo(name="kw", version="1", task="sentiment", kind="test",
                              labels=["negative", "neutral", "positive"])
        self.calls: list[list[str]] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.tile([0.1, 0.8, 0.1], (len(texts), 1))
        for i, t in enumerate(texts):
            if "ужас" in t.lower():
                out[i] = [0.9, 0.05, 0.05]
        return out

    def save(self, model_dir):  # pragma: no cover - not needed
        raise NotImplementedError


def test_default_contract_featurize_and_segments():
    m = KeywordModel()
    feats = m.featurize(["ужас", "ок", "ужасно"])
    assert isinstance(feats, TextFeatures) and feats[[2, 0]].texts == ["ужасно", "ужас"]
    assert m.proba_from_features(feats[[1]]).argmax(1).tolist() == [1]
    scored = m.segment_proba(["Ужас.", "Всё ок."], [0, 0], ["Ужас. Всё ок."])
    assert scored.segments.argmax(1).tolist() == [0, 1] and scored.documents.argmax(1).tolist() == [0]


def test_sentence_occlusion_gives_spans_of_the_text():
    m = KeywordModel()
    text = "Курьер пришёл вовремя. Упаковка ужасная, всё помято. Спасибо."
    [spans] = m.explain_spans([text], [0], top_k=2)
    assert [s.text for s in spans] == ["Упаковка ужасная, всё помято."]
    assert text[spans[0].start : spans[0].end] == spans[0].text and spans[0].weight > 0.5


def test_one_sentence_texts_get_phrase_windows():
    m = KeywordModel()
    text = "Доставка была просто ужасной и курьер очень грубо со мной разговаривал"
    plan = plan_occlusion(text)
    assert 2 <= len(plan.spans) <= 12 and all(len(text[s:e].split()) <= 4 for s, e in plan.spans)
    [spans] = m.explain_spans([text], [0], top_k=1)
    assert "ужасной" in spans[0].text and text[spans[0].start : spans[0].end] == spans[0].text
    assert len(spans[0].text.split()) <= 3
    long_text = " ".join(["слово"] * 200)
    assert len(plan_occlusion(long_text).spans) <= 12


def test_dialog_evidence_reads_client_turns_only():
    m = KeywordModel()
    turns = [DialogTurn(speaker="operator", text="Это ужас, извините."),
             DialogTurn(speaker="client", text="Всё хорошо. Только курьер опоздал.")]
    rec = Feedback(id="1", text="Это ужас, извините.\nВсё хорошо. Только курьер опоздал.", turns=turns, channel="chat")
    plan = plan_occlusion(rec.text, rec.client_spans())
    assert plan.view == rec.client_text()  # the model reads exactly what scored the document
    assert all(s >= len("Это ужас, извините.") for s, _ in plan.spans)
    [spans] = m.explain_spans([rec.text], [0], windows=[rec.client_spans()])
    assert spans == []  # the operator's «ужас» is never evidence


def test_select_spans_keeps_positive_non_overlapping_best_first():
    text = "abcdefghij"
    chosen = select_spans(text, [(0, 4), (2, 6), (6, 10)], np.array([0.3, 0.5, -0.1]), top_k=3)
    assert [(s.start, s.end, s.weight) for s in chosen] == [(2, 6, 0.5)]
