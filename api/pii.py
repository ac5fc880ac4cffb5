"""A second line of defence for values the API stores or returns outside the pipeline (rejected rows'
``value``, error texts): cut to what a RejectedRow may carry, then run through the redactor.

Ingest already stores masked values; this only guarantees that nothing longer or unmasked gets out
through the API if an older job, a bug or a new reader slips one through.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

try:
    from voc.ingest.errors import MAX_VALUE_CHARS
except ImportError:  # pragma: no cover - the ingest module renamed it
    MAX_VALUE_CHARS = 200

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _redactor() -> Any:
    from voc.redact import Redactor

    return Redactor(name_engine="morph")  # the cheap name masker (no NER model in the API process)


@lru_cache(maxsize=8192)  # status pages repeat the same 20 values; keys are already-masked values
def mask_text(text: str, limit: int) -> str:
    """The first ``limit`` characters of ``text``, masked."""
    if not text:
        return text
    with _lock:  # the morph analyser is shared; keep it single-threaded
        return _redactor().redact(text[:limit])[0][:limit]


def mask_value(value: Any) -> str | None:
    """``value`` as a masked string of at most MAX_VALUE_CHARS characters (None stays None)."""
    if value is None:
        return None
    return mask_text(str(value), MAX_VALUE_CHARS)


def mask_rejected(row: dict[str, Any], display: dict[str, str] | None = None) -> dict[str, Any]:
    """A rejected-row dict for output: file shown by its uploaded name, value cut and masked, '' → None."""
    out = {k: (v if v != "" else None) for k, v in row.items()}
    if out.get("file"):
        out["file"] = display_file(str(out["file"]), display)
    if "value" in out:
        out["value"] = mask_value(out["value"])
    return out


def display_file(file: str, display: dict[str, str] | None = None) -> str:
    """The name to show for a file recorded in a rejected row: the uploaded name, never a server path."""
    if display and file in display:
        return display[file]
    base = file.replace("\\", "/").rsplit("/", 1)[-1]
    if display and base in display:
        return display[base]
    return base
