"""Domain presets: ready taxonomy, journey and causes configs for banking, telecom and retail/e-commerce.

A preset is a folder ``voc/resources/presets/<name>/`` with ``taxonomy.yaml``, ``journey.yaml`` and
``causes.yaml`` in the same schema as the defaults (``voc/config.py``). The stage and cause names are the
default ones in every preset (heatmaps stay comparable); topics, descriptions, cues, ticket categories and
examples are domain-specific.

    preset = load_preset("banking")               # .taxonomy, .journey, .causes (validated), .paths
    name, scores = suggest_preset(texts)          # "banking", {"banking": 0.82, "retail": 0.05, ...}

``suggest_preset`` reads a sample of texts for the cue phrases that only one preset has (lemma matching, as
the topic lexicon does): every text votes for the preset whose distinctive cues it mentions most, and the
score of a preset is its share of the votes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from voc.config import (
    RESOURCES_DIR,
    CauseConfig,
    ConfigError,
    JourneyConfig,
    Taxonomy,
    load_causes,
    load_journey,
    load_taxonomy,
)

PRESETS_DIR = RESOURCES_DIR / "presets"
PRESETS: tuple[str, ...] = ("banking", "telecom", "retail")
AUTO = "auto"
FILES = {"taxonomy": "taxonomy.yaml", "journey": "journey.yaml", "causes": "causes.yaml"}


@dataclass(frozen=True)
class Preset:
    """The three configs of one domain preset, validated, and the files they came from."""

    name: str
    taxonomy: Taxonomy
    journey: JourneyConfig
    causes: CauseConfig
    paths: dict[str, Path]


@dataclass(frozen=True)
class PresetChoice:
    """Which preset a run uses and why: ``source`` is ``flag`` (named by the user) or ``auto`` (suggested)."""

    name: str | None
    source: str
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short record for summaries, e.g. ``banking (auto: banking 0.82, retail 0.05, telecom 0.03)``."""
        if self.source != AUTO:
            return f"{self.name}"
        ranked = ", ".join(f"{k} {v:.2f}" for k, v in sorted(self.scores.items(), key=lambda kv: -kv[1]))
        return f"{self.name or 'none (defaults)'} (auto: {ranked})"


def preset_dir(name: str) -> Path:
    """The folder of preset ``name``; ValueError naming the known presets for any other name."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS_DIR / name


def validate_preset(preset: Preset) -> None:
    """Cross-file checks: topics a stage lists as hints must exist in the preset's taxonomy."""
    topics = set(preset.taxonomy.names())
    for i, stage in enumerate(preset.journey.stages):
        for j, t in enumerate(stage.topics):
            if t not in topics:
                raise ConfigError(f"{preset.paths['journey']}: stages[{i}].topics[{j}]: {t!r} is not a topic of "
                                  f"{preset.paths['taxonomy']}")


@lru_cache(maxsize=8)
def load_preset(name: str) -> Preset:
    """The validated configs of preset ``name`` (``banking``, ``telecom`` or ``retail``)."""
    folder = preset_dir(name)
    paths = {kind: folder / file for kind, file in FILES.items()}
    preset = Preset(name=name, taxonomy=load_taxonomy(paths["taxonomy"]), journey=load_journey(paths["journey"]),
                    causes=load_causes(paths["causes"]), paths=paths)
    validate_preset(preset)
    return preset


def _phrases(preset: Preset) -> set[str]:
    from voc.text import normalize_phrase

    out: set[str] = set()
    for items in ([*t.keywords] for t in preset.taxonomy.topics):
        out.update(" ".join(normalize_phrase(p)) for p in items)
    for s in preset.journey.stages:
        out.update(" ".join(normalize_phrase(p)) for p in [*s.keywords, *s.touchpoints])
    for c in preset.causes.causes:
        out.update(" ".join(normalize_phrase(p)) for p in c.keywords)
    out.discard("")
    return out


@lru_cache(maxsize=1)
def _distinctive_index():  # noqa: ANN202 - voc.analyzers.topics.PhraseIndex
    """A phrase index of the cues that belong to exactly one preset, labelled by that preset."""
    from voc.analyzers.topics import PhraseIndex

    phrases = {name: _phrases(load_preset(name)) for name in PRESETS}
    distinctive = {
        name: sorted(p for p in own if not any(p in phrases[other] for other in PRESETS if other != name))
        for name, own in phrases.items()
    }
    return PhraseIndex(distinctive)


def suggest_preset(
    texts: Iterable[str], sample_size: int = 500, min_share: float = 0.2, seed: int = 0
) -> tuple[str | None, dict[str, float]]:
    """The preset whose distinctive cues the texts mention most, and every preset's share of the votes.

    A random sample of ``sample_size`` texts is read. The name is None when no preset gets at least
    ``min_share`` of the texts (too little evidence: keep the defaults).
    """
    items = [t for t in texts if isinstance(t, str) and t.strip()]
    if len(items) > sample_size:
        items = random.Random(seed).sample(items, sample_size)
    scores = {name: 0.0 for name in PRESETS}
    if not items:
        return None, scores
    from voc.analyzers.lexicon import phrase_weight

    index = _distinctive_index()
    for text in items:
        counts: dict[str, float] = {}
        for m in index.match_text(text):
            counts[m.label] = counts.get(m.label, 0.0) + phrase_weight(m.n_words)
        if counts:
            top = max(counts.values())
            winners = [k for k, v in counts.items() if v == top]
            for k in winners:
                scores[k] += 1.0 / len(winners)
    scores = {k: round(v / len(items), 4) for k, v in scores.items()}
    best = max(PRESETS, key=lambda k: scores[k])
    return (best if scores[best] >= min_share else None), scores


def sample_input_texts(paths: Sequence[Path], mapping: object | None = None, limit: int = 2000) -> list[str]:
    """Texts of the first ``limit`` valid records of the input files (for ``--preset auto``)."""
    from voc.ingest import read_feedback

    texts: list[str] = []
    for path in paths:
        for chunk in read_feedback(path, mapping, chunk_size=min(limit, 5000)):  # type: ignore[arg-type]
            texts.extend(r.text for r in chunk.records)
            if len(texts) >= limit:
                return texts[:limit]
    return texts


def resolve_preset(
    preset: str | None,
    inputs: Sequence[Path] = (),
    mapping: object | None = None,
    *,
    taxonomy: Path | None = None,
    journey: Path | None = None,
    causes: Path | None = None,
) -> tuple[PresetChoice | None, Path | None, Path | None, Path | None]:
    """Apply ``--preset`` (a name or ``auto``): the choice and the taxonomy/journey/causes files to use.

    Files the user named explicitly win over the preset's. ``auto`` reads a sample of ``inputs``; with too
    little evidence the defaults stay (choice.name is None).
    """
    if preset is None:
        return None, taxonomy, journey, causes
    if preset == AUTO:
        name, scores = suggest_preset(sample_input_texts(inputs, mapping))
        choice = PresetChoice(name=name, source=AUTO, scores=scores)
    else:
        preset_dir(preset)
        choice = PresetChoice(name=preset, source="flag")
    if choice.name is None:
        return choice, taxonomy, journey, causes
    paths = load_preset(choice.name).paths
    return choice, taxonomy or paths["taxonomy"], journey or paths["journey"], causes or paths["causes"]
