"""Offline document embeddings for topic discovery: TF-IDF over lemma 1–2-grams, reduced by TruncatedSVD.

The embedder is any scikit-learn style object with ``fit(lemma_texts)`` and ``transform(lemma_texts) ->
(n, d) array`` (BERTopic wraps it in ``bertopic.backend.SklearnEmbedder``). To use our own BERT encoder,
pass ``TopicModel(embedder=MyEncoder())`` with the same two methods; the rest of the model is unchanged.
Rows are L2-normalised, so dot products are cosine similarities.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer

#: Tokens of lemma text: words of 2+ letters, hyphenated words kept whole.
TOKEN_PATTERN = r"(?u)\b[^\W\d_][\w-]+\b"


def tfidf_svd_embedder(
    n_components: int = 100, *, max_features: int = 50_000, min_df: int = 2, random_state: int = 42
) -> Pipeline:
    """The default embedder: TF-IDF (word 1–2-grams, sublinear tf) → TruncatedSVD → L2 normalisation."""
    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    ngram_range=(1, 2),
                    min_df=min_df,
                    max_df=0.5,
                    max_features=max_features,
                    sublinear_tf=True,
                    token_pattern=TOKEN_PATTERN,
                    dtype=np.float32,
                ),
            ),
            ("svd", TruncatedSVD(n_components=n_components, algorithm="randomized", n_iter=4, random_state=random_state)),
            ("norm", Normalizer(copy=False)),
        ]
    )


def fit_embedder(embedder: Pipeline, lemma_texts: list[str]) -> Pipeline:
    """Fit the embedder, shrinking SVD dimensions when the vocabulary is smaller than asked (tiny corpora)."""
    if isinstance(embedder, Pipeline) and "svd" in embedder.named_steps and "tfidf" in embedder.named_steps:
        tfidf = embedder.named_steps["tfidf"]
        if len(lemma_texts) < 50:
            tfidf.set_params(min_df=1, max_df=1.0)
        matrix = tfidf.fit_transform(lemma_texts)
        svd = embedder.named_steps["svd"]
        limit = max(2, min(matrix.shape) - 1)
        if svd.n_components > limit:
            svd.set_params(n_components=limit)
        svd.fit(matrix)
        embedder.named_steps["norm"].fit(svd.transform(matrix[:1]))
        return embedder
    embedder.fit(lemma_texts)
    return embedder
