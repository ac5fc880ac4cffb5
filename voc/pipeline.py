"""The analysis pipeline: PII redaction, then the analyzers in order, over one batch of records — a spaCy
``Language`` (``spacy.blank("ru")``, see ``voc.analyzers.nlp``) whose components are ``voc_redact``, the lemmatizer,
the sentencizer and the analyzers (``voc.analyzers.components``), run with ``nlp.pipe`` in batches.

Batch runs (``voc.batch``) hand it records the privacy gate (``voc.ingest.privacy``) has already masked, with
their counts (``analyze(records, pii_counts=...)``), so texts are masked once, at ingest; records made in
memory (``voc classify``, ``/v1/classify``) are masked here by the same redactor.

Like a spaCy pipeline, it is an ordered list of named components built from config. ``pipeline.yaml``:

    components:
      - sentiment                     # a name alone: default config
      - name: emotions
        config: {model: /path/to/emotions-model}
      - topics
      - cause
      - journey_stage
    redact: {enabled: true, names: morph}  # names: morph (default, fast) | natasha | auto | off
    profile: default                       # default (the encoder, once shipped/promoted) | fast (TF-IDF + lexicons)

Configured taxonomy/journey/causes files are passed to the analyzers that use them; the profile is passed to
every model-backed analyzer, which resolves its model through ``voc_models.registry.task_model_path`` (weights load
on first use). The pipeline, not each analyzer, starts every row with empty evidence and records the versions.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError
from spacy.tokens import Doc

from voc.analyzers.base import Analyzer
from voc.analyzers.components import SPECS, AnalyzerComponent, RedactComponent, factory_name, stash
from voc.analyzers.nlp import attach, make_nlp
from voc.analyzers.registry import create
from voc.config import read_yaml_file
from voc.schema import Feedback, Findings

if TYPE_CHECKING:
    from voc.runspec import RunSpec

DEFAULT_COMPONENTS: tuple[str, ...] = ("sentiment", "emotions", "topics", "cause", "journey_stage")
#: the Doc annotations the built-in pipes give (lemmas, sentences)
DOC_ATTRS: tuple[str, ...] = ("token.lemma", "doc.sents")


class ComponentSpec(BaseModel):
    name: str
    config: dict[str, Any] = Field(default_factory=dict)


class RedactSpec(BaseModel):
    enabled: bool = True
    names: str = "morph"


class PipelineConfig(BaseModel):
    """Contents of pipeline.yaml."""

    components: list[ComponentSpec] = Field(default_factory=lambda: [ComponentSpec(name=n) for n in DEFAULT_COMPONENTS])
    redact: RedactSpec = Field(default_factory=RedactSpec)
    profile: str = Field("default", description="default | fast (see voc_models.registry)")

    @classmethod
    def read(cls, path: str | Path) -> PipelineConfig:
        raw = read_yaml_file(path, "pipeline config") or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: expected a mapping with 'components' and 'redact', got {type(raw).__name__}")
        comps = raw.get("components")
        if isinstance(comps, list):
            raw["components"] = [{"name": c} if isinstance(c, str) else c for c in comps]
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            raise ValueError(f"{path}: field '{loc}': {first['msg']}") from None


class Pipeline:
    """Redaction + analyzers over batches of Feedback, as a spaCy pipeline (``self.nlp``)."""

    #: Docs per ``nlp.pipe`` batch: each analyzer is vectorised over a batch
    batch_size: int = 1000

    def __init__(self, analyzers: Sequence[Analyzer], redactor: Any | None = None, stages: Sequence[str] = ()):
        names = [a.name for a in analyzers]
        for i, a in enumerate(analyzers):
            missing = [r for r in a.requires if r not in names[:i]]
            if missing:
                raise ValueError(f"analyzer '{a.name}' needs {missing} to run before it (pipeline order: {names})")
        self.analyzers = list(analyzers)
        self.redactor = redactor
        self.stages = list(stages)
        self.timings: dict[str, float] = {}
        self.preset: Any | None = None  # the domain preset chosen by from_spec (voc.presets.PresetChoice)
        self.spec: RunSpec | None = None  # the run spec from_spec built this pipeline from
        # what the analyzers read from the Doc (spaCy notation); a custom analyzer may read anything
        needs = {r for a in self.analyzers for r in (SPECS[a.name][1] if a.name in SPECS else DOC_ATTRS)}
        self.nlp = make_nlp(lemmas="token.lemma" in needs, sentences="doc.sents" in needs)
        if redactor is not None:
            self.nlp.add_pipe("voc_redact", first=True, config={"instance": stash(redactor)})
        for a in self.analyzers:
            factory = factory_name(a.name)
            config: dict[str, Any] = {"instance": stash(a)}
            if factory == "voc_analyzer":
                config["analyzer"] = a.name
            self.nlp.add_pipe(factory, name=a.name, config=config)
        for _, proc in self.nlp.pipeline:
            if isinstance(proc, AnalyzerComponent | RedactComponent):
                proc.timings = self.timings
        # models load on first use; a process about to fork workers loads them first, so the workers share them
        ref = weakref.ref(self)
        def warm_up_before_fork() -> None:
            if (p := ref()) is not None:
                p.warm_up()
        os.register_at_fork(before=warm_up_before_fork)

    def warm_up(self) -> None:
        """Load every analyzer's model now (otherwise on first use)."""
        for a in self.analyzers:
            if hasattr(a, "warm_up"):
                a.warm_up()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (Ray workers) without the spaCy ``Language``, which is rebuilt from the analyzers."""
        return {"analyzers": self.analyzers, "redactor": self.redactor, "stages": self.stages,
                "preset": self.preset, "spec": self.spec}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["analyzers"], redactor=state["redactor"], stages=state["stages"])  # type: ignore[misc]
        self.preset, self.spec = state.get("preset"), state.get("spec")

    @classmethod
    def load(
        cls,
        *,
        taxonomy: str | Path | None = None,
        journey: str | Path | None = None,
        causes: str | Path | None = None,
        components: Sequence[str] | None = None,
        config: str | Path | PipelineConfig | None = None,
        redact: bool | None = None,
        redact_names: str | None = None,
        topic_model: str | Path | None = None,
        profile: str | None = None,
    ) -> Pipeline:
        """Build the default pipeline, or the one a pipeline.yaml describes, with configs applied.

        ``profile`` (default: the config's, else "default") picks the models: see ``voc_models.registry``."""
        from voc.config import load_journey
        from voc_models.registry import check_profile

        cfg = config if isinstance(config, PipelineConfig) else PipelineConfig.read(config) if config else PipelineConfig()
        specs = [ComponentSpec(name=n) for n in components] if components is not None else list(cfg.components)
        if topic_model is not None and not any(s.name == "discovered_topics" for s in specs):
            specs.append(ComponentSpec(name="discovered_topics", config={"model": str(topic_model)}))
        prof = check_profile(profile or cfg.profile)
        shared: dict[str, dict[str, Any]]
        shared = {"sentiment": {"profile": prof}, "emotions": {"profile": prof},
                  "topics": {"taxonomy": taxonomy, "profile": prof}, "cause": {"causes": causes, "profile": prof},
                  "journey_stage": {"journey": journey, "profile": prof}}
        analyzers = []
        for spec in specs:
            kwargs = {k: v for k, v in shared.get(spec.name, {}).items() if v is not None}
            if spec.config.get("method", "default") != "default":
                kwargs.pop("profile", None)  # model profiles choose trained models; other methods have none
            kwargs.update(spec.config)
            analyzers.append(create(spec.name, **kwargs))

        enabled = cfg.redact.enabled if redact is None else redact
        names = redact_names or cfg.redact.names
        redactor = None
        if enabled:
            from voc.redact import Redactor

            redactor = Redactor(names=names != "off", name_engine=names if names != "off" else "auto")
        stages = [s.name for s in load_journey(journey).stages]
        return cls(analyzers, redactor=redactor, stages=stages)

    @classmethod
    def from_spec(cls, spec: RunSpec) -> Pipeline:
        """The pipeline a run spec asks for (voc.runspec): the preset resolved (``auto`` reads a sample of the
        inputs; files named explicitly win), then configs, redaction, topic model and profile applied.
        ``pipeline.preset`` records the choice for the run summary, ``pipeline.spec`` the spec (worker processes
        build their own pipeline from it: voc.run.pool)."""
        from voc.presets import resolve_preset

        choice, taxonomy, journey, causes = resolve_preset(
            spec.preset, spec.inputs, spec.column_mapping(), taxonomy=spec.taxonomy, journey=spec.journey,
            causes=spec.causes)
        pipe = cls.load(taxonomy=taxonomy, journey=journey, causes=causes, config=spec.pipeline_config,
                        redact=spec.redact, redact_names=spec.redact_names, topic_model=spec.topic_model,
                        profile=spec.profile)
        pipe.preset = choice
        # what a worker process builds the same pipeline from (the preset resolved: no second sampling)
        pipe.spec = spec.model_copy(update={"preset": getattr(choice, "name", None)})
        return pipe

    @property
    def versions(self) -> dict[str, str]:
        out = {a.name: a.version for a in self.analyzers}
        if self.redactor is not None:
            out["redact"] = getattr(self.redactor, "version", "rules-1")
        return out

    def redact(self, records: Sequence[Feedback]) -> tuple[list[Feedback], list[dict[str, int]]]:
        """Mask PII in every record's text and turns (152-ФЗ); counts of masked spans per kind."""
        if self.redactor is None:
            return list(records), [{} for _ in records]
        out, counts = [], []
        for rec in records:
            new, c = self.redactor.redact_record(rec)
            out.append(new)
            counts.append(c)
        return out, counts

    def analyze(self, records: Sequence[Feedback], pii_counts: Sequence[dict[str, int]] | None = None,
                ) -> tuple[list[Feedback], list[Findings]]:
        """Redact, then run every analyzer over the batch. Returns the redacted records and their findings.

        ``pii_counts`` (one dict per record) says the records were masked by the privacy gate already:
        they are not redacted again and the counts go to ``Findings.pii_masked``.
        """
        out = self.docs(records, pii_counts, span_groups=False)
        return [d._.record for d in out], [d._.findings for d in out]

    def docs(self, records: Sequence[Feedback], pii_counts: Sequence[dict[str, int]] | None = None, *,
             span_groups: bool = True) -> list[Doc]:
        """``analyze`` returning the Docs: ``Doc._.record`` (redacted), ``Doc._.findings`` (versions set) and,
        with ``span_groups``, the evidence as ``doc.spans["evidence:<component>"]``."""
        if pii_counts is not None and len(pii_counts) != len(records):
            raise ValueError(f"pii_counts has {len(pii_counts)} entries for {len(records)} records")
        counts = [dict(c) for c in pii_counts] if pii_counts is not None else [{} for _ in records]
        findings = [Findings(feedback_id=r.id, pii_masked=c, call_metrics=r.call_metrics)
                    for r, c in zip(records, counts, strict=True)]
        out = self._run(records, findings, masked=pii_counts is not None, span_groups=span_groups)
        versions = self.versions
        for f in findings:
            f.model_versions = versions
        return out

    def _run(self, records: Sequence[Feedback], findings: list[Findings], *, masked: bool,
             span_groups: bool) -> list[Doc]:
        """``nlp.pipe`` over the records' Docs (``voc_redact`` off for records the privacy gate masked)."""
        disable = ["voc_redact"] if masked and "voc_redact" in self.nlp.pipe_names else []
        components = sum(v for k, v in self.timings.items() if k != "nlp")
        t0 = time.perf_counter()
        docs = (attach(self.nlp.make_doc(r.text), r, f, span_groups) for r, f in zip(records, findings, strict=True))
        out = list(self.nlp.pipe(docs, batch_size=self.batch_size, disable=disable))
        components = sum(v for k, v in self.timings.items() if k != "nlp") - components
        # the rest is spaCy's own work: tokenizer, lemmatizer, sentencizer
        self.timings["nlp"] = self.timings.get("nlp", 0.0) + max(0.0, time.perf_counter() - t0 - components)
        return out

    def close(self) -> None:
        for a in self.analyzers:
            a.close()
