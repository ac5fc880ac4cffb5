"""A tiny randomly initialised BERT classifier and made-up feedback rows (no tests here)."""

from __future__ import annotations

import os
import random
from pathlib import Path

from voc_models.base import ModelInfo

# Tiny models on a shared 2-core machine: one intra-op thread is ~10x faster than two oversubscribed ones.
os.environ.setdefault("VOC_NUM_THREADS", "1")

POS = ["отличный", "быстрый", "вежливый", "удобный", "понятный", "спасибо", "доволен", "рекомендую"]
NEG = ["ужасный", "медленный", "грубый", "неудобный", "сломался", "жалоба", "обман", "недоволен"]
NOUNS = ["сервис", "оператор", "банк", "курьер", "приложение", "магазин", "тариф", "интернет"]


def made_up_rows(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Synthetic two-class feedback: the class is carried by the adjective."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = "positive" if i % 2 == 0 else "negative"
        word = rng.choice(POS if label == "positive" else NEG)
        filler = rng.sample(NOUNS, k=rng.randint(1, 4))
        texts.append(f"{' '.join(filler)} {word} {rng.choice(NOUNS)}")
        labels.append(label)
    return texts, labels


def build_tiny_model(model_dir: Path, labels: list[str], multilabel: bool = False, seed: int = 0) -> Path:
    """A 2-layer, hidden-32 BERT classifier with a WordPiece vocab trained here; saved as an HF dir."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from voc_training.tokenizer import build_wordpiece, save_hf_tokenizer

    texts, _ = made_up_rows(300, seed=1)
    tok = build_wordpiece(texts + ["Ёжик ест йогурт. Второе предложение здесь!"], vocab_size=300, min_frequency=1)
    save_hf_tokenizer(tok, model_dir)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=len(labels),
                        id2label=dict(enumerate(labels)), label2id={lab: i for i, lab in enumerate(labels)},
                        problem_type="multi_label_classification" if multilabel else "single_label_classification")
    BertForSequenceClassification(config).save_pretrained(model_dir)
    ModelInfo(name="tiny", version="test", task="emotions" if multilabel else "sentiment", kind="hf",
              labels=labels, multilabel=multilabel).write(model_dir)
    return model_dir


LABELS3 = ["negative", "neutral", "positive"]
TEXTS = ["курьер грубый и медленный", "отличный сервис, спасибо!", "банк", "",
         "приложение удобный. оператор вежливый. тариф ужасный", "курьер грубый и медленный"]
