"""TopicModel: BERTopic with offline parts, seeded from the taxonomy, stable ids, persistent curation.

Stages (each a constructor argument, BERTopic style):

* **preprocess** — greetings/thanks stripped, pymorphy3 lemmas, stop words (``voc.topics.preprocess``);
* **embed** — TF-IDF over lemma 1–2-grams → TruncatedSVD (``voc.topics.embed``), or any ``embedder=`` with
  ``fit``/``transform`` (our BERT encoder drops in here);
* **cluster** — ``"kmeans"`` (default: MiniBatchKMeans on the SVD vectors, no UMAP; fastest on 2 cores, see
  docs/topics.md for the measurements), ``"hdbscan"`` (HDBSCAN on SVD vectors) or ``"umap_hdbscan"``;
* **seed** — BERTopic zero-shot topics from the taxonomy: documents close to a taxonomy topic get that topic
  and keep its name; only the rest is clustered into new topics;
* **represent** — BERTopic c-TF-IDF over lemma text (``CountVectorizer`` on lemmas, 1–2-grams), named from
  the top key phrases («доставка · курьер · опоздание»);
* **outliers** — BERTopic ``reduce_outliers(strategy="embeddings")`` for HDBSCAN noise, then online
  assignment is nearest topic centroid (cosine) with ``outlier_threshold``.

Public topic ids are ours: stable across save/load, kept across re-fits for topics that match a
``reference`` model, never reused after a merge.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np

from voc.topics.curation import (
    MAX_KEYWORDS,
    Curation,
    MergeOp,
    PromoteOp,
    RenameOp,
    apply_curation,
    promote_to_taxonomy,
)
from voc.topics.embed import TOKEN_PATTERN, fit_embedder, tfidf_svd_embedder
from voc.topics.info import OUTLIER_ID, FitStats, TopicInfo
from voc.topics.matching import DEFAULT_MATCH_THRESHOLD, match_topics
from voc.topics.naming import topic_name
from voc.topics.preprocess import lemma_docs
from voc.topics.seeds import seeds_from_taxonomy

log = logging.getLogger(__name__)

Clustering = Literal["kmeans", "hdbscan", "umap_hdbscan"]
Assignment = tuple[int, str | None, float]

FORMAT_VERSION = 1
TOPICS_FILE = "topics.json"
CENTROIDS_FILE = "centroids.safetensors"
EMBEDDER_FILE = "embedder.joblib"
BERTOPIC_FILE = "bertopic.pickle"
CURATION_FILE = "curation.json"
MIN_FIT_DOCS = 10
EXAMPLE_CHARS = 300


def auto_n_topics(n_docs: int) -> int:
    """Default number of k-means topics: √(n/3), between 2 and 60 (4.7k texts → 40, 300 → 10)."""
    return int(max(2, min(60, round(np.sqrt(n_docs / 3)))))


class TopicModel:
    """Discovered topics over Russian feedback; see the module docstring for the stages."""

    def __init__(
        self,
        *,
        embedder: Any = None,
        n_components: int = 100,
        clustering: Clustering = "kmeans",
        n_topics: int | None = None,
        min_topic_size: int = 10,
        seed_min_similarity: float = 0.45,
        seed_merge_similarity: float = 0.5,
        outlier_threshold: float = 0.1,
        match_threshold: float = DEFAULT_MATCH_THRESHOLD,
        temperature: float = 0.05,
        random_state: int = 42,
    ) -> None:
        if clustering not in ("kmeans", "hdbscan", "umap_hdbscan"):
            raise ValueError(f"clustering: expected kmeans, hdbscan or umap_hdbscan, got {clustering!r}")
        self.embedder = embedder
        self.n_components = n_components
        self.clustering = clustering
        self.n_topics = n_topics
        self.min_topic_size = min_topic_size
        self.seed_min_similarity = seed_min_similarity
        self.seed_merge_similarity = seed_merge_similarity
        self.outlier_threshold = outlier_threshold
        self.match_threshold = match_threshold
        self.temperature = temperature
        self.random_state = random_state
        # learned state
        self.embedder_: Any = None
        self.base_topics_: dict[int, TopicInfo] = {}
        self.base_centroids_: dict[int, np.ndarray] = {}
        self.curation_ = Curation()
        self.stats_: FitStats | None = None
        self.labels_: np.ndarray | None = None
        self.created_at_: str | None = None
        self.next_id_: int = 0
        self._bertopic: Any = None
        self._bertopic_path: Path | None = None
        self._view: tuple[dict[int, TopicInfo], dict[int, np.ndarray], dict[int, int]] | None = None

    # ----------------------------------------------------------------- config
    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "n_components", "clustering", "n_topics", "min_topic_size", "seed_min_similarity", "seed_merge_similarity",
            "outlier_threshold", "match_threshold", "temperature", "random_state")}

    @property
    def version(self) -> str:
        return f"topics-bertopic@{self.created_at_ or 'unfitted'}"

    # -------------------------------------------------------------------- fit
    def fit(self, texts: Sequence[str], *, taxonomy: Any = None, reference: TopicModel | str | Path | None = None,
            verbose: bool = False) -> TopicModel:
        """Fit on ``texts``; ``taxonomy`` seeds known topics; ``reference`` keeps ids of matching topics."""
        started = time.perf_counter()
        if isinstance(reference, str | Path):
            reference = TopicModel.load(reference)
        docs = lemma_docs(texts)
        keep = np.array([i for i, d in enumerate(docs) if d], dtype=int)
        if len(keep) < MIN_FIT_DOCS:
            raise ValueError(f"topic fit: need at least {MIN_FIT_DOCS} texts with topical words, got {len(keep)}")
        fit_docs = [docs[i] for i in keep]
        embedder = fit_embedder(self.embedder if self.embedder is not None else tfidf_svd_embedder(
            self.n_components, random_state=self.random_state), fit_docs)
        emb = np.asarray(embedder.transform(fit_docs), dtype=np.float32)
        seeds = [s for s in seeds_from_taxonomy(taxonomy) if s.lemma_text()]

        bt = self._make_bertopic(embedder, seeds, len(fit_docs))
        raw, _ = bt.fit_transform(fit_docs, embeddings=emb)
        raw = np.asarray(raw)
        outliers_before = float(np.mean(raw == OUTLIER_ID))
        if outliers_before > 0 and len(set(raw.tolist()) - {OUTLIER_ID}) > 0:
            raw = np.asarray(bt.reduce_outliers(fit_docs, raw.tolist(), strategy="embeddings", embeddings=emb,
                                                threshold=self.outlier_threshold))
            bt.update_topics(fit_docs, topics=raw.tolist(), top_n_words=MAX_KEYWORDS,
                             vectorizer_model=bt.vectorizer_model)
        zeroshot = getattr(bt, "_topic_id_to_zeroshot_topic_idx", {}) if seeds else {}
        raw = _absorb_into_seeds(raw, emb, set(zeroshot), self.seed_merge_similarity)
        raw, final_centroids = _refine_nearest_centroid(raw, emb, self.outlier_threshold)
        bt.update_topics(fit_docs, topics=raw.tolist(), top_n_words=MAX_KEYWORDS, vectorizer_model=bt.vectorizer_model)

        infos, centroids = {}, {}
        for t in sorted(set(raw.tolist()) - {OUTLIER_ID}):
            members = np.flatnonzero(raw == t)
            centroid = final_centroids[t]
            words = [(w, float(s)) for w, s in (bt.get_topic(t) or []) if w][:MAX_KEYWORDS]
            closest = members[np.argsort(-(emb[members] @ centroid))[:3]]
            seed = seeds[zeroshot[t]].name if t in zeroshot else None
            infos[t] = TopicInfo(
                id=t, name=seed or topic_name([w for w, _ in words]), keywords=[w for w, _ in words],
                keyword_weights=[s for _, s in words], size=int(len(members)), seed=seed,
                examples=[str(texts[keep[i]])[:EXAMPLE_CHARS] for i in closest])
            centroids[t] = centroid

        public, matched = self._public_ids(list(infos.values()), reference)
        self.base_topics_, self.base_centroids_ = {}, {}
        for raw_id, info in infos.items():
            pid = public[raw_id]
            ref_topic = reference.topics_by_id().get(pid) if reference is not None and raw_id in matched else None
            self.base_topics_[pid] = info.model_copy(update={
                "id": pid, "name": ref_topic.name if ref_topic else info.name,
                "is_new": reference is not None and ref_topic is None})
            self.base_centroids_[pid] = centroids[raw_id]
        self.next_id_ = max([*self.base_topics_, (reference.next_id_ - 1) if reference else -1]) + 1
        labels = np.full(len(docs), OUTLIER_ID, dtype=int)
        labels[keep] = [public.get(r, OUTLIER_ID) if r != OUTLIER_ID else OUTLIER_ID for r in raw.tolist()]
        self.labels_ = labels
        self.embedder_, self._bertopic, self._bertopic_path = embedder, bt, None
        self.curation_ = Curation()
        self.created_at_ = datetime.now(UTC).strftime("%Y.%m.%d-%H%M%S")
        self._view = None
        self.stats_ = FitStats(
            n_docs=len(docs), n_topics=len(self.base_topics_), outlier_share=float(np.mean(labels == OUTLIER_ID)),
            outliers_before_reduction=outliers_before, seconds=round(time.perf_counter() - started, 2),
            clustering=self.clustering, n_seeded=sum(1 for t in self.base_topics_.values() if t.seed),
            reference=reference.version if reference is not None else None,
            matched_reference={public[r]: r for r in matched})
        return self

    def _make_bertopic(self, embedder: Any, seeds: list, n_docs: int) -> Any:
        from bertopic import BERTopic
        from bertopic.backend._sklearn import SklearnEmbedder
        from bertopic.dimensionality import BaseDimensionalityReduction
        from bertopic.vectorizers import ClassTfidfTransformer
        from sklearn.feature_extraction.text import CountVectorizer

        if self.clustering == "kmeans":
            from sklearn.cluster import MiniBatchKMeans

            k = min(self.n_topics or auto_n_topics(n_docs), max(2, n_docs // 2))
            cluster: Any = MiniBatchKMeans(n_clusters=k, n_init=3, batch_size=4096, random_state=self.random_state)
        else:
            from hdbscan import HDBSCAN

            cluster = HDBSCAN(min_cluster_size=max(self.min_topic_size, n_docs // 500), metric="euclidean",
                              cluster_selection_method="eom", prediction_data=True, core_dist_n_jobs=1)
        if self.clustering == "umap_hdbscan":
            from umap import UMAP

            reducer: Any = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                                random_state=self.random_state, low_memory=True)
        else:
            reducer = BaseDimensionalityReduction()
        return BERTopic(
            embedding_model=SklearnEmbedder(embedder),
            umap_model=reducer,
            hdbscan_model=cluster,
            vectorizer_model=CountVectorizer(ngram_range=(1, 2), token_pattern=TOKEN_PATTERN, max_features=100_000),
            ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
            zeroshot_topic_list=[s.lemma_text() for s in seeds] or None,
            zeroshot_min_similarity=self.seed_min_similarity,
            top_n_words=MAX_KEYWORDS,
            min_topic_size=self.min_topic_size,
            calculate_probabilities=False,
        )

    def _public_ids(self, infos: list[TopicInfo], reference: TopicModel | None) -> tuple[dict[int, int], set[int]]:
        if reference is None:
            return {t.id: t.id for t in infos}, set()
        mapping = match_topics(infos, reference.topics, self.match_threshold)
        next_id = reference.next_id_
        public: dict[int, int] = {}
        for t in infos:
            if t.id in mapping:
                public[t.id] = mapping[t.id]
            else:
                public[t.id] = next_id
                next_id += 1
        return public, set(mapping)

    # ------------------------------------------------------------ the curated view
    def _curated(self) -> tuple[dict[int, TopicInfo], dict[int, np.ndarray], dict[int, int]]:
        if self._view is None:
            self._view = apply_curation(self.base_topics_, self.base_centroids_, self.curation_.ops)
        return self._view

    @property
    def topics(self) -> list[TopicInfo]:
        """Topics after curation, by id."""
        topics, _, _ = self._curated()
        return [topics[i] for i in sorted(topics)]

    def topics_by_id(self) -> dict[int, TopicInfo]:
        return dict(self._curated()[0])

    def resolve_id(self, topic_id: int) -> int:
        """The surviving id of ``topic_id`` (after merges); KeyError if unknown."""
        topics, _, alias = self._curated()
        while topic_id in alias:
            topic_id = alias[topic_id]
        if topic_id not in topics:
            raise KeyError(f"unknown topic id {topic_id}; known: {sorted(topics)}")
        return topic_id

    def topic(self, topic_id: int) -> TopicInfo:
        return self._curated()[0][self.resolve_id(topic_id)]

    # ----------------------------------------------------------------- assign
    def embed(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings of texts with topical words, their indices into ``texts``)."""
        self._check_fitted()
        docs = lemma_docs(texts)
        keep = np.array([i for i, d in enumerate(docs) if d], dtype=int)
        if len(keep) == 0:
            return np.zeros((0, 0), dtype=np.float32), keep
        emb = np.asarray(self.embedder_.transform([docs[i] for i in keep]), dtype=np.float32)
        return emb, keep

    def assign(self, texts: Sequence[str]) -> list[Assignment]:
        """``(topic_id, name, prob)`` per text; ``(-1, None, 0.0)`` when no topic is close enough.

        Nearest curated topic centroid by cosine; ``prob`` is the softmax of the cosines (temperature
        ``self.temperature``) for the chosen topic.
        """
        topics, centroids, _ = self._curated()
        out: list[Assignment] = [(OUTLIER_ID, None, 0.0)] * len(texts)
        if not topics:
            return out
        emb, keep = self.embed(texts)
        if len(keep) == 0:
            return out
        ids = sorted(topics)
        sims = emb @ np.stack([centroids[i] for i in ids]).T
        best = sims.argmax(axis=1)
        scaled = (sims - sims.max(axis=1, keepdims=True)) / self.temperature
        probs = np.exp(scaled) / np.exp(scaled).sum(axis=1, keepdims=True)
        for row, idx in enumerate(keep):
            j = int(best[row])
            if sims[row, j] >= self.outlier_threshold:
                out[idx] = (ids[j], topics[ids[j]].name, round(float(probs[row, j]), 6))
        return out

    # --------------------------------------------------------------- curation
    def merge(self, ids: Sequence[int], name: str | None = None) -> TopicInfo:
        """Merge topics into the smallest id (optionally renaming it); recorded in the curation log."""
        resolved = sorted({self.resolve_id(int(i)) for i in ids})
        if len(resolved) < 2:
            raise ValueError(f"merge: need at least two different topics, got {list(ids)}")
        self._add_op(MergeOp(ids=resolved, name=name))
        return self.topic(resolved[0])

    def rename(self, topic_id: int, name: str) -> TopicInfo:
        if not name.strip():
            raise ValueError("rename: the new name is empty")
        self._add_op(RenameOp(id=self.resolve_id(topic_id), name=name.strip()))
        return self.topic(topic_id)

    def promote(self, topic_id: int, taxonomy_path: str | Path, *, name: str | None = None) -> dict:
        """Append the topic to a taxonomy YAML (name, c-TF-IDF keywords, examples); logged in the curation."""
        topic = self.topic(topic_id)
        if name:
            topic = topic.model_copy(update={"name": name})
        entry = promote_to_taxonomy(topic, taxonomy_path)
        self._add_op(PromoteOp(id=topic.id, taxonomy=str(taxonomy_path), name=topic.name))
        return entry

    def _add_op(self, op: Any) -> None:
        self.curation_.ops.append(op)
        self._view = None
        self._curated()  # fail fast on a bad op

    # -------------------------------------------------------------- save/load
    def save(self, model_dir: str | Path) -> Path:
        """Write the model directory (JSON + safetensors + joblib/pickle; all offline)."""
        from safetensors.numpy import save_file

        from voc_models.base import ModelInfo

        self._check_fitted()
        out = Path(model_dir)
        out.mkdir(parents=True, exist_ok=True)
        ids = sorted(self.base_topics_)
        state = {
            "format": FORMAT_VERSION, "created_at": self.created_at_, "params": self.get_params(),
            "next_id": self.next_id_, "stats": self.stats_.model_dump() if self.stats_ else None,
            "topics": [self.base_topics_[i].model_dump() for i in ids],
        }
        (out / TOPICS_FILE).write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
        matrix = np.stack([self.base_centroids_[i] for i in ids]).astype(np.float32) if ids else np.zeros((0, 1), np.float32)
        save_file({"centroids": matrix, "ids": np.asarray(ids, dtype=np.int64)}, str(out / CENTROIDS_FILE))
        joblib.dump(self.embedder_, out / EMBEDDER_FILE)
        self.save_curation(out)
        if self._bertopic is not None:
            self._bertopic.save(str(out / BERTOPIC_FILE), serialization="pickle", save_embedding_model=False)
        ModelInfo(name="topics-bertopic", version=self.created_at_ or "", task="topics", kind="bertopic",
                  labels=[t.name for t in self.topics], multilabel=False, threshold=self.outlier_threshold,
                  metrics={"outlier_share": self.stats_.outlier_share if self.stats_ else None},
                  training={"params": self.get_params(), "n_docs": self.stats_.n_docs if self.stats_ else None},
                  created_at=self.created_at_).write(out)
        (out / "README.md").write_text(_card(self), encoding="utf-8")
        return out

    def save_curation(self, model_dir: str | Path) -> None:
        """Write only the curation log (what merge/rename/promote change)."""
        path = Path(model_dir) / CURATION_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.curation_.model_dump_json(indent=1), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, model_dir: str | Path) -> TopicModel:
        """Load a model directory written by ``save``; the curation log is re-applied."""
        from safetensors.numpy import load_file

        src = Path(model_dir)
        if not (src / TOPICS_FILE).is_file():
            raise FileNotFoundError(f"{src}: not a topic model directory ({TOPICS_FILE} missing)")
        state = json.loads((src / TOPICS_FILE).read_text(encoding="utf-8"))
        if state.get("format") != FORMAT_VERSION:
            raise ValueError(f"{src / TOPICS_FILE}: format {state.get('format')!r}, expected {FORMAT_VERSION}")
        model = cls(**state["params"])
        model.created_at_ = state["created_at"]
        model.next_id_ = int(state["next_id"])
        model.stats_ = FitStats.model_validate(state["stats"]) if state.get("stats") else None
        model.base_topics_ = {t["id"]: TopicInfo.model_validate(t) for t in state["topics"]}
        arrays = load_file(str(src / CENTROIDS_FILE))
        model.base_centroids_ = {int(i): arrays["centroids"][k] for k, i in enumerate(arrays["ids"].tolist())}
        model.embedder_ = joblib.load(src / EMBEDDER_FILE)
        if (src / CURATION_FILE).is_file():
            model.curation_ = Curation.model_validate_json((src / CURATION_FILE).read_text(encoding="utf-8"))
        model._bertopic_path = src / BERTOPIC_FILE if (src / BERTOPIC_FILE).is_file() else None
        model._curated()
        return model

    def bertopic_model(self) -> Any:
        """The underlying fitted BERTopic (loaded lazily; ``None`` when the model dir has none)."""
        if self._bertopic is None and self._bertopic_path is not None:
            from bertopic import BERTopic
            from bertopic.backend._sklearn import SklearnEmbedder

            self._bertopic = BERTopic.load(str(self._bertopic_path), embedding_model=SklearnEmbedder(self.embedder_))
        return self._bertopic

    def _check_fitted(self) -> None:
        if self.embedder_ is None:
            raise RuntimeError("topic model is not fitted: call fit() or TopicModel.load(dir)")


def _absorb_into_seeds(raw: np.ndarray, emb: np.ndarray, seed_ids: set[int], threshold: float) -> np.ndarray:
    """Relabel discovered clusters whose centroid is within ``threshold`` cosine of a seeded topic's centroid.

    Zero-shot only takes documents very close to a taxonomy topic; the rest of that theme would otherwise
    form a second, unnamed cluster of the same known topic.
    """
    ids = sorted(set(raw.tolist()) - {OUTLIER_ID})
    seeds = [t for t in ids if t in seed_ids]
    if not seeds or len(seeds) == len(ids):
        return raw
    cents = {t: emb[raw == t].mean(axis=0) for t in ids}
    cents = {t: c / (np.linalg.norm(c) or 1.0) for t, c in cents.items()}
    seed_matrix = np.stack([cents[t] for t in seeds])
    out = raw.copy()
    for t in ids:
        if t in seed_ids:
            continue
        sims = seed_matrix @ cents[t]
        if sims.max() >= threshold:
            out[raw == t] = seeds[int(sims.argmax())]
    return out


def _refine_nearest_centroid(raw: np.ndarray, emb: np.ndarray, threshold: float
                             ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """One nearest-centroid step, so fit labels equal what ``assign`` gives for the same texts.

    Centroids of the clustered labels are computed, every document moves to its nearest centroid (or to
    the outliers below ``threshold``). Returns the labels and the centroids they were assigned by — i.e.
    exactly the online rule on the stored centroids.
    """
    cents = np.zeros((0, emb.shape[1]), dtype=emb.dtype)
    ids: list[int] = []
    for _ in range(2):
        ids = sorted(set(raw.tolist()) - {OUTLIER_ID})
        if not ids:
            return raw, {}
        cents = np.stack([emb[raw == t].mean(axis=0) for t in ids])
        cents /= np.linalg.norm(cents, axis=1, keepdims=True).clip(min=1e-12)
        sims = emb @ cents.T
        best = sims.argmax(axis=1)
        raw = np.where(sims[np.arange(len(emb)), best] >= threshold, np.asarray(ids)[best], OUTLIER_ID)
    return raw, {t: cents[k] for k, t in enumerate(ids)}


def load_topic_model(model_dir: str | Path) -> TopicModel:
    """``TopicModel.load`` as a function (what the batch runner and the analyzer call)."""
    return TopicModel.load(model_dir)


def _card(model: TopicModel) -> str:
    s = model.stats_
    lines = [f"# Topic model {model.version}", "",
             "BERTopic with offline parts (TF-IDF+SVD embeddings, c-TF-IDF over lemmas). Load with "
             "`voc.topics.TopicModel.load(dir)`; see docs/topics.md.", ""]
    if s:
        lines += [f"- documents: {s.n_docs}", f"- topics: {s.n_topics} ({s.n_seeded} seeded from the taxonomy)",
                  f"- outlier share: {s.outlier_share:.3f}", f"- clustering: {s.clustering}", f"- fit seconds: {s.seconds}"]
    lines += ["", "| id | name | size |", "|---:|---|---:|"]
    lines += [f"| {t.id} | {t.name} | {t.size} |" for t in model.topics]
    return "\n".join(lines) + "\n"
