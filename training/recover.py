"""Recover a trainable multi-task directory from a shipped (ONNX int8) one.

    python -m voc_training.recover models/shipped/mt-student --out runs/mt-student-rec

A shipped encoder holds only ``model.int8.onnx`` (no torch weights), and a session may start on a fresh machine
whose ``runs/`` are gone. The int8 graph still carries every weight: the embeddings as per-tensor uint8 with a
scale and zero point, every Linear as a per-channel int8 ``MatMulInteger`` matrix (in × out) with its scales and
zero points, biases and LayerNorms in fp32, all named after the torch modules they came from. This module
dequantises them back into the torch model (``w = (q − zero_point) · scale``, transposed for Linear layers), so
fine-tuning, head refits and distillation can start from exactly the weights that are served — the ONNX graph
of the recovered model computes what the shipped one does, up to the activations' dynamic quantisation.

Written: the encoder (Hugging Face ``save_pretrained``), ``heads.safetensors``, the tokenizer files and
``voc_model.json`` (kind ``multitask``; ``training.recovered_from`` records the source and a parity check).
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voc_models.base import MODEL_INFO_FILE, ModelInfo
from voc_models.multitask import HEADS_FILE, ONNX_INT8_FILE

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
PARITY_TEXTS = ("Курьер опоздал на три часа, никто не предупредил",
                "Спасибо оператору, быстро решили вопрос с картой!",
                "Приложение снова не открывается после обновления, деньги списали дважды", "Ок")


class RecoverError(ValueError):
    """The directory is not a shipped multi-task model this module can read."""


def _dequantise(inits: dict[str, np.ndarray], base: str) -> np.ndarray:
    q = inits[f"{base}_quantized"].astype(np.float32)
    zero = inits[f"{base}_zero_point"].astype(np.float32)
    return (q - zero) * inits[f"{base}_scale"].astype(np.float32)


def onnx_state_dict(onnx_file: Path) -> dict[str, np.ndarray]:
    """Torch state-dict names → fp32 arrays, read from a dynamically quantised multi-task graph."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_file)).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    state: dict[str, np.ndarray] = {}
    for name, value in inits.items():
        if name.endswith(("_quantized", "_scale", "_zero_point")):
            continue
        if value.dtype == np.float32 and name.startswith(("encoder.", "heads.")):
            state[name] = value
    for name in inits:  # embeddings (Gather on a quantised table keeps the parameter's name)
        if name.endswith(".weight_quantized"):
            base = name.removesuffix("_quantized")
            state[base] = _dequantise(inits, base)
    for node in graph.node:  # Linear layers: MatMulInteger named /<module path>/MatMul_quant (encoder)
        if node.op_type != "MatMulInteger":
            continue
        weight = node.input[1]
        if not weight.endswith("_quantized"):
            raise RecoverError(f"{onnx_file}: {node.name} multiplies by {weight}, not a quantised weight")
        base = weight.removesuffix("_quantized")
        if base.endswith(".weight_Transposed"):  # a Gemm (2-D input: the heads) keeps its parameter's name
            module = base.removesuffix(".weight_Transposed")
        else:
            module = node.name.strip("/").removesuffix("/MatMul_quant").replace("/", ".")
        if not module.startswith(("encoder.", "heads.")):
            raise RecoverError(f"{onnx_file}: cannot tell which module {node.name} belongs to")
        matrix = _dequantise(inits, base)  # (in, out)
        state[f"{module}.weight"] = np.ascontiguousarray(matrix.T)
    return state


def recover(shipped: str | Path, out_dir: str | Path, *, check: bool = True) -> dict[str, Any]:
    """Write a trainable multi-task directory at ``out_dir`` from the shipped one; return the parity check."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel

    from voc_models.multitask import MultiTaskRunner, build_net

    src, out = Path(shipped), Path(out_dir)
    onnx_file = src / ONNX_INT8_FILE
    for need in (onnx_file, src / "config.json", src / MODEL_INFO_FILE):
        if not need.is_file():
            raise RecoverError(f"{src}: missing {need.name} (a shipped multi-task directory holds it)")
    info = ModelInfo.read(src)
    if not info.heads:
        raise RecoverError(f"{src}: {MODEL_INFO_FILE} lists no heads")
    state = onnx_state_dict(onnx_file)
    config = BertConfig.from_pretrained(src, local_files_only=True)
    net = build_net(BertModel(config, add_pooling_layer=False),
                    {name: len(h["labels"]) for name, h in info.heads.items()})
    expected = set(net.state_dict())
    missing = sorted(k for k in expected - set(state) if not k.endswith("position_ids"))
    if missing:
        raise RecoverError(f"{onnx_file}: no weights for {missing[:5]}{' …' if len(missing) > 5 else ''}")
    tensors = {k: torch.from_numpy(v.copy()) for k, v in state.items() if k in expected}
    net.load_state_dict(tensors, strict=False)  # only position_ids (a buffer the graph folds away) is not set
    out.mkdir(parents=True, exist_ok=True)
    net.encoder.save_pretrained(out)
    save_file({f"heads.{k}": v.detach().contiguous() for k, v in net.heads.state_dict().items()},
              str(out / HEADS_FILE))
    for name in TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, out / name)
    info.kind = "multitask"
    info.training = {**info.training, "recovered_from": {"directory": str(src), "version": info.version,
                                                         "note": "weights dequantised from model.int8.onnx"}}
    info.write(out)
    report: dict[str, Any] = {"tensors": len(tensors), "out": str(out)}
    if check:
        ref = MultiTaskRunner(src, backend="onnx").proba(list(PARITY_TEXTS))
        got = MultiTaskRunner(out, backend="torch", device="cpu").proba(list(PARITY_TEXTS))
        report["max_abs_diff"] = {h: round(float(np.abs(ref[h] - got[h]).max()), 4) for h in ref}
        report["argmax_agreement"] = {h: float(np.mean(ref[h].argmax(1) == got[h].argmax(1))) for h in ref}
        info.training["recovered_from"]["parity_vs_int8"] = report["max_abs_diff"]
        info.write(out)
    return report


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("shipped", type=Path, help="a shipped multi-task directory (model.int8.onnx + voc_model.json)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--no-check", action="store_true", help="skip the parity check against the int8 graph")
    args = ap.parse_args(argv)
    try:
        print(json.dumps(recover(args.shipped, args.out, check=not args.no_check), ensure_ascii=False))
    except RecoverError as exc:
        raise SystemExit(f"voc_training.recover: {exc}") from None


if __name__ == "__main__":
    main()
