"""The model registry: versioned model directories, loadable by path or name.

Two roots are searched, user first: ``$VOC_MODELS_DIR`` (default ``~/.local/share/voc/models``) and the
shipped defaults in ``models/shipped/``. A model lives at ``<root>/<name>/<version>/`` or directly at
``<root>/<name>/`` (a plain directory with ``voc_model.json``). ``<user root>/defaults.json`` maps a task
to the promoted model directory; without a promotion the shipped default of the task is used.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from models.base import MODEL_INFO_FILE, ModelInfo, TextClassifier

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
DEFAULTS_FILE = "defaults.json"

#: task → shipped model name used when nothing is promoted
SHIPPED_DEFAULTS: dict[str, str] = {"sentiment": "sentiment-tfidf", "emotions": "emotions-tfidf"}

_CACHE: dict[Path, TextClassifier] = {}
_LOCK = threading.Lock()


class ModelNotFoundError(FileNotFoundError):
    """No model directory for a path or name."""


def user_dir() -> Path:
    """The user registry root (``$VOC_MODELS_DIR`` or ``~/.local/share/voc/models``)."""
    return Path(os.environ.get("VOC_MODELS_DIR") or Path.home() / ".local" / "share" / "voc" / "models")


def roots() -> list[Path]:
    return [user_dir(), SHIPPED_DIR]


def _is_model_dir(path: Path) -> bool:
    return (path / MODEL_INFO_FILE).is_file()


def _version_key(path: Path) -> tuple:
    # Versions like 2026.12.04-1 sort by their numeric parts; fall back to the string.
    parts = path.name.replace("-", ".").split(".")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def _versions(name_dir: Path) -> list[Path]:
    if _is_model_dir(name_dir):
        return [name_dir]
    if not name_dir.is_dir():
        return []
    return sorted((p for p in name_dir.iterdir() if p.is_dir() and _is_model_dir(p)), key=_version_key)


def resolve(path_or_name: str | Path) -> Path:
    """The model directory for a path, ``name``, or ``name@version`` (latest version when none given)."""
    as_path = Path(path_or_name).expanduser()
    if _is_model_dir(as_path):
        return as_path.resolve()
    text = str(path_or_name)
    name, _, version = text.partition("@")
    for root in roots():
        if version:
            candidate = root / name / version
            if _is_model_dir(candidate):
                return candidate.resolve()
            continue
        found = _versions(root / name)
        if found:
            return found[-1].resolve()
    if as_path.exists():
        raise ModelNotFoundError(f"{as_path} is not a model directory (no {MODEL_INFO_FILE})")
    searched = ", ".join(str(r) for r in roots())
    raise ModelNotFoundError(f"model {text!r} not found: not a directory, and no such name in {searched}")


MULTITASK_KINDS = ("multitask", "multitask-onnx")


def load_model(path_or_name: str | Path, task: str | None = None) -> TextClassifier:
    """Load a model by directory or registry name, once per process (cached by resolved path).

    A multi-task model serves several tasks: ``task`` picks its head (all heads share one runner, so one
    forward pass per text serves every analyzer). For single-task models ``task`` is not needed.
    """
    path = resolve(path_or_name)
    with _LOCK:
        info = ModelInfo.read(path)
        if info.kind in MULTITASK_KINDS:
            from models.multitask import HeadClassifier, runner_for

            head = task or next(iter(info.heads), "")
            key = path / f"#{head}"
            if key not in _CACHE:
                _CACHE[key] = HeadClassifier(runner_for(path), head)
            return _CACHE[key]
        if path in _CACHE:
            return _CACHE[path]
        if info.kind == "tfidf":
            from models.tfidf import TfidfClassifier

            model: TextClassifier = TfidfClassifier.load(path)
        elif info.kind == "hf":
            from models.hf import HFClassifier  # written by the transformer work; imported lazily

            model = HFClassifier.load(path)
        elif info.kind == "onnx":
            from models.hf import OnnxClassifier

            model = OnnxClassifier.load(path)
        else:
            raise ValueError(f"{path}: unknown model kind {info.kind!r} (expected tfidf, hf, onnx or multitask)")
        _CACHE[path] = model
        return model


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def list_models() -> list[dict[str, Any]]:
    """Every model directory in the registry roots: name, version, task, kind, path, where, macro-F1."""
    out: list[dict[str, Any]] = []
    for root, where in ((user_dir(), "user"), (SHIPPED_DIR, "shipped")):
        if not root.is_dir():
            continue
        for name_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for model_dir in _versions(name_dir):
                try:
                    info = ModelInfo.read(model_dir)
                except (OSError, ValueError):
                    continue
                out.append({"name": info.name, "version": info.version, "task": info.task, "kind": info.kind,
                            "where": where, "path": str(model_dir), "metrics": _headline(info)})
    return out


def _headline(info: ModelInfo) -> dict[str, float]:
    return {k: v["macro_f1"] for k, v in info.metrics.items() if isinstance(v, dict) and "macro_f1" in v}


def show(name: str) -> dict[str, Any]:
    """The ModelInfo of a model (latest version of a name, or a path) plus its directory."""
    path = resolve(name)
    return {"path": str(path), **ModelInfo.read(path).model_dump()}


def _read_defaults() -> dict[str, str]:
    f = user_dir() / DEFAULTS_FILE
    if not f.is_file():
        return {}
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{f}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{f}: expected a JSON object {{task: model directory}}")
    return {str(k): str(v) for k, v in data.items()}


def promote(name_or_path: str | Path, task: str) -> Path:
    """Make a model the default for ``task`` (written to ``<user registry>/defaults.json``)."""
    path = resolve(name_or_path)
    info = ModelInfo.read(path)
    if info.kind in MULTITASK_KINDS:
        if task not in info.heads:
            raise ValueError(f"multi-task model {info.name}@{info.version} has no {task!r} head "
                             f"(heads: {', '.join(info.heads)})")
    elif info.task != task:
        raise ValueError(f"model {info.name}@{info.version} is a {info.task!r} model, not {task!r}")
    defaults = _read_defaults()
    defaults[task] = str(path)
    user_dir().mkdir(parents=True, exist_ok=True)
    (user_dir() / DEFAULTS_FILE).write_text(json.dumps(defaults, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def default_model_path(task: str) -> Path:
    """The promoted model directory of ``task`` if any, else the shipped default."""
    promoted = _read_defaults().get(task)
    if promoted:
        if not _is_model_dir(Path(promoted)):
            raise ModelNotFoundError(f"the promoted {task!r} model {promoted} (in {user_dir() / DEFAULTS_FILE}) "
                                     f"is missing or has no {MODEL_INFO_FILE}")
        return Path(promoted)
    shipped = SHIPPED_DEFAULTS.get(task)
    if shipped is None:
        raise ModelNotFoundError(f"no model promoted for task {task!r} and no shipped default; "
                                 f"run `voc models promote NAME --task {task}`")
    found = _versions(SHIPPED_DIR / shipped)
    if not found:
        raise ModelNotFoundError(f"shipped {task!r} model missing: {SHIPPED_DIR / shipped} has no {MODEL_INFO_FILE} "
                                 "(run `python -m training.train_defaults`)")
    return found[-1]
