"""voc — Voice-of-Customer text mining for Russian-language customer feedback.

Python API::

    import voc
    result = voc.analyze("feedback.csv", tickets="tickets.csv", outdir="out/")
    result.frame          # the enriched table (pandas)
    result.aggregates     # heatmaps, priority list, scores, trends

``voc.analyze`` takes the same options as ``voc analyze`` and the HTTP upload: the fields of ``voc.RunSpec``.
"""

__version__ = "0.1.0"

__all__ = ["RunSpec", "__version__", "analyze"]


def __getattr__(name: str):
    # Lazy: importing voc must stay cheap (the CLI and the API import it first).
    if name == "analyze":
        from voc.python_api import analyze

        return analyze
    if name == "RunSpec":
        from voc.runspec import RunSpec

        return RunSpec
    raise AttributeError(name)
