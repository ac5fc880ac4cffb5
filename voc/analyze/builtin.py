"""Imports the built-in analyzers so their @register lines run."""

from voc.analyze import cause, emotions, journey, sentiment, topics  # noqa: F401

try:  # topic discovery pulls in BERTopic; only needed when a topic model is used
    from voc.analyze import discovered_topics  # noqa: F401
except ImportError:  # pragma: no cover
    pass
