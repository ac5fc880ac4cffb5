"""Masked-LM pretraining of a compact BERT (HF ``BertForMaskedLM``) with a wall-clock budget.

* architecture from arguments (default 4 layers, hidden 256, 4 heads, FFN 1024, 128 positions: ~11M
  parameters with a 30k vocabulary — rubert-tiny size);
* corpus: the shared ``corpus/pretraining.txt.gz`` (read in place) and/or any ``.txt``/``.txt.gz``/``.csv``
  (``text`` column) files — the latter is how continued MLM on task texts is done (``--init-from``);
* optional navec initialisation: word pieces that are whole words in navec (300-d, shipped inside the
  ``natasha`` wheel) get their vector projected to the hidden size with PCA and rescaled to BERT's init std;
* LR: linear warm-up then linear decay over ``--max-steps``, or over the time budget ``--max-minutes``;
* 15 % masking (80 % [MASK], 10 % random, 10 % kept), dynamic padding with length bucketing, fixed seeds,
  bf16 autocast on a GPU; the loss is logged to ``pretrain_log.jsonl``; a held-out slice of the corpus
  (500 lines, never trained on) gives the MLM loss before and after.

    python -m voc_training.pretrain --tokenizer runs/tokenizer --out runs/bert-mlm --max-minutes 8
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voc_training.tokenizer import default_corpus, read_lines

EVAL_LINES = 500


@dataclass
class PretrainConfig:
    """Hyper-parameters of one pretraining run (all recorded in ``pretrain_summary.json``)."""

    layers: int = 4
    hidden: int = 256
    heads: int = 4
    intermediate: int | None = None
    max_length: int = 128
    batch_size: int = 64
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    max_minutes: float = 10.0
    max_steps: int | None = None
    seed: int = 13
    mlm_probability: float = 0.15
    navec_init: bool = False
    max_lines: int | None = None
    log_every: int = 50
    corpus: list[str] = field(default_factory=list)
    init_from: str | None = None


def read_corpus(paths: Sequence[str | Path], max_lines: int | None = None) -> list[str]:
    """Documents of text files (one per line, ``.gz`` ok) and CSV files (``text`` column)."""
    docs: list[str] = []
    for p in paths:
        path = Path(p)
        if path.suffix == ".csv":
            if not path.is_file():
                raise FileNotFoundError(f"corpus file not found: {path}")
            with path.open(encoding="utf-8", newline="") as f:
                reader = csv.DictReader(f)
                if "text" not in (reader.fieldnames or []):
                    raise ValueError(f"{path}: CSV has no 'text' column (columns: {reader.fieldnames})")
                docs += [row["text"].strip() for row in reader if row["text"].strip()]
        else:
            docs += list(read_lines(path))
    if max_lines is not None:
        rng = np.random.default_rng(0)
        docs = [docs[i] for i in sorted(rng.permutation(len(docs))[:max_lines])]
    return docs


def navec_path() -> Path:
    """The navec news embeddings file inside the installed ``natasha`` package (no download)."""
    spec = importlib.util.find_spec("natasha")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("natasha is not installed; navec initialisation needs its bundled embeddings")
    hits = sorted(Path(next(iter(spec.submodule_search_locations))).glob("data/emb/navec*.tar"))
    if not hits:
        raise FileNotFoundError("no navec*.tar inside the natasha package")
    return hits[0]


def navec_init(embeddings: Any, vocab: dict[str, int], hidden: int, std: float = 0.02) -> int:
    """Overwrite rows of whole-word pieces with PCA-projected navec vectors; returns how many rows were set."""
    import torch
    from navec import Navec
    from sklearn.decomposition import PCA

    navec = Navec.load(str(navec_path()))
    rows, vecs = [], []
    for piece, idx in vocab.items():
        if piece.startswith("##") or not piece.isalpha() or len(piece) < 2 or piece not in navec:
            continue
        rows.append(idx)
        vecs.append(navec[piece])
    if len(rows) <= hidden:
        return 0
    mat = np.asarray(vecs, dtype=np.float32)
    n_comp = min(hidden, mat.shape[1])
    proj = PCA(n_components=n_comp, random_state=0).fit_transform(mat)
    if n_comp < hidden:
        proj = np.pad(proj, ((0, 0), (0, hidden - n_comp)))
    proj = proj / (proj.std() + 1e-8) * std
    with torch.no_grad():
        embeddings.weight[torch.tensor(rows)] = torch.from_numpy(proj.astype(np.float32))
    return len(rows)


def mask_tokens(ids: Any, special: Any, mask_id: int, vocab_size: int, prob: float, gen: Any) -> tuple[Any, Any]:
    """BERT masking: choose ``prob`` of the non-special tokens; 80 % → [MASK], 10 % random, 10 % unchanged.
    Returns (inputs, labels) with labels -100 where not chosen."""
    import torch

    labels = ids.clone()
    chosen = (torch.rand(ids.shape, generator=gen) < prob) & ~special
    labels[~chosen] = -100
    inputs = ids.clone()
    to_mask = chosen & (torch.rand(ids.shape, generator=gen) < 0.8)
    inputs[to_mask] = mask_id
    to_random = chosen & ~to_mask & (torch.rand(ids.shape, generator=gen) < 0.5)
    inputs[to_random] = torch.randint(vocab_size, ids.shape, generator=gen)[to_random]
    return inputs, labels


def _batches(docs: list[str], tokenizer: Any, batch_size: int, max_length: int, rng: np.random.Generator) -> Iterator[list[list[int]]]:
    """Endless stream of length-bucketed batches of token ids (reshuffled every pass)."""
    while True:
        order = rng.permutation(len(docs))
        chunk = batch_size * 50
        for start in range(0, len(order), chunk):
            part = [docs[i] for i in order[start : start + chunk]]
            ids = tokenizer(part, truncation=True, max_length=max_length)["input_ids"]
            ids.sort(key=len)
            batches = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]
            for j in rng.permutation(len(batches)):
                yield batches[j]


def _tensors(rows: Sequence[Sequence[int]], pad_id: int, special_ids: set[int]) -> tuple[Any, Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    attention = (ids != pad_id).long()
    special = torch.zeros_like(ids, dtype=torch.bool)
    for sid in special_ids:
        special |= ids == sid
    return ids, attention, special


def mlm_loss(model: Any, tokenizer: Any, docs: list[str], cfg: PretrainConfig, device: Any) -> float:
    """Mean masked-LM loss on ``docs`` with a fixed masking seed (comparable between checkpoints)."""
    import torch

    gen = torch.Generator().manual_seed(1234)
    special_ids = set(tokenizer.all_special_ids)
    model.eval()
    total, n = 0.0, 0
    ids_all = tokenizer(docs, truncation=True, max_length=cfg.max_length)["input_ids"]
    with torch.inference_mode():
        for start in range(0, len(ids_all), 64):
            ids, att, special = _tensors(ids_all[start : start + 64], tokenizer.pad_token_id, special_ids)
            inputs, labels = mask_tokens(ids, special, tokenizer.mask_token_id, len(tokenizer), cfg.mlm_probability, gen)
            k = int((labels != -100).sum())
            if k == 0:
                continue
            loss = mlm_forward(model, inputs.to(device), att.to(device), labels.to(device))
            total += float(loss) * k
            n += k
    model.train()
    return total / max(n, 1)


def mlm_forward(model: Any, input_ids: Any, attention_mask: Any, labels: Any) -> Any:
    """Masked-LM loss computing the vocabulary projection only at masked positions (~15 % of tokens):
    the 30k-way output layer is the largest cost of a compact BERT, so this roughly halves a step."""
    import torch.nn.functional as F

    hidden = model.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    chosen = labels != -100
    logits = model.cls(hidden[chosen])
    return F.cross_entropy(logits.float(), labels[chosen])


def build_model(cfg: PretrainConfig, tokenizer: Any) -> Any:
    """A fresh BertForMaskedLM sized by ``cfg`` (or the ``init_from`` checkpoint for continued MLM)."""
    from transformers import BertConfig, BertForMaskedLM

    if cfg.init_from:
        return BertForMaskedLM.from_pretrained(cfg.init_from, local_files_only=True)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=cfg.hidden, num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads, intermediate_size=cfg.intermediate or 4 * cfg.hidden,
        max_position_embeddings=max(cfg.max_length, 128), pad_token_id=tokenizer.pad_token_id)
    return BertForMaskedLM(config)


def pretrain(tokenizer_dir: str | Path, out_dir: str | Path, cfg: PretrainConfig) -> dict[str, Any]:
    """Run MLM pretraining until ``max_steps`` or ``max_minutes``; save an HF directory; return the summary."""
    import torch
    from transformers import AutoTokenizer

    from voc_models.fast_inference import tune_torch_threads
    from voc_training.hf_finetune import hardware, set_seed

    t0 = time.time()
    tune_torch_threads()
    set_seed(cfg.seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = Path(cfg.init_from or tokenizer_dir)
    if not (source / "tokenizer.json").is_file():
        raise FileNotFoundError(f"no tokenizer.json in {source} (train one with python -m voc_training.tokenizer)")
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    docs = read_corpus(cfg.corpus or [default_corpus()], cfg.max_lines)
    if len(docs) < 10:
        raise ValueError(f"corpus has only {len(docs)} documents")
    rng = np.random.default_rng(cfg.seed)
    perm = rng.permutation(len(docs))
    n_eval = min(EVAL_LINES, len(docs) // 10)
    eval_docs = [docs[i] for i in perm[:n_eval]]
    train_docs = [docs[i] for i in perm[n_eval:]]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    model = build_model(cfg, tokenizer)
    navec_rows = 0
    if cfg.navec_init and not cfg.init_from:
        navec_rows = navec_init(model.get_input_embeddings(), tokenizer.get_vocab(), model.config.hidden_size)
    model.to(device).train()
    eval_before = mlm_loss(model, tokenizer, eval_docs, cfg, device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    special_ids = set(tokenizer.all_special_ids)
    budget_s = cfg.max_minutes * 60
    log_path = out_dir / "pretrain_log.jsonl"
    log_f = log_path.open("w", encoding="utf-8")
    step, tokens_seen, running = 0, 0, []
    t_train = time.time()
    for rows in _batches(train_docs, tokenizer, cfg.batch_size, cfg.max_length, rng):
        elapsed = time.time() - t_train
        frac = step / cfg.max_steps if cfg.max_steps else (elapsed / budget_s if budget_s > 0 else 1.0)
        if frac >= 1.0 or (not cfg.max_steps and elapsed >= budget_s):
            break
        warm = cfg.warmup_fraction
        scale = frac / warm if frac < warm else max(0.0, (1 - frac) / (1 - warm))
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * scale
        ids, att, special = _tensors(rows, tokenizer.pad_token_id, special_ids)
        inputs, labels = mask_tokens(ids, special, tokenizer.mask_token_id, len(tokenizer), cfg.mlm_probability, gen)
        if not bool((labels != -100).any()):
            continue
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = mlm_forward(model, inputs.to(device), att.to(device), labels.to(device))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        tokens_seen += int(att.sum())
        running.append(float(loss.detach()))
        if step % cfg.log_every == 0:
            rec = {"step": step, "seconds": round(time.time() - t_train, 1), "loss": round(float(np.mean(running)), 4),
                   "lr": round(cfg.lr * scale, 7), "tokens": tokens_seen}
            log_f.write(json.dumps(rec) + "\n")
            log_f.flush()
            print(json.dumps(rec), flush=True)
            running = []
    log_f.close()
    eval_after = mlm_loss(model, tokenizer, eval_docs, cfg, device)
    model.to("cpu").save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    summary = {
        "config": asdict(cfg), "steps": step, "tokens_seen": tokens_seen, "train_docs": len(train_docs),
        "navec_rows_initialised": navec_rows,
        "eval_mlm_loss_before": round(eval_before, 4), "eval_mlm_loss_after": round(eval_after, 4),
        "eval_perplexity_after": round(math.exp(min(eval_after, 50)), 2),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "seconds": round(time.time() - t0, 1), "hardware": hardware(), "bf16": bf16,
    }
    (out_dir / "pretrain_summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m voc_training.pretrain", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokenizer", type=Path, required=True, help="tokenizer directory (voc_training.tokenizer)")
    ap.add_argument("--out", type=Path, required=True, help="output HF directory (BertForMaskedLM)")
    ap.add_argument("--corpus", nargs="*", default=[], help="txt/.gz/csv files (default: shared pretraining corpus)")
    ap.add_argument("--init-from", default=None, help="continue MLM from this checkpoint (e.g. on task texts)")
    d = PretrainConfig()
    for name in ("layers", "hidden", "heads", "max_length", "batch_size", "seed", "log_every"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(d, name))
    ap.add_argument("--intermediate", type=int, default=None, help="FFN size (default 4 × hidden)")
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--max-lines", type=int, default=None, help="sample N documents of the corpus")
    for name in ("lr", "weight_decay", "warmup_fraction", "max_minutes", "mlm_probability"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(d, name))
    ap.add_argument("--navec-init", action="store_true", help="initialise whole-word embeddings from navec")
    args = vars(ap.parse_args(argv))
    tokenizer_dir, out = args.pop("tokenizer"), args.pop("out")
    args["corpus"] = [str(p) for p in args["corpus"]]
    try:
        summary = pretrain(tokenizer_dir, out, PretrainConfig(**args))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
