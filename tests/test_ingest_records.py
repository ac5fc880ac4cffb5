"""Rows → Feedback records: column mapping, validation, rejected rows, metadata, counts."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest

from voc.ingest import ColumnMapping, IngestError, read_feedback
from voc.ingest.mapping import detect_mapping
from voc.schema import Channel

DATA = Path(__file__).parent / "data" / "ingest"


def _all(path: Path, **kwargs):
    chunks = list(read_feedback(path, **kwargs))
    for chunk in chunks:
        assert chunk.rows_in == chunk.rows_out + len(chunk.rejected)
        assert len(chunk.input_rows) == len(chunk.records)
    return [r for c in chunks for r in c.records], [r for c in chunks for r in c.rejected], chunks


def test_header_detection_ignores_case_spaces_and_punctuation() -> None:
    mapping = detect_mapping(["ID клиента", "Текст  отзыва", "Дата_создания", "NPS", "Канал", "№", "Этап пути",
                              "Номер обращения", "Точка контакта", "Stars"])
    assert mapping.columns() == {
        "text": "Текст  отзыва", "ticket_id": "Номер обращения", "customer_id": "ID клиента",
        "created_at": "Дата_создания", "channel": "Канал", "journey_stage": "Этап пути",
        "touchpoint": "Точка контакта", "rating": "Stars", "nps": "NPS",
    }


def test_cp1251_semicolon_fixture_rejects_exactly_the_bad_rows() -> None:
    records, rejected, _ = _all(DATA / "reviews_cp1251.csv")
    assert [r.id for r in records] == ["r1", "r2"]
    assert records[0].created_at == datetime(2024, 3, 1, 14, 30)
    assert records[1].channel == Channel.social and records[1].text == 'Всё отлично; спасибо "магазину"'
    assert records[0].metadata == {"Город": "Казань"}
    assert [(r.row, r.field, r.reason) for r in rejected] == [
        (3, "text", "empty text"), (4, "created_at", "unparseable date"), (5, "rating", "not a number")]
    assert rejected[2].value == "семь" and rejected[0].file.endswith("reviews_cp1251.csv")


def test_three_bad_rows_out_of_200(tmp_path: Path) -> None:
    path = tmp_path / "feedback.csv"
    bad = {17: ("nps", "11"), 88: ("created_at", "31.02.2024"), 150: ("channel", "голубь")}
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Комментарий", "NPS", "Дата", "Канал"])
        for row in range(1, 201):
            values = {"nps": str(row % 11), "created_at": "2024-03-01 10:00", "channel": "опрос"}
            if row in bad:
                values[bad[row][0]] = bad[row][1]
            writer.writerow([f"Комментарий номер {row}", values["nps"], values["created_at"], values["channel"]])
    records, rejected, chunks = _all(path, chunk_size=64)
    assert len(records) == 197
    assert sorted((r.file, r.row, r.field) for r in rejected) == [
        (str(path), 17, "nps"), (str(path), 88, "created_at"), (str(path), 150, "channel")]
    assert [r.reason for r in rejected] == ["out of range 0..10", "unparseable date", "unknown channel"]
    assert sum(c.rows_in for c in chunks) == 200 and sum(c.rows_out for c in chunks) == 197
    assert records[0].id == "feedback-1" and records[-1].id == "feedback-200"
    assert all(r.channel == Channel.survey for r in records)


def test_yaml_mapping_and_explicit_overrides(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Номер,Отзыв,Комментарий оператора,Оценка\n7,Плохо,Извинились,1\n", encoding="utf-8")
    mapping = ColumnMapping.from_yaml(DATA / "mapping.yaml")
    assert mapping.text == "Отзыв" and mapping.default_channel == "опрос"
    records, _, chunks = _all(path, mapping=mapping)
    assert records[0].id == "7" and records[0].text == "Плохо" and records[0].channel == Channel.survey
    assert records[0].metadata == {"Комментарий оператора": "Извинились"}
    assert chunks[0].input_rows.iloc[0].to_dict() == {"Номер": "7", "Отзыв": "Плохо",
                                                      "Комментарий оператора": "Извинились", "Оценка": "1"}
    override = mapping.with_overrides(text="комментарий оператора", extra_columns_to_metadata=False)
    records, _, _ = _all(path, mapping=override, default_channel="чат")
    assert records[0].text == "Извинились" and records[0].metadata == {} and records[0].channel == Channel.chat


def test_missing_text_column_lists_headers(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("foo;bar\n1;2\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"no text column found; headers seen: \['foo', 'bar'\]"):
        list(read_feedback(path))
    with pytest.raises(IngestError, match="'Отзыв' given for 'text' is not in the file"):
        list(read_feedback(path, ColumnMapping(text="Отзыв")))


def test_bad_mapping_yaml_and_default_channel(tmp_path: Path) -> None:
    config = tmp_path / "m.yaml"
    config.write_text("columns:\n  txt: A\n", encoding="utf-8")
    with pytest.raises(IngestError, match="unknown field"):
        ColumnMapping.from_yaml(config)
    path = tmp_path / "x.csv"
    path.write_text("text\nhi\n", encoding="utf-8")
    with pytest.raises(IngestError, match="default channel"):
        read_feedback(path, default_channel="голубиная почта")


def test_long_text_and_score_ranges(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("text,nps,csat,ces\n" + "a" * 20_001 + ",1,,\nок,10,4.5,7\nок,-1,,\nок,,11,\n",
                    encoding="utf-8")
    records, rejected, _ = _all(path)
    assert len(records) == 1 and records[0].scores.nps == 10 and records[0].scores.csat == 4.5
    assert [(r.row, r.field, r.reason) for r in rejected] == [
        (1, "text", "text longer than 20000 characters"), (3, "nps", "out of range 0..10"),
        (4, "csat", "out of range 0..10")]
    assert len(rejected[0].value) == 1000  # raw inside ingest; the privacy gate masks it and cuts it to 200


def test_record_fields_from_all_mapped_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id,text,customer_id,ticket_id,stage,touchpoint,channel,created\n"
                    "a1, Не дозвонился ,u1,T-1,обслуживание/поддержка,горячая линия,звонок,2024-03-01T10:00:00+03:00\n",
                    encoding="utf-8")
    [record], _, _ = _all(path)
    assert record.model_dump(include={"id", "text", "customer_id", "ticket_id", "journey_stage", "touchpoint",
                                      "channel", "created_at", "source_row"}) == {
        "id": "a1", "text": "Не дозвонился", "customer_id": "u1", "ticket_id": "T-1",
        "journey_stage": "обслуживание/поддержка", "touchpoint": "горячая линия", "channel": Channel.call,
        "created_at": datetime(2024, 3, 1, 7, 0), "source_row": 1}
