"""Shim, no tests: the tiny-model rows moved to tests/helpers/tinydata.py (fixtures in tests/conftest.py).

TODO(issue 12): delete once tests/test_analyze_sentiment.py and tests/test_analyze_emotions.py (another branch's
files) take the ``tiny_sentiment_model`` / ``tiny_emotion_model`` fixtures or import ``helpers.tinydata``.
"""

from helpers.tinydata import emotion_rows, sentiment_rows, tiny_emotion_model, tiny_sentiment_model

__all__ = ["emotion_rows", "sentiment_rows", "tiny_emotion_model", "tiny_sentiment_model"]
