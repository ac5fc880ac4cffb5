"""Tokenizer training, MLM masking and a few pretraining steps on made-up text (no shared corpus needed)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from helpers.hf_tiny import made_up_rows
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow  # whole file: left out of the fast lane (make test-fast)

SENTENCES = made_up_rows(300, seed=2)[0] + ["Ёжик ест йогурт и чай.", "Мой тариф — ужас!"]


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(SENTENCES + ["", "   "]) + "\n")
    return path


@pytest.fixture(scope="module")
def tokenizer_dir(corpus_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from voc_training.tokenizer import train_tokenizer

    return train_tokenizer(tmp_path_factory.mktemp("tok"), corpus_file, vocab_size=200, min_frequency=1)


def test_read_lines_skips_blank_and_limits(corpus_file: Path) -> None:
    from voc_training.tokenizer import read_lines

    lines = list(read_lines(corpus_file))
    assert len(lines) == len(SENTENCES) and all(lines)
    assert len(list(read_lines(corpus_file, max_lines=5))) == 5
    with pytest.raises(FileNotFoundError, match="corpus file not found"):
        list(read_lines(corpus_file.parent / "missing.txt"))


def test_tokenizer_loads_with_autotokenizer_and_keeps_yo_and_short_i(tokenizer_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    assert tok.pad_token_id == 0 and tok.mask_token is not None
    pieces = tok.convert_ids_to_tokens(tok("Ёжик ест йогурт")["input_ids"])
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]"
    joined = "".join(p.removeprefix("##") for p in pieces[1:-1])
    assert "ё" in joined and "й" in joined  # no accent stripping: й/ё survive lower-casing
    assert (tokenizer_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()[:5] == [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 20), st.floats(0.05, 0.9), st.integers(0, 10_000))
def test_mask_tokens_properties(batch: int, width: int, prob: float, seed: int) -> None:
    import torch

    from voc_training.pretrain import mask_tokens

    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 50, (batch, width), generator=gen)
    special = torch.zeros_like(ids, dtype=torch.bool)
    special[:, 0] = True
    inputs, labels = mask_tokens(ids, special, mask_id=4, vocab_size=50, prob=prob, gen=gen)
    chosen = labels != -100
    assert not chosen[special].any()  # special tokens are never masked
    assert (labels[chosen] == ids[chosen]).all()  # labels hold the original ids
    assert (inputs[~chosen] == ids[~chosen]).all()  # unchosen positions are untouched
    assert inputs.shape == ids.shape


def test_pretrain_few_steps_saves_hf_dir(tokenizer_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForMaskedLM

    from voc_training.pretrain import PretrainConfig, pretrain

    cfg = PretrainConfig(layers=1, hidden=32, heads=2, max_length=32, batch_size=16, lr=3e-3, max_steps=12,
                         log_every=4, corpus=[str(corpus_file)], seed=1)
    summary = pretrain(tokenizer_dir, tmp_path / "mlm", cfg)
    assert summary["steps"] == 12 and summary["tokens_seen"] > 0
    assert summary["eval_mlm_loss_after"] < summary["eval_mlm_loss_before"]
    log = [json.loads(x) for x in (tmp_path / "mlm" / "pretrain_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [4, 8, 12]
    model = AutoModelForMaskedLM.from_pretrained(tmp_path / "mlm", local_files_only=True)
    assert model.config.num_hidden_layers == 1
    # the MLM checkpoint is a valid base for fine-tuning
    from voc_training.hf_finetune import train_hf

    texts, labels = made_up_rows(40)
    info = train_hf("sentiment", texts, labels, ["negative", "positive"], False, tmp_path / "mlm", tmp_path / "ft",
                    epochs=1, batch_size=16, max_length=32)
    assert info.training["base_model"].endswith("mlm")


def test_read_corpus_csv_needs_text_column(tmp_path: Path) -> None:
    from voc_training.pretrain import read_corpus

    good = tmp_path / "good.csv"
    good.write_text("text,label\nпервый текст,a\n,b\nвторой,c\n", encoding="utf-8")
    assert read_corpus([good]) == ["первый текст", "второй"]
    bad = tmp_path / "bad.csv"
    bad.write_text("body\nтекст\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no 'text' column"):
        read_corpus([bad])


def test_cli_help_runs() -> None:
    from voc_training import pretrain, tokenizer

    for module in (tokenizer, pretrain):
        with pytest.raises(SystemExit) as exc:
            module.main(["--help"])
        assert exc.value.code == 0
