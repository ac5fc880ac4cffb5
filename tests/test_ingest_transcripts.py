"""Call transcripts: SpeechKit v2/v3, Whisper, SRT, WebVTT, folders with a manifest, role mapping."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voc.ingest import IngestError, detect_kind, read_feedback
from voc.ingest.transcript_formats import format_timestamp, parse_cues, parse_timestamp
from voc.ingest.transcripts import assign_roles
from voc.schema import Channel, SpeakerRole

DATA = Path(__file__).parent / "data" / "ingest"
CL, OP = SpeakerRole.client, SpeakerRole.operator


def _one(path: Path, **kwargs):
    [chunk] = list(read_feedback(path, **kwargs))
    assert chunk.rows_in == 1 and chunk.rows_out == 1 and not chunk.rejected
    return chunk.records[0]


def test_speechkit_v2_operation_response() -> None:
    call = _one(DATA / "speechkit_v2.json")
    assert call.channel == Channel.call and call.id == "speechkit_v2"
    assert [(t.speaker, t.start, t.end) for t in call.turns] == [(OP, 0.5, 2.4), (CL, 2.1, 4.5), (OP, 7.5, 8.5)]
    assert call.text.splitlines()[1] == "Клиент: у меня не работает приложение"
    metrics = call.call_metrics
    assert metrics is not None and metrics.duration_s == 8.0 and metrics.longest_pause_s == 3.0
    assert metrics.overlaps == 1 and metrics.interruptions == {"client": 1, "operator": 0}


def test_speechkit_v3_prefers_refinements_and_lowest_tag_is_client() -> None:
    call = _one(DATA / "speechkit_v3.jsonl")
    assert [(t.speaker, t.text, t.start, t.end) for t in call.turns] == [
        (OP, "Здравствуйте, чем помочь?", 0.0, 1.5), (CL, "Хочу вернуть товар.", 1.8, 3.2)]
    configured = _one(DATA / "speechkit_v3.jsonl", speaker_roles={"0": "operator", "1": "client"})
    assert [t.speaker for t in configured.turns] == [CL, OP]


def test_whisper_srt_vtt() -> None:
    whisper = _one(DATA / "whisper.json")
    assert [t.speaker for t in whisper.turns] == [CL, OP, CL] and whisper.turns[0].text == "Алло, это служба доставки?"
    srt = _one(DATA / "call.srt")
    assert [(t.speaker, t.start) for t in srt.turns] == [(OP, 0.0), (CL, 3.0), (OP, 5.5)]
    assert srt.turns[1].text == "Мне заблокировали карту без объяснений."
    vtt = _one(DATA / "call.vtt")
    assert [(t.speaker, t.text, t.end) for t in vtt.turns] == [
        (OP, "Здравствуйте!", 2.0), (CL, "Я жду возврат уже месяц.", 5.0), (OP, "Проверю заявку.", 12.0)]


def test_folder_with_manifest() -> None:
    folder = DATA / "calls"
    assert detect_kind(folder) == "transcript_dir"
    [chunk] = list(read_feedback(folder))
    assert chunk.rows_in == 3 and chunk.rows_out == 2
    assert [r.id for r in chunk.records] == ["CALL-1", "CALL-2"]
    first = chunk.records[0]
    assert (first.customer_id, first.ticket_id, first.journey_stage) == ("u1", "T-9", "доставка")
    assert first.created_at == datetime(2024, 5, 1, 9, 30) and first.metadata == {"оператор": "Анна"}
    assert chunk.records[1].created_at == datetime(2024, 5, 5, 18)
    [bad] = chunk.rejected
    assert bad.file.endswith("broken.json") and bad.row is None and bad.reason == "unreadable transcript"
    assert "segments[0].start" in (bad.value or "")
    assert chunk.input_rows["file"].tolist() == ["call_001.json", "call_002.srt"]


def test_undiarized_transcript_keeps_text_without_turns(tmp_path: Path) -> None:
    path = tmp_path / "mono.json"
    path.write_text(json.dumps({"segments": [{"start": 0, "end": 1, "text": "алло"},
                                             {"start": 3, "end": 4, "text": "да"}]}), encoding="utf-8")
    call = _one(path)
    assert call.turns == [] and call.text == "алло\nда" and call.metadata == {"diarization": "none"}
    assert call.call_metrics is not None and call.call_metrics.longest_pause_s == 2 and call.call_metrics.talk_ratio == {}


def test_assign_roles_rules() -> None:
    assert assign_roles(["1", "2", "1"]) == [CL, OP, CL]
    assert assign_roles(["0", "1"]) == [CL, OP]
    assert assign_roles([None, "Оператор", None, "Клиент"]) == [OP, OP, OP, CL]
    assert assign_roles(["SPEAKER_10", "SPEAKER_2", "SPEAKER_3"]) == [OP, CL, OP]
    assert assign_roles(["a", "b"], {"a": "operator"}) == [OP, CL]
    assert assign_roles([None, None]) is None


def test_bad_transcripts_are_ingest_errors(tmp_path: Path) -> None:
    bad_vtt = tmp_path / "x.vtt"
    bad_vtt.write_text("00:00.000 --> 00:01.000\nтекст\n", encoding="utf-8")
    with pytest.raises(IngestError, match="WEBVTT"):
        list(read_feedback(bad_vtt))
    bad_srt = tmp_path / "x.srt"
    bad_srt.write_text("1\n00:00:0 --> 00:01\nтекст\n", encoding="utf-8")
    with pytest.raises(IngestError, match="bad time line"):
        list(read_feedback(bad_srt))
    with pytest.raises(IngestError, match="not a transcript"):
        list(read_feedback(DATA / "chat_export.json", kind="transcript"))


@given(st.floats(min_value=0, max_value=99 * 3600, allow_nan=False))
def test_srt_vtt_timestamps_round_trip(seconds: float) -> None:
    expected = round(seconds, 3)
    assert parse_timestamp(format_timestamp(seconds, srt=True)) == pytest.approx(expected, abs=1e-3)
    assert parse_timestamp(format_timestamp(seconds, srt=False)) == pytest.approx(expected, abs=1e-3)


@given(st.lists(st.tuples(st.floats(0, 5000, allow_nan=False), st.floats(0, 30, allow_nan=False),
                          st.sampled_from(["Оператор", "Клиент", None]),
                          st.text(alphabet="абв где ", min_size=1, max_size=20).filter(str.strip)),
                min_size=1, max_size=8),
       st.booleans())
def test_cues_parse_what_was_written(cues, vtt: bool) -> None:
    blocks = []
    for i, (start, length, speaker, text) in enumerate(cues, start=1):
        line = f"<v {speaker}>{text}" if vtt and speaker else (f"{speaker}: {text}" if speaker else text)
        times = f"{format_timestamp(start, not vtt)} --> {format_timestamp(start + length, not vtt)}"
        blocks.append(f"{times}\n{line}" if vtt else f"{i}\n{times}\n{line}")
    content = ("WEBVTT\n\n" if vtt else "") + "\n\n".join(blocks) + "\n"
    utterances = parse_cues(content, "t")
    assert [u.text for u in utterances] == [" ".join(t.split()) for *_, t in cues]
    assert [u.label for u in utterances] == [s for _, _, s, _ in cues]
    assert [u.start for u in utterances] == pytest.approx([round(s, 3) for s, *_ in cues], abs=1e-3)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**10) | st.floats(allow_nan=True) | st.text(max_size=8)
    | st.sampled_from(["1.5s", "abc", "0", "2"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["chunks", "alternatives", "text", "words", "startTime", "endTime", "channelTag", "result",
                         "final", "finalRefinement", "normalizedText", "startTimeMs", "endTimeMs", "segments",
                         "start", "end", "speaker", "response"]), inner, max_size=4),
    max_leaves=25,
)
shaped = st.one_of(
    st.fixed_dictionaries({"chunks": json_values}),
    st.fixed_dictionaries({"response": st.fixed_dictionaries({"chunks": json_values})}),
    st.fixed_dictionaries({"segments": json_values}),
    st.lists(st.fixed_dictionaries({"result": json_values}), min_size=1, max_size=3),
    json_values,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=shaped, jsonl=st.booleans())
def test_random_json_transcripts_only_raise_ingest_errors(tmp_path: Path, document, jsonl: bool) -> None:
    folder = tmp_path / "calls"
    folder.mkdir(exist_ok=True)
    path = folder / ("call.jsonl" if jsonl else "call.json")
    for old in folder.iterdir():
        old.unlink()
    if jsonl and isinstance(document, list):
        path.write_text("\n".join(json.dumps(x) for x in document), encoding="utf-8")
    else:
        path.write_text(json.dumps(document), encoding="utf-8")
    [chunk] = list(read_feedback(folder))
    assert chunk.rows_in == 1 == chunk.rows_out + len(chunk.rejected)
    try:
        list(read_feedback(path, kind="transcript"))
    except IngestError:
        pass
