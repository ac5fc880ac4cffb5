"""The live state of one service instance: settings, database, the loaded pipeline, thread pool, senders."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from voc_api.db import init_db, make_engine, session_factory
from voc_api.metrics import ServiceMetrics
from voc_api.settings import Settings

log = logging.getLogger("voc.api")


def default_pipeline_factory(settings: Settings) -> Any:
    """The online pipeline: the default components with the cheap (morphology) name masker."""
    from voc.pipeline import Pipeline

    return Pipeline.load(config=settings.pipeline_config, redact_names=settings.redact_names)


def privacy_gate(settings: Settings, pipeline: Any) -> Any:
    """The gate of /v1/classify: the pipeline's redactor and the pseudonym key batch jobs use
    (``VOC_PSEUDONYM_KEY``, else ``pseudonym_key_file``, else the user key file), so a customer gets one
    pseudonym online and in batches. A key that cannot be read keeps the service not ready (``/readyz``)."""
    from voc.ingest.privacy import PrivacyGate
    from voc.ingest.pseudonym import Pseudonymizer, load_key

    key, source = load_key(None, settings.pseudonym_key_file)
    return PrivacyGate(getattr(pipeline, "redactor", None), Pseudonymizer(key), (), source)


def freeze_heap() -> None:
    """Move everything alive now (the loaded models: vocabularies, lexicons, ~160k tracked objects) out of the
    garbage collector's reach. A full collection walked them all, ~60 ms with the event loop and the inference
    thread stopped: the largest tail of ``/v1/classify`` once the per-request cost was cut."""
    gc.collect()
    gc.freeze()


@dataclass
class ServiceState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker
    metrics: ServiceMetrics
    pipeline_factory: Callable[[Settings], Any] = default_pipeline_factory
    pipeline: Any | None = None
    pipeline_error: str | None = None
    executor: ThreadPoolExecutor | None = None
    dispatcher: Any | None = None
    workers: Any | None = None
    batcher: Any | None = None
    resolver: Any | None = None  # webhook host resolver (voc_api.netguard.Resolver); None: the system's
    audit: Any | None = None  # voc_api.audit.AuditWriter: request-path audit rows written off the event loop
    janitor: Any | None = None
    privacy: Any | None = None  # voc.ingest.privacy.PrivacyGate for records made in memory (/v1/classify)
    ready: threading.Event = field(default_factory=threading.Event)
    _pipeline_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, settings: Settings, pipeline_factory: Callable[[Settings], Any] | None = None) -> ServiceState:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url())
        init_db(engine)
        return cls(settings=settings, engine=engine, sessions=session_factory(engine), metrics=ServiceMetrics(),
                   pipeline_factory=pipeline_factory or default_pipeline_factory)

    @property
    def batches_dir(self) -> Path:
        return self.settings.data_dir / "batches"

    def load_pipeline(self) -> None:
        """Load the pipeline once (start-up); /readyz turns ready when it is loaded."""
        with self._pipeline_lock:
            if self.pipeline is not None:
                return
            try:
                pipeline = self.pipeline_factory(self.settings)
                self.privacy = privacy_gate(self.settings, pipeline)
                self._warm_up(pipeline)
                freeze_heap()
                self.pipeline = pipeline
                self.pipeline_error = None
                self.ready.set()
            except Exception as exc:  # noqa: BLE001 - reported by /readyz, the service keeps running
                log.error('{"event": "pipeline_load_failed", "error": %r}', f"{type(exc).__name__}: {exc}")
                from voc_api.outputs import safe_reason

                # /readyz is open to anyone: file names only, no server paths
                self.pipeline_error = f"{type(exc).__name__}: {safe_reason(str(exc), {}, (Path.cwd(),))}"

    @staticmethod
    def _warm_up(pipeline: Any) -> None:
        """One tiny analysis so lazy initialisation does not land on the first real request."""
        from voc.schema import Feedback

        pipeline.analyze([Feedback(id="warm-up", text="Спасибо, доставка пришла вовремя.")])
        if hasattr(pipeline, "timings"):
            pipeline.timings.clear()

    async def run_inference(self, fn: Callable[[], Any]) -> Any:
        """Run CPU work on the inference thread pool, off the event loop."""
        assert self.executor is not None
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    def start(self) -> None:
        self.executor = ThreadPoolExecutor(self.settings.inference_threads, thread_name_prefix="voc-infer")

    def start_batcher(self) -> None:
        """Start the micro-batcher's inference threads (needs a loaded pipeline)."""
        from voc_api.microbatch import MicroBatcher

        if self.pipeline is not None:
            self.batcher = MicroBatcher(self.analyze_online, consumers=self.settings.classify_consumers,
                                        max_items=self.settings.max_items,
                                        max_pending=max(self.settings.classify_queue_max_items, self.settings.max_items))
            self.batcher.start()

    def analyze_online(self, records: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        """The pipeline over records made in memory, their identifiers and metadata protected by the privacy
        gate first (the pipeline masks the texts itself)."""
        if self.privacy is not None:
            records, _ = self.privacy.protect_records(records, texts=False)
        assert self.pipeline is not None, "the pipeline is loaded at start-up"
        return self.pipeline.analyze(records)

    def stop(self) -> None:
        gc.unfreeze()  # the models may be freed now (tests start many services in one process)
        if self.batcher is not None:
            self.batcher.stop()
        if self.executor is not None:
            self.executor.shutdown(wait=True)
        if self.pipeline is not None and hasattr(self.pipeline, "close"):
            self.pipeline.close()
        self.engine.dispose()
