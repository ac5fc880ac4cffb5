"""The Ray engine: a batch's chunks analysed by ``Dataset.map_batches`` on a Ray Data actor pool.

The driver reads the inputs with voc's own readers (the same chunks, numbering and rejected rows as the
local engine), skips committed chunks, passes each remaining chunk through the privacy gate — nothing raw and
not the pseudonym key leaves the driver — and puts it into the object store as a one-row Arrow block. Each
actor receives the pipeline and ticket index once (models are loaded once per actor, not per chunk) and runs
``voc.run.analyse.analyse_chunk`` on one chunk per call; the driver commits
every result by chunk id with ``voc.run.analyse.commit_chunk`` as it arrives. A killed run therefore leaves only
whole committed chunks, and re-running it (with either engine) resumes without loss or duplicates.
Results carry the part files as bytes, so a remote cluster needs no shared file system.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

OUTPUT_SCHEMA = pa.schema([("i", pa.int64()), ("part", pa.large_binary()), ("rejected", pa.large_binary()),
                           ("stats", pa.string())])


def import_ray():
    """``ray`` and ``ray.data``, or a ValueError saying how to install them."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ValueError("--engine ray needs Ray Data: pip install 'voc[ray]'") from None
    return ray


class ChunkActor:
    """A Ray Data actor: holds the pipeline state, analyses one pickled chunk per row of its batch."""

    def __init__(self, state_box: list) -> None:
        import ray

        state = state_box[0]
        self.state = ray.get(state) if isinstance(state, ray.ObjectRef) else state
        try:
            import torch

            torch.set_num_threads(1)  # one core per actor, as the local engine's workers
        except ImportError:  # pragma: no cover
            pass

    def __call__(self, batch: pa.Table) -> pa.Table:
        from voc.run.analyse import analyse_chunk

        rows: dict[str, list] = {"i": [], "part": [], "rejected": [], "stats": []}
        for i, blob in zip(batch.column("i").to_pylist(), batch.column("chunk").to_pylist(), strict=True):
            out = analyse_chunk(self.state, pickle.loads(blob))
            rows["i"].append(i)
            rows["part"].append(out.part)
            rows["rejected"].append(out.rejected)
            rows["stats"].append(json.dumps(out.stats, ensure_ascii=False))
        return pa.table(rows, schema=OUTPUT_SCHEMA)


class RayChunkRunner:
    """Collects the chunks to analyse (``submit``), then runs them on the actor pool (``run``)."""

    def __init__(self, state: tuple, parts: Path, workers: int, address: str | None = None) -> None:
        ray = import_ray()
        self.ray = ray
        self.parts = parts
        self.workers = max(1, workers)
        self.owns_ray = not ray.is_initialized()
        if self.owns_ray:
            kwargs = {"address": address} if address else {"num_cpus": max(self.workers, os.cpu_count() or 1)}
            ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING, **kwargs)
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        pipeline, self.gate, index, link_window_days = state
        try:  # the actors get no privacy gate: chunks are masked here, the pseudonym key stays on the driver
            self.state_ref = ray.put((pipeline, None, index, link_window_days))
        except (TypeError, pickle.PicklingError, AttributeError) as exc:
            self.close()
            raise ValueError(f"--engine ray: the pipeline cannot be sent to Ray workers ({exc}); "
                             "use --engine local for this pipeline") from None
        self.blocks: list = []

    def submit(self, i: int, chunk) -> None:
        """Mask chunk ``i`` (privacy gate) and queue it in the object store (not in the driver's memory)."""
        from voc.run.analyse import protect_chunk

        protected = protect_chunk(self.gate, chunk)  # nothing raw leaves the driver
        block = pa.table({"i": pa.array([i], pa.int64()),
                          "chunk": pa.array([pickle.dumps(protected, protocol=5)], pa.large_binary())})
        self.blocks.append(self.ray.put(block))

    def run(self, should_stop: Callable[[], bool] | None = None) -> Iterator[tuple[int, dict]]:
        """Analyse the queued chunks; commit each result by chunk id as it finishes and yield (i, stats)."""
        from voc.run.analyse import ChunkOutput, commit_chunk
        from voc.run.result import BatchCancelled

        if not self.blocks:
            return
        ray = self.ray
        ds = ray.data.from_arrow_refs(self.blocks).map_batches(
            ChunkActor, batch_size=1, batch_format="pyarrow", fn_constructor_args=([self.state_ref],),
            compute=ray.data.ActorPoolStrategy(size=self.workers), num_cpus=1)
        try:
            for batch in ds.iter_batches(batch_size=1, batch_format="pyarrow", prefetch_batches=0):
                for row in batch.to_pylist():
                    stats = json.loads(row["stats"])
                    commit_chunk(self.parts, row["i"], ChunkOutput(row["part"], row["rejected"], stats))
                    yield row["i"], stats
                if should_stop is not None and should_stop():
                    raise BatchCancelled("stopped; committed chunks stay for a resume")
        finally:
            self.blocks = []

    def close(self) -> None:
        self.blocks = []
        if self.owns_ray and self.ray.is_initialized():
            self.ray.shutdown()
