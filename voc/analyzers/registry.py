"""Analyzer registry: a name → factory table, as in spaCy's component registry.

A new analyzer is one module plus one ``@register("name")`` line; ``pipeline.yaml`` names them.
An alternative implementation of the same component registers as ``@register("cause", method="zeroshot")``
and is chosen with ``{name: cause, config: {method: zeroshot}}``: it keeps the component's name, so the
pipeline's ``requires`` checks, the shared taxonomy/journey/causes files and the outputs stay the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voc.analyzers.base import Analyzer

_FACTORIES: dict[str, Callable[..., Analyzer]] = {}
_METHODS: dict[tuple[str, str], Callable[..., Analyzer]] = {}
DEFAULT_METHOD = "default"


def register(name: str, method: str | None = None) -> Callable[[type[Analyzer]], type[Analyzer]]:
    """Class decorator: make an Analyzer buildable by ``name`` (and ``method``, for an alternative) from config."""

    def wrap(cls: type[Analyzer]) -> type[Analyzer]:
        cls.name = name
        if method is None or method == DEFAULT_METHOD:
            _FACTORIES[name] = cls
        else:
            _METHODS[(name, method)] = cls
        return cls

    return wrap


def create(name: str, **config: Any) -> Analyzer:
    """Build the analyzer registered as ``name`` with its config keyword arguments.

    ``method`` (a config key, optional) picks an alternative implementation registered under the same name.
    """
    _load_builtin()
    if name not in _FACTORIES:
        known = ", ".join(sorted(_FACTORIES))
        raise KeyError(f"unknown analyzer {name!r}; known: {known}")
    method = config.pop("method", None)
    if method is None or method == DEFAULT_METHOD:
        return _FACTORIES[name](**config)
    if (name, str(method)) not in _METHODS:
        raise ValueError(f"analyzer {name!r}: unknown method {method!r}; known: {', '.join(methods(name))}")
    return _METHODS[(name, str(method))](**config)


def available() -> list[str]:
    _load_builtin()
    return sorted(_FACTORIES)


def methods(name: str) -> list[str]:
    """The methods an analyzer can be built with (``default`` first)."""
    _load_builtin()
    return [DEFAULT_METHOD, *sorted(m for n, m in _METHODS if n == name)]


def _load_builtin() -> None:
    # Importing the modules runs their @register lines.
    import voc.analyzers.builtin  # noqa: F401
