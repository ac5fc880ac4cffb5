"""A shipped (ONNX int8 only) encoder made trainable again (``voc_training.recover``), and the end-to-end CX
fine-tune that starts from it (``voc_training.cxlabels.finetune``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers.multitask import ROWS, build_tiny_multitask

from voc_models.base import ModelInfo
from voc_models.multitask import ONNX_INT8_FILE, MultiTaskRunner
from voc_training.cxlabels import finetune as ft
from voc_training.multitask import export_onnx, ship
from voc_training.multitask_data import Row, full_label_row
from voc_training.recover import RecoverError, onnx_state_dict, recover

pytestmark = pytest.mark.slow

TEXTS = [r[0] for r in ROWS] + ["Совсем другой текст про карту и кредит", "Ок"]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Path:
    """A tiny trained model, exported and shipped: only the int8 graph, tokenizer, config and info."""
    base = tmp_path_factory.mktemp("recover")
    trained = build_tiny_multitask(base / "trained", onnx=True)
    return ship(trained, base / "shipped")


def test_recovered_weights_are_the_served_ones(shipped, tmp_path):
    assert not (shipped / "model.safetensors").exists()
    report = recover(shipped, tmp_path / "rec")
    assert report["tensors"] > 20 and all(v == 1.0 for v in report["argmax_agreement"].values())
    info = ModelInfo.read(tmp_path / "rec")
    assert info.kind == "multitask" and info.training["recovered_from"]["directory"] == str(shipped)
    assert info.heads == ModelInfo.read(shipped).heads  # labels and tuned thresholds kept
    # exported again, the recovered weights quantise to the very same integers: identical outputs
    again = Path(shutil.copytree(tmp_path / "rec", tmp_path / "again"))
    export_onnx(again)
    a = MultiTaskRunner(shipped, backend="onnx").proba(TEXTS)
    b = MultiTaskRunner(again, backend="onnx").proba(TEXTS)
    for head in a:
        np.testing.assert_allclose(a[head], b[head], atol=1e-6)


def test_recovered_linear_weights_match_the_trained_ones(shipped):
    """Dequantised per-channel int8 weights sit within half a quantisation step of the trained fp32 ones."""
    from safetensors.numpy import load_file

    trained = shipped.parent / "trained"
    original = {**load_file(str(trained / "model.safetensors")), **load_file(str(trained / "heads.safetensors"))}
    state = onnx_state_dict(shipped / ONNX_INT8_FILE)
    query = "encoder.encoder.layer.0.attention.self.query.weight"
    key = next(k for k in original if k.endswith("layer.0.attention.self.query.weight"))
    w, got = original[key], state[query]
    step = np.abs(w).max(axis=1, keepdims=True) / 127  # symmetric per output channel
    assert got.shape == w.shape and np.all(np.abs(got - w) <= step / 2 + 1e-7)
    np.testing.assert_allclose(state["heads.cause.bias"], original["heads.cause.bias"])


def test_recover_refuses_what_it_cannot_read(tmp_path, shipped):
    with pytest.raises(RecoverError, match="missing model.int8.onnx"):
        recover(tmp_path, tmp_path / "out")
    broken = Path(shutil.copytree(shipped, tmp_path / "broken"))
    (broken / "voc_model.json").write_text(
        (broken / "voc_model.json").read_text(encoding="utf-8").replace('"heads": {', '"heads": {"extra": '
                                                                        '{"labels": ["a", "b"], "multilabel": false, '
                                                                        '"threshold": 0.5}, ', 1), encoding="utf-8")
    with pytest.raises(RecoverError, match="no weights for"):
        recover(broken, tmp_path / "out2", check=False)


def _rows() -> list[Row]:
    cx = [full_label_row(t, "cxreal", s, e, tp, c, st) for t, s, e, tp, c, st in ROWS]
    general = [Row(f"{t} ({k})", "sentirueval", single={"sentiment": 0}) for k in range(3) for t, *_ in ROWS]
    return cx + general


def test_split_rows_keeps_every_cx_row_and_samples_the_rest():
    rows = _rows()
    cx, sample = ft.split_rows(rows, general=5, seed=1)
    assert len(cx) == len(ROWS) and all(r.source == "cxreal" for r in cx)
    assert len(sample) == 5 and all(r.source == "sentirueval" for r in sample)
    assert [r.text for r in ft.split_rows(rows, general=5, seed=1)[1]] == [r.text for r in sample]  # fixed draw


def test_finetune_from_a_recovered_model(shipped, tmp_path, monkeypatch):
    rec = tmp_path / "rec"
    recover(shipped, rec, check=False)
    monkeypatch.setattr(ft, "build_rows", _rows)
    out = ft.finetune(rec, tmp_path / "cx", teacher=shipped, general=6, epochs=2, batch_size=4, max_length=64,
                      threads=1, val_fraction=0, log_every=1000)
    info = ModelInfo.read(out)
    hyper = info.training["hyperparameters"]
    assert info.name == "voc-multitask-cx" and hyper["finetune"]["general_rows"] == 6
    assert hyper["finetune"]["teacher"] == str(shipped) and hyper["source_weights"]["cxreal"] == 4.0
    probs = MultiTaskRunner(out, backend="torch", device="cpu").proba(TEXTS)
    assert probs["cause"].shape == (len(TEXTS), len(info.heads["cause"]["labels"]))


def test_attach_teacher_refuses_other_heads(shipped, tmp_path):
    other = Path(shutil.copytree(shipped, tmp_path / "other"))
    info = ModelInfo.read(other)
    info.heads["cause"]["labels"] = list(reversed(info.heads["cause"]["labels"]))
    info.write(other)
    with pytest.raises(ValueError, match="differ from the training heads"):
        ft.attach_teacher(_rows()[:2], other)
