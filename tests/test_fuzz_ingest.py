"""Fuzzing the ingest layer with malformed files of every supported format (issue #9: no traceback on bad input).

Every example writes one file (or a folder) built by ``tests/helpers/fuzz_files.py`` — random bytes, truncations,
wrong encodings, BOMs, huge fields, deep nesting, broken quotes, missing/duplicate headers, mixed types,
empty files, zip junk and small zip bombs with an .xlsx suffix, hostile sheet XML, broken Parquet, SRT/VTT
and SpeechKit/Whisper JSON with wrong types, config YAML with depth and alias bombs — and reads it.

Asserted for every file: the reader either succeeds or raises IngestError/ConfigError (a one-file message
that names the file); every chunk has ``rows_in == rows_out + rejected``; nothing that leaves ingest holds a
lone surrogate (it would crash the Parquet writer); and when the generator knows how many source rows the file
holds, exactly that many are accounted for.

Profiles: the default "short" one runs a few hundred examples for CI; ``VOC_FUZZ_PROFILE=long`` writes more
than 10,000 files (``python bench/fuzz_ingest.py`` runs it and records bench/results/fuzz_ingest.json).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.fuzz_files import (
    FuzzFile,
    csv_files,
    json_files,
    jsonl_files,
    junk_files,
    parquet_files,
    transcript_files,
    xlsx_files,
    yaml_files,
)
from hypothesis import HealthCheck, given, settings

from voc.config import ConfigError, load_causes, load_journey, load_taxonomy
from voc.ingest import ColumnMapping, IngestError, detect_kind, read_feedback, read_tickets
from voc.ingest.chunk import IngestChunk
from voc.ingest.tables import read_csv, read_table

PROFILE = os.environ.get("VOC_FUZZ_PROFILE", "short")
#: examples per format; the long profile writes >= 10,000 files in all
EXAMPLES = {
    "short": {"csv": 60, "xlsx": 30, "json": 40, "jsonl": 40, "parquet": 20, "transcript": 40, "yaml": 40,
              "junk": 40},
    "long": {"csv": 2_500, "xlsx": 1_300, "json": 1_300, "jsonl": 1_500, "parquet": 800, "transcript": 1_300,
             "yaml": 1_000, "junk": 1_000},
}[PROFILE]
if os.environ.get("VOC_FUZZ_EXAMPLES"):  # one count for every format (for exploring)
    EXAMPLES = dict.fromkeys(EXAMPLES, int(os.environ["VOC_FUZZ_EXAMPLES"]))
FILES: Counter[str] = Counter()
OUTCOMES: Counter[str] = Counter()


def fuzz_settings(kind: str):  # noqa: ANN201 - a hypothesis settings decorator
    return settings(max_examples=EXAMPLES[kind], deadline=None, database=None, derandomize=PROFILE == "short",
                    suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", autouse=True)
def _record_counts() -> Iterator[None]:
    yield
    target = os.environ.get("VOC_FUZZ_COUNTS")
    if target:
        Path(target).write_text(json.dumps({"profile": PROFILE, "files": dict(FILES), "outcomes": dict(OUTCOMES),
                                            "files_total": sum(FILES.values())}, indent=2), encoding="utf-8")


def _write(fuzz: FuzzFile) -> tuple[Path, Path]:
    """Write the generated files into a fresh temp folder; returns (folder, the path to read)."""
    folder = Path(tempfile.mkdtemp(prefix=f"voc-fuzz-{fuzz.kind}-"))
    for name, data in fuzz.files.items():
        (folder / name).write_bytes(data)
    FILES[fuzz.kind] += len(fuzz.files)
    target = folder if fuzz.kind == "transcript_dir" else folder / next(iter(fuzz.files))
    return folder, target


def _clean(value: object) -> None:
    """Values leaving ingest must be valid Unicode (no lone surrogates: pyarrow/pandas cannot store them)."""
    json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")


def _check_error(exc: Exception, path: Path) -> None:
    message = str(exc)
    assert message.strip(), "an empty error message"
    message.encode("utf-8")
    assert str(path.name) in message or str(path.parent.name) in message or "chunk_size" in message, message


def read_all(path: Path, kind_name: str, **kwargs: object) -> list[IngestChunk] | None:
    """read_feedback over the whole input; None when it raised IngestError (checked for a clear message)."""
    try:
        chunks = list(read_feedback(path, chunk_size=3, **kwargs))
    except (IngestError, ConfigError) as exc:
        _check_error(exc, path)
        OUTCOMES[f"{kind_name}: clear error"] += 1
        return None
    for chunk in chunks:
        assert chunk.rows_in == chunk.rows_out + len(chunk.rejected)
        for record in chunk.records:
            _clean(record.model_dump(mode="json"))
        for row in chunk.rejected:
            _clean(row.model_dump(mode="json"))
        _clean(chunk.input_rows.to_dict("records"))
    OUTCOMES[f"{kind_name}: read"] += 1
    return chunks


def table_rows_in(path: Path, **kwargs: object) -> int | None:
    """Source rows the table reader accounts for (None on IngestError)."""
    reader = read_csv if kwargs else read_table
    try:
        return sum(chunk.rows_in for chunk in reader(path, chunk_size=4, **kwargs))
    except IngestError as exc:
        _check_error(exc, path)
        return None


@fuzz_settings("csv")
@given(fuzz=csv_files())
def test_csv(fuzz: FuzzFile) -> None:
    folder, path = _write(fuzz)
    try:
        read_all(path, "csv")
        read_all(path, "csv as table", kind="table", mapping=ColumnMapping(text="text"))
        try:
            read_tickets(path)
        except IngestError as exc:
            _check_error(exc, path)
        if fuzz.expected_rows is not None:
            assert table_rows_in(path, delimiter=fuzz.notes[0]) == fuzz.expected_rows
    finally:
        shutil.rmtree(folder)


@pytest.mark.filterwarnings("ignore:Duplicate name")
@fuzz_settings("xlsx")
@given(fuzz=xlsx_files())
def test_xlsx(fuzz: FuzzFile) -> None:
    folder, path = _write(fuzz)
    try:
        read_all(path, "xlsx")
        if fuzz.notes == ["bomb"] and fuzz.expected_rows is None:
            with pytest.raises(IngestError):
                list(read_table(path))
        if fuzz.expected_rows is not None:
            assert table_rows_in(path) == fuzz.expected_rows
    finally:
        shutil.rmtree(folder)


@fuzz_settings("json")
@given(fuzz=json_files())
def test_json(fuzz: FuzzFile) -> None:
    folder, path = _write(fuzz)
    try:
        read_all(path, "json")
        read_all(path, "json as table", kind="table")
    finally:
        shutil.rmtree(folder)


@fuzz_settings("jsonl")
@given(fuzz=jsonl_files())
def test_jsonl(fuzz: FuzzFile) -> None:
    folder, path = _write(fuzz)
    try:
        read_all(path, "jsonl")
        read_all(path, "jsonl as chats", kind="chat_json")
        if fuzz.expected_rows is not None:
            assert table_rows_in(path) == fuzz.expected_rows
    finally:
        shutil.rmtree(folder)


@fuzz_settings("parquet")
@given(fuzz=parquet_files())
def test_parquet(fuzz: FuzzFile) -> None:
    folder, path = _write(fuzz)
    try:
        read_all(path, "parquet")
        if fuzz.expected_rows is not None:
            assert table_rows_in(path) == fuzz.expected_rows
    finally:
        shutil.rmtree(folder)


@fuzz_settings("transcript")
@given(fuzz=transcript_files())
def test_transcripts(fuzz: FuzzFile) -> None:
    folder, path = _write(fuzz)
    try:
        chunks = read_all(path, fuzz.kind)
        if chunks is not None:
            rows_in = sum(c.rows_in for c in chunks)
            if fuzz.kind == "transcript_dir":
                assert rows_in == fuzz.expected_rows
            elif detect_kind(path) == "transcript":  # (a corrupted JSON transcript may read as a table)
                assert rows_in == 1
    finally:
        shutil.rmtree(folder)


@fuzz_settings("yaml")
@given(fuzz=yaml_files())
def test_config_yaml(fuzz: FuzzFile) -> None:
    folder, path = _write(fuzz)
    try:
        for load in (load_taxonomy, load_journey, load_causes):
            try:
                load(path)
                OUTCOMES["yaml: read"] += 1
            except ConfigError as exc:
                _check_error(exc, path)
                OUTCOMES["yaml: clear error"] += 1
        try:
            ColumnMapping.from_yaml(path)
        except IngestError as exc:
            _check_error(exc, path)
    finally:
        shutil.rmtree(folder)


@fuzz_settings("junk")
@given(fuzz=junk_files())
def test_junk_bytes(fuzz: FuzzFile) -> None:
    folder, path = _write(fuzz)
    try:
        read_all(path, "junk")
    finally:
        shutil.rmtree(folder)
