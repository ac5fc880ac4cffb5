"""Train a WordPiece tokenizer (HF ``tokenizers``) for the in-project Russian BERT.

Default corpus: ``<datasets>/corpus/pretraining.txt.gz`` read in place (datasets dir: env ``VOC_DATASETS_DIR``,
else ``../shared/datasets`` relative to the repo root). Vocabulary 30 000 word pieces: the size of the
original BERT-base/ruBERT vocabularies (rubert-tiny2 uses 83k, which costs 21M parameters of embeddings at
hidden 256; 30k keeps a compact model under ~15M parameters while covering frequent Russian word forms whole).

Normalisation: lower-case, **no accent stripping** (BERT's default strip would turn "й" into "и" and
"ё" into "е", merging different words), BERT pre-tokenisation (whitespace + punctuation split).

    python -m voc_training.tokenizer --out runs/tokenizer --vocab-size 30000
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def datasets_dir() -> Path:
    """The shared datasets folder: ``VOC_DATASETS_DIR`` or ``../shared/datasets`` next to the repo."""
    env = os.environ.get("VOC_DATASETS_DIR")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "datasets")


def default_corpus() -> Path:
    return datasets_dir() / "corpus" / "pretraining.txt.gz"


def read_lines(path: str | Path, max_lines: int | None = None) -> Iterator[str]:
    """Non-empty lines of a ``.txt`` / ``.txt.gz`` file (one document per line), read lazily."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"corpus file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    n = 0
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            yield line
            n += 1
            if max_lines is not None and n >= max_lines:
                return


def build_wordpiece(texts: Iterable[str], vocab_size: int = 30_000, min_frequency: int = 2,
                    lowercase: bool = True) -> object:
    """Train a BERT-style WordPiece ``tokenizers.Tokenizer`` on an iterable of texts."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=False, lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                        special_tokens=SPECIAL_TOKENS, continuing_subword_prefix="##")
    tok.train_from_iterator(texts, trainer=trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    return tok


def save_hf_tokenizer(tok: object, out_dir: str | Path, model_max_length: int = 512) -> Path:
    """Wrap a ``tokenizers.Tokenizer`` as a transformers fast tokenizer and save it (AutoTokenizer-loadable)."""
    from transformers import PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=model_max_length)
    fast.save_pretrained(out_dir)
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])  # type: ignore[attr-defined]
    (out_dir / "vocab.txt").write_text("".join(f"{t}\n" for t, _ in vocab), encoding="utf-8")
    return out_dir


def train_tokenizer(out_dir: str | Path, corpus: str | Path | None = None, *, vocab_size: int = 30_000,
                    min_frequency: int = 2, max_lines: int | None = None, lowercase: bool = True) -> Path:
    """Train on the corpus file (default: the shared pre-training corpus) and save an HF tokenizer dir."""
    tok = build_wordpiece(read_lines(corpus or default_corpus(), max_lines), vocab_size, min_frequency, lowercase)
    return save_hf_tokenizer(tok, out_dir)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m voc_training.tokenizer", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="output tokenizer directory")
    ap.add_argument("--corpus", type=Path, default=None, help="text or .gz file, one document per line "
                    "(default: <datasets>/corpus/pretraining.txt.gz)")
    ap.add_argument("--vocab-size", type=int, default=30_000)
    ap.add_argument("--min-frequency", type=int, default=2)
    ap.add_argument("--max-lines", type=int, default=None, help="read only the first N documents")
    ap.add_argument("--cased", action="store_true", help="keep case (default: lower-case)")
    args = ap.parse_args(argv)
    t0 = time.time()
    try:
        out = train_tokenizer(args.out, args.corpus, vocab_size=args.vocab_size, min_frequency=args.min_frequency,
                              max_lines=args.max_lines, lowercase=not args.cased)
    except FileNotFoundError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"tokenizer saved to {out} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
