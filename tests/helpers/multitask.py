"""Test helper (no tests): a tiny multi-task model directory (random 2-layer BERT encoder, one short epoch).

``build_tiny_multitask(dir)`` trains every head for one epoch on a dozen made-up rows in a few seconds;
``force_head(dir, head, label)`` rewrites one head so it always answers ``label`` (deterministic tests).
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("VOC_NUM_THREADS", "1")

ROWS = [
    ("Курьер опоздал на три часа, никто не предупредил", "negative", ["раздражение/гнев"], ["доставка"],
     "ошибка процесса", "доставка"),
    ("Спасибо оператору, быстро решили вопрос с картой!", "positive", ["благодарность"], ["персонал"], "",
     "обслуживание/поддержка"),
    ("Приложение снова не открывается после обновления", "negative", ["разочарование/грусть"],
     ["приложение/сайт"], "технический сбой", ""),
    ("Оплата картой не прошла, деньги списали дважды", "negative", ["тревога/страх"], ["оплата"],
     "технический сбой", "оплата"),
    ("Нормально, ничего особенного", "neutral", [], [], "", ""),
    ("Вернули деньги за товар без проблем, рекомендую", "positive", ["радость/удовлетворение"], ["возврат"], "",
     "возврат"),
]


def _encoder(enc_dir: Path) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    from voc_training.tokenizer import build_wordpiece, save_hf_tokenizer

    corpus = [r[0] for r in ROWS] * 3 + ["query: опоздал курьер. Второе предложение здесь! ужасно плохо отлично"]
    tok = build_wordpiece(corpus, vocab_size=400, min_frequency=1)
    save_hf_tokenizer(tok, enc_dir)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=160)
    BertModel(config, add_pooling_layer=False).save_pretrained(enc_dir)
    return enc_dir


def build_tiny_multitask(out_dir: Path, *, onnx: bool = False) -> Path:
    """A trained (for one short epoch) multi-task directory; ``onnx`` adds model.int8.onnx."""
    from voc_training.multitask import export_onnx, train
    from voc_training.multitask_data import full_label_row

    enc = _encoder(out_dir.parent / f"{out_dir.name}-encoder")
    rows = [full_label_row(t, "test", s, e, tp, c, st) for t, s, e, tp, c, st in ROWS] * 2
    train(enc, out_dir, rows=rows, epochs=1, batch_size=4, max_length=64, log_every=1000, threads=1)
    if onnx:
        export_onnx(out_dir)
    return out_dir


def force_head(model_dir: Path, head: str, label: str | None, value: float = 8.0) -> None:
    """Make ``head`` answer ``label`` for every text (weights 0, bias one-hot); label None: all logits equal."""
    from safetensors.torch import load_file, save_file

    from voc_models.base import ModelInfo
    from voc_models.multitask import HEADS_FILE

    info = ModelInfo.read(model_dir)
    labels = info.heads[head]["labels"]
    state = load_file(str(model_dir / HEADS_FILE))
    state[f"heads.{head}.weight"].zero_()
    bias = state[f"heads.{head}.bias"]
    bias.fill_(-value if info.heads[head]["multilabel"] else 0.0)
    if label is not None:
        bias[labels.index(label)] = value
    save_file(state, str(model_dir / HEADS_FILE))


def reset_runners() -> None:
    """Forget loaded models and runners (after rewriting a model directory)."""
    from voc_models import multitask, registry

    registry.clear_cache()
    with multitask._RUNNERS_LOCK:
        multitask._RUNNERS.clear()
