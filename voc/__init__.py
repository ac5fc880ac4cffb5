"""voc — Voice-of-Customer text mining for Russian-language customer feedback.

Python API::

    import voc
    result = voc.analyze("feedback.csv", tickets="tickets.csv", outdir="out/")
    result.frame          # the enriched table (pandas)
    result.aggregates     # heatmaps, priority list, scores, trends

``voc.analyze`` takes the same options as ``voc analyze`` and the HTTP upload: the fields of ``voc.RunSpec``.
"""

import sys

__version__ = "0.1.0"

__all__ = ["RunSpec", "__version__", "analyze"]


def _thinc_without_torch() -> None:
    """spaCy's thinc imports torch at import time when it is installed: ~185 MB of RSS and ~2.5 s in every voc
    process (the CLI, the parent of a batch, each worker), for nothing — voc's spaCy is a blank Russian
    tokenizer, and its encoders run on ONNX Runtime. thinc is imported once with torch hidden (its ``has_torch``
    stays False); torch itself still imports normally later, where training or a torch backend needs it. A
    process that has already imported torch or thinc is left alone."""
    if "torch" in sys.modules or "thinc" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        import thinc.compat  # noqa: F401
    except ImportError:  # thinc not installed: spaCy is optional to this package's import
        pass
    finally:
        sys.modules.pop("torch", None)


_thinc_without_torch()


def __getattr__(name: str):
    # Lazy: importing voc must stay cheap (the CLI and the API import it first).
    if name == "analyze":
        from voc.python_api import analyze

        return analyze
    if name == "RunSpec":
        from voc.runspec import RunSpec

        return RunSpec
    raise AttributeError(name)
