"""Analyzer registry: a name → factory table, as in spaCy's component registry.

A new analyzer is one module plus one ``@register("name")`` line; ``pipeline.yaml`` names them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voc.analyzers.base import Analyzer

_FACTORIES: dict[str, Callable[..., Analyzer]] = {}


def register(name: str) -> Callable[[type[Analyzer]], type[Analyzer]]:
    """Class decorator: make an Analyzer buildable by ``name`` from config."""

    def wrap(cls: type[Analyzer]) -> type[Analyzer]:
        cls.name = name
        _FACTORIES[name] = cls
        return cls

    return wrap


def create(name: str, **config: Any) -> Analyzer:
    """Build the analyzer registered as ``name`` with its config keyword arguments."""
    _load_builtin()
    if name not in _FACTORIES:
        known = ", ".join(sorted(_FACTORIES))
        raise KeyError(f"unknown analyzer {name!r}; known: {known}")
    return _FACTORIES[name](**config)


def available() -> list[str]:
    _load_builtin()
    return sorted(_FACTORIES)


def _load_builtin() -> None:
    # Importing the modules runs their @register lines.
    import voc.analyzers.builtin  # noqa: F401
