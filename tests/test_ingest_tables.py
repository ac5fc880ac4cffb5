"""Chunked table readers: CSV encodings/delimiters, XLSX, JSONL, JSON arrays, Parquet, streaming."""

from __future__ import annotations

import csv
import json
import tracemalloc
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voc.ingest import IngestError, read_feedback
from voc.ingest.tables import detect_encoding, read_table, sniff_delimiter

ALPHABET = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯabcXYZ0123456789 .,;:|\t\"'!?-«»\n№"
texts = st.text(alphabet=ALPHABET, min_size=1, max_size=60).filter(lambda t: t.strip())


def _write_csv(path: Path, rows: list[list[str]], encoding: str, delimiter: str) -> None:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["id", "Отзыв", "Оценка"])
        writer.writerows(rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=st.lists(texts, min_size=1, max_size=15),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_csv_round_trips_texts(tmp_path: Path, items: list[str], encoding: str, delimiter: str) -> None:
    path = tmp_path / "reviews.csv"
    _write_csv(path, [[str(i), text, "5"] for i, text in enumerate(items)], encoding, delimiter)
    chunks = list(read_feedback(path, chunk_size=4))
    records = [r for c in chunks for r in c.records]
    assert [r.text for r in records] == [t.strip() for t in items]
    assert [r.source_row for r in records] == list(range(1, len(items) + 1))
    assert all(c.rows_in == c.rows_out + len(c.rejected) for c in chunks)
    assert all(len(c.input_rows) == len(c.records) for c in chunks)


def test_encoding_detection(tmp_path: Path) -> None:
    for encoding, expected in (("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1251", "cp1251")):
        path = tmp_path / f"{encoding}.csv"
        path.write_text("текст\nпривет\n", encoding=encoding)
        assert detect_encoding(path) == expected


def test_delimiter_sniffing_prefers_consistent_split() -> None:
    assert sniff_delimiter('a;b;c\n1;"x, y";3\n') == ";"
    assert sniff_delimiter("a\tb\n1\t2,3\n") == "\t"
    assert sniff_delimiter("a|b\n1|2\n") == "|"
    assert sniff_delimiter("text\nhello\n") == ","


def test_csv_rows_with_too_many_fields_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,text\n1,ok\n2,bad,extra\n3,short\n4,trailing,\n\n5\n", encoding="utf-8")
    chunk = next(read_table(path))
    assert chunk.rows == [1, 3, 4, 6]
    assert chunk.frame["text"].tolist() == ["ok", "short", "trailing", ""]
    assert [(r.row, r.reason) for r in chunk.rejected] == [(2, "more fields than header columns")]


def test_xlsx_reader_with_dates_and_numbers(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Отзыв", "Дата", "Оценка", "Канал"])
    sheet.append(["Долгая доставка", datetime(2024, 3, 1, 14, 30), 2, "отзыв"])
    sheet.append([None, None, None, None])
    sheet.append(["Всё хорошо", "02.03.2024", 4.5, "опрос"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    [chunk] = list(read_feedback(path))
    assert [r.text for r in chunk.records] == ["Долгая доставка", "Всё хорошо"]
    assert chunk.records[0].created_at == datetime(2024, 3, 1, 14, 30)
    assert chunk.records[0].scores.rating == 2 and chunk.records[1].scores.rating == 4.5
    assert [r.source_row for r in chunk.records] == [1, 3]
    assert chunk.rows_in == 2 and chunk.rows_out == 2


def test_broken_xlsx_is_an_ingest_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(IngestError, match="Excel"):
        list(read_feedback(path, kind="table"))


def test_jsonl_bad_lines_become_rejected_rows(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = [json.dumps({"text": "первый", "rating": 5}, ensure_ascii=False), "{broken", "",
             json.dumps([1, 2]), json.dumps({"text": "второй", "tags": ["a", "b"]}, ensure_ascii=False)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [chunk] = list(read_feedback(path))
    assert [r.text for r in chunk.records] == ["первый", "второй"]
    assert chunk.records[1].metadata == {"tags": '["a", "b"]'}
    assert [(r.row, r.reason) for r in chunk.rejected] == [(2, "invalid JSON"), (4, "not a JSON object")]
    assert chunk.rows_in == 4 and chunk.rows_out == 2


def test_json_array_and_wrapped_array(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"comment": "раз"}, "two", {"comment": "три"}], ensure_ascii=False), "utf-8")
    [chunk] = list(read_feedback(path))
    assert [r.text for r in chunk.records] == ["раз", "три"]
    assert [r.row for r in chunk.rejected] == [2]
    wrapped = tmp_path / "w.json"
    wrapped.write_text(json.dumps({"items": [{"text": "x"}], "total": 1}), "utf-8")
    assert [r.text for c in read_feedback(wrapped) for r in c.records] == ["x"]


def test_parquet_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    frame = pd.DataFrame({"text": [f"отзыв {i}" for i in range(25)], "nps": list(range(11)) * 2 + [None] * 3,
                          "created": pd.date_range("2024-01-01", periods=25, freq="D")})
    frame.to_parquet(path)
    chunks = list(read_feedback(path, chunk_size=10))
    assert [c.rows_in for c in chunks] == [10, 10, 5]
    records = [r for c in chunks for r in c.records]
    assert records[3].scores.nps == 3 and records[24].scores.nps is None
    assert records[24].created_at == datetime(2024, 1, 25)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("a.docx", b"x", "unsupported file type"),
    ("a.xls", b"x", "xlsx"),
    ("empty.csv", b"", "empty"),
    ("missing.csv", None, "no such file"),
])
def test_unreadable_inputs_are_ingest_errors(tmp_path: Path, name: str, content: bytes | None,
                                             message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(IngestError, match=message):
        list(read_feedback(path))


@pytest.mark.slow
def test_streaming_200k_rows_in_bounded_chunks(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("id;text;rating\n")
        handle.writelines(f"{i};текст отзыва номер {i};{i % 5 + 1}\n" for i in range(200_000))
    sizes: list[int] = []
    first_rows: list[int] = []
    reader = read_table(path, chunk_size=20_000)
    tracemalloc.start()  # traced only while the first two chunks are read: a reader that loads
    try:                 # everything up front would show it here
        for chunk in (next(reader), next(reader)):
            sizes.append(len(chunk.frame))
            first_rows.append(chunk.rows[0])
        del chunk
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    for chunk in reader:
        sizes.append(len(chunk.frame))
        first_rows.append(chunk.rows[0])
    assert sizes == [20_000] * 10
    assert first_rows == list(range(1, 200_000, 20_000))
    assert peak < 25 * 2**20, f"peak {peak / 2**20:.1f} MiB"
