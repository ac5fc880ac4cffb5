"""ONNX export parity with the PyTorch outputs.

Tolerances (absolute, on probabilities): fp32 ONNX 1e-4; int8 dynamic quantisation 0.05.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.hf_tiny import LABELS3, build_tiny_model

FP32_ATOL = 1e-4
INT8_ATOL = 0.05
TEXTS = ["курьер грубый и медленный", "отличный сервис, спасибо!", "банк", "",
         "приложение удобный. оператор вежливый. тариф ужасный " * 3, "да"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from voc_models.hf import HFClassifier

    base = tmp_path_factory.mktemp("onnx")
    model_dir = build_tiny_model(base / "hf", LABELS3, seed=3)
    clf = HFClassifier.load(model_dir)
    clf.export_onnx(base / "onnx", quantize_int8=True)
    return model_dir, base / "onnx"


def test_onnx_fp32_and_int8_parity(exported: tuple[Path, Path]) -> None:
    from voc_models.base import ModelInfo
    from voc_models.hf import HFClassifier, OnnxClassifier

    model_dir, onnx_dir = exported
    torch_proba = HFClassifier.load(model_dir, cache_size=0).predict_proba(TEXTS)
    info = ModelInfo.read(onnx_dir)
    assert info.kind == "onnx" and info.training["onnx"]["file"] == "model.int8.onnx"
    fp32 = OnnxClassifier.load(onnx_dir, int8=False).predict_proba(TEXTS)
    int8 = OnnxClassifier.load(onnx_dir).predict_proba(TEXTS)
    np.testing.assert_allclose(fp32, torch_proba, atol=FP32_ATOL)
    np.testing.assert_allclose(int8, torch_proba, atol=INT8_ATOL)
    assert fp32.shape == int8.shape == (len(TEXTS), 3)


def test_onnx_save_copy_and_explain(exported: tuple[Path, Path], tmp_path: Path) -> None:
    from voc_models.hf import OnnxClassifier

    _, onnx_dir = exported
    clf = OnnxClassifier.load(onnx_dir)
    clf.save(tmp_path / "copy")
    again = OnnxClassifier.load(tmp_path / "copy")
    np.testing.assert_array_equal(clf.predict_proba(TEXTS), again.predict_proba(TEXTS))
    ev = clf.explain(["Оператор вежливый. Тариф ужасный."], [0])
    assert all(phrase in "Оператор вежливый. Тариф ужасный." for phrase, _ in ev[0])


def test_onnx_load_rejects_hf_dir(exported: tuple[Path, Path]) -> None:
    from voc_models.hf import ModelDirError, OnnxClassifier

    model_dir, _ = exported
    with pytest.raises(ModelDirError, match="expected 'onnx'"):
        OnnxClassifier.load(model_dir)


def test_registry_dispatches_hf_and_onnx(exported: tuple[Path, Path]) -> None:
    from voc_models.hf import HFClassifier, OnnxClassifier
    from voc_models.registry import clear_cache, load_model

    model_dir, onnx_dir = exported
    clear_cache()
    assert isinstance(load_model(model_dir), HFClassifier)
    assert isinstance(load_model(onnx_dir), OnnxClassifier)
    clear_cache()
