"""One run spec for every entry point: ``voc analyze``, ``voc.analyze()`` and the HTTP batch upload.

Each shell turns its own arguments into a :class:`RunSpec` and hands it to ``voc.batch.run`` (the pipeline is
built by ``Pipeline.from_spec``), so the three offer the same options (tests/test_runspec.py checks the
field lists). A few fields are the operator's, not the uploader's: the HTTP service sets
:data:`SERVICE_FIELDS` from its settings (paths on the server, the pseudonym key, where and how it computes,
whether PII is masked at all); the CLI takes no key on the command line (:data:`CLI_EXCLUDED`: use the key
file or ``$VOC_PSEUDONYM_KEY``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from voc.ingest import ColumnMapping

#: rows per chunk of a batch run: small enough that a 30k-row file keeps two workers busy to the end, large enough
#: that per-chunk costs vanish (decision 83; bench/results/throughput_real_30k_fast_chunks.json)
DEFAULT_CHUNK_ROWS = 5_000

REDACT_NAME_ENGINES = ("morph", "natasha", "auto", "off")
ENGINES = ("local", "ray")

#: Fields the HTTP service sets from its settings instead of the upload form (see the module docstring).
SERVICE_FIELDS = frozenset({
    "outdir", "workers", "chunk_size", "engine", "ray_address", "pipeline_config", "topic_model", "redact",
    "pseudonym_key", "pseudonym_key_file", "sink", "write_csv",
})
#: Fields ``voc analyze`` does not take: a key on a command line lands in shell history and ``ps``.
CLI_EXCLUDED = frozenset({"pseudonym_key"})


class RunSpec(BaseModel):
    """Everything one batch run needs: inputs, mapping, configs, redaction, models, windows, resources."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    # inputs
    inputs: list[Path] = Field(min_length=1, description="feedback files, or folders of call transcripts")
    tickets: Path | None = Field(None, description="ticket export to link (CSV/XLSX/JSONL/Parquet/JSON)")
    columns: Path | ColumnMapping | None = Field(
        None, description="column mapping: a YAML file ('columns: {text: Отзыв, ...}') or a ColumnMapping")
    text_col: str | None = Field(None, max_length=200, description="name of the text column (else auto-detected)")
    channel: str | None = Field(None, max_length=50, description="channel for rows that have none")
    # configs
    taxonomy: Path | None = Field(None, description="topic taxonomy YAML")
    journey: Path | None = Field(None, description="journey config YAML (stages, ticket categories)")
    causes: Path | None = Field(None, description="complaint causes YAML")
    pipeline_config: Path | None = Field(None, description="pipeline.yaml naming the analyzers and their config")
    preset: str | None = Field(None, max_length=50,
                               description="domain preset: banking, telecom, retail or auto; explicit files win")
    profile: str | None = Field(None, max_length=50, description="models: default, fast (TF-IDF + lexicons) or accurate")
    topic_model: Path | None = Field(None, description="fitted topic model dir (voc topics fit)")
    # privacy
    redact: bool | None = Field(None, description="mask PII (None: the pipeline config's, on by default)")
    redact_names: str | None = Field(None, description="person-name masking: morph, natasha, auto, off")
    keep_pii_columns: list[str] = Field(default_factory=list, description="PII columns to keep raw (by name)")
    pseudonym_key: str | bytes | None = Field(None, repr=False, exclude=True,
                                              description="key for customer-key pseudonyms (else the key file)")
    pseudonym_key_file: Path | None = Field(None, description="file holding the pseudonym key")
    # linking windows
    link_window_days: float = Field(3.0, ge=0, le=3650, description="feedback ↔ ticket link window (days)")
    repeat_window_days: float = Field(7.0, ge=0, le=3650, description="repeat-contact window (days)")
    # resources and outputs
    outdir: Path | None = Field(None, description="output directory (voc.analyze: a temp dir if None)")
    workers: int = Field(1, ge=1, le=256, description="analysis processes (or Ray actors)")
    chunk_size: int = Field(DEFAULT_CHUNK_ROWS, ge=1, description="rows per chunk (bounds memory; spreads the work over "
                                                                  "the workers)")
    engine: Literal["local", "ray"] = Field("local", description="local processes or a Ray Data actor pool")
    ray_address: str | None = Field(None, description="with engine=ray: a running cluster's address")
    sink: str | None = Field(None, description="also export the finished run (clickhouse://HOST:PORT/DB)")
    write_csv: bool = Field(True, description="also write enriched.csv next to enriched.parquet")

    @field_validator("redact_names")
    @classmethod
    def _names_engine(cls, value: str | None) -> str | None:
        if value is not None and value not in REDACT_NAME_ENGINES:
            raise ValueError(f"expected one of {', '.join(REDACT_NAME_ENGINES)}, got {value!r}")
        return value

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        from voc.presets import AUTO, preset_dir

        if value is not None and value != AUTO:
            preset_dir(value)  # ValueError naming the known presets
        return value

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str | None) -> str | None:
        from voc_models.registry import check_profile

        return value if value is None else check_profile(value)

    @field_validator("keep_pii_columns")
    @classmethod
    def _keep_names(cls, value: list[str]) -> list[str]:
        return sorted({v.strip() for v in value if v and v.strip()})

    @classmethod
    def build(cls, **values: Any) -> RunSpec:
        """Validate ``values``; a bad one is a ValueError naming the field (for the CLI's one-line errors)."""
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"]) or "spec"
            raise ValueError(f"{loc}: {first['msg'].removeprefix('Value error, ')}") from None

    def column_mapping(self) -> ColumnMapping:
        """The column mapping: the YAML file or object, with ``text_col`` and ``channel`` applied."""
        if isinstance(self.columns, ColumnMapping):
            mapping = self.columns
        elif self.columns is not None:
            mapping = ColumnMapping.from_yaml(self.columns)
        else:
            mapping = ColumnMapping()
        updates = {k: v for k, v in (("text", self.text_col), ("default_channel", self.channel)) if v}
        return mapping.model_copy(update=updates) if updates else mapping

    def kept_pii_columns(self, mapping: ColumnMapping | None = None) -> list[str]:
        """PII columns kept raw: the mapping's and ``keep_pii_columns``."""
        mapping = mapping or self.column_mapping()
        return [*mapping.keep_pii_columns, *self.keep_pii_columns]

    def pipeline_key(self) -> tuple:
        """What ``Pipeline.from_spec`` depends on: equal keys build equal pipelines (a cache key)."""
        return (self.taxonomy, self.journey, self.causes, self.pipeline_config, self.preset, self.profile,
                self.topic_model, self.redact, self.redact_names,
                tuple(self.inputs) if self.preset == "auto" else None)

    def missing_files(self) -> list[tuple[str, Path]]:
        """(field, path) of every named input or config that does not exist."""
        named: list[tuple[str, Path | None]] = [("inputs", p) for p in self.inputs]
        named += [(f, getattr(self, f)) for f in ("tickets", "taxonomy", "journey", "causes", "pipeline_config",
                                                  "topic_model")]
        if isinstance(self.columns, Path):
            named.append(("columns", self.columns))
        return [(f, p) for f, p in named if p is not None and not Path(p).exists()]
