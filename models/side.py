"""Side features: a named dense block a model reads next to its own features.

The shipped cause head reads voc's lexicon scores (cause cues and description similarity, stage cues, topic
strengths) beside its TF-IDF n-grams, in one logistic regression (decision 82). The model directory names the block
(``ModelInfo.side_features``: ``{"name": …, "names": [feature names]}``); the code that computes it lives with the
library that owns that logic. models/ stays a lower layer than voc/: it finds a block by name, either registered
in this process (``register``) or declared as an entry point of group ``voc_models.side_features`` (voc declares
``voc.cx-lexicon/1`` in its pyproject.toml), the way voc finds its shells' commands.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Protocol

import numpy as np

#: the entry-point group that declares side blocks: name = "module:factory"
ENTRY_POINT_GROUP = "voc_models.side_features"


class SideFeatures(Protocol):
    """A dense feature block: ``names`` in column order, ``__call__(texts)`` → float32 (n_texts, len(names)).

    A block may also offer ``from_docs(docs)``: the same rows from Docs a caller has already processed, remembered
    for the ``__call__`` that follows (``TaskHead.proba`` hands the pipeline's Docs over this way)."""

    names: list[str]

    def __call__(self, texts: Sequence[str]) -> np.ndarray: ...


_FACTORIES: dict[str, Callable[[], SideFeatures]] = {}
_BUILT: dict[str, SideFeatures] = {}
_LOCK = threading.Lock()


def register(name: str, factory: Callable[[], SideFeatures]) -> None:
    """Register the block ``name``; ``factory`` builds it on first use (once per process)."""
    with _LOCK:
        _FACTORIES[name] = factory
        _BUILT.pop(name, None)


def get(name: str) -> SideFeatures:
    """The block registered as ``name`` (built on first use); LookupError naming the block when nobody provides it."""
    built = _BUILT.get(name)
    if built is not None:
        return built
    if name not in _FACTORIES:
        for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
            register(name, ep.load())
            break
    with _LOCK:
        if name not in _BUILT:
            if name not in _FACTORIES:
                known = ", ".join(sorted(_FACTORIES)) or "none"
                raise LookupError(f"side features {name!r} are not registered (registered: {known}); the model "
                                  "needs the library that computes them")
            _BUILT[name] = _FACTORIES[name]()
        return _BUILT[name]


def check_names(name: str, expected: Sequence[str], where: str) -> SideFeatures:
    """The block ``name``, checked to compute exactly the features ``expected`` (a model's, in column order)."""
    block = get(name)
    if list(block.names) != list(expected):
        missing = [n for n in expected if n not in block.names]
        extra = [n for n in block.names if n not in expected]
        raise ValueError(f"{where}: side features {name!r} differ from the ones the model was trained on "
                         f"(missing {missing[:5]}, new {extra[:5]}); retrain the model or install the matching voc")
    return block
