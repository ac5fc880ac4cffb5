"""HFClassifier on a tiny randomly initialised BERT built inside the test (no downloads, no dataset text)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.hf_tiny import LABELS3, TEXTS, build_tiny_model


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny"), LABELS3)


def test_predict_proba_shapes_and_probabilities(tiny_dir: Path) -> None:
    from voc_models.hf import HFClassifier

    clf = HFClassifier.load(tiny_dir)
    proba = clf.predict_proba(TEXTS)
    assert proba.shape == (len(TEXTS), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert (proba >= 0).all()
    assert clf.predict(TEXTS)[0] in LABELS3
    assert clf.predict_proba([]).shape == (0, 3)


def test_batched_equals_one_by_one(tiny_dir: Path) -> None:
    """Length-sorted dynamic-padding batches give the same numbers as single-text calls."""
    from voc_models.hf import HFClassifier

    clf = HFClassifier.load(tiny_dir, batch_size=4, cache_size=0)
    together = clf.predict_proba(TEXTS)
    alone = np.vstack([clf.predict_proba([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_cache_hits_for_duplicates(tiny_dir: Path) -> None:
    from voc_models.hf import HFClassifier

    clf = HFClassifier.load(tiny_dir)
    calls: list[int] = []
    original = clf._forward

    def counting_forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        calls.append(ids.shape[0])
        return original(ids, mask)

    clf._forward = counting_forward  # type: ignore[method-assign]
    first = clf.predict_proba(["дубль", "дубль", "другой текст"])
    assert sum(calls) == 2  # the duplicate was computed once
    np.testing.assert_array_equal(first[0], first[1])
    again = clf.predict_proba(["другой текст", "дубль"])
    assert sum(calls) == 2 and clf.cache.hits >= 2
    np.testing.assert_array_equal(again[1], first[0])


def test_save_load_round_trip_identical(tiny_dir: Path, tmp_path: Path) -> None:
    from voc_models.hf import HFClassifier

    clf = HFClassifier.load(tiny_dir)
    clf.save(tmp_path / "copy")
    assert (tmp_path / "copy" / "model.safetensors").is_file() and (tmp_path / "copy" / "README.md").is_file()
    again = HFClassifier.load(tmp_path / "copy")
    assert again.info == clf.info
    np.testing.assert_array_equal(clf.predict_proba(TEXTS), again.predict_proba(TEXTS))


def test_multilabel_uses_sigmoid(tmp_path: Path) -> None:
    from voc_models.hf import HFClassifier

    labels = ["радость", "гнев", "страх", "грусть"]
    clf = HFClassifier.load(build_tiny_model(tmp_path / "ml", labels, multilabel=True))
    proba = clf.predict_proba(TEXTS)
    assert proba.shape == (len(TEXTS), 4)
    assert ((proba > 0) & (proba < 1)).all()
    assert not np.allclose(proba.sum(axis=1), 1.0)
    assert all(isinstance(p, list) for p in clf.predict(TEXTS))


def test_load_without_voc_model_json_reads_config_labels(tiny_dir: Path, tmp_path: Path) -> None:
    import shutil

    from voc_models.hf import HFClassifier

    plain = tmp_path / "plain"
    shutil.copytree(tiny_dir, plain)
    (plain / "voc_model.json").unlink()
    clf = HFClassifier.load(plain)
    assert clf.labels == LABELS3 and clf.multilabel is False


def test_bad_inputs_give_clear_errors(tiny_dir: Path, tmp_path: Path) -> None:
    from voc_models.hf import HFClassifier, ModelDirError

    clf = HFClassifier.load(tiny_dir)
    with pytest.raises(TypeError, match=r"texts\[1\]: expected str"):
        clf.predict_proba(["ок", None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="single str"):
        clf.predict_proba("один текст")
    with pytest.raises(ModelDirError, match="missing config.json"):
        HFClassifier.load(tmp_path)
    with pytest.raises(ModelDirError, match="not a directory"):
        HFClassifier.load(tmp_path / "nope")
    import shutil

    no_tok = tmp_path / "no_tokenizer"
    shutil.copytree(tiny_dir, no_tok)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        (no_tok / name).unlink()
    with pytest.raises(ModelDirError, match="cannot load the tokenizer"):
        HFClassifier.load(no_tok)


def test_explain_returns_words_or_sentences_of_the_text(tiny_dir: Path) -> None:
    from voc_models.hf import HFClassifier

    clf = HFClassifier.load(tiny_dir)
    texts = ["курьер грубый и медленный", "Приложение удобный. Оператор вежливый. Тариф ужасный."]
    labels = clf.predict_proba(texts).argmax(axis=1).tolist()
    evidence = clf.explain(texts, labels, top_k=2)
    assert len(evidence) == 2
    for text, ev in zip(texts, evidence, strict=True):
        assert len(ev) <= 2
        for phrase, weight in ev:
            assert phrase in text and weight > 0
    # at least one of the two methods finds something on a random model
    assert any(evidence)
