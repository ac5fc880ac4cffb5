"""train_hf end to end on made-up rows with a tiny BERT built in the test; distillation on the same model."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from helpers.hf_tiny import build_tiny_model, made_up_rows


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("base"), ["a", "b"])


@pytest.fixture(scope="module")
def trained(base_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, float]:
    from voc_training.hf_finetune import train_hf

    texts, labels = made_up_rows(200)
    out = tmp_path_factory.mktemp("ft") / "model"
    t0 = time.time()
    info = train_hf("sentiment", texts, labels, ["negative", "positive"], False, base_dir, out,
                    epochs=6, batch_size=16, lr=3e-3, max_length=32, patience=3)
    return out, info, time.time() - t0


def test_train_hf_end_to_end(trained: tuple[Path, object, float]) -> None:
    from voc_models.base import ModelInfo
    from voc_models.hf import HFClassifier

    out, info, seconds = trained
    assert seconds < 60
    for name in ("config.json", "model.safetensors", "tokenizer.json", "voc_model.json", "README.md"):
        assert (out / name).is_file(), name
    saved = ModelInfo.read(out)
    assert saved.kind == "hf" and saved.labels == ["negative", "positive"] and not saved.multilabel
    assert len(saved.training["data_sha256"]) == 64
    assert saved.training["n_train"] == 180 and saved.training["n_val"] == 20
    assert saved.training["hyperparameters"]["lr"] == 3e-3
    assert "device" in saved.training["hardware"]
    assert saved.metrics["validation"]["macro_f1"] >= 0.9  # the class is one adjective: easy to learn
    clf = HFClassifier.load(out)
    texts, labels = made_up_rows(40, seed=99)
    accuracy = np.mean([p == y for p, y in zip(clf.predict(texts), labels, strict=True)])
    assert accuracy >= 0.85
    assert "macro_f1" in (out / "README.md").read_text(encoding="utf-8")


def test_train_hf_is_reproducible_fingerprint(trained: tuple[Path, object, float]) -> None:
    from voc_training.hf_finetune import fingerprint

    texts, labels = made_up_rows(200)
    _, info, _ = trained
    assert info.training["data_sha256"] == fingerprint(texts, [int(lab == "positive") for lab in labels])


def test_train_hf_multilabel(base_dir: Path, tmp_path: Path) -> None:
    from voc_models.hf import HFClassifier
    from voc_training.hf_finetune import train_hf

    texts, labels = made_up_rows(60)
    multi = [[lab] if i % 3 else [lab, "long"] for i, lab in enumerate(labels)]
    info = train_hf("emotions", texts, multi, ["negative", "positive", "long"], True, base_dir, tmp_path / "ml",
                    epochs=1, batch_size=16, max_length=32, class_weights=True)
    assert info.multilabel and "micro_f1" in info.metrics["validation"]
    proba = HFClassifier.load(tmp_path / "ml").predict_proba(texts[:5])
    assert proba.shape == (5, 3)


def test_train_hf_bad_labels_name_the_row(base_dir: Path, tmp_path: Path) -> None:
    from voc_training.hf_finetune import train_hf

    texts, labels = made_up_rows(20)
    labels[7] = "злость"
    with pytest.raises(ValueError, match=r"labels\[7\]: 'злость' is not in label_set"):
        train_hf("sentiment", texts, labels, ["negative", "positive"], False, base_dir, tmp_path / "x")
    with pytest.raises(ValueError, match="20 rows but labels has 19"):
        train_hf("sentiment", texts, labels[:19], ["negative", "positive"], False, base_dir, tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        train_hf("sentiment", texts, ["negative"] * 20, ["negative", "positive"], False, tmp_path, tmp_path / "x")


def test_distill_matches_teacher(trained: tuple[Path, object, float], base_dir: Path, tmp_path: Path) -> None:
    from voc_models.hf import HFClassifier
    from voc_training.distill import distill

    teacher = HFClassifier.load(trained[0])
    texts, _ = made_up_rows(120, seed=5)
    info = distill(teacher, base_dir, texts, tmp_path / "student", epochs=4, batch_size=16, lr=3e-3, max_length=32)
    assert info.training["teacher"] == teacher.version
    student = HFClassifier.load(tmp_path / "student")
    held_out, _ = made_up_rows(30, seed=7)
    agreement = np.mean(np.array(student.predict(held_out)) == np.array(teacher.predict(held_out)))
    assert agreement >= 0.8
    assert json.loads((tmp_path / "student" / "voc_model.json").read_text())["kind"] == "hf"
