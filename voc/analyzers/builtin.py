"""Imports the built-in analyzers so their @register lines run (heavy libraries load lazily inside them)."""

from voc.analyzers import cause, discovered_topics, emotions, journey, sentiment, topics, zeroshot  # noqa: F401
