"""Resumable batch analysis: a :class:`~voc.runspec.RunSpec` in, the enriched table, aggregates and report out.

:func:`run` chains the stages of ``voc.run`` — analyse chunks (each committed atomically to
``outdir/parts/chunk-NNNNN.parquet`` with its rejected rows and counts) → assemble (enriched table + contact
metrics) → aggregate → render once with the final summary. Calling it again on the same ``outdir`` skips
committed chunks, so an interrupted job resumes with no row lost or duplicated. Memory stays bounded by the
chunk size: the outputs are assembled part by part and the aggregates read only the columns they need.

Privacy: every chunk passes the privacy gate (``voc.ingest.privacy``) first thing in its worker — texts and
every kept string masked, PII columns dropped unless kept by name, customer keys pseudonymised, rejected values
masked — and the tickets pass it before they are indexed, so nothing raw reaches a part file or an output.
Every CSV is written by ``voc.safe_csv.write_csv`` (formula prefixes neutralised).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from voc import __version__, safe_csv
from voc.aggregate.drill import SEGMENT_COLUMNS
from voc.enriched import AGGREGATE_COLUMNS, ARROW_TYPES
from voc.ingest import ColumnMapping
from voc.ingest.encoding import decide_encoding
from voc.ingest.errors import IngestError
from voc.ingest.privacy import PrivacyGate
from voc.ingest.pseudonym import Pseudonymizer, load_key
from voc.ingest.tickets import read_tickets
from voc.link import TicketIndex
from voc.pipeline import Pipeline
from voc.run.aggregate import aggregate
from voc.run.analyse import (
    ChunkOutput,
    ChunkState,
    ProtectedChunk,
    analyse_chunk,
    commit_chunk,
    protect_chunk,
    rejected_frame,
)
from voc.run.assemble import assemble
from voc.run.dispatch import Tally, analyse_chunks
from voc.run.render import render
from voc.run.result import BatchCancelled, BatchProgress, BatchResult
from voc.runspec import ENGINES, RunSpec
from voc.schema import PrivacySummary, RunSummary

__all__ = ["AGGREGATE_COLUMNS", "ARROW_TYPES", "ENGINES", "QUOTE_CHARS", "BatchCancelled", "BatchProgress",
           "BatchResult", "ChunkOutput", "ChunkState", "ProtectedChunk", "analyse_chunk", "commit_chunk",
           "protect_chunk", "run", "run_batch"]

QUOTE_CHARS = 300


#: text formats whose encoding is decided from the bytes (voc.ingest.encoding)
TEXT_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json", ".srt", ".vtt"})


def _input_encodings(paths: list[Path], gate: PrivacyGate) -> dict[str, dict[str, Any]]:
    """How each text input file was decoded (cached by the readers' own call: no second scan)."""
    out: dict[str, dict[str, Any]] = {}
    for path in map(Path, paths):
        if path.is_file() and path.suffix.lower() in TEXT_SUFFIXES:
            try:
                out[gate.file_name(path)] = decide_encoding(path).as_dict()
            except IngestError:  # unreadable files are already reported as rejected rows
                continue
    return out


def _index_tickets(spec: RunSpec, gate: PrivacyGate, summary: RunSummary, outdir: Path) -> TicketIndex | None:
    """The tickets, through the privacy gate, indexed for linking; their rejected rows in ticket_errors.csv."""
    if spec.tickets is None:
        return None
    ticket_list, ticket_rejected = gate.protect_tickets(*read_tickets(spec.tickets))
    summary.tickets_in = len(ticket_list) + len(ticket_rejected)
    summary.tickets_rejected = len(ticket_rejected)
    summary.input_files.append(gate.file_name(spec.tickets))
    if ticket_rejected:
        safe_csv.write_csv(rejected_frame(ticket_rejected), outdir / "ticket_errors.csv")
    return TicketIndex.build(ticket_list, customer_key=gate.customer_key)


#: a run of at least this many chunks with workers releases the parent's encoder sessions before assembling
#: (~300 MB on the shipped student; they reopen on the next call — docs/scale.md)
RELEASE_AFTER_CHUNKS = 4


def run(spec: RunSpec, *, pipeline: Pipeline | None = None, privacy: PrivacyGate | None = None,
        progress: Callable[[BatchProgress], None] | None = None, should_stop: Callable[[], bool] | None = None,
        quiet: bool = True) -> BatchResult:
    """Analyse ``spec.inputs`` into ``spec.outdir``; see the module docstring. Raises ``BatchCancelled`` on request.

    ``pipeline`` replaces ``Pipeline.from_spec(spec)`` (one not built by ``from_spec`` is sent to worker
    processes pickled; one that was is rebuilt in each worker from its spec); ``privacy``
    replaces the gate built from the spec's PII options and the pipeline's redactor.
    """
    if spec.outdir is None:
        raise ValueError("outdir: an output directory is required")
    started = time.perf_counter()
    outdir = Path(spec.outdir)
    parts = outdir / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    mapping = spec.column_mapping()
    pipeline = pipeline or Pipeline.from_spec(spec)
    worker_spec = getattr(pipeline, "spec", None)  # built from a spec: workers build their own from it
    if privacy is None:
        key, key_source = load_key(spec.pseudonym_key, spec.pseudonym_key_file)
        privacy = PrivacyGate(pipeline.redactor, Pseudonymizer(key), spec.kept_pii_columns(mapping), key_source)
    gate = privacy

    summary = RunSummary(input_files=[gate.file_name(p) for p in spec.inputs], started_at=datetime.now(UTC),
                         voc_version=__version__, privacy=PrivacySummary(**gate.describe()))
    index = _index_tickets(spec, gate, summary, outdir)
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(unit=" rows", desc="voc analyze", dynamic_ncols=True)
    tally = Tally(summary, parts, progress, bar)
    state = ChunkState(pipeline, gate, index, spec.link_window_days)
    try:
        analyse_chunks(spec, mapping, state, outdir, tally, should_stop, worker_spec)
    finally:
        tally.close()
    if (spec.workers > 1 or spec.engine == "ray") and len(tally.chunk_paths) >= RELEASE_AFTER_CHUNKS:
        from voc_models.multitask import release_sessions

        release_sessions()  # the workers did the analysis: this process only assembles from here
    summary.model_versions = pipeline.versions
    summary.input_encodings = _input_encodings(spec.inputs, gate)
    if (preset := getattr(pipeline, "preset", None)) is not None:  # voc analyze --preset (docs/presets.md)
        summary.model_versions["preset"] = preset.label

    built = assemble(outdir, tally.chunk_paths, has_tickets=index is not None,
                     repeat_window_days=spec.repeat_window_days, csv_out=spec.write_csv,
                     aggregate_columns=(*AGGREGATE_COLUMNS, *SEGMENT_COLUMNS), arrow_types=ARROW_TYPES, quote_chars=QUOTE_CHARS)
    aggregates, sections = aggregate(built.frame, pipeline.stages, pipeline, spec.topic_model)
    summary.seconds = round(time.perf_counter() - started, 3)  # everything but rendering itself
    files = {**built.files, **render(outdir, built.frame, aggregates, summary, sections)}
    if progress is not None:
        progress(BatchProgress(len(tally.chunk_paths), summary.rows_in, summary.rows_out, summary.rows_rejected,
                               summary.records, True))
    return BatchResult(outdir=outdir, summary=summary, frame_path=built.enriched, files=files,
                       aggregates=aggregates, frame=built.frame)


def run_batch(
    feedback: str | Path | list[str | Path],
    outdir: str | Path,
    *,
    mapping: ColumnMapping | None = None,
    pipeline: Pipeline | None = None,
    privacy: PrivacyGate | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    quiet: bool = True,
    **options: Any,
) -> BatchResult:
    """:func:`run` with the spec given as keyword arguments (``mapping`` = the spec's ``columns``; any other
    :class:`~voc.runspec.RunSpec` field by name), for callers that predate the run spec."""
    inputs = [Path(p) for p in feedback] if isinstance(feedback, list | tuple) else [Path(feedback)]
    if "keep_pii_columns" in options:
        options["keep_pii_columns"] = list(options["keep_pii_columns"] or ())
    if options.get("engine", "local") not in ENGINES:
        raise ValueError(f"engine {options['engine']!r}: expected one of {', '.join(ENGINES)}")
    spec = RunSpec.build(inputs=inputs, outdir=Path(outdir), columns=mapping, **options)
    return run(spec, pipeline=pipeline, privacy=privacy, progress=progress, should_stop=should_stop, quiet=quiet)
