"""Distillation of the multi-task teacher: unlabelled-text selection without evaluation texts, the cached soft
outputs, and a tiny student (cut from the teacher's layers) that learns the teacher's answers."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from helpers.multitask import ROWS, _encoder

from voc_models.base import ModelInfo
from voc_models.multitask import MultiTaskRunner
from voc_training import multitask_distil
from voc_training.multitask import distil, train
from voc_training.multitask_data import HEADS, full_label_row

EXTRA = ["Банк заблокировал карту без объяснений, неделю жду ответа", "Доставили быстро, размер подошёл",
         "Оператор грубил и бросил трубку", "Отличное приложение, всё понятно", "Цены выросли, качество упало",
         "Курьер был вежлив, спасибо", "Опять списали комиссию за обслуживание", "Обычный магазин, ничего нового"]


def _gz(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def test_unlabelled_texts_drop_eval_and_labelled(tmp_path, monkeypatch):
    root = tmp_path / "datasets"
    _gz(root / "corpus" / "pretraining.txt.gz", ["строка вне диапазона номер один", *EXTRA[:4], "после"])
    _gz(root / "corpus" / "extra" / "product_reviews_sokol499.txt.gz", [*EXTRA[4:], EXTRA[4], "коротко"])
    (root / "sentiment" / "x").mkdir(parents=True)
    (root / "sentiment" / "x" / "test.csv").write_text(f"text,label\n\"{EXTRA[1]}\",negative\n", encoding="utf-8")
    (root / "topics" / "y").mkdir(parents=True)
    (root / "topics" / "y" / "cars_test.jsonl").write_text(json.dumps({"text": EXTRA[5]}, ensure_ascii=False) + "\n",
                                                           encoding="utf-8")
    monkeypatch.setattr(multitask_distil, "PRETRAINING_RANGES", {"p": (2, 5)})
    monkeypatch.setattr(multitask_distil, "_cxreal_eval_texts", lambda root: {EXTRA[6]})
    got = multitask_distil.unlabelled_texts(root, exclude={EXTRA[2]})
    texts = [t for _, t in got]
    assert EXTRA[1] not in texts and EXTRA[5] not in texts  # test / *_test files
    assert EXTRA[2] not in texts  # already a labelled row
    assert texts.count(EXTRA[4]) == 1 and "коротко" not in texts and "строка вне диапазона номер один" not in texts
    assert {s for s, _ in got} == {"corpus:p", "extra:product_reviews_sokol499"}
    assert EXTRA[6] not in texts  # a real-text CX eval text
    assert sorted(texts) == sorted([EXTRA[0], EXTRA[3], EXTRA[4], EXTRA[7]])


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A tiny 2-layer teacher trained long enough that its answers depend on the text."""
    base = tmp_path_factory.mktemp("distil")
    enc = _encoder(base / "enc")
    rows = [full_label_row(t, "test", s, e, tp, c, st) for t, s, e, tp, c, st in ROWS] * 2
    return train(enc, base / "teacher", rows=rows, epochs=25, batch_size=4, max_length=64, log_every=10_000,
                 threads=1, lr=1e-3, val_fraction=0)


def test_distil_end_to_end(teacher, tmp_path):
    labelled = [full_label_row(t, "test", s, e, tp, c, st) for t, s, e, tp, c, st in ROWS]
    items = [(r.source, r.text) for r in labelled] + [("extra:x", t) for t in EXTRA]
    cache = multitask_distil.cache_teacher(teacher, tmp_path / "cache", items, part_size=5, backend="torch")
    got_items, proba, meta = multitask_distil.load_cache(cache)
    assert got_items == items and list(meta["heads"]) == list(HEADS) and proba["sentiment"].shape == (14, 3)
    np.testing.assert_allclose(proba["sentiment"].sum(1), 1.0, atol=1e-5)
    # resumable: a second call reuses the parts; a different text list is refused
    multitask_distil.cache_teacher(teacher, tmp_path / "cache", items, part_size=5, backend="torch")
    with pytest.raises(ValueError, match="different text list"):
        multitask_distil.cache_teacher(teacher, tmp_path / "cache", items[:3], part_size=5, backend="torch")

    student = distil(teacher, cache, tmp_path / "student", layers=[0], alpha=1.0, temperature=1.0,
                     rows=labelled, epochs=60, batch_size=4, max_length=64, lr=2e-3, log_every=10_000,
                     threads=1, val_fraction=0)
    info = ModelInfo.read(student)
    hyper = info.training["hyperparameters"]
    assert info.name == "voc-multitask-student" and hyper["layers"] == [0]
    assert hyper["distil"]["alpha"] == 1.0 and hyper["distil"]["unlabelled"] == len(EXTRA)
    texts = [t for _, t in items]
    ref = MultiTaskRunner(teacher, backend="torch", device="cpu").proba(texts)
    out = MultiTaskRunner(student, backend="torch", device="cpu").proba(texts)
    assert MultiTaskRunner(student, backend="torch", device="cpu").net.encoder.config.num_hidden_layers == 1
    for head in ("sentiment", "cause", "journey_stage"):
        agree = float(np.mean(ref[head].argmax(1) == out[head].argmax(1)))
        assert agree >= 0.85, (head, agree)
    assert float(np.abs(ref["emotions"] - out["emotions"]).mean()) < 0.1


def test_partial_cache(teacher, tmp_path):
    items = [("extra:x", t) for t in EXTRA]
    cache = multitask_distil.cache_teacher(teacher, tmp_path / "cache", items, part_size=3, backend="torch")
    (cache / "proba.npy").unlink()
    (cache / "parts" / "00001.npy").unlink()
    with pytest.raises(FileNotFoundError):
        multitask_distil.load_cache(cache)
    got, proba, _ = multitask_distil.load_cache(cache, allow_partial=True)
    assert got == items[:3] and proba["topics"].shape == (3, len(HEADS["topics"][0]))


def test_kd_loss_masks_rows_without_teacher():
    import torch

    from voc_training.multitask import _loss

    torch.manual_seed(0)
    n = sum(len(labels) for labels, _ in HEADS.values())
    logits = tuple(torch.randn(3, len(labels)) for labels, _ in HEADS.values())
    soft = torch.rand(3, n)
    hard = {name: (torch.zeros(3, len(lab)), torch.zeros(3, len(lab))) if ml else torch.full((3,), -100)
            for name, (lab, ml) in HEADS.items()}
    both = _loss(logits, {**hard, "_soft": (soft, torch.tensor([True, False, True]))}, {}, (1.0, 2.0))
    garbage = soft.clone()
    garbage[1] = 0.5  # the unmarked row's soft targets do not count
    again = _loss(logits, {**hard, "_soft": (garbage, torch.tensor([True, False, True]))}, {}, (1.0, 2.0))
    assert float(both) > 0 and float(both) == pytest.approx(float(again))
    none = _loss(logits, {**hard, "_soft": (soft, torch.tensor([False, False, False]))}, {}, (1.0, 2.0))
    assert float(none) == 0.0
