"""BERT-family sequence classifiers from a local Hugging Face directory (PyTorch) and their ONNX export.

A model directory holds ``config.json`` + ``model.safetensors`` + tokenizer files + ``voc_model.json``
(ModelInfo, kind "hf") + ``README.md`` card — what ``voc_training.hf_finetune.train_hf`` writes, so a local
rubert-tiny2 fine-tuned by ``voc train`` loads as is. Nothing is ever fetched from a hub
(``local_files_only=True``).

Fast inference (see ``voc_models.fast_inference``): LRU cache for repeated texts, length-sorted batches with
dynamic padding, one tuned thread count, ``torch.inference_mode``; on a GPU the model runs under bf16 autocast
with larger batches. ``export_onnx`` writes an ONNX Runtime directory (kind "onnx", optional int8 dynamic
quantisation) loaded by ``OnnxClassifier``.

Evidence (``explain``): leave-one-sentence-out for texts of 2+ sentences (one extra batched forward pass per
sentence, ≤ 12 sentences); for one-sentence texts gradient × input on the word-piece embeddings summed per word
(one forward + one backward pass per batch). Both are cheap enough for the report path; occlusion over every
word of long texts is not.
"""

from __future__ import annotations

import copy
import json
import shutil
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from voc_models.base import MODEL_INFO_FILE, ModelInfo, TextClassifier
from voc_models.fast_inference import (
    ProbaCache,
    batched_proba,
    inference_threads,
    occlusion_evidence,
    tune_torch_threads,
    validate_texts,
)
from voc_models.text import sentences, words

ONNX_FILE = "model.onnx"
ONNX_INT8_FILE = "model.int8.onnx"
DEFAULT_MAX_LENGTH = 256
CPU_BATCH_SIZE = 32
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model", "vocab.json", "sentencepiece.bpe.model")
GPU_BATCH_SIZE = 256


class ModelDirError(ValueError):
    """A model directory is missing files or is inconsistent."""


def _check_dir(model_dir: Path, required: Sequence[str]) -> None:
    if not model_dir.is_dir():
        raise ModelDirError(f"{model_dir}: not a directory")
    missing = [name for name in required if not (model_dir / name).exists()]
    if missing:
        raise ModelDirError(f"{model_dir}: missing {', '.join(missing)}")


def _load_tokenizer(model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    # transformers 5 builds an empty tokenizer instead of failing when the files are missing: check first.
    if not any((model_dir / name).is_file() for name in TOKENIZER_FILES):
        raise ModelDirError(f"{model_dir}: cannot load the tokenizer (none of {', '.join(TOKENIZER_FILES)})")
    try:
        return AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelDirError(f"{model_dir}: cannot load the tokenizer (expected tokenizer.json / "
                            f"tokenizer_config.json): {exc}") from None


def info_from_config(model_dir: Path, config: Any) -> ModelInfo:
    """ModelInfo for a plain HF classifier directory without ``voc_model.json`` (labels from ``id2label``)."""
    id2label = {int(k): v for k, v in (config.id2label or {}).items()}
    labels = [id2label[i] for i in range(len(id2label))]
    return ModelInfo(
        name=model_dir.name,
        version="local",
        task="unknown",
        kind="hf",
        labels=labels,
        multilabel=getattr(config, "problem_type", None) == "multi_label_classification",
    )


def model_card(info: ModelInfo, extra: str = "") -> str:
    """A short Markdown model card generated from ModelInfo."""
    hp = info.training.get("hyperparameters", {})
    lines = [
        f"# {info.name} ({info.version})",
        "",
        f"- task: `{info.task}`; kind: `{info.kind}`; {'multi-label (sigmoid)' if info.multilabel else 'single-label (softmax)'}",
        f"- labels: {', '.join(info.labels)}",
        f"- base model: `{info.training.get('base_model', 'n/a')}`",
        f"- training rows: {info.training.get('n_train', 'n/a')}, validation rows: {info.training.get('n_val', 'n/a')}",
        f"- training data sha256: `{info.training.get('data_sha256', 'n/a')}`",
        f"- hyper-parameters: `{json.dumps(hp, ensure_ascii=False)}`",
        f"- training time: {info.training.get('seconds', 'n/a')} s on {info.training.get('hardware', {}).get('device', 'n/a')}",
        f"- created: {info.created_at}",
        "",
        "## Validation metrics (held-out part of the training data)",
        "",
        "```json",
        json.dumps(info.metrics, ensure_ascii=False, indent=2),
        "```",
        "",
        "Load: `voc_models.registry.load_model(DIR)` or `voc_models.hf.HFClassifier.load(DIR)`.",
        "Intended use: Russian customer feedback; check the licences of the training data before commercial use.",
    ]
    if extra:
        lines += ["", extra]
    return "\n".join(lines) + "\n"


def _device(device: str | None) -> Any:
    import torch

    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class HFClassifier(TextClassifier):
    """A transformer sequence classifier (PyTorch) behind the TextClassifier contract."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        info: ModelInfo,
        *,
        device: str | None = None,
        max_length: int | None = None,
        batch_size: int | None = None,
        cache_size: int = 4096,
    ) -> None:
        import torch

        tune_torch_threads()
        n_out = int(model.config.num_labels)
        if n_out != len(info.labels):
            raise ModelDirError(f"model has {n_out} outputs but voc_model.json lists {len(info.labels)} labels")
        self.info = info
        self.tokenizer = tokenizer
        self.device = _device(device)
        self.model = model.to(self.device).eval()
        max_pos = int(getattr(model.config, "max_position_embeddings", 512) or 512)
        trained_len = info.training.get("hyperparameters", {}).get("max_length")
        self.max_length = min(max_pos, int(max_length or trained_len or DEFAULT_MAX_LENGTH))
        on_gpu = self.device.type == "cuda"
        self.batch_size = batch_size or (GPU_BATCH_SIZE if on_gpu else CPU_BATCH_SIZE)
        self.use_bf16 = on_gpu and torch.cuda.is_bf16_supported()
        self.cache = ProbaCache(cache_size)
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else 0)

    # -- loading / saving ---------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        *,
        device: str | None = None,
        max_length: int | None = None,
        batch_size: int | None = None,
        cache_size: int = 4096,
    ) -> HFClassifier:
        """Load a local HF classifier directory (``voc_model.json`` optional: labels then come from config)."""
        from transformers import AutoConfig, AutoModelForSequenceClassification

        model_dir = Path(model_dir)
        _check_dir(model_dir, ["config.json"])
        config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
        has_info = (model_dir / MODEL_INFO_FILE).exists()
        info = ModelInfo.read(model_dir) if has_info else info_from_config(model_dir, config)
        if info.kind != "hf":
            raise ModelDirError(f"{model_dir}: voc_model.json kind is {info.kind!r}, expected 'hf'")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = AutoModelForSequenceClassification.from_pretrained(model_dir, local_files_only=True)
        tokenizer = _load_tokenizer(model_dir)
        return cls(model, tokenizer, info, device=device, max_length=max_length, batch_size=batch_size,
                   cache_size=cache_size)

    def save(self, model_dir: str | Path) -> None:
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(model_dir)
        self.tokenizer.save_pretrained(model_dir)
        self.info.write(model_dir)
        (model_dir / "README.md").write_text(model_card(self.info), encoding="utf-8")

    # -- inference ------------------------------------------------------------------------------------------
    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        input_ids = torch.from_numpy(ids).to(self.device)
        attention_mask = torch.from_numpy(mask).to(self.device)
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.use_bf16):
            logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        return logits.float().cpu().numpy()

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = validate_texts(texts)
        return batched_proba(
            texts,
            tokenize=self._tokenize,
            forward=self._forward,
            pad_id=self.pad_id,
            n_labels=len(self.labels),
            multilabel=self.multilabel,
            batch_size=self.batch_size,
            cache=self.cache,
        )

    # -- evidence -------------------------------------------------------------------------------------------
    def explain(self, texts: Sequence[str], label_indices: Sequence[int], top_k: int = 3) -> list[list[tuple[str, float]]]:
        """Sentence occlusion for multi-sentence texts, gradient × input per word for one-sentence texts."""
        texts = validate_texts(texts)
        if len(label_indices) != len(texts):
            raise ValueError(f"label_indices has {len(label_indices)} items, texts has {len(texts)}")
        n_sentences = [len(sentences(t)) for t in texts]
        multi = [i for i, n in enumerate(n_sentences) if n >= 2]
        single = [i for i, n in enumerate(n_sentences) if n < 2]
        out: list[list[tuple[str, float]]] = [[] for _ in texts]
        if multi:
            ev = occlusion_evidence(self.predict_proba, [texts[i] for i in multi], [label_indices[i] for i in multi], top_k)
            for i, e in zip(multi, ev, strict=True):
                out[i] = e
        for start in range(0, len(single), self.batch_size):
            chunk = single[start : start + self.batch_size]
            ev = self._grad_x_input([texts[i] for i in chunk], [label_indices[i] for i in chunk], top_k)
            for i, e in zip(chunk, ev, strict=True):
                out[i] = e
        return out

    def _grad_x_input(self, texts: list[str], label_indices: list[int], top_k: int) -> list[list[tuple[str, float]]]:
        import torch

        enc = self.tokenizer(texts, truncation=True, max_length=self.max_length, padding=True,
                             return_offsets_mapping=True, return_tensors="pt")
        offsets = enc.pop("offset_mapping").tolist()
        embeddings = self.model.get_input_embeddings()(enc["input_ids"].to(self.device)).detach()
        embeddings.requires_grad_(True)
        with torch.enable_grad():
            logits = self.model(inputs_embeds=embeddings, attention_mask=enc["attention_mask"].to(self.device)).logits
            scores = logits.float() if self.multilabel else torch.log_softmax(logits.float(), dim=-1)
            target = scores[torch.arange(len(texts)), torch.tensor(label_indices, device=self.device)]
            target.sum().backward()
        token_scores = (embeddings.grad * embeddings).sum(-1).detach().float().cpu().numpy()
        out: list[list[tuple[str, float]]] = []
        for t, text in enumerate(texts):
            per_word: list[tuple[str, float]] = []
            for w in words(text):
                s = round(sum(float(token_scores[t, j]) for j, (a, b) in enumerate(offsets[t]) if b > a and a < w.end and b > w.start), 6)
                if s > 0:
                    per_word.append((text[w.start : w.end], s))
            out.append(sorted(per_word, key=lambda x: -x[1])[:top_k])
        return out

    # -- export ---------------------------------------------------------------------------------------------
    def export_onnx(self, out_dir: str | Path, *, quantize_int8: bool = False, opset: int = 17) -> Path:
        """Write an ONNX Runtime model directory (kind "onnx"); with ``quantize_int8`` also int8 weights
        (dynamic quantisation of MatMul/Gemm) which ``OnnxClassifier`` then uses. Returns the directory."""
        import torch

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        model = copy.deepcopy(self.model).to("cpu").float().eval()
        # The dummy batch must contain padding: traced with an all-ones mask the exporter may drop the mask.
        sample = ["пример текста для экспорта модели", "да"]
        enc = self.tokenizer(sample, padding=True, return_tensors="pt")
        ids, mask = enc["input_ids"], enc["attention_mask"]
        onnx_path = out_dir / ONNX_FILE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (ids, mask),
                str(onnx_path),
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                              "logits": {0: "batch"}},
                opset_version=opset,
                dynamo=False,
            )
        used = ONNX_FILE
        if quantize_int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(onnx_path), str(out_dir / ONNX_INT8_FILE), weight_type=QuantType.QInt8)
            used = ONNX_INT8_FILE
        self.tokenizer.save_pretrained(out_dir)
        training = dict(self.info.training)
        training["onnx"] = {"file": used, "int8": quantize_int8, "opset": opset, "source_version": self.version,
                            "max_length": self.max_length}
        info = self.info.model_copy(update={"kind": "onnx", "training": training,
                                            "created_at": datetime.now(UTC).isoformat(timespec="seconds")})
        info.write(out_dir)
        (out_dir / "README.md").write_text(
            model_card(info, f"ONNX export of `{self.version}`; runs with onnxruntime (`{used}`)."), encoding="utf-8")
        return out_dir


class OnnxClassifier(TextClassifier):
    """The same classifier run by onnxruntime (CPU; CUDA provider when installed and a GPU is present)."""

    def __init__(self, session: Any, tokenizer: Any, info: ModelInfo, model_dir: Path, *,
                 batch_size: int = CPU_BATCH_SIZE, cache_size: int = 4096) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.info = info
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.cache = ProbaCache(cache_size)
        self.max_length = int(info.training.get("onnx", {}).get("max_length", DEFAULT_MAX_LENGTH))
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else 0)

    @property
    def onnx_file(self) -> str:
        return str(self.info.training.get("onnx", {}).get("file", ONNX_FILE))

    @classmethod
    def load(cls, model_dir: str | Path, *, batch_size: int | None = None, cache_size: int = 4096,
             int8: bool | None = None) -> OnnxClassifier:
        """Load an ONNX model directory; ``int8`` picks the quantised/fp32 file (default: as exported)."""
        import onnxruntime as ort

        model_dir = Path(model_dir)
        _check_dir(model_dir, [MODEL_INFO_FILE])
        info = ModelInfo.read(model_dir)
        if info.kind != "onnx":
            raise ModelDirError(f"{model_dir}: voc_model.json kind is {info.kind!r}, expected 'onnx'")
        if int8 is not None:
            training = dict(info.training)
            training["onnx"] = {**training.get("onnx", {}), "file": ONNX_INT8_FILE if int8 else ONNX_FILE}
            info = info.model_copy(update={"training": training})
        onnx_name = str(info.training.get("onnx", {}).get("file", ONNX_FILE))
        _check_dir(model_dir, [onnx_name])
        options = ort.SessionOptions()
        options.intra_op_num_threads = inference_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as voc_models.multitask
        providers = ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        session = ort.InferenceSession(str(model_dir / onnx_name), options, providers=providers)
        tokenizer = _load_tokenizer(model_dir)
        gpu = providers[0] == "CUDAExecutionProvider"
        return cls(session, tokenizer, info, model_dir,
                   batch_size=batch_size or (GPU_BATCH_SIZE if gpu else CPU_BATCH_SIZE), cache_size=cache_size)

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = validate_texts(texts)
        return batched_proba(texts, tokenize=self._tokenize, forward=self._forward, pad_id=self.pad_id,
                             n_labels=len(self.labels), multilabel=self.multilabel,
                             batch_size=self.batch_size, cache=self.cache)

    def explain(self, texts: Sequence[str], label_indices: Sequence[int], top_k: int = 3) -> list[list[tuple[str, float]]]:
        """Leave-one-sentence-out (one-sentence texts: leave-one-word-out, ≤ 12 words)."""
        return occlusion_evidence(self.predict_proba, validate_texts(texts), label_indices, top_k)

    def save(self, model_dir: str | Path) -> None:
        model_dir = Path(model_dir)
        if model_dir.resolve() == self.model_dir.resolve():
            return
        model_dir.mkdir(parents=True, exist_ok=True)
        for path in self.model_dir.iterdir():
            if path.is_file() and path.name not in (MODEL_INFO_FILE,):
                shutil.copy2(path, model_dir / path.name)
        self.info.write(model_dir)
