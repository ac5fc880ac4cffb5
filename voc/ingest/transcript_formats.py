"""Parsers of speech-to-text transcript files into utterances (start, end, speaker label, text).

Formats: Yandex SpeechKit v2 (``chunks`` with ``channelTag`` and word times like "0.5s"), SpeechKit v3
(a list or JSONL of ``{"result": {"final"|"finalRefinement": ...}}``), Whisper-style
``{"segments": [...]}``, SRT and WebVTT. Anything malformed raises IngestError naming the place.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voc.ingest.errors import IngestError
from voc.ingest.safety import SURROGATE_ESCAPE, check_depth, find_lone_surrogate
from voc.ingest.tables import parse_json_document, read_text_document, require_decodable
from voc.ingest.values import SPEAKER_LOOKUP, normalize_key

TRANSCRIPT_SUFFIXES: tuple[str, ...] = (".json", ".jsonl", ".srt", ".vtt")


@dataclass
class Utterance:
    """One recognised utterance; ``label`` is the raw speaker label or channel tag (None = unknown)."""

    text: str
    start: float | None = None
    end: float | None = None
    label: str | None = None


# ------------------------------------------------------------------------------------ typed access


def _dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise IngestError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise IngestError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise IngestError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _label(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise IngestError(f"{where}: expected a speaker label or channel tag, got {type(value).__name__}")
    return str(value)


def _seconds(value: Any, where: str, scale: float = 1.0) -> float | None:
    """A time in seconds from a number, a numeric string, or a "1.5s" duration string."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise IngestError(f"{where}: expected a time, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        text = text[:-1] if text.endswith("s") else text
        try:
            number = float(text)
        except ValueError:
            raise IngestError(f"{where}: expected a time like 1.25 or \"1.25s\", got {value[:50]!r}") from None
    elif isinstance(value, (int, float)):
        number = float(value)
    else:
        raise IngestError(f"{where}: expected a time, got {type(value).__name__}")
    if not math.isfinite(number) or number < 0:
        raise IngestError(f"{where}: expected a non-negative time, got {value!r}")
    return number * scale


def _span(start: float | None, end: float | None) -> tuple[float | None, float | None]:
    if start is not None and end is not None and end < start:
        end = start
    return start, end


# ------------------------------------------------------------------------------------------ SpeechKit


def is_speechkit_v2(doc: Any) -> bool:
    return isinstance(doc, dict) and (
        "chunks" in doc or (isinstance(doc.get("response"), dict) and "chunks" in doc["response"])
    )


def parse_speechkit_v2(doc: Any, where: str) -> list[Utterance]:
    """``{"chunks": [{"alternatives": [{"text", "words": [{"startTime", "endTime"}]}], "channelTag"}]}``,
    optionally wrapped in an operation's ``"response"``."""
    doc = _dict(doc, where)
    if "chunks" not in doc:
        doc = _dict(doc.get("response"), f"{where}.response")
    utterances = []
    for i, chunk in enumerate(_list(doc.get("chunks"), f"{where}.chunks")):
        at = f"{where}.chunks[{i}]"
        chunk = _dict(chunk, at)
        alternatives = _list(chunk.get("alternatives", []), f"{at}.alternatives")
        if not alternatives:
            continue
        best = _dict(alternatives[0], f"{at}.alternatives[0]")
        text = _text(best.get("text"), f"{at}.alternatives[0].text").strip()
        words = _list(best.get("words", []), f"{at}.alternatives[0].words")
        start = end = None
        if words:
            first = _dict(words[0], f"{at}.alternatives[0].words[0]")
            last = _dict(words[-1], f"{at}.alternatives[0].words[-1]")
            start = _seconds(first.get("startTime"), f"{at}.alternatives[0].words[0].startTime")
            end = _seconds(last.get("endTime"), f"{at}.alternatives[0].words[-1].endTime")
        if text:
            utterances.append(Utterance(text, *_span(start, end), _label(chunk.get("channelTag"), f"{at}.channelTag")))
    return utterances


def is_speechkit_v3_item(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("result"), dict)


def parse_speechkit_v3(items: Any, where: str) -> list[Utterance]:
    """A list of v3 streaming results; ``finalRefinement`` (normalised text) is used when the file has any,
    else ``final``. Partial results are ignored."""
    items = _list(items, where)
    finals: list[Utterance] = []
    refinements: list[Utterance] = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        result = _dict(_dict(item, at).get("result"), f"{at}.result")
        for key, bucket in (("final", finals), ("finalRefinement", refinements)):
            if key not in result:
                continue
            part = _dict(result[key], f"{at}.result.{key}")
            body = part
            if "normalizedText" in part:
                body = _dict(part["normalizedText"], f"{at}.result.{key}.normalizedText")
            alternatives = _list(body.get("alternatives", []), f"{at}.result.{key}.alternatives")
            if not alternatives:
                continue
            best = _dict(alternatives[0], f"{at}.result.{key}.alternatives[0]")
            text = _text(best.get("text"), f"{at}.result.{key}.alternatives[0].text").strip()
            start = _seconds(best.get("startTimeMs"), f"{at}.result.{key}.alternatives[0].startTimeMs", 0.001)
            end = _seconds(best.get("endTimeMs"), f"{at}.result.{key}.alternatives[0].endTimeMs", 0.001)
            tag = result.get("channelTag", part.get("channelTag"))
            if text:
                bucket.append(Utterance(text, *_span(start, end), _label(tag, f"{at}.result.channelTag")))
    return refinements or finals


# -------------------------------------------------------------------------------------------- Whisper


def is_whisper(doc: Any) -> bool:
    return isinstance(doc, dict) and "segments" in doc


def parse_whisper(doc: Any, where: str) -> list[Utterance]:
    """``{"segments": [{"start", "end", "text", "speaker"?}]}`` (Whisper, WhisperX, faster-whisper)."""
    doc = _dict(doc, where)
    utterances = []
    for i, segment in enumerate(_list(doc.get("segments"), f"{where}.segments")):
        at = f"{where}.segments[{i}]"
        segment = _dict(segment, at)
        text = _text(segment.get("text"), f"{at}.text").strip()
        start = _seconds(segment.get("start"), f"{at}.start")
        end = _seconds(segment.get("end"), f"{at}.end")
        if text:
            utterances.append(Utterance(text, *_span(start, end), _label(segment.get("speaker"), f"{at}.speaker")))
    return utterances


# ------------------------------------------------------------------------------------------ SRT / VTT

_TIMESTAMP = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]\d)(?:[.,](\d{1,3}))?$")
_CUE_TIMES = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]*>")
_PREFIX = re.compile(r"^\s*\[?([^:\[\]]{1,40}?)\]?\s*:\s+(.+)$", re.S)
_NUMBERED_SPEAKER = re.compile(r"^(speaker|спикер|говорящий|участник)\s*_?\d+$", re.I)


def parse_timestamp(value: str) -> float:
    """``hh:mm:ss,mmm`` / ``hh:mm:ss.mmm`` / ``mm:ss.mmm`` → seconds; ValueError otherwise."""
    match = _TIMESTAMP.match(value.strip())
    if not match:
        raise ValueError(f"not a timestamp: {value[:40]!r}")
    hours, minutes, seconds, millis = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int((millis or "0").ljust(3, "0")) / 1000


def format_timestamp(seconds: float, srt: bool = True) -> str:
    """Seconds → ``hh:mm:ss,mmm`` (SRT) or ``hh:mm:ss.mmm`` (VTT)."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{',' if srt else '.'}{ms:03d}"


def _is_speaker_name(name: str) -> bool:
    return normalize_key(name) in SPEAKER_LOOKUP or bool(_NUMBERED_SPEAKER.match(name.strip()))


def _cue_text(lines: list[str]) -> tuple[str, str | None]:
    """Join a cue's lines, taking the speaker from a ``<v Name>`` tag or a ``Name:`` prefix."""
    raw = "\n".join(lines)
    label = None
    voice = _VOICE.search(raw)
    if voice:
        label = voice.group(1).strip()
    text = " ".join(_TAG.sub("", raw).split())
    if label is None:
        prefix = _PREFIX.match(text)
        if prefix and _is_speaker_name(prefix.group(1)):
            label, text = prefix.group(1).strip(), prefix.group(2).strip()
    return text, label


def parse_cues(content: str, where: str) -> list[Utterance]:
    """SRT or WebVTT text → utterances. Blocks without a ``-->`` line (NOTE, STYLE, headers) are skipped."""
    content = content.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    utterances = []
    for number, block in enumerate(re.split(r"\n\s*\n", content), start=1):
        lines = [line for line in block.split("\n") if line.strip()]
        arrow = next((k for k, line in enumerate(lines) if "-->" in line), None)
        if arrow is None or lines[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        times = _CUE_TIMES.match(lines[arrow])
        try:
            if not times:
                raise ValueError("expected 'start --> end'")
            start, end = parse_timestamp(times.group(1)), parse_timestamp(times.group(2))
        except ValueError as exc:
            raise IngestError(f"{where}: cue {number}: bad time line {lines[arrow][:80]!r}: {exc}") from None
        text, label = _cue_text(lines[arrow + 1:])
        if text:
            utterances.append(Utterance(text, *_span(start, end), label))
    return utterances


# --------------------------------------------------------------------------------------------- files


def read_transcript_text(path: Path) -> str:
    """The whole transcript text (size-capped); an undecodable byte is an IngestError naming its offset."""
    text, decision = read_text_document(path, "transcript")
    require_decodable(text, decision, path)
    return text.removeprefix("\ufeff")


def _check_unicode(document: Any, text: str, path: Path) -> Any:
    if SURROGATE_ESCAPE.search(text):
        at = find_lone_surrogate(document)
        if at is not None:
            raise IngestError(f"{path}: {at}: a \\uD800-\\uDFFF escape that is not part of a surrogate pair")
    return document


def parse_json_or_jsonl(content: str, path: Path, *, check_unicode: bool = True) -> Any:
    """A JSON document, or the list of values of JSON Lines text; IngestError naming the line otherwise
    (and, with ``check_unicode``, naming the JSON path of a lone-surrogate escape)."""
    check_depth(content, where=str(path))
    try:
        document = parse_json_document(content, path)
    except IngestError as whole_error:
        lines = content.split("\n")
        if len([line for line in lines if line.strip()]) < 2:
            raise
        document = []
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                document.append(json.loads(line))
            except ValueError as exc:
                if not document:
                    raise whole_error from None
                raise IngestError(f"{path}: invalid JSON at line {line_no}: {getattr(exc, 'msg', exc)}") from None
    return _check_unicode(document, content, path) if check_unicode else document


def load_json_or_jsonl(path: Path) -> Any:
    """A JSON document, or the list of values of a JSONL file (SpeechKit v3 is often saved that way).

    For telling file kinds apart: undecodable bytes and lone surrogates are left in (the readers reject
    them); nesting deeper than the limit and invalid JSON are IngestErrors naming the line.
    """
    content, _ = read_text_document(path, "JSON document")
    return parse_json_or_jsonl(content.removeprefix("\ufeff"), path, check_unicode=False)


def transcript_format(doc: Any) -> str | None:
    """'speechkit_v2' | 'speechkit_v3' | 'whisper' for a parsed JSON document, None when it is none of them."""
    if is_speechkit_v2(doc):
        return "speechkit_v2"
    if is_whisper(doc):
        return "whisper"
    if isinstance(doc, list) and doc and is_speechkit_v3_item(doc[0]):
        return "speechkit_v3"
    if is_speechkit_v3_item(doc):
        return "speechkit_v3"
    return None


def parse_transcript_document(doc: Any, where: str) -> list[Utterance]:
    """Utterances of an already parsed JSON transcript (any supported shape)."""
    kind = transcript_format(doc)
    if kind == "speechkit_v2":
        return parse_speechkit_v2(doc, where)
    if kind == "whisper":
        return parse_whisper(doc, where)
    if kind == "speechkit_v3":
        return parse_speechkit_v3(doc if isinstance(doc, list) else [doc], where)
    raise IngestError(f"{where}: not a transcript: expected SpeechKit ('chunks' or 'result'), "
                      "Whisper ('segments'), SRT or WebVTT")


def parse_transcript_file(path: str | Path) -> list[Utterance]:
    """Utterances of one transcript file, chosen by extension (.srt/.vtt) or JSON content."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TRANSCRIPT_SUFFIXES:
        raise IngestError(f"{path}: unsupported transcript type {suffix!r}; supported: {TRANSCRIPT_SUFFIXES}")
    if suffix in (".srt", ".vtt"):
        content = read_transcript_text(path)
        if suffix == ".vtt" and not content.startswith("WEBVTT"):
            raise IngestError(f"{path}: a WebVTT file must start with 'WEBVTT'")
        utterances = parse_cues(content, str(path))
    else:
        utterances = parse_transcript_document(parse_json_or_jsonl(read_transcript_text(path), path), str(path))
    if not utterances:
        raise IngestError(f"{path}: the transcript has no recognised speech")
    return utterances
