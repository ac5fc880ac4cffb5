"""Side feature blocks (``voc_models.side``): a TF-IDF model fitted with a named dense block next to its n-grams
saves, loads and predicts through the registered provider; a missing or changed block is a clear error; voc's
``voc.cx-lexicon/1`` block gives the same rows from the pipeline's Docs as from raw texts (decision 82)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import entry_points

import numpy as np
import pytest

from voc.analyzers.base import LazyModel, TaskHead
from voc.analyzers.cause import CauseAnalyzer
from voc.analyzers.nlp import make_docs
from voc.analyzers.side_features import CX_LEXICON, CxLexiconFeatures
from voc.schema import Feedback, Findings
from voc_models import side
from voc_models.base import NONE_LABEL, ModelInfo
from voc_models.tfidf import TfidfClassifier

TOY = "tests.toy-digits/1"


class ParityBlock:
    """A toy block the n-grams cannot learn: the parity of the text's code points, and a constant."""

    names = ["odd", "one"]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([[float(_odd(t)), 1.0] for t in texts], dtype=np.float32)


def _odd(text: str) -> bool:
    return sum(map(ord, text)) % 2 == 1


@pytest.fixture(scope="module", autouse=True)
def _toy_block():
    side.register(TOY, ParityBlock)
    yield


WORDS = ["заказ", "сервис", "курьер", "приложение", "карта", "доставка", "банк", "отзыв", "деньги", "оператор"]


def _rows() -> tuple[list[str], list[str]]:
    texts = [f"{WORDS[i % 10]} {WORDS[(i * 3) % 10]} {WORDS[(i * 7) % 10]} {i}" for i in range(160)]
    return texts, ["odd" if _odd(t) else "even" for t in texts]


def _model(name: str = TOY) -> TfidfClassifier:
    info = ModelInfo(name="toy", version="1", task="cause", kind="tfidf", labels=[],
                     side_features={"name": name, "names": ParityBlock.names})
    return TfidfClassifier(info, C=10.0, min_df=1).fit(*_rows(), val_fraction=0.0)


def test_fit_save_load_predict_through_the_provider(tmp_path):
    model = _model()
    assert model.coef_ is not None and model.coef_.shape[1] == model.n_ngram_features + 2
    assert model.side_blocks() == [TOY] and model.info.training["side_features"] == TOY
    texts = ["заказ банк", "заказ банкк", "карта курьер деньги", "карта курьер деньгии", "оператор"]
    proba = model.predict_proba(texts)
    assert [model.labels[j] for j in proba.argmax(axis=1)] == ["odd" if _odd(t) else "even" for t in texts]
    # the side block's columns are fitted in the same regression: zero them and the parity no longer decides
    x = model.featurize(texts)
    x_no_side = x.tolil()
    x_no_side[:, model.n_ngram_features:] = 0
    assert not np.allclose(model.proba_from_features(x_no_side.tocsr()), proba)
    model.save(tmp_path / "m")
    loaded = TfidfClassifier.load(tmp_path / "m")
    assert loaded.info.side_features == {"name": TOY, "names": ParityBlock.names}
    np.testing.assert_allclose(loaded.predict_proba(texts), proba, rtol=1e-5)
    # evidence stays the n-grams', whether given featurize's matrix or not
    spans = loaded.explain_spans(texts, [0, 1, 0, 1, 0], top_k=2, features=loaded.featurize(texts))
    assert spans == loaded.explain_spans(texts, [0, 1, 0, 1, 0], top_k=2)
    for text, row in zip(texts, spans, strict=True):
        assert all(text[s.start:s.end] == s.text for s in row)
    # no additive n-gram shortcut for segments: the documents are scored as themselves
    seg = loaded.segment_proba(["заказ банк", "деньги"], [0, 0], ["заказ банк деньги"])
    np.testing.assert_allclose(seg.documents, loaded.predict_proba(["заказ банк деньги"]), rtol=1e-5)


def test_a_missing_or_changed_block_is_a_clear_error(tmp_path):
    model = _model()
    model.info = model.info.model_copy(update={"side_features": {"name": "nobody/1", "names": ParityBlock.names}})
    with pytest.raises(LookupError, match=r"side features 'nobody/1' are not registered"):
        model.predict_proba(["заказ"])
    model.info = model.info.model_copy(update={"side_features": {"name": TOY, "names": ["odd", "two"]}})
    with pytest.raises(ValueError, match=r"differ from the ones the model was trained on \(missing \['two'\]"):
        model.predict_proba(["заказ"])
    model.info = model.info.model_copy(update={"side_features": None})
    model.save(tmp_path / "m")
    with pytest.raises(ValueError, match="from the labels, vocabularies and side block"):
        TfidfClassifier.load(tmp_path / "m")
    with pytest.raises(ValueError, match="names no side_features"):
        TfidfClassifier(ModelInfo(name="t", version="1", task="cause", kind="tfidf", labels=[]), min_df=1).fit(
            *_rows(), side=np.zeros((160, 2)))


@pytest.fixture(scope="module")
def cx_block() -> CxLexiconFeatures:
    """voc's block, found the way a loaded model finds it: the ``voc_models.side_features`` entry point."""
    declared = list(entry_points(group=side.ENTRY_POINT_GROUP, name=CX_LEXICON))
    assert [ep.value for ep in declared] == ["voc.analyzers.side_features:CxLexiconFeatures"]
    block = side.get(CX_LEXICON)
    assert isinstance(block, CxLexiconFeatures)
    return block


TEXTS = ["Списали деньги дважды, в отделении не объяснили почему, оператор нагрубил",
         "Приложение банка вылетает при входе, перевод не проходит уже третий день",
         "Спасибо, карту доставили вовремя", "Ок."]


def test_cx_lexicon_block_is_the_default_lexicons_scores(cx_block):
    cx_block.clear_cache()
    x = cx_block(TEXTS)
    assert x.shape == (4, len(cx_block.names)) and x.dtype == np.float32
    assert cx_block([""]).shape == (1, len(cx_block.names)) and not cx_block([""]).any()
    assert len(set(cx_block.names)) == len(cx_block.names)
    cause, _ = CauseAnalyzer(model="lexicon").score(TEXTS)
    assert (x >= 0).all() and (x[:, cause.shape[1]:] <= 1.0 + 1e-6).all()
    np.testing.assert_allclose(x[:, :cause.shape[1]], cause, rtol=1e-5, atol=1e-6)
    col = {name: j for j, name in enumerate(cx_block.names)}
    assert x[1, col["cause:технический сбой"]] > 0 and x[0, col["cause:человеческий фактор"]] > 0
    assert any(x[1, j] > 0 for name, j in col.items() if name.startswith("topic:"))


def test_docs_handed_over_give_the_same_rows_as_raw_texts(cx_block):
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(TEXTS)]
    docs = make_docs(records, [Findings(feedback_id=r.id) for r in records])
    cx_block.clear_cache()
    fresh = cx_block(TEXTS)
    cx_block.clear_cache()
    from_docs = cx_block.from_docs(docs)
    np.testing.assert_array_equal(from_docs, fresh)
    np.testing.assert_array_equal(cx_block(TEXTS), fresh)  # served from the remembered rows


def test_task_head_hands_the_docs_to_the_block(monkeypatch):
    """A cause head reading ``voc.cx-lexicon/1`` through ``TaskHead.proba(records, docs)``: the block sees the
    pipeline's Docs (no second lemmatisation) and the probabilities equal a stand-alone prediction."""
    block = CxLexiconFeatures()
    texts = [*TEXTS[:3]] * 10
    labels = ["человеческий фактор", "технический сбой", NONE_LABEL] * 10
    info = ModelInfo(name="cause-side", version="1", task="cause", kind="tfidf", labels=[],
                     side_features={"name": CX_LEXICON, "names": block.names})
    model = TfidfClassifier(info, C=1.0, min_df=1).fit(texts, labels, side=block(texts), val_fraction=0.0)
    head = TaskHead(LazyModel.of(model), "cause", ["человеческий фактор", "технический сбой", "другое"])
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(TEXTS)]
    docs = make_docs(records, [Findings(feedback_id=r.id) for r in records])
    shared = side.get(CX_LEXICON)
    shared.clear_cache()
    seen: list[int] = []
    original = shared.from_docs
    monkeypatch.setattr(shared, "from_docs", lambda ds: seen.append(len(ds)) or original(ds))
    with_docs = head.proba(records, docs)
    assert seen == [len(records)]
    shared.clear_cache()
    np.testing.assert_allclose(with_docs, head.proba(records), rtol=1e-6)


def test_training_info_counts_the_side_columns():
    model = _model()
    assert model.info.training["n_features"] == model.coef_.shape[1] == model.n_ngram_features + 2
