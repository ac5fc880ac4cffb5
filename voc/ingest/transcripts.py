"""Call transcripts → ``Feedback(channel=call, turns=[...], call_metrics=...)``.

A single transcript file is one call; a folder is one call per transcript file (.json/.jsonl/.srt/.vtt,
searched recursively, in name order). An optional calls manifest CSV/XLSX (``file, call_id, customer_id,
ticket_id, created_at, journey_stage``; other columns go to metadata) attaches metadata; a folder's own
``calls.csv`` or ``manifest.csv`` is used when no manifest is given.

Speaker roles: explicit ``speaker_roles`` (label → role) win; then labels that name a role (Клиент,
Оператор, agent, …); the remaining labels are sorted naturally and get client, then operator (so SpeechKit
channelTag "1" = client, "2" = operator, and a "0"/"1" file has "0" = client); extra labels are operators.
A transcript without any speaker labels keeps its text but has no turns (metrics without talk ratio).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from voc.calls import compute_call_metrics, compute_span_metrics
from voc.ingest.chunk import IngestChunk
from voc.ingest.errors import BAD_DATE, BAD_TRANSCRIPT, IngestError, reject
from voc.ingest.mapping import HEADER_SYNONYMS, shown_headers
from voc.ingest.tables import read_table
from voc.ingest.transcript_formats import TRANSCRIPT_SUFFIXES, Utterance, parse_transcript_file
from voc.ingest.values import ROLE_PREFIX, SPEAKER_LOOKUP, normalize_key, parse_datetime
from voc.schema import MAX_TEXT_CHARS, Channel, DialogTurn, Feedback, RejectedRow, SpeakerRole

MANIFEST_FILE_NAMES: tuple[str, ...] = ("calls.csv", "manifest.csv")
#: an utterance longer than this is cut (room left for the "Оператор: " prefix within MAX_TEXT_CHARS)
_MAX_UTTERANCE_CHARS = MAX_TEXT_CHARS - 16
MANIFEST_SYNONYMS: dict[str, tuple[str, ...]] = {
    "file": ("file", "файл", "filename", "file_name", "имя файла", "path", "путь", "запись", "recording"),
    "call_id": ("call_id", "id звонка", "звонок", "номер звонка", "call", "id"),
    "customer_id": HEADER_SYNONYMS["customer_id"],
    "ticket_id": HEADER_SYNONYMS["ticket_id"],
    "created_at": HEADER_SYNONYMS["created_at"],
    "journey_stage": HEADER_SYNONYMS["journey_stage"],
    "touchpoint": HEADER_SYNONYMS["touchpoint"],
}

#: Input-row keys of a call that hold a Feedback field (the privacy gate does not keep them).
MANIFEST_MAPPED_COLUMNS: dict[str, str] = {"call_id": "id", "customer_id": "customer_id", "ticket_id": "ticket_id"}


def _natural_key(label: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", label))


def assign_roles(labels: Sequence[str | None], speaker_roles: Mapping[str, SpeakerRole | str] | None = None,
                 ) -> list[SpeakerRole] | None:
    """A role per utterance from its speaker label/channel tag; None when no utterance has a label.

    Unlabelled utterances continue the previous speaker (subtitle convention); leading ones take the
    first labelled speaker's role.
    """
    if not any(label is not None for label in labels):
        return None
    configured = {normalize_key(str(k)): SpeakerRole(v) for k, v in (speaker_roles or {}).items()}
    roles: dict[str, SpeakerRole] = {}
    unknown: list[str] = []
    for label in dict.fromkeys(label for label in labels if label is not None):
        key = normalize_key(label)
        if key in configured:
            roles[label] = configured[key]
        elif key in SPEAKER_LOOKUP:
            roles[label] = SPEAKER_LOOKUP[key]
        else:
            unknown.append(label)
    free = [r for r in (SpeakerRole.client, SpeakerRole.operator) if r not in roles.values()]
    for label in sorted(unknown, key=_natural_key):
        roles[label] = free.pop(0) if free else SpeakerRole.operator
    first = roles[next(label for label in labels if label is not None)]
    result: list[SpeakerRole] = []
    current = first
    for given in labels:
        if given is not None:
            current = roles[given]
        result.append(current)
    return result


def _ordered(utterances: list[Utterance]) -> list[Utterance]:
    if all(u.start is not None for u in utterances):
        return sorted(utterances, key=lambda u: u.start or 0.0)
    return utterances


def build_call(utterances: list[Utterance], *, record_id: str, file: str,
               speaker_roles: Mapping[str, SpeakerRole | str] | None = None, **fields: Any) -> Feedback:
    """One call Feedback: turns (when diarised), joined text, call metrics. Turns past 20,000 characters of
    text are left out of ``text``/``turns`` (metadata ``turns_dropped``) but still count in the metrics."""
    utterances = _ordered(utterances)
    roles = assign_roles([u.label for u in utterances], speaker_roles)
    metadata = dict(fields.pop("metadata", {}) or {})
    too_long = sum(len(u.text) > _MAX_UTTERANCE_CHARS for u in utterances)
    if too_long:  # one utterance could never fit the text limit: keep its start, say so
        metadata["utterances_truncated"] = str(too_long)
        utterances = [Utterance(u.text[:_MAX_UTTERANCE_CHARS], u.start, u.end, u.label) for u in utterances]
    if roles is None:
        metrics = compute_span_metrics([(u.start, u.end, None) for u in utterances])
        text, turns = "", list[Utterance]()
        for u in utterances:
            if len(text) + len(u.text) + 1 > MAX_TEXT_CHARS:
                metadata["turns_dropped"] = str(len(utterances) - len(turns))
                break
            text = f"{text}\n{u.text}" if text else u.text
            turns.append(u)
        metadata["diarization"] = "none"
        return Feedback(id=record_id, text=text, channel=Channel.call, call_metrics=metrics, metadata=metadata,
                        source_file=file, **fields)
    all_turns = [DialogTurn(speaker=r, text=u.text, start=u.start, end=u.end)
                 for u, r in zip(utterances, roles, strict=True)]
    kept: list[DialogTurn] = []
    lines: list[str] = []
    size = 0
    for turn in all_turns:
        line = f"{ROLE_PREFIX[turn.speaker]}: {turn.text}"
        if size + len(line) + 1 > MAX_TEXT_CHARS:
            metadata["turns_dropped"] = str(len(all_turns) - len(kept))
            break
        kept.append(turn)
        lines.append(line)
        size += len(line) + 1
    return Feedback(id=record_id, text="\n".join(lines), channel=Channel.call, turns=kept,
                    call_metrics=compute_call_metrics(all_turns), metadata=metadata, source_file=file, **fields)


# ------------------------------------------------------------------------------------------ manifest


def read_manifest(path: str | Path) -> dict[str, dict[str, str]]:
    """Manifest rows keyed by file name, relative path and stem (lower-case); values by canonical field name
    (``call_id``, ``customer_id``, …) plus the other columns as they are."""
    rows: dict[str, dict[str, str]] = {}
    file_column = None
    for chunk in read_table(path):
        frame = chunk.frame
        columns: dict[str, str] = {}
        for header in frame.columns:
            key = normalize_key(header)
            for field, names in MANIFEST_SYNONYMS.items():
                if field not in columns.values() and key in {normalize_key(n) for n in names}:
                    columns[header] = field
                    break
        file_column = next((h for h, f in columns.items() if f == "file"), None)
        if file_column is None:
            raise IngestError(f"{path}: calls manifest has no file column; headers seen: {shown_headers(list(frame.columns))}")
        for record in frame.to_dict("records"):
            entry = {columns.get(h, h): str(v) for h, v in record.items() if str(v).strip()}
            name = entry.get("file", "").strip().replace("\\", "/")
            if not name:
                continue
            for key in (name.lower(), Path(name).name.lower(), Path(name).stem.lower()):
                rows.setdefault(key, entry)
    return rows


def _manifest_entry(manifest: Mapping[str, dict[str, str]], relative: str) -> dict[str, str]:
    for key in (relative.lower(), Path(relative).name.lower(), Path(relative).stem.lower()):
        if key in manifest:
            return manifest[key]
    return {}


def _manifest_fields(entry: dict[str, str]) -> dict[str, Any]:
    """Feedback fields from a manifest entry; ValueError('created_at') when its date is unreadable."""
    fields: dict[str, Any] = {k: entry[k].strip() for k in ("customer_id", "ticket_id", "journey_stage",
                                                          "touchpoint") if k in entry}
    if "created_at" in entry:
        fields["created_at"] = parse_datetime(entry["created_at"])
    known = set(MANIFEST_SYNONYMS) | {"file"}
    fields["metadata"] = {k: v for k, v in entry.items() if k not in known}
    return fields


# ---------------------------------------------------------------------------------------- reading


def transcript_files(folder: str | Path) -> list[Path]:
    """Transcript files under ``folder`` (recursive, sorted by relative path)."""
    folder = Path(folder)
    return sorted((p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in TRANSCRIPT_SUFFIXES),
                  key=lambda p: p.relative_to(folder).as_posix())


def read_call(path: Path, relative: str, manifest: Mapping[str, dict[str, str]],
              speaker_roles: Mapping[str, SpeakerRole | str] | None = None, *, strict: bool = False,
              ) -> tuple[Feedback | None, RejectedRow | None, dict[str, str]]:
    """One transcript file → (record, None, input row) or (None, rejected, input row).

    With ``strict`` an unreadable transcript raises IngestError instead of becoming a rejected row.
    """
    entry = _manifest_entry(manifest, relative)
    input_row = {"file": relative, **{k: v for k, v in entry.items() if k != "file"}}
    file = str(path)
    try:
        utterances = parse_transcript_file(path)
    except IngestError as exc:
        if strict:
            raise
        return None, reject(file, None, None, BAD_TRANSCRIPT, str(exc)), input_row
    try:
        fields = _manifest_fields(entry)
    except ValueError:
        return None, reject(file, None, "created_at", BAD_DATE, entry.get("created_at")), input_row
    record_id = entry.get("call_id", "").strip() or path.stem
    return build_call(utterances, record_id=record_id, file=file, speaker_roles=speaker_roles, **fields), \
        None, input_row


def read_transcripts(path: str | Path, *, chunk_size: int = 20_000, manifest: str | Path | None = None,
                     speaker_roles: Mapping[str, SpeakerRole | str] | None = None) -> Iterator[IngestChunk]:
    """A transcript file or folder → chunks of call records (one source row per file).

    In a folder an unreadable transcript becomes a RejectedRow (row None); a single file raises IngestError.
    """
    path = Path(path)
    if path.is_dir():
        files, root = transcript_files(path), path
        if manifest is None:
            manifest = next((path / n for n in MANIFEST_FILE_NAMES if (path / n).is_file()), None)
    elif path.is_file():
        files, root = [path], path.parent
    else:
        raise IngestError(f"{path}: no such file or folder")
    entries = read_manifest(manifest) if manifest is not None else {}
    if path.is_dir() and not files:
        raise IngestError(f"{path}: no transcript files ({', '.join(TRANSCRIPT_SUFFIXES)}) in the folder")
    for offset in range(0, len(files), chunk_size):
        records: list[Feedback] = []
        rejected: list[RejectedRow] = []
        input_rows: list[dict[str, str]] = []
        batch = files[offset:offset + chunk_size]
        for file in batch:
            record, rejection, input_row = read_call(file, file.relative_to(root).as_posix(), entries,
                                                     speaker_roles, strict=not path.is_dir())
            if record is not None:
                records.append(record)
                input_rows.append(input_row)
            else:
                assert rejection is not None  # read_call returns a record or a rejection
                rejected.append(rejection)
        yield IngestChunk(records, rejected, pd.DataFrame(input_rows), rows_in=len(batch), rows_out=len(records),
                          mapped_columns=MANIFEST_MAPPED_COLUMNS)
