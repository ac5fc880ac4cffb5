"""Writing a shipped model directory (``models/shipped/…``): the model, its card with extra notes, the size
budget. Used by ``voc_training.train_defaults`` (sentiment, emotions) and meant for ``voc_training.train_cx_defaults``."""

from __future__ import annotations

from pathlib import Path

from voc_models.base import MODEL_INFO_FILE, ModelInfo
from voc_models.tfidf import TfidfClassifier
from voc_training.data import DataError

#: a shipped model directory stays under this (the repository carries them)
MAX_MODEL_BYTES = 8 * 1024 * 1024


def dir_bytes(path: Path) -> int:
    """Total size of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def next_version(version: str, previous: str | None) -> str:
    """``version`` (``DATE-N``), moved past ``previous`` when that is the same date: a model retrained on the day the
    shipped one was made must not share its version (the outputs' ``model_versions`` name the model)."""
    date, _, n = version.rpartition("-")
    p_date, _, p_n = (previous or "").rpartition("-")
    if not date or date != p_date or not n.isdigit() or not p_n.isdigit() or int(n) > int(p_n):
        return version
    return f"{date}-{int(p_n) + 1}"


def save_shipped(model: TfidfClassifier, out_dir: Path, notes: str) -> int:
    """Save ``model`` to ``out_dir``, append ``notes`` to its README.md card; the directory's size in bytes. A model
    of the same name already there keeps its version only if ours is newer (:func:`next_version`).

    Raises DataError when the directory is over :data:`MAX_MODEL_BYTES`."""
    if (out_dir / MODEL_INFO_FILE).is_file():
        previous = ModelInfo.read(out_dir)
        if previous.name == model.info.name:
            model.info = model.info.model_copy(update={"version": next_version(model.info.version, previous.version)})
    model.save(out_dir)
    card = out_dir / "README.md"
    card.write_text(card.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + notes, encoding="utf-8")
    size = dir_bytes(out_dir)
    if size > MAX_MODEL_BYTES:
        raise DataError(f"{out_dir} is {size / 1e6:.1f} MB, over the 8 MB budget; lower the feature caps")
    return size
