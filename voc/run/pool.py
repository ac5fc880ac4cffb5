"""The local engine's worker processes: the pipeline reaches them through the pool initializer.

Workers start from a fork server (``forkserver``), never by forking the run's own process: a parent that
has loaded an ONNX or torch model holds native thread pools, and a child forked from it can block forever on
a lock one of those threads held (``voc analyze`` with an encoder hung at 0 % CPU). The fork server imports
voc's modules once, without models or threads, and every worker forks from it. Each worker's initializer
receives the run's state: the pipeline pickled (the parent's, already loaded: unpickling TF-IDF models is
~10× faster than loading them), or — when it cannot be pickled or is too large to send — the run spec, from
which the worker builds its own pipeline (``Pipeline.from_spec``; models load in the worker).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from voc.run.analyse import ChunkState, analyse_chunk, commit_chunk

#: Imported once by the fork server, so workers start without re-importing pandas, sklearn and voc
#: (nothing here starts a native thread pool: torch and onnxruntime load in the workers, with the models).
PRELOAD = ["voc.run.analyse", "voc.pipeline", "voc.analyzers.builtin", "voc.redact", "voc_models.tfidf"]
#: A pipeline larger than this, pickled, is rebuilt by each worker from the run spec instead of sent.
MAX_SENT_BYTES = 256 << 20

_worker: tuple[ChunkState, Path] | None = None  # set in each worker by _init_worker (never in the parent)


def _one_thread() -> None:
    """One core per worker: numeric libraries read these when they load; torch is told if already loaded."""
    for var in ("VOC_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def voc_environment() -> dict[str, str]:
    """The parent's ``VOC_*`` settings now (the fork server keeps the environment it started with)."""
    return {k: v for k, v in os.environ.items() if k.startswith("VOC_")}


def pipeline_payload(pipeline: Any, spec: Any | None) -> tuple[bytes | None, Any | None]:
    """What the workers get: (the pickled pipeline, None), or (None, the spec to build it from)."""
    try:
        blob = pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL)
    except (TypeError, AttributeError, pickle.PicklingError, RuntimeError) as exc:
        if spec is None:
            raise ValueError(f"the pipeline cannot be sent to worker processes ({exc}); build it from a run "
                             "spec (Pipeline.from_spec) or use one worker") from None
        return None, spec
    if len(blob) > MAX_SENT_BYTES and spec is not None:
        return None, spec
    return blob, None


def _init_worker(env: dict[str, str], blob: bytes | None, spec: Any, gate: Any, index: Any,
                 link_window_days: float, parts: Path) -> None:
    """Pool initializer: the parent's VOC_* settings, then the pipeline unpickled (or built) once per worker."""
    global _worker
    for key in [k for k in os.environ if k.startswith("VOC_") and k not in env]:
        del os.environ[key]
    os.environ.update(env)
    _one_thread()
    if blob is not None:
        pipeline = pickle.loads(blob)
    else:
        from voc.pipeline import Pipeline

        pipeline = Pipeline.from_spec(spec)
    _worker = (ChunkState(pipeline, gate, index, link_window_days), parts)


def _run_chunk(i: int, chunk: Any) -> dict:
    """Analyse chunk ``i`` in a worker and commit it."""
    if _worker is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker used before its initializer ran")
    state, parts = _worker
    return commit_chunk(parts, i, analyse_chunk(state, chunk))


class LocalPool:
    """``workers`` processes analysing chunks; ``submit(i, chunk)`` returns a future of the chunk's counts.
    Nothing starts (and nothing is pickled) before the first ``submit``: a one-chunk run never pays for it."""

    def __init__(self, workers: int, state: ChunkState, parts: Path, spec: Any | None = None) -> None:
        """``spec``: what ``state.pipeline`` was built from (None: a caller's pipeline, which must pickle)."""
        self.workers, self.state, self.parts, self.spec = workers, state, parts, spec
        self.executor: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        blob, spec = pipeline_payload(self.state.pipeline, self.spec)
        state = self.state
        initargs = (voc_environment(), blob, spec, state.gate, state.tickets, state.link_window_days, self.parts)
        return ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker, initargs=initargs)

    def submit(self, i: int, chunk: Any) -> Future:
        if self.executor is None:
            self.executor = self._start()
        return self.executor.submit(_run_chunk, i, chunk)

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
