"""Analyzers: one module per component (sentiment, emotions, topics, cause, journey_stage, discovered_topics).

Where is X computed? sentiment → ``sentiment.py``; emotions → ``emotions.py``; taxonomy topics and aspect
sentiment → ``topics.py``; complaint cause → ``cause.py``; journey stage → ``journey.py``; BERTopic topics →
``discovered_topics.py``. The contract is ``base.Analyzer``; ``registry`` builds them by name.
"""
