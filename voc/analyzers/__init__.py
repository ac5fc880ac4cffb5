"""Analyzers: one module per component (sentiment, emotions, topics, cause, journey_stage, discovered_topics),
run as spaCy components over Docs of ``spacy.blank("ru")`` (docs/components.md).

Where is X computed? sentiment → ``sentiment.py``; emotions → ``emotions.py``; taxonomy topics and aspect
sentiment → ``topics.py``; complaint cause → ``cause.py``; journey stage → ``journey.py``; BERTopic topics →
``discovered_topics.py``. The contract is ``base.Analyzer``; ``registry`` builds them by name; ``components``
registers them as spaCy factories; ``nlp`` makes the Doc; ``lexicon`` holds the helpers they share.
"""
