"""An ensemble model: the weighted average of its members' probabilities, behind the TextClassifier contract.

A model directory of kind ``ensemble`` holds only ``voc_model.json`` (+ card): ``members`` lists the member
models — a path relative to the ensemble's directory (e.g. ``../sentiment-tfidf``), an absolute path or a
registry name (``name`` / ``name@version``) — with a weight each; a multi-task member serves its head of the
ensemble's ``task``. Members must declare the same label set (columns are reordered by label when needed).

Evidence (``explain_spans``) comes from one member — the one marked ``"evidence": true``, else the first TF-IDF
member (its n-gram weights cost nothing), else the first — so an encoder member is not run on every occluded
variant. Features and segment probabilities are the members' own, averaged with the same weights.

A member marked ``"segments": false`` scores documents only: sentence/turn probabilities come from the other
members (renormalised weights), and a segment that is its whole document takes the document's probabilities. An
encoder member then costs one pass per document instead of one per document and one per sentence (measured:
about half its time on real feedback, docs/encoder.md).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voc_models.base import ModelInfo, SegmentProba, TextClassifier

KIND = "ensemble"


class EnsembleError(ValueError):
    """An ensemble model directory that cannot be used."""


class EnsembleFeatures:
    """Each member's ``featurize`` output, indexable by a list of rows like the members' own features."""

    __slots__ = ("parts",)

    def __init__(self, parts: Sequence[Any]) -> None:
        self.parts = list(parts)

    def __len__(self) -> int:
        if not self.parts:
            return 0
        first = self.parts[0]
        return int(first.shape[0]) if hasattr(first, "shape") else len(first)

    def __getitem__(self, rows: Sequence[int]) -> EnsembleFeatures:
        return EnsembleFeatures([p[rows] for p in self.parts])


def member_path(ensemble_dir: Path, ref: str) -> Path:
    """The directory of member ``ref``: relative to the ensemble directory if it is one there, else resolved
    as a path or registry name."""
    from voc_models.registry import resolve

    local = ensemble_dir / ref
    if (local / "voc_model.json").is_file():
        return local.resolve()
    return resolve(ref)


class EnsembleClassifier(TextClassifier):
    """Weighted average of member classifiers' probabilities (weights normalised to sum to 1)."""

    def __init__(self, info: ModelInfo, members: Sequence[TextClassifier], weights: Sequence[float],
                 refs: Sequence[str] | None = None, evidence: int | None = None, source: str = "",
                 documents_only: Sequence[int] = ()) -> None:
        where = f"{source}: " if source else ""
        if not members:
            raise EnsembleError(f"{where}an ensemble needs at least one member")
        if len(weights) != len(members):
            raise EnsembleError(f"{where}{len(members)} members but {len(weights)} weights")
        w = np.asarray(weights, dtype=np.float64)
        if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
            raise EnsembleError(f"{where}weights must be non-negative numbers with a positive sum, got {list(weights)}")
        self.info, self.members, self.weights = info, list(members), w / w.sum()
        self.refs = list(refs) if refs is not None else [m.version for m in members]
        self._cols: list[np.ndarray] = []
        for m in self.members:
            if set(m.labels) != set(info.labels) or len(m.labels) != len(info.labels):
                raise EnsembleError(f"{where}member {m.version} has labels {m.labels}, the ensemble {info.labels}")
            if m.multilabel != info.multilabel:
                raise EnsembleError(f"{where}member {m.version} multilabel={m.multilabel}, "
                                    f"the ensemble multilabel={info.multilabel}")
            self._cols.append(np.array([m.labels.index(lab) for lab in info.labels]))
        if evidence is None:
            kinds = [m.info.kind for m in self.members]
            evidence = kinds.index("tfidf") if "tfidf" in kinds else 0
        if not 0 <= evidence < len(self.members):
            raise EnsembleError(f"{where}evidence member {evidence} out of range")
        self.evidence = evidence
        self.scores_segments = [i not in set(documents_only) for i in range(len(self.members))]
        if not any(self.scores_segments):
            raise EnsembleError(f"{where}every member is documents-only; at least one must score segments")

    # -- loading / saving --------------------------------------------------------------------------------
    @classmethod
    def load(cls, model_dir: str | Path) -> EnsembleClassifier:
        """Load an ensemble directory; members through the registry (cached, a multi-task member's head)."""
        from voc_models.registry import load_model

        path = Path(model_dir)
        info = ModelInfo.read(path)
        if info.kind != KIND:
            raise EnsembleError(f"{path}: kind {info.kind!r}, not {KIND!r}")
        source = str(path / "voc_model.json")
        if not info.members:
            raise EnsembleError(f"{source}: 'members' is empty")
        members, weights, refs, evidence, documents_only = [], [], [], None, []
        for i, spec in enumerate(info.members):
            ref, weight = spec.get("model"), spec.get("weight", 1.0)
            if not isinstance(ref, str) or not ref:
                raise EnsembleError(f"{source}: members[{i}] has no 'model' (a path or registry name)")
            if not isinstance(weight, int | float) or isinstance(weight, bool):
                raise EnsembleError(f"{source}: members[{i}].weight must be a number, got {weight!r}")
            try:
                members.append(load_model(member_path(path, ref), task=info.task))
            except (FileNotFoundError, ValueError) as exc:
                raise EnsembleError(f"{source}: members[{i}] ({ref}): {exc}") from exc
            if members[-1].info.task != info.task:
                raise EnsembleError(f"{source}: members[{i}] ({ref}) is a {members[-1].info.task!r} model, "
                                    f"not {info.task!r}")
            weights.append(float(weight))
            refs.append(str(member_path(path, ref)))
            if spec.get("evidence"):
                evidence = i
            if spec.get("segments", True) is False:
                documents_only.append(i)
        return cls(info, members, weights, refs=refs, evidence=evidence, source=source, documents_only=documents_only)

    def save(self, model_dir: str | Path) -> None:
        """Write ``voc_model.json`` (members as paths relative to ``model_dir``) and a card."""
        out = Path(model_dir)
        out.mkdir(parents=True, exist_ok=True)
        members = []
        for i, (ref, w) in enumerate(zip(self.refs, self.weights, strict=True)):
            rel = os.path.relpath(Path(ref).resolve(), out.resolve()) if Path(ref).is_dir() else ref
            members.append({"model": rel, "weight": round(float(w), 6),
                            **({"evidence": True} if i == self.evidence else {}),
                            **({} if self.scores_segments[i] else {"segments": False})})
        info = self.info.model_copy(update={"kind": KIND, "members": members})
        info.write(out)
        card = out / "README.md"
        if not card.exists():
            lines = [f"# {info.name} {info.version} — ensemble ({info.task})", "",
                     "Weighted average of the members' probabilities:", ""]
            lines += [f"- `{m['model']}` weight {m['weight']}" for m in members]
            card.write_text("\n".join(lines) + "\n", encoding="utf-8")

    # -- the TextClassifier contract --------------------------------------------------------------------
    def _avg(self, probas: Sequence[np.ndarray | None]) -> np.ndarray:
        """Weighted average of the members' probabilities; a ``None`` member is left out (weights renormalised)."""
        n = next(p.shape[0] for p in probas if p is not None)
        out = np.zeros((n, len(self.info.labels)), dtype=np.float64)
        total = 0.0
        for w, cols, p in zip(self.weights, self._cols, probas, strict=True):
            if p is not None:
                out += w * np.asarray(p, dtype=np.float64)[:, cols]
                total += float(w)
        return (out / total).astype(np.float32)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        return self._avg([m.predict_proba(texts) for m in self.members])

    def side_blocks(self) -> list[str]:
        return sorted({name for m in self.members for name in m.side_blocks()})

    def featurize(self, texts: Sequence[str]) -> EnsembleFeatures:
        texts = list(texts)
        return EnsembleFeatures([m.featurize(texts) for m in self.members])

    def proba_from_features(self, features: Any) -> np.ndarray:
        if not isinstance(features, EnsembleFeatures):
            return self.predict_proba(features.texts)
        return self._avg([m.proba_from_features(f) for m, f in zip(self.members, features.parts, strict=True)])

    def segment_proba(self, segments: Sequence[str], owners: Sequence[int], documents: Sequence[str]) -> SegmentProba:
        segments, documents = list(segments), list(documents)
        seg_parts: list[np.ndarray | None] = []
        doc_parts, features = [], []
        for m, scores_segments in zip(self.members, self.scores_segments, strict=True):
            if scores_segments:
                p = m.segment_proba(segments, owners, documents)
                seg_parts.append(p.segments)
                doc_parts.append(p.documents)
                features.append(p.features)
            else:  # documents only: one pass per document
                f = m.featurize(documents)
                seg_parts.append(None)
                doc_parts.append(m.proba_from_features(f))
                features.append(f)
        doc_proba = self._avg(doc_parts)
        seg_proba = self._avg(seg_parts) if segments else np.zeros((0, len(self.info.labels)), np.float32)
        if not all(self.scores_segments):  # a segment that is its whole document agrees with the document
            for k, (text, owner) in enumerate(zip(segments, owners, strict=True)):
                if owner >= 0 and text.strip() == documents[owner].strip():
                    seg_proba[k] = doc_proba[owner]
        return SegmentProba(seg_proba, doc_proba, EnsembleFeatures(features))

    def explain_spans(self, texts: Sequence[str], label_indices: Sequence[int], top_k: int = 3,
                      features: Any = None,
                      windows: Sequence[Sequence[tuple[int, int]] | None] | None = None) -> list[list[Any]]:
        """Evidence from the evidence member (its columns mapped from the ensemble's labels)."""
        k = self.evidence
        own = features.parts[k] if isinstance(features, EnsembleFeatures) else None
        cols = self._cols[k]
        return self.members[k].explain_spans(texts, [int(cols[int(j)]) for j in label_indices], top_k=top_k,
                                             features=own, windows=windows)


def write_ensemble(dest: str | Path, members: Sequence[tuple[str, float]], *, task: str, name: str, version: str,
                   evidence: int | None = None, card: str = "", documents_only: Sequence[int] = (),
                   training: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None) -> Path:
    """Write an ensemble directory: ``members`` are (path relative to ``dest`` or registry name, weight);
    ``documents_only`` lists members that score documents, not sentences. Labels are read from the first member;
    the result is loaded once to check it."""
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    first = ModelInfo.read(member_path(out, members[0][0]))
    head = first.heads.get(task)
    labels = list(head["labels"]) if head else list(first.labels)
    multilabel = bool(head["multilabel"]) if head else first.multilabel
    specs = [{"model": ref, "weight": float(w), **({"evidence": True} if i == evidence else {}),
              **({"segments": False} if i in set(documents_only) else {})}
             for i, (ref, w) in enumerate(members)]
    from datetime import date

    ModelInfo(name=name, version=version, task=task, kind=KIND, labels=labels, multilabel=multilabel,
              members=specs, training=dict(training or {}), metrics=dict(metrics or {}),
              created_at=date.today().isoformat()).write(out)
    if card:
        (out / "README.md").write_text(card, encoding="utf-8")
    EnsembleClassifier.load(out)
    return out
