"""Stage 1: one chunk through the privacy gate, ticket linking and the pipeline, committed to a part file.

:func:`analyse_chunk` is pure (a chunk in, serialised part + counts out); the local pool (``voc.run.pool``),
the parent process and the Ray engine all call it and commit with :func:`commit_chunk`. A chunk is committed
when its ``chunk-NNNNN.json`` exists (written last, atomically), so a killed run resumes past it.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from voc import safe_csv
from voc.enriched import link_frame, to_frame
from voc.ingest import ColumnMapping, read_feedback
from voc.ingest.privacy import PrivacyGate
from voc.link import TicketIndex, link_records
from voc.schema import RejectedRow


class ChunkState(NamedTuple):
    """What analysing a chunk needs besides the chunk (a worker gets it once, through the pool initializer)."""

    pipeline: Any
    gate: PrivacyGate
    tickets: TicketIndex | None
    link_window_days: float


@dataclass
class ChunkOutput:
    """One analysed chunk, serialised: its enriched rows (Parquet), rejected rows (CSV) and counts."""

    part: bytes
    rejected: bytes
    stats: dict


@dataclass
class ProtectedChunk:
    """A chunk that passed the privacy gate, the gate's seconds and the pseudonym key's id (not the key)."""

    chunk: object
    seconds: float
    key_id: str


def read_chunks(inputs: list[Path], mapping: ColumnMapping | None, chunk_size: int) -> Iterator:
    """Chunks of every input in turn (one global chunk numbering, so resume works across files)."""
    for path in inputs:
        yield from read_feedback(path, mapping, chunk_size=chunk_size)


def part_path(parts: Path, i: int) -> Path:
    return parts / f"chunk-{i:05d}.parquet"


def rejected_path(part: Path) -> Path:
    """The rejected-rows CSV committed with a part file."""
    return part.with_name(part.name.replace("chunk-", "rejected-").replace(".parquet", ".csv"))


def committed_stats(parts: Path, i: int) -> dict | None:
    """Chunk ``i``'s counts when it was committed by an earlier (interrupted) run, else None."""
    stats = parts / f"chunk-{i:05d}.json"
    if stats.exists() and part_path(parts, i).exists():
        return json.loads(stats.read_text(encoding="utf-8"))
    return None


def check_resumable(outdir: Path, i: int, stats: dict, gate: PrivacyGate, rows_in: int | None = None) -> None:
    """A committed chunk may only be reused when it was protected with the same pseudonym key and holds the same
    input rows as the chunk read now (``rows_in``: another chunk size would shift every chunk after it)."""
    if rows_in is not None and stats.get("rows_in") is not None and int(stats["rows_in"]) != rows_in:
        raise ValueError(f"{outdir}: chunk {i} was written from {stats['rows_in']} input rows, this run reads "
                         f"{rows_in} there (another --chunk-size or another input); resume with the same chunk size "
                         "and inputs, or use a new output folder")
    used = (stats.get("privacy") or {}).get("key_id")
    if used is None:
        raise ValueError(f"{outdir}: chunk {i} was written without the privacy gate (an older voc); "
                         "analyse into a new output folder")
    if used != gate.pseudonymize.key_id:
        raise ValueError(f"{outdir}: chunk {i} was written with another pseudonym key (key id {used}, now "
                         f"{gate.pseudonymize.key_id}); resume with the same key or use a new output folder")


def rejected_frame(rejected: list[RejectedRow]) -> pd.DataFrame:
    return pd.DataFrame([r.model_dump() for r in rejected], columns=list(RejectedRow.model_fields))


def _input_columns(input_rows: pd.DataFrame, used: set[str]) -> pd.DataFrame:
    """Input columns to keep in the enriched table, renamed ``input:<name>`` where they clash with ours."""
    frame = input_rows.reset_index(drop=True).copy()
    frame.columns = [f"input:{c}" if str(c) in used else str(c) for c in frame.columns]
    return frame.astype("string")


def _chunk_frame(records, findings, input_rows, ticket_links) -> pd.DataFrame:
    ours = to_frame(records, findings)
    if ticket_links is not None:
        ours = pd.concat([ours, link_frame(ticket_links)], axis=1)
    if input_rows is not None and len(input_rows) == len(ours) and len(input_rows.columns):
        inputs = _input_columns(input_rows, set(ours.columns))
        ours = pd.concat([inputs, ours], axis=1)
    return ours


def protect_chunk(gate: PrivacyGate, chunk) -> ProtectedChunk:
    """Run the privacy gate over a chunk: texts and kept strings masked, PII columns dropped, keys pseudonymised."""
    t0 = time.perf_counter()
    protected = gate.protect(chunk)
    return ProtectedChunk(protected, time.perf_counter() - t0, gate.pseudonymize.key_id)


def analyse_chunk(state: tuple, chunk) -> ChunkOutput:
    """Protect (privacy gate), link and analyse one chunk. ``state``: a :class:`ChunkState` (or the same
    4-tuple); a :class:`ProtectedChunk` was gated by the caller (the Ray engine gates on the driver; its actors
    get no gate)."""
    pipeline, gate, index, link_window_days = state
    protected = chunk if isinstance(chunk, ProtectedChunk) else protect_chunk(gate, chunk)
    chunk, gate_seconds = protected.chunk, protected.seconds  # first: nothing below sees a raw value
    records, ticket_rows = chunk.records, None
    if index is not None:
        records, ticket_rows = link_records(records, index, link_window_days)
    before = dict(pipeline.timings)
    redacted, findings = pipeline.analyze(records, pii_counts=chunk.pii_counts)
    timings = {k: round(v - before.get(k, 0.0), 4) for k, v in pipeline.timings.items()}
    timings["redact"] = round(timings.get("redact", 0.0) + gate_seconds, 4)
    frame = _chunk_frame(redacted, findings, chunk.input_rows, ticket_rows)
    pii: Counter = Counter()
    for f in findings:
        pii.update(f.pii_masked)
    stats = {
        "rows_in": chunk.rows_in,
        "rows_out": chunk.rows_out,
        "rows_rejected": len(chunk.rejected),
        "records": len(redacted),
        "pii": dict(pii),
        "linked": dict(Counter(link.method for link in ticket_rows if link)) if ticket_rows else {},
        "rejected_by_reason": dict(Counter(r.reason for r in chunk.rejected)),
        "timings": timings,
        "privacy": {**(chunk.privacy or {}), "key_id": protected.key_id},
    }
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    rejected = safe_csv.write_csv(rejected_frame(chunk.rejected)).encode("utf-8")
    return ChunkOutput(buf.getvalue(), rejected, stats)


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def commit_chunk(parts: Path, i: int, out: ChunkOutput) -> dict:
    """Write chunk ``i``'s part file and rejected rows atomically, then its counts: the commit point."""
    for name, data in ((f"chunk-{i:05d}.parquet", out.part), (f"rejected-{i:05d}.csv", out.rejected)):
        tmp = parts / f"{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, parts / name)
    atomic_write_text(parts / f"chunk-{i:05d}.json", json.dumps(out.stats, ensure_ascii=False))
    return out.stats
