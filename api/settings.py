"""Service settings: environment variables ``VOC_*`` over an optional YAML/JSON settings file over defaults."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from voc.runspec import DEFAULT_CHUNK_ROWS

ENV_PREFIX = "VOC_"
SETTINGS_FILE_ENV = "VOC_SETTINGS_FILE"


class SettingsError(ValueError):
    """A setting has a wrong value; the message names the variable and what was expected."""


class Settings(BaseModel):
    """Everything the HTTP service and its batch workers read at start-up."""

    database_url: str = Field("", description="SQLAlchemy URL; default sqlite:///<data_dir>/voc.db")
    data_dir: Path = Field(Path("var"), description="uploads and batch outputs live under here")
    datasets_dir: Path | None = None
    workers: int = Field(1, ge=0, le=64, description="batch worker processes (0: none in this process)")
    max_upload_mb: float = Field(100.0, gt=0, description="largest multipart upload")
    max_request_kb: float = Field(2048.0, gt=0, description="largest JSON request body")
    max_items: int = Field(256, ge=1, le=10_000)
    inference_threads: int = Field(2, ge=1, le=64)
    classify_consumers: int = Field(
        1, ge=1, le=64, description="micro-batch threads of /v1/classify; 1 batches most (the TF-IDF pipeline "
                                    "holds the GIL, a second thread only halves the batches)")
    redact_names: str = Field("morph", description="online name masker: morph | natasha | off")
    pipeline_config: Path | None = Field(None, description="pipeline.yaml (components and their models)")
    chunk_size: int = Field(DEFAULT_CHUNK_ROWS, ge=1, description="rows per batch chunk (an upload counted at upload "
                                                                  "is cut into ~20 chunks of at most this)")
    batch_engine: Literal["local", "ray"] = Field(
        "local", description="where batch jobs analyse their chunks: local (the worker) or ray (voc[ray], docs/scale.md)")
    ray_address: str | None = Field(None, description="batch_engine ray: a running Ray cluster; else a local Ray per job")
    ray_workers: int = Field(2, ge=1, le=1024, description="batch_engine ray: Ray Data actors per job")
    worker_nice: int = Field(10, ge=0, le=19, description="CPU niceness of batch workers: online requests win")
    poll_interval_s: float = Field(1.0, gt=0, description="how often an idle worker looks for queued jobs")
    heartbeat_s: float = Field(5.0, gt=0)
    stale_after_s: float = Field(60.0, gt=0, description="a running job whose heartbeat is older is re-queued")
    webhook_max_attempts: int = Field(6, ge=1)
    webhook_backoff_s: float = Field(2.0, ge=0, description="first retry delay; doubles per attempt")
    webhook_timeout_s: float = Field(5.0, gt=0)
    webhook_max_events_per_batch: int = Field(1000, ge=0, description="feedback.negative events per batch")
    negative_threshold: float = Field(-0.5, ge=-1, le=1, description="default feedback.negative score cut")
    idempotency_ttl_h: float = Field(24.0, gt=0)
    log_level: str = "INFO"
    # --- hardening (issue #9) ---
    upload_retention_days: float = Field(
        0.0, ge=0, description="keep a job's uploaded inputs this long after it ends (0: delete when it ends)")
    orphan_grace_s: float = Field(
        600.0, ge=0, description="an upload folder without a job row older than this is removed")
    janitor_interval_s: float = Field(3600.0, gt=0, description="how often expired inputs and orphans are swept")
    max_uncompressed_mb: float = Field(200.0, gt=0, description="XLSX/Parquet: largest uncompressed content")
    max_compression_ratio: float = Field(100.0, gt=1, description="XLSX: largest uncompressed/compressed ratio")
    preview_max_mb: float = Field(
        5.0, ge=0, description="JSON-array uploads up to this size are test-read at upload; larger ones by the worker")
    max_json_depth: int = Field(32, ge=2, le=256, description="deepest nesting of a JSON request body")
    job_max_attempts: int = Field(3, ge=1, description="a job whose worker crashed this many times fails")
    classify_queue_max_items: int = Field(
        4096, ge=1, description="items waiting for inference; beyond it /v1/classify answers 503 + Retry-After")
    key_cache_ttl_s: float = Field(1.0, ge=0, le=30, description="verified keys are cached this long")
    metrics_token: str | None = Field(
        None, min_length=16, description="if set, /metrics needs 'Authorization: Bearer <this token>'")
    metrics_role: Literal["service", "analyst", "admin"] | None = Field(
        None, description="if set, /metrics also admits API keys with this role or higher")
    webhook_allow_cidrs: list[str] = Field(
        default_factory=list, description="private/loopback networks webhooks may reach, e.g. 10.20.0.0/16")
    audit_queue_max: int = Field(10_000, ge=1, description="audit rows waiting for the background writer")
    # --- privacy (issue #9) ---
    pseudonym_key_file: Path | None = Field(
        None, description="file holding the key of customer-key pseudonyms; VOC_PSEUDONYM_KEY (the key itself) wins; "
                          "else the user's voc config folder (created on first use)")

    @field_validator("webhook_allow_cidrs", mode="before")
    @classmethod
    def _split_cidrs(cls, value: object) -> object:
        if isinstance(value, str):  # VOC_WEBHOOK_ALLOW_CIDRS=10.0.0.0/8,192.168.5.0/24
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("webhook_allow_cidrs")
    @classmethod
    def _valid_cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a network; expected CIDRs like 10.0.0.0/8 or fd12::/16") from None
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'voc.db').resolve()}"

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, file: str | Path | None = None) -> Settings:
        """Defaults, then the settings file (``file`` or ``$VOC_SETTINGS_FILE``), then ``VOC_*`` variables."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        path = file or env.get(SETTINGS_FILE_ENV)
        if path:
            p = Path(path)
            try:
                text = p.read_text(encoding="utf-8")
                data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
            except (OSError, ValueError, yaml.YAMLError) as exc:
                raise SettingsError(f"settings file {p}: cannot read it ({exc})") from None
            if data is not None and not isinstance(data, dict):
                raise SettingsError(f"settings file {p}: expected a mapping of setting names to values")
            raw.update(data or {})
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if key in env:
                raw[name] = env[key]
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "?"
            raise SettingsError(
                f"setting {field} (env {ENV_PREFIX}{field.upper()}): {first['msg']}, got {first.get('input')!r}"
            ) from None
