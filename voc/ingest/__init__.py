"""Ingestion: files → Feedback records + RejectedRows, in chunks with exact row accounting.

    for chunk in read_feedback("reviews.csv", privacy=PrivacyGate.create()):
        chunk.records, chunk.rejected, chunk.input_rows, chunk.rows_in, chunk.rows_out

Every chunk satisfies ``rows_in == rows_out + len(rejected)``. See docs/ingest.md for the formats.
Chunks read without ``privacy`` are raw: only the privacy gate's output (voc.ingest.privacy) may be stored
or shown; ``voc.batch`` runs that gate on every chunk before anything else.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from voc.ingest.chats import is_conversation, read_chat_json, read_chat_messages
from voc.ingest.chunk import IngestChunk
from voc.ingest.errors import IngestError
from voc.ingest.mapping import ColumnMapping, detect_mapping, resolve_mapping
from voc.ingest.privacy import PrivacyGate
from voc.ingest.records import records_from_chunk, resolve_channel
from voc.ingest.tables import DEFAULT_CHUNK_SIZE, iter_json_lines, json_records, read_table, table_format
from voc.ingest.tickets import read_tickets
from voc.ingest.transcript_formats import TRANSCRIPT_SUFFIXES, load_json_or_jsonl, transcript_format
from voc.ingest.transcripts import read_transcripts
from voc.schema import SpeakerRole

__all__ = [
    "ColumnMapping",
    "IngestChunk",
    "IngestError",
    "KINDS",
    "PrivacyGate",
    "detect_kind",
    "read_feedback",
    "read_tickets",
]

KINDS: tuple[str, ...] = ("table", "chat_messages", "chat_json", "transcript", "transcript_dir")


def _first_json_value(path: Path) -> Any:
    """The first record of a JSON/JSONL file (a transcript document counts as one record)."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return next((value for _, value, error in iter_json_lines(path) if error is None), None)
    document = load_json_or_jsonl(path)
    if transcript_format(document) is not None:
        return document
    records = json_records(document, path)
    return records[0] if records else None


def _is_chat_table(headers: list[str], mapping: ColumnMapping | None) -> bool:
    explicit = mapping.columns() if mapping else {}
    detected = detect_mapping([h for h in headers if h not in explicit.values()]).columns()
    fields = {**detected, **explicit}
    return "conversation_id" in fields and "speaker" in fields


def detect_kind(path: str | Path, mapping: ColumnMapping | None = None) -> str:
    """'table' | 'chat_messages' | 'chat_json' | 'transcript' | 'transcript_dir', from the extension and
    a look at the content (JSON shape, or headers with a conversation id and a speaker column)."""
    path = Path(path)
    if path.is_dir():
        return "transcript_dir"
    if not path.is_file():
        raise IngestError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix in (".srt", ".vtt"):
        return "transcript"
    if suffix in (".json", ".jsonl", ".ndjson"):
        try:
            first = _first_json_value(path)
        except IngestError:
            first = None  # leave the details to the table reader, which rejects bad lines
        if transcript_format(first) is not None:
            return "transcript"
        if is_conversation(first):
            return "chat_json"
    table_format(path)  # IngestError for unsupported extensions
    chunk = next(read_table(path, chunk_size=1000))
    return "chat_messages" if _is_chat_table(list(chunk.frame.columns), mapping) else "table"


def _read_table_feedback(path: Path, mapping: ColumnMapping | None, chunk_size: int,
                         default_channel: str | None) -> Iterator[IngestChunk]:
    file = str(path)
    resolved: ColumnMapping | None = None
    channel = None
    for chunk in read_table(path, chunk_size):
        if resolved is None:
            resolved = resolve_mapping(list(chunk.frame.columns), mapping, file=file)
            channel = resolve_channel(default_channel or resolved.default_channel)
        result = records_from_chunk(chunk, resolved, file=file, stem=path.stem, default_channel=channel)
        yield IngestChunk(result.records, result.rejected, result.input_rows(chunk.frame),
                          rows_in=chunk.rows_in, rows_out=len(result.records),
                          mapped_columns={column: field for field, column in resolved.columns().items()})


def _read_chat_table(path: Path, mapping: ColumnMapping | None, chunk_size: int) -> Iterator[IngestChunk]:
    headers = list(next(read_table(path, chunk_size=1000)).frame.columns)
    resolved = resolve_mapping(headers, mapping, file=str(path))
    return read_chat_messages(path, resolved, chunk_size=chunk_size)


def read_feedback(
    path: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    kind: str = "auto",
    default_channel: str | None = None,
    manifest: str | Path | None = None,
    speaker_roles: Mapping[str, SpeakerRole | str] | None = None,
    privacy: PrivacyGate | None = None,
) -> Iterator[IngestChunk]:
    """Read feedback from a table, a chat export, a transcript or a folder of transcripts, in chunks.

    ``mapping`` names source columns (missing ones are auto-detected); ``default_channel`` applies to
    table rows without a channel; ``manifest`` and ``speaker_roles`` apply to call transcripts.
    With ``privacy`` every chunk passes the privacy gate (masked, PII columns dropped, customer keys
    pseudonymised) before it is yielded; without it chunks are raw.
    The file type is checked before the first chunk is read: IngestError for unsupported or missing files.
    """
    chunks = _read_feedback(Path(path), mapping, chunk_size, kind, default_channel, manifest, speaker_roles)
    if privacy is None:
        return chunks
    return (privacy.protect(chunk) for chunk in chunks)


def _read_feedback(path: Path, mapping: ColumnMapping | None, chunk_size: int, kind: str,
                   default_channel: str | None, manifest: str | Path | None,
                   speaker_roles: Mapping[str, SpeakerRole | str] | None) -> Iterator[IngestChunk]:
    if chunk_size < 1:
        raise IngestError(f"chunk_size must be a positive number of rows, got {chunk_size}")
    if kind == "auto":
        kind = detect_kind(path, mapping)
    elif kind not in KINDS:
        raise IngestError(f"unknown kind {kind!r}; expected auto or one of {', '.join(KINDS)}")
    if kind in ("transcript", "transcript_dir"):
        if kind == "transcript" and path.suffix.lower() not in TRANSCRIPT_SUFFIXES:
            raise IngestError(f"{path}: not a transcript file; supported: {', '.join(TRANSCRIPT_SUFFIXES)}")
        return read_transcripts(path, chunk_size=chunk_size, manifest=manifest, speaker_roles=speaker_roles)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    if kind == "chat_json":
        return read_chat_json(path, chunk_size=chunk_size)
    table_format(path)
    if default_channel is not None:
        resolve_channel(default_channel)
    if kind == "chat_messages":
        return _read_chat_table(path, mapping, chunk_size)
    return _read_table_feedback(path, mapping, chunk_size, default_channel)
