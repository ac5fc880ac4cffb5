"""Nesting depth of a JSON body, measured on the raw bytes before any parser recurses into it.

``json.loads`` and pydantic recurse once per level: a body nested 100,000 deep ends in RecursionError.
:func:`too_deep` finds, in vectorised passes (numpy) over the bytes, whether any bracket outside a string
is nested deeper than the limit and, if so, names the field where that happens: every too-deep subtree is
replaced by a marker, the (now shallow) document is parsed, and the path to the first marker is returned.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

_QUOTE = ord('"')
_BACKSLASH = ord("\\")
MARKER = "\u0000voc:too-deep\u0000"
_MARKER_JSON = np.frombuffer(json.dumps(MARKER).encode(), dtype=np.uint8)


def _depths(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(depth after each byte, +1/-1/0 bracket delta of each byte), ignoring brackets inside strings."""
    arr = np.frombuffer(raw, dtype=np.uint8)
    quotes = arr == _QUOTE
    backslash = arr == _BACKSLASH
    if backslash.any():  # a quote after an odd run of backslashes is escaped
        count = np.cumsum(backslash)
        run = count - np.maximum.accumulate(np.where(backslash, 0, count))
        before = np.concatenate(([0], run[:-1]))
        quotes &= before % 2 == 0
    in_string = (np.cumsum(quotes) % 2 == 1) & ~quotes  # between an opening and a closing quote
    delta = ((arr == 0x5B) | (arr == 0x7B)).astype(np.int32) - ((arr == 0x5D) | (arr == 0x7D)).astype(np.int32)
    delta[in_string | quotes] = 0
    return np.cumsum(delta), delta


def max_depth(raw: bytes) -> int:
    """The deepest bracket nesting of ``raw`` (0 for a scalar or an empty body)."""
    if not raw:
        return 0
    depth, _ = _depths(raw)
    return int(depth.max(initial=0))


def _find_marker(value: Any, path: list[str | int]) -> list[str | int] | None:
    if isinstance(value, str):
        return path if value == MARKER else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, child in items:
        found = _find_marker(child, [*path, key])
        if found is not None:
            return found
    return None


def too_deep(raw: bytes, limit: int) -> list[str | int] | None:
    """None when ``raw`` nests at most ``limit`` deep; else the path (keys and indexes) of the first
    value nested deeper, ``[]`` when it cannot be named (the rest of the body is not valid JSON)."""
    if not raw or raw.count(b"[") + raw.count(b"{") <= limit:
        return None
    depth, delta = _depths(raw)
    deep = depth > limit
    if not deep.any():
        return None
    # a too-deep run starts at an opening bracket reaching limit+1 and ends at the closing one leaving it
    run = deep | ((delta == -1) & (np.concatenate(([0], depth[:-1])) > limit))
    starts = np.flatnonzero(run & ~np.concatenate(([False], run[:-1])))
    keep = np.frombuffer(raw, dtype=np.uint8)[~run]
    at = np.searchsorted(np.flatnonzero(~run), starts)  # where each run sat in the kept bytes
    shallow = np.insert(keep, np.repeat(at, len(_MARKER_JSON)), np.tile(_MARKER_JSON, len(starts)))
    try:
        document = json.loads(shallow.tobytes())
    except (ValueError, RecursionError):
        return []
    return _find_marker(document, []) or []
