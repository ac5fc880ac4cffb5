"""Stage 1's bookkeeping and dispatch: the run's counts summed chunk by chunk (:class:`Tally`), and where each
chunk is analysed (:func:`analyse_chunks`): committed ones are skipped (resume), the rest run in this process,
the local worker pool (``voc.run.pool``) or on Ray (``voc.engines.ray_engine``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voc.ingest import ColumnMapping
from voc.run.analyse import (
    ChunkState,
    analyse_chunk,
    check_resumable,
    commit_chunk,
    committed_stats,
    part_path,
    read_chunks,
)
from voc.run.result import BatchCancelled, BatchProgress
from voc.schema import PrivacySummary, RunSummary


class Tally:
    """The run's counts, summed chunk by chunk as they commit (or are found committed)."""

    def __init__(self, summary: RunSummary, parts: Path, progress: Callable[[BatchProgress], None] | None,
                 bar: Any | None) -> None:
        self.summary, self.parts, self.progress, self.bar = summary, parts, progress, bar
        self.totals: Counter = Counter()
        self.chunk_paths: list[Path] = []

    def account(self, i: int, stats: dict) -> None:
        s = self.summary
        _account_privacy(s.privacy, stats.get("privacy") or {})
        self.chunk_paths.append(part_path(self.parts, i))
        self.totals.update({k: stats[k] for k in ("rows_in", "rows_out", "rows_rejected", "records")})
        s.pii_masked = dict(Counter(s.pii_masked) + Counter(stats["pii"]))
        s.linked = dict(Counter(s.linked) + Counter(stats["linked"]))
        s.rejected_by_reason = dict(Counter(s.rejected_by_reason) + Counter(stats["rejected_by_reason"]))
        if self.bar is not None:
            self.bar.update(stats["rows_in"])
        if self.progress is not None:
            t = self.totals
            self.progress(BatchProgress(i, t["rows_in"], t["rows_out"], t["rows_rejected"], t["records"]))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        s, t = self.summary, self.totals
        s.rows_in, s.rows_out, s.rows_rejected, s.records = (t["rows_in"], t["rows_out"], t["rows_rejected"],
                                                             t["records"])
        self.chunk_paths.sort()


def _account_privacy(total: PrivacySummary, chunk: dict) -> None:
    """Add one chunk's privacy report (columns dropped/kept, pseudonyms, masked cells) to the run's."""
    total.dropped_pii_columns.update(chunk.get("dropped_pii_columns", {}))
    total.kept_pii_columns.update(chunk.get("kept_pii_columns", {}))
    total.pseudonymised = dict(Counter(total.pseudonymised) + Counter(chunk.get("pseudonymised", {})))
    total.cells_masked += int(chunk.get("cells_masked", 0))


def analyse_chunks(spec: Any, mapping: ColumnMapping, state: ChunkState, outdir: Path, tally: Tally,
                    should_stop: Callable[[], bool] | None, worker_spec: Any | None) -> None:
    """Stage 1 over every chunk: committed ones are counted, the rest analysed here, in the local pool or on
    Ray. With a pool, this process holds the first chunk while the workers start and analyses it itself when
    the run turns out short (at most ``workers`` chunks: a one-chunk run never waits for a worker to load its
    models); a longer run sends it to the workers as well (docs/scale.md: the parent's memory)."""
    parts = tally.parts
    pool = remote = None
    if spec.engine == "ray":
        from voc.engines.ray_engine import RayChunkRunner

        remote = RayChunkRunner(state, parts, spec.workers, spec.ray_address)
    elif spec.workers > 1:
        from voc.run.pool import LocalPool

        pool = LocalPool(spec.workers, state, parts, worker_spec)

    def here(i: int, chunk: Any) -> None:
        tally.account(i, commit_chunk(parts, i, analyse_chunk(state, chunk)))

    held: tuple[int, Any] | None = None  # the one chunk this process analyses itself
    parent_done = False
    pending: list = []
    try:
        for i, chunk in enumerate(read_chunks(spec.inputs, mapping, spec.chunk_size)):
            stats = committed_stats(parts, i)
            if stats is not None:  # committed by an earlier run: resume past it
                check_resumable(outdir, i, stats, state.gate, chunk.rows_in)
                tally.account(i, stats)
                continue
            if should_stop is not None and should_stop():
                raise BatchCancelled(f"stopped before chunk {i}")
            if remote is not None:
                remote.submit(i, chunk)
            elif pool is None:
                here(i, chunk)
            elif not parent_done:
                held, parent_done = (i, chunk), True
            else:
                pending.append((i, pool.submit(i, chunk)))
                if held is not None and len(pending) >= spec.workers:
                    # a run this long keeps every worker busy: the held chunk goes to them too, so this
                    # process never builds the models' lazy state (~600 MB) before it assembles the run
                    pending.append((held[0], pool.submit(*held)))
                    held = None
                while len(pending) > spec.workers:  # bounded: at most workers+1 chunks in flight
                    j, fut = pending.pop(0)
                    tally.account(j, fut.result())
        if held is not None:
            here(*held)
        for j, fut in pending:
            tally.account(j, fut.result())
        if remote is not None:
            for j, stats in remote.run(should_stop):  # committed by chunk id as they finish
                tally.account(j, stats)
    finally:
        if pool is not None:
            pool.close()
        if remote is not None:
            remote.close()
