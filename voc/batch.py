"""Resumable batch analysis of feedback files: chunks → parts on disk → enriched table, aggregates, report.

Each chunk's enriched rows are committed atomically to ``outdir/parts/chunk-NNNNN.parquet`` together with its
rejected rows and counts; calling :func:`run_batch` again on the same ``outdir`` skips committed chunks, so an
interrupted job resumes with no row lost or duplicated. Memory stays bounded by the chunk size: the final
outputs are assembled part by part, and the aggregates read only the columns they need.

Privacy: every chunk passes the privacy gate (``voc.ingest.privacy``) first thing in its worker — texts and
every kept string masked, PII columns dropped unless kept by name, customer keys pseudonymised, rejected values
masked — and the tickets pass it before they are indexed, so nothing raw reaches a part file or an output.
Every CSV is written by ``voc.safe_csv.write_csv`` (formula prefixes neutralised).
"""

from __future__ import annotations

import io
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from voc import __version__, safe_csv
from voc.aggregate.drill import SEGMENT_COLUMNS
from voc.enriched import AGGREGATE_COLUMNS, LIST_COLUMNS, arrow_schema, link_frame, to_csv_frame, to_frame
from voc.ingest import ColumnMapping, read_feedback
from voc.ingest.privacy import PrivacyGate
from voc.ingest.pseudonym import Pseudonymizer, load_key
from voc.ingest.tickets import read_tickets
from voc.link import TicketIndex, contact_metrics, link_records
from voc.pipeline import Pipeline
from voc.schema import PrivacySummary, RejectedRow, RunSummary

QUOTE_CHARS = 300
ENGINES = ("local", "ray")


class BatchCancelled(RuntimeError):
    """Raised when ``should_stop()`` asked the batch to stop; committed chunks stay for a resume."""


@dataclass
class BatchProgress:
    chunk_index: int
    rows_in: int
    rows_out: int
    rows_rejected: int
    records: int
    done: bool = False


@dataclass
class BatchResult:
    outdir: Path
    summary: RunSummary
    frame_path: Path
    files: dict[str, Path] = field(default_factory=dict)
    aggregates: object | None = None


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


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


def _rejected_frame(rejected: list[RejectedRow]) -> pd.DataFrame:
    return pd.DataFrame([r.model_dump() for r in rejected], columns=list(RejectedRow.model_fields))


_WORKER_STATE: tuple | None = None  # (pipeline, gate, ticket index, link window, parts dir), inherited by forked workers


def _worker_init() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


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


def protect_chunk(gate: PrivacyGate, chunk) -> ProtectedChunk:
    """Run the privacy gate over a chunk: texts and kept strings masked, PII columns dropped, keys pseudonymised."""
    t0 = time.perf_counter()
    protected = gate.protect(chunk)
    return ProtectedChunk(protected, time.perf_counter() - t0, gate.pseudonymize.key_id)


def analyse_chunk(state: tuple, chunk) -> ChunkOutput:
    """Protect (privacy gate), link and analyse one chunk. ``state`` = (pipeline, gate, ticket index, link window);
    a :class:`ProtectedChunk` was gated by the caller (the Ray engine gates on the driver; its actors get no gate).
    Pure: the local and the Ray engine both call it and commit the result with :func:`commit_chunk`."""
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
    rejected = safe_csv.write_csv(_rejected_frame(chunk.rejected)).encode("utf-8")
    return ChunkOutput(buf.getvalue(), rejected, stats)


def commit_chunk(parts: Path, i: int, out: ChunkOutput) -> dict:
    """Write chunk ``i``'s part file and rejected rows atomically, then its counts: the commit point."""
    for name, data in ((f"chunk-{i:05d}.parquet", out.part), (f"rejected-{i:05d}.csv", out.rejected)):
        tmp = parts / f"{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, parts / name)
    _atomic_write_text(parts / f"chunk-{i:05d}.json", json.dumps(out.stats, ensure_ascii=False))
    return out.stats


def _process_chunk(i: int, chunk) -> dict:
    """Analyse one chunk and commit it (the local engine; workers inherit the state by fork)."""
    pipeline, gate, index, link_window_days, parts = _WORKER_STATE
    return commit_chunk(parts, i, analyse_chunk((pipeline, gate, index, link_window_days), chunk))


def _chunks(inputs: list[Path], mapping: ColumnMapping | None, chunk_size: int):
    """Chunks of every input in turn (one global chunk numbering, so resume works across files)."""
    for path in inputs:
        yield from read_feedback(path, mapping, chunk_size=chunk_size)


def run_batch(
    feedback: str | Path | list[str | Path],
    outdir: str | Path,
    *,
    tickets: str | Path | None = None,
    journey: str | Path | None = None,
    taxonomy: str | Path | None = None,
    causes: str | Path | None = None,
    mapping: ColumnMapping | None = None,
    chunk_size: int = 20_000,
    pipeline: Pipeline | None = None,
    topic_model: str | Path | None = None,
    link_window_days: float = 3.0,
    repeat_window_days: float = 7.0,
    progress: Callable[[BatchProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    quiet: bool = True,
    write_csv: bool = True,
    workers: int = 1,
    keep_pii_columns: list[str] | tuple[str, ...] = (),
    pseudonym_key: str | bytes | None = None,
    pseudonym_key_file: str | Path | None = None,
    privacy: PrivacyGate | None = None,
    engine: str = "local",
    ray_address: str | None = None,
) -> BatchResult:
    """Analyse ``feedback`` into ``outdir``; see the module docstring. Raises ``BatchCancelled`` on request.

    ``keep_pii_columns`` (added to ``mapping.keep_pii_columns``) names PII columns to keep raw; the pseudonym
    key comes from ``pseudonym_key``, ``pseudonym_key_file`` or the environment / user key file (see
    voc.ingest.pseudonym). ``privacy`` replaces the gate built from these and the pipeline's redactor.
    ``engine="ray"`` analyses the chunks on a Ray Data actor pool of ``workers`` actors (``ray_address``: a
    running cluster, else a local one); commits, resume and the final outputs are the same (voc.engines).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: expected one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    inputs = [Path(p) for p in feedback] if isinstance(feedback, list | tuple) else [Path(feedback)]
    outdir = Path(outdir)
    parts = outdir / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    pipeline = pipeline or Pipeline.load(taxonomy=taxonomy, journey=journey, causes=causes, topic_model=topic_model)
    if privacy is None:
        key, key_source = load_key(pseudonym_key, pseudonym_key_file)
        keep = [*(mapping.keep_pii_columns if mapping is not None else []), *keep_pii_columns]
        privacy = PrivacyGate(pipeline.redactor, Pseudonymizer(key), keep, key_source)
    gate = privacy

    summary = RunSummary(input_files=[gate.file_name(p) for p in inputs], started_at=started_at,
                         voc_version=__version__, privacy=PrivacySummary(**gate.describe()))
    index = None
    if tickets is not None:
        ticket_list, ticket_rejected = gate.protect_tickets(*read_tickets(tickets))
        index = TicketIndex.build(ticket_list, customer_key=gate.customer_key)
        summary.tickets_in = len(ticket_list) + len(ticket_rejected)
        summary.tickets_rejected = len(ticket_rejected)
        summary.input_files.append(gate.file_name(tickets))
        if ticket_rejected:
            safe_csv.write_csv(_rejected_frame(ticket_rejected), outdir / "ticket_errors.csv")

    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(unit=" rows", desc="voc analyze", dynamic_ncols=True)

    totals: Counter = Counter()
    chunk_paths: list[Path] = []

    def account(i: int, stats: dict) -> None:
        _account_privacy(summary.privacy, stats.get("privacy") or {})
        chunk_paths.append(parts / f"chunk-{i:05d}.parquet")
        totals.update({k: stats[k] for k in ("rows_in", "rows_out", "rows_rejected", "records")})
        summary.pii_masked = dict(Counter(summary.pii_masked) + Counter(stats["pii"]))
        summary.linked = dict(Counter(summary.linked) + Counter(stats["linked"]))
        summary.rejected_by_reason = dict(Counter(summary.rejected_by_reason) + Counter(stats["rejected_by_reason"]))
        if bar is not None:
            bar.update(stats["rows_in"])
        if progress is not None:
            progress(BatchProgress(i, totals["rows_in"], totals["rows_out"], totals["rows_rejected"], totals["records"]))

    global _WORKER_STATE
    _WORKER_STATE = (pipeline, gate, index, link_window_days, parts)
    pool = remote = None
    if engine == "ray":
        from voc.engines.ray_engine import RayChunkRunner

        remote = RayChunkRunner((pipeline, gate, index, link_window_days), parts, workers, ray_address)
    elif workers > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"), initializer=_worker_init)
    pending: list = []
    try:
        for i, chunk in enumerate(_chunks(inputs, mapping, chunk_size)):
            stats_path = parts / f"chunk-{i:05d}.json"
            if stats_path.exists() and (parts / f"chunk-{i:05d}.parquet").exists():  # committed: resume past it
                stats = json.loads(stats_path.read_text(encoding="utf-8"))
                _check_resumable(outdir, i, stats, gate)
                account(i, stats)
                continue
            if should_stop is not None and should_stop():
                raise BatchCancelled(f"stopped before chunk {i}")
            if remote is not None:
                remote.submit(i, chunk)
                continue
            if pool is None:
                account(i, _process_chunk(i, chunk))
                continue
            pending.append((i, pool.submit(_process_chunk, i, chunk)))
            while len(pending) > workers:  # bounded: at most workers+1 chunks in memory
                j, fut = pending.pop(0)
                account(j, fut.result())
        for j, fut in pending:
            account(j, fut.result())
        if remote is not None:
            for j, stats in remote.run(should_stop):  # committed by chunk id as they finish
                account(j, stats)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        if remote is not None:
            remote.close()
        _WORKER_STATE = None
    if bar is not None:
        bar.close()
    chunk_paths.sort()

    summary.rows_in, summary.rows_out = totals["rows_in"], totals["rows_out"]
    summary.rows_rejected, summary.records = totals["rows_rejected"], totals["records"]
    summary.model_versions = pipeline.versions
    if getattr(pipeline, "preset", None) is not None:  # voc analyze --preset (docs/presets.md)
        summary.model_versions["preset"] = pipeline.preset.label
    result = _finish(outdir, chunk_paths, summary, pipeline, index is not None, repeat_window_days, topic_model, write_csv)
    summary.seconds = round(time.perf_counter() - started, 3)
    _atomic_write_text(outdir / "summary.json", _summary_json(outdir, summary))
    if progress is not None:
        progress(BatchProgress(len(chunk_paths), summary.rows_in, summary.rows_out, summary.rows_rejected, summary.records, True))
    return result


def _check_resumable(outdir: Path, i: int, stats: dict, gate: PrivacyGate) -> None:
    """A committed chunk may only be reused when it was protected with the same pseudonym key."""
    used = (stats.get("privacy") or {}).get("key_id")
    if used is None:
        raise ValueError(f"{outdir}: chunk {i} was written without the privacy gate (an older voc); "
                         "analyse into a new output folder")
    if used != gate.pseudonymize.key_id:
        raise ValueError(f"{outdir}: chunk {i} was written with another pseudonym key (key id {used}, now "
                         f"{gate.pseudonymize.key_id}); resume with the same key or use a new output folder")


def _account_privacy(total: PrivacySummary, chunk: dict) -> None:
    """Add one chunk's privacy report (columns dropped/kept, pseudonyms, masked cells) to the run's."""
    total.dropped_pii_columns.update(chunk.get("dropped_pii_columns", {}))
    total.kept_pii_columns.update(chunk.get("kept_pii_columns", {}))
    total.pseudonymised = dict(Counter(total.pseudonymised) + Counter(chunk.get("pseudonymised", {})))
    total.cells_masked += int(chunk.get("cells_masked", 0))


def _summary_json(outdir: Path, summary: RunSummary) -> str:
    path = outdir / "summary.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data["summary"] = json.loads(summary.model_dump_json())  # final counts and the run time
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def _release_memory() -> None:
    """Hand freed memory back to the OS (Arrow's pool and glibc keep it otherwise): keeps 1M-row peaks low."""
    import ctypes
    import gc

    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _load_aggregate_frame(chunk_paths: list[Path]) -> pd.DataFrame:
    """The columns the aggregates need, kept compact for 1M-row batches.

    Texts are cut to QUOTE_CHARS and held as Arrow strings (no per-row Python objects); rows with the same
    label combination share one list object (the aggregates only read them).
    """
    frames = []
    shared_lists: dict[tuple, list] = {}
    for p in chunk_paths:
        cols = [c for c in (*AGGREGATE_COLUMNS, *SEGMENT_COLUMNS) if c in pq.read_schema(p).names]
        f = pd.read_parquet(p, columns=cols)
        f["text"] = f["text"].str.slice(0, QUOTE_CHARS).astype("string[pyarrow]")
        if "evidence" in f:  # for the report's drill-down rows: pipe-joined Arrow strings, not 1M Python lists
            f["evidence"] = pd.Series(["|".join(map(str, v)) if v is not None else "" for v in f["evidence"]],
                                      index=f.index, dtype="string[pyarrow]")
        for col in SEGMENT_COLUMNS:
            if col in f and f[col].dtype == object:
                f[col] = f[col].astype("string[pyarrow]")
        for col in LIST_COLUMNS:
            if col in f and col != "evidence":
                f[col] = [shared_lists.setdefault(key, list(key))
                          for key in (tuple(v) if v is not None else () for v in f[col])]
        for col in f.columns:
            if col.startswith("call_") and f[col].dtype == object:
                f[col] = pd.to_numeric(f[col], errors="coerce")
        frames.append(f)
    if not frames:
        return to_frame([], [])
    return pd.concat(frames, ignore_index=True)


def _finish(outdir, chunk_paths, summary, pipeline, has_tickets, repeat_window_days, topic_model, csv_out):
    from voc.aggregate import compute_aggregates
    from voc.render import write_outputs

    frame = _load_aggregate_frame(chunk_paths)
    _release_memory()
    contacts = contact_metrics(frame, repeat_window_days)
    frame["repeat_contact"] = contacts["repeat_contact"]
    if has_tickets:
        frame["fcr"] = contacts["fcr"]
    # by position: ``frame`` holds the parts' rows in order (ids may repeat: a CRM export, or two files' stems)
    extra_all = frame[[c for c in ("repeat_contact", "fcr") if c in frame]]
    offset = 0

    # enriched.parquet / enriched.csv, assembled part by part (bounded memory)
    files: dict[str, Path] = {}
    pq_path, csv_path = outdir / "enriched.parquet", outdir / "enriched.csv"
    writer = None
    schema = None
    tmp_pq, tmp_csv = pq_path.with_suffix(".parquet.tmp"), csv_path.with_suffix(".csv.tmp")
    columns = _union_columns(chunk_paths)
    for n, p in enumerate(chunk_paths):
        part = pd.read_parquet(p)
        if list(part.columns) != columns:  # files (or JSONL chunks) with other input columns: one layout
            part = part.reindex(columns=columns)
        for col in LIST_COLUMNS:
            if col in part:
                part[col] = part[col].map(lambda v: list(v) if v is not None else [])
        extra = extra_all.iloc[offset:offset + len(part)].reset_index(drop=True)
        offset += len(part)
        for col in extra.columns:
            part[col] = extra[col].astype(object).where(extra[col].notna(), None)
        if writer is None:
            schema = _arrow_schema(part)
            writer = pq.ParquetWriter(tmp_pq, schema)
        table = _conform(pa.Table.from_pandas(part, preserve_index=False), schema)
        writer.write_table(table)
        if csv_out:
            safe_csv.write_csv(to_csv_frame(part), tmp_csv, mode="w" if n == 0 else "a", header=n == 0)
    if writer is None:
        to_frame([], []).to_parquet(tmp_pq, index=False)
        if csv_out:
            safe_csv.write_csv(to_frame([], []), tmp_csv)
    else:
        writer.close()
    os.replace(tmp_pq, pq_path)
    files["enriched.parquet"] = pq_path
    if csv_out:
        os.replace(tmp_csv, csv_path)
        files["enriched.csv"] = csv_path

    errors = [pd.read_csv(p.with_name(p.name.replace("chunk-", "rejected-").replace(".parquet", ".csv")), dtype=str)
              for p in chunk_paths]
    errors = [e for e in errors if len(e)]
    err_frame = pd.concat(errors, ignore_index=True) if errors else _rejected_frame([])
    safe_csv.write_csv(err_frame, outdir / "errors.csv")
    files["errors.csv"] = outdir / "errors.csv"

    _release_memory()
    aggregates = compute_aggregates(frame, stages=pipeline.stages)
    _release_memory()
    extra_sections = []
    if topic_model is not None:
        from voc.topics import load_topic_model
        from voc.topics.report import topic_report_section

        extra_sections.append(("Новые темы", topic_report_section(load_topic_model(topic_model), frame)))
    written = write_outputs(outdir, frame, aggregates, summary, extra_sections=extra_sections)
    files.update({str(Path(w).relative_to(outdir)): Path(w) for w in written})
    return BatchResult(outdir=outdir, summary=summary, frame_path=pq_path, files=files, aggregates=aggregates)


def _union_columns(chunk_paths: list[Path]) -> list[str]:
    """Every part's columns in one layout: the input columns of all parts in order of appearance, then voc's
    own (a part's own columns start at ``id``), so no input column of a later file is dropped."""
    inputs: dict[str, None] = {}
    ours: list[str] = []
    for p in chunk_paths:
        names = pq.read_schema(p).names
        cut = names.index("id") if "id" in names else 0
        inputs.update(dict.fromkeys(names[:cut]))
        ours = ours or names[cut:]
    return [*inputs, *ours]


def _arrow_schema(frame: pd.DataFrame) -> pa.Schema:
    return arrow_schema(frame.columns)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Give a later part exactly the first part's columns and types (missing columns become nulls)."""
    cols = [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
            for f in schema]
    return pa.Table.from_arrays(cols, schema=schema)
