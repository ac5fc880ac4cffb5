"""The model registry: versioned model directories, loadable by path or name.

Two roots are searched, user first: ``$VOC_MODELS_DIR`` (default ``~/.local/share/voc/models``) and the
shipped defaults in ``models/shipped/``. A model lives at ``<root>/<name>/<version>/`` or directly at
``<root>/<name>/`` (a plain directory with ``voc_model.json``); a model written elsewhere (``voc train -o DIR``)
is recorded in ``<user root>/registered.json`` and listed and found by name too. ``<user root>/defaults.json``
maps a task to the promoted model directory.

Profiles pick the models of a pipeline (:func:`task_model_path`): ``default`` — the promoted model, else the
shipped model of ``SHIPPED_DEFAULTS`` (sentiment: a 0.5/0.5 ensemble of the distilled e5 student ``mt-student``
and the TF-IDF model — docs/decisions.md #12, #67; the cause went back to its TF-IDF head, #75), else the fast
profile's model;
``fast`` — a promoted TF-IDF model, else the shipped TF-IDF models (``FAST_DEFAULTS``: sentiment, emotions, and
the cause, journey-stage and topic heads trained on the real-text cxreal labels, which the analyzers combine with
their lexicons); a task left out of ``FAST_DEFAULTS`` runs on its analyzer's lexicon; ``accurate`` (opt-in,
slower) — the shipped models of ``ACCURATE_DEFAULTS`` (sentiment: the 12-layer e5 teacher ``mt-teacher`` averaged
with TF-IDF), every other task as in ``default``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from voc_models.base import MODEL_INFO_FILE, ModelInfo, TextClassifier

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
DEFAULTS_FILE = "defaults.json"
REGISTERED_FILE = "registered.json"
LOG = logging.getLogger("voc.models")

PROFILES = ("default", "fast", "accurate")
#: the tasks a model can serve (a multi-task model serves them all with one forward pass)
TASKS = ("sentiment", "emotions", "topics", "cause", "journey_stage")
#: the shipped multi-task encoder a task of the default profile may run on (until shipped: the fast profile's)
SHIPPED_ENCODER = "voc-multitask-student"
#: profile "default": task → shipped model name used when nothing is promoted. A task moves here only when a
#: shipped encoder model beats its TF-IDF model — every sentiment split (docs/decisions.md #12, #67), the cxreal
#: eval split for cause (#71: accuracy and macro-F1 both higher). Sentiment: student + TF-IDF 0.683 / 0.655 / 0.728 /
#: 0.696 vs TF-IDF 0.654 / 0.620 / 0.696 / 0.665; cause: the student's head refitted on the cxreal train rows (frozen
#: encoder) + TF-IDF, 0.632 (macro-F1 0.512) vs 0.629 (0.494). One student pass serves both. The student's stage
#: ensemble (0.738 accuracy but macro-F1 0.565 vs 0.614) failed the same rule: stage stays on TF-IDF.
#: (cause: ``cause-ensemble`` until the cxreal labels of rounds 3–4 made ``cause-tfidf`` the better head, decision 75)
SHIPPED_DEFAULTS: dict[str, str] = {"sentiment": "sentiment-ensemble"}
#: profile "accurate": task → shipped model; the other tasks as in the default profile. The 12-layer teacher
#: ``mt-teacher`` averaged with TF-IDF: sentiment 0.730 / 0.689 / 0.749 / 0.718 (docs/decisions.md #68, #71).
#: (cause: ``cause-teacher-ensemble`` — the teacher's cause head refitted on rounds 1–4 + ``cause-tfidf``, decision 77 —
#: until ``cause-tfidf`` refitted on round 5 matched it on the eval split, decision 81; it stays shipped, opt-in)
ACCURATE_DEFAULTS: dict[str, str] = {"sentiment": "sentiment-teacher-ensemble"}
#: profile "fast" (and "default" while no encoder is shipped): task → shipped TF-IDF model; tasks left out run on
#: their lexicons. cause / journey_stage / topics: ``python -m voc_training.train_cx_defaults`` (docs/cause_and_stage.md)
FAST_DEFAULTS: dict[str, str] = {"sentiment": "sentiment-tfidf", "emotions": "emotions-tfidf",
                                 "topics": "topics-tfidf", "cause": "cause-tfidf",
                                 "journey_stage": "journey-stage-tfidf"}
#: the tasks whose shipped TF-IDF heads ``voc_training.train_cx_defaults`` writes
CX_HEAD_TASKS = ("topics", "cause", "journey_stage")
#: model kinds a promotion may have and still count for the fast profile
FAST_KINDS = ("tfidf",)

_CACHE: dict[Path, TextClassifier] = {}
_LOCK = threading.Lock()


class ModelNotFoundError(FileNotFoundError):
    """No model directory for a path or name."""


def user_dir() -> Path:
    """The user registry root (``$VOC_MODELS_DIR`` or ``~/.local/share/voc/models``)."""
    return Path(os.environ.get("VOC_MODELS_DIR") or Path.home() / ".local" / "share" / "voc" / "models")


def roots() -> list[Path]:
    return [user_dir(), SHIPPED_DIR]


def _read_registered() -> list[str]:
    f = user_dir() / REGISTERED_FILE
    if not f.is_file():
        return []
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{f}: not valid JSON ({exc})") from exc
    if not isinstance(data, list):
        raise ValueError(f"{f}: expected a JSON list of model directories")
    return [str(p) for p in data]


def register(model_dir: str | Path) -> Path:
    """Record a model directory written outside the registry roots so ``list_models``/``resolve`` find it."""
    path = Path(model_dir).expanduser().resolve()
    if not _is_model_dir(path):
        raise ModelNotFoundError(f"{path} is not a model directory (no {MODEL_INFO_FILE})")
    if any(_inside(path, root) for root in roots()):
        return path  # already found by its place in a root
    known = _read_registered()
    if str(path) not in known:
        user_dir().mkdir(parents=True, exist_ok=True)
        (user_dir() / REGISTERED_FILE).write_text(json.dumps([*known, str(path)], ensure_ascii=False, indent=2),
                                                  encoding="utf-8")
    return path


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.is_relative_to(root.resolve())
    except OSError:  # pragma: no cover
        return False


def _registered_dirs() -> list[Path]:
    """Registered model directories that still exist (a deleted one is skipped, not an error)."""
    return [Path(p) for p in _read_registered() if _is_model_dir(Path(p))]


def next_version(name: str, day: str) -> str:
    """``<day>-N`` with the first N not yet used by ``name`` in the user registry."""
    n = 1
    while (user_dir() / name / f"{day}-{n}").exists():
        n += 1
    return f"{day}-{n}"


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
    registered = []
    for d in _registered_dirs():
        try:
            info = ModelInfo.read(d)
        except (OSError, ValueError):
            continue
        if info.name == name and (not version or info.version == version):
            registered.append((_version_key(Path(info.version)), d))
    if registered:
        return max(registered, key=lambda x: x[0])[1].resolve()
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
    if ModelInfo.read(path).kind == "ensemble":  # members load through load_model: not under the lock
        with _LOCK:
            cached = _CACHE.get(path)
        if cached is None:
            from voc_models.ensemble import EnsembleClassifier

            loaded = EnsembleClassifier.load(path)
            with _LOCK:
                cached = _CACHE.setdefault(path, loaded)
        return cached
    with _LOCK:
        info = ModelInfo.read(path)
        if info.kind in MULTITASK_KINDS:
            from voc_models.multitask import HeadClassifier, runner_for

            head = task or next(iter(info.heads), "")
            key = path / f"#{head}"
            if key not in _CACHE:
                _CACHE[key] = HeadClassifier(runner_for(path), head)
            return _CACHE[key]
        if path in _CACHE:
            return _CACHE[path]
        if info.kind == "tfidf":
            from voc_models.tfidf import TfidfClassifier

            model: TextClassifier = TfidfClassifier.load(path)
        elif info.kind == "hf":
            from voc_models.hf import HFClassifier  # written by the transformer work; imported lazily

            model = HFClassifier.load(path)
        elif info.kind == "onnx":
            from voc_models.hf import OnnxClassifier

            model = OnnxClassifier.load(path)
        else:
            raise ValueError(f"{path}: unknown model kind {info.kind!r} (expected tfidf, hf, onnx, multitask or "
                             "ensemble)")
        _CACHE[path] = model
        return model


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def list_models() -> list[dict[str, Any]]:
    """Every model directory in the registry roots: name, version, task, kind, path, where, macro-F1."""
    found: list[tuple[Path, str]] = []
    for root, where in ((user_dir(), "user"), (SHIPPED_DIR, "shipped")):
        if root.is_dir():
            found += [(d, where) for name_dir in sorted(p for p in root.iterdir() if p.is_dir())
                      for d in _versions(name_dir)]
    found += [(d, "registered") for d in _registered_dirs()]
    out: list[dict[str, Any]] = []
    for model_dir, where in found:
        try:
            info = ModelInfo.read(model_dir)
        except (OSError, ValueError):
            continue
        out.append({"name": info.name, "version": info.version, "task": info.task, "kind": info.kind,
                    "where": where, "path": str(model_dir), "metrics": _headline(info),
                    **({"heads": list(info.heads)} if info.heads else {})})
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


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of: {', '.join(PROFILES)}")
    return profile


_NOTED: set[str] = set()


def task_model_path(task: str, profile: str = "default") -> Path | None:
    """The model directory ``task`` runs on under ``profile``; None = no model (the analyzer's lexicon)."""
    check_profile(profile)
    promoted = _read_defaults().get(task)
    if promoted and not _is_model_dir(Path(promoted)):
        raise ModelNotFoundError(f"the promoted {task!r} model {promoted} (in {user_dir() / DEFAULTS_FILE}) "
                                 f"is missing or has no {MODEL_INFO_FILE}")
    if profile == "default":
        if promoted:
            return Path(promoted)
        shipped = SHIPPED_DEFAULTS.get(task)
        found = _versions(SHIPPED_DIR / shipped) if shipped else []
        if found:
            return found[-1]
        if shipped and shipped not in _NOTED:
            _NOTED.add(shipped)
            LOG.info("profile 'default': %s is not shipped yet; the fast profile's models (TF-IDF + lexicons) "
                     "are used", SHIPPED_DIR / shipped)
    elif profile == "accurate" and task in ACCURATE_DEFAULTS:
        found = _versions(SHIPPED_DIR / ACCURATE_DEFAULTS[task])
        if not found:
            raise ModelNotFoundError(f"profile 'accurate': shipped {task!r} model missing: "
                                     f"{SHIPPED_DIR / ACCURATE_DEFAULTS[task]} has no {MODEL_INFO_FILE}")
        return found[-1]
    elif profile == "accurate" and not promoted and task in SHIPPED_DEFAULTS:
        found = _versions(SHIPPED_DIR / SHIPPED_DEFAULTS[task])  # the rest of accurate is the default profile
        if found:
            return found[-1]
    elif promoted and ModelInfo.read(promoted).kind in FAST_KINDS:
        return Path(promoted)
    fast = FAST_DEFAULTS.get(task)
    if fast is None:
        return None
    found = _versions(SHIPPED_DIR / fast)
    if not found:
        trainer = "voc_training.train_cx_defaults" if task in CX_HEAD_TASKS else "voc_training.train_defaults"
        raise ModelNotFoundError(f"shipped {task!r} model missing: {SHIPPED_DIR / fast} has no {MODEL_INFO_FILE} "
                                 f"(run `python -m {trainer}`)")
    return found[-1]


def default_model_path(task: str, profile: str = "default") -> Path:
    """The model directory of ``task`` under ``profile`` (:func:`task_model_path`); an error when it has none."""
    path = task_model_path(task, profile)
    if path is None:
        raise ModelNotFoundError(f"no model promoted for task {task!r} and no shipped default; "
                                 f"run `voc models promote NAME --task {task}`")
    return path


def load_task_model(model: str | Path | None, task: str, profile: str = "default") -> TextClassifier | None:
    """The model given by path/name (a multi-task model: its ``task`` head), else the profile's model of the
    task; None when the profile has none (lexicon analyzers). Errors name the directory."""
    target = model if model is not None else task_model_path(task, profile)
    if target is None:
        return None
    loaded = load_model(target, task=task)
    if loaded.info.task != task:
        raise ValueError(f"model {loaded.version} ({target}) is a {loaded.info.task!r} model, not {task!r}")
    return loaded
