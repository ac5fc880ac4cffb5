"""Writing a shipped model directory (``models/shipped/…``): the model, its card with extra notes, the size
budget. Used by ``voc_training.train_defaults`` (sentiment, emotions) and meant for ``voc_training.train_cx_defaults``."""

from __future__ import annotations

from pathlib import Path

from voc_models.tfidf import TfidfClassifier
from voc_training.data import DataError

#: a shipped model directory stays under this (the repository carries them)
MAX_MODEL_BYTES = 8 * 1024 * 1024


def dir_bytes(path: Path) -> int:
    """Total size of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def save_shipped(model: TfidfClassifier, out_dir: Path, notes: str) -> int:
    """Save ``model`` to ``out_dir``, append ``notes`` to its README.md card; the directory's size in bytes.

    Raises DataError when the directory is over :data:`MAX_MODEL_BYTES`."""
    model.save(out_dir)
    card = out_dir / "README.md"
    card.write_text(card.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + notes, encoding="utf-8")
    size = dir_bytes(out_dir)
    if size > MAX_MODEL_BYTES:
        raise DataError(f"{out_dir} is {size / 1e6:.1f} MB, over the 8 MB budget; lower the feature caps")
    return size
