"""Service settings: environment variables ``VOC_*`` over an optional YAML/JSON settings file over defaults."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

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
    redact_names: str = Field("morph", description="online name masker: morph | natasha | off")
    pipeline_config: Path | None = Field(None, description="pipeline.yaml (components and their models)")
    chunk_size: int = Field(20_000, ge=1)
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
