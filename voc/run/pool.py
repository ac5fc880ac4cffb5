"""The local engine's worker processes: the pipeline reaches them through the pool initializer.

Workers start from a fork server (``forkserver``), never by forking the run's own process: a parent that
has loaded an ONNX or torch model holds native thread pools, and a child forked from it can block forever on
a lock one of those threads held (``voc analyze`` with an encoder hung at 0 % CPU). The fork server imports
voc's modules once, without models or threads, and every worker forks from it. Each worker's initializer
receives the run's state: the pipeline itself (pickled) when the caller built one, else the run spec, from
which the worker builds its own pipeline (``Pipeline.from_spec``; models load in the worker).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from voc.run.analyse import ChunkState, analyse_chunk, commit_chunk

#: Imported once by the fork server, so workers start without re-importing pandas, sklearn and voc.
PRELOAD = ["voc.run.analyse", "voc.pipeline"]

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


def _init_worker(env: dict[str, str], spec: Any, pipeline: Any, gate: Any, index: Any, link_window_days: float,
                 parts: Path) -> None:
    """Pool initializer: the parent's VOC_* settings, then the pipeline built (or unpickled) once per worker."""
    global _worker
    for key in [k for k in os.environ if k.startswith("VOC_") and k not in env]:
        del os.environ[key]
    os.environ.update(env)
    _one_thread()
    if pipeline is None:
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
    """``workers`` processes analysing chunks; ``submit(i, chunk)`` returns a future of the chunk's counts."""

    def __init__(self, workers: int, state: ChunkState, parts: Path, spec: Any | None = None) -> None:
        """``spec`` given: the workers build the pipeline from it; else ``state.pipeline`` is sent (pickled)."""
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        pipeline = None if spec is not None else state.pipeline
        initargs = (voc_environment(), spec, pipeline, state.gate, state.index, state.link_window_days, parts)
        self.executor = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=initargs)

    def submit(self, i: int, chunk: Any) -> Future:
        return self.executor.submit(_run_chunk, i, chunk)

    def close(self) -> None:
        self.executor.shutdown(cancel_futures=True)
