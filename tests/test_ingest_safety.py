"""Safe parsing: encoding decisions, undecodable bytes, zip bombs, nesting limits, hostile XLSX/YAML (issue #9)."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers.fuzz_files import _NS, xlsx_package

from voc.config import ConfigError, load_taxonomy, safe_load_yaml
from voc.ingest import IngestError, read_feedback
from voc.ingest.encoding import decide_encoding
from voc.ingest.safety import check_depth, check_parquet, check_xlsx, value_depth
from voc.ingest.tables import read_table

ROWS = "id,text\n1,Курьер опоздал на три часа\n2,Деньги вернули быстро\n3,Оператор не ответил\n"


# ------------------------------------------------------------------------------------------ encoding


def test_one_bad_byte_keeps_utf8_and_rejects_only_its_row(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    raw = ROWS.encode("utf-8")
    at = raw.index("Деньги".encode()) + 4
    path.write_bytes(raw[:at] + b"\x98" + raw[at:])  # the crash of issue #9: UnboundLocalError before
    chunks = list(read_feedback(path))
    records = [r for c in chunks for r in c.records]
    rejected = [r for c in chunks for r in c.rejected]
    assert [r.text for r in records] == ["Курьер опоздал на три часа", "Оператор не ответил"]
    assert [(r.row, r.field, r.reason) for r in rejected] == [(2, "text", "undecodable bytes")]
    assert f"0x98 at byte offset {at}" in rejected[0].value and "\ufffd" in rejected[0].value
    decision = next(read_table(path)).encoding
    assert decision is not None and decision == decide_encoding(path)
    assert decision.as_dict() == {"encoding": "utf-8", "confidence": decision.confidence,
                                  "method": "utf-8 with undecodable bytes", "bad_bytes": 1,
                                  "bad_byte_offsets": [at], "file_bytes": len(raw) + 1, "sample_bytes": 0}


def test_bad_byte_in_header_and_every_row_is_accounted(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    lines = ["id,te\x98xt"] + [f"{i},текст номер {i}{chr(0x98) if i % 3 == 0 else ''}" for i in range(1, 10)]
    path.write_bytes("\n".join(lines).encode("utf-8").replace(b"\xc2\x98", b"\x98"))
    chunks = list(read_table(path, chunk_size=4))
    assert list(chunks[0].frame.columns) == ["id", "te\ufffdxt"]
    rejected = [r for c in chunks for r in c.rejected]
    assert [r.row for r in rejected] == [3, 6, 9]
    assert sum(c.rows_in for c in chunks) == 9
    offsets = decide_encoding(path).bad_byte_offsets
    assert [int(r.value.split("offset ")[1].split()[0].rstrip(":")) for r in rejected] == list(offsets[1:])


@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r", "cp866"])
def test_legacy_cyrillic_is_decided_from_the_sample(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(ROWS.encode(encoding))
    decision = decide_encoding(path)
    assert decision.encoding.replace("-", "_") == encoding.replace("-", "_")
    assert decision.method == "cyrillic letters" and decision.bad_bytes == 0
    assert [r.text for c in read_feedback(path) for r in c.records][0] == "Курьер опоздал на три часа"


def test_western_text_goes_to_charset_normalizer(tmp_path: Path) -> None:
    path = tmp_path / "fr.csv"
    path.write_bytes("id;text\n1;Café crème brûlée, très déçu de la livraison\n".encode("cp1252"))
    decision = decide_encoding(path)
    assert (decision.encoding, decision.method) == ("cp1252", "charset-normalizer")


def test_utf16_without_bom_and_utf16_with_bom(tmp_path: Path) -> None:
    for name, data in (("le.csv", ROWS.encode("utf-16-le")), ("bom.csv", ROWS.encode("utf-16"))):
        path = tmp_path / name
        path.write_bytes(data)
        assert [r.text for c in read_feedback(path) for r in c.records][2] == "Оператор не ответил"
    assert decide_encoding(tmp_path / "le.csv").method == "utf-16 without bom"
    nul = tmp_path / "nul.csv"  # FF FE 00 00: a UTF-16 BOM + NUL, not UTF-32 (found by the fuzz suite)
    nul.write_bytes("\x00\n\"\"\n".encode("utf-16"))
    assert decide_encoding(nul).encoding == "utf-16"
    wide = tmp_path / "u32.csv"
    wide.write_bytes(ROWS.encode("utf-32"))
    assert decide_encoding(wide).encoding == "utf-32"


# ---------------------------------------------------------------------------------------------- JSON


def test_deep_json_document_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(IngestError, match=r"deep\.json: JSON nested deeper than 64 levels at line 1, column 65"):
        list(read_feedback(path))


def test_bad_jsonl_lines_are_rejected_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = ['{"text": "хорошо"}', '{"text": "x", "deep": ' + "[" * 5000 + "]" * 5000 + "}",
             '{"text": "\\ud800 одинокий"}', '{"text": "число", "n": ' + "9" * 5000 + "}",
             '{"text": "тоже хорошо"}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [chunk] = list(read_feedback(path))
    assert [r.text for r in chunk.records] == ["хорошо", "тоже хорошо"]
    assert [(r.row, r.field, r.reason) for r in chunk.rejected] == [
        (2, None, "JSON nested too deep"), (3, "text", "invalid Unicode escape"), (4, None, "invalid JSON")]
    assert "4300 digits" in chunk.rejected[2].value


def test_json_array_element_with_a_lone_surrogate_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[{"text": "раз"}, {"text": "два", "meta": {"k": "\\udc98"}}]', encoding="utf-8")
    [chunk] = list(read_feedback(path))
    assert [r.text for r in chunk.records] == ["раз"]
    assert [(r.row, r.field, r.reason) for r in chunk.rejected] == [(2, "meta.k", "invalid Unicode escape")]


def test_check_depth_text_and_values() -> None:
    check_depth('{"a": "[[[[[[[[[[[[[[[[[[[["}', limit=3)  # brackets inside strings do not count
    with pytest.raises(IngestError, match="line 2, column 4"):
        check_depth('{"a":\n [[[]]]}', limit=3, where="x.json")
    assert value_depth({"a": [[{"b": 1}]]}) == 4
    with pytest.raises(IngestError):
        check_depth({"a": [[{"b": 1}]]}, limit=3)
    started = time.perf_counter()
    check_depth("[" * 100 + '"' + '\\"' * 1_000_000, limit=200)  # unterminated string: linear, not quadratic
    assert time.perf_counter() - started < 5


def test_classify_body_nested_too_deep_is_a_422() -> None:
    from voc_api.classify import parse_body
    from voc_api.problems import ProblemError

    body = ('{"text": "x", "metadata": {"a": ' + "[" * 5000 + "]" * 5000 + "}}").encode()
    with pytest.raises(ProblemError) as info:
        parse_body(body, 256)
    assert info.value.status == 422
    items, single, _ = parse_body(json.dumps({"text": "x", "metadata": {"a": [[1]]}}).encode(), 256)
    assert single and items[0].metadata == {"a": [[1]]}


# ---------------------------------------------------------------------------------------------- XLSX


def test_xlsx_shared_strings_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(xlsx_package(f'<worksheet xmlns="{_NS}"><sheetData/></worksheet>',
                                  f'<sst xmlns="{_NS}"><si><t>' + "a" * (30 * 2**20) + "</t></si></sst>"))
    assert path.stat().st_size < 200_000
    with pytest.raises(IngestError, match=r"bomb\.xlsx: Excel workbook member 'xl/sharedStrings\.xml' expands"):
        list(read_feedback(path))


def test_xlsx_total_size_limit_and_real_workbooks_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["id", "Отзыв", "Оценка"])
    for i in range(20_000):
        sheet.append([i, f"Курьер опоздал, заказ номер {i} пришёл без коробки", i % 5 + 1])
    path = tmp_path / "real.xlsx"
    book.save(path)
    check_xlsx(path)  # a realistic 20,000-row workbook passes the default limits
    monkeypatch.setenv("VOC_MAX_UNCOMPRESSED_MB", "1")
    with pytest.raises(IngestError, match=r"real\.xlsx: Excel workbook expands to .* MB \(limit 1\.0 MB"):
        check_xlsx(path)
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(IngestError, match=r"junk\.xlsx: not a valid Excel workbook"):
        list(read_table(junk))


def test_xlsx_hostile_dimensions_are_fast(tmp_path: Path) -> None:
    rows = ('<row r="1"><c r="A1" t="inlineStr"><is><t>text</t></is></c></row>'
            '<row r="3"><c r="A3" t="inlineStr"><is><t>отзыв</t></is></c><c r="XFD3"><v>1</v></c></row>'
            '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>последний</t></is></c></row>')
    path = tmp_path / "wide.xlsx"
    path.write_bytes(xlsx_package(f'<worksheet xmlns="{_NS}"><dimension ref="A1:XFD1048576"/><sheetData>{rows}'
                                  "</sheetData></worksheet>", []))
    started = time.perf_counter()
    chunks = list(read_table(path))
    assert time.perf_counter() - started < 30
    assert [c for chunk in chunks for c in chunk.rows] == [1048575]
    assert [(r.row, r.reason) for chunk in chunks for r in chunk.rejected] == [(2, "more fields than header columns")]
    bad = tmp_path / "huge.xlsx"
    bad.write_bytes(xlsx_package(f'<worksheet xmlns="{_NS}"><dimension ref="A1:ZZZZ99999999"/><sheetData>{rows}'
                                 "</sheetData></worksheet>", []))
    with pytest.raises(IngestError, match="huge.xlsx"):
        list(read_table(bad))


def test_check_parquet_refuses_a_decompression_bomb() -> None:
    group = SimpleNamespace(total_byte_size=900 * 2**20, num_columns=1,
                            column=lambda c: SimpleNamespace(total_compressed_size=2**20))
    metadata = SimpleNamespace(num_row_groups=1, row_group=lambda i: group)
    with pytest.raises(IngestError, match="x.parquet: Parquet row group 0 expands 900×"):
        check_parquet(metadata, "x.parquet")


# ----------------------------------------------------------------------------------------- transcripts


def test_transcript_with_a_bad_byte(tmp_path: Path) -> None:
    good = "1\n00:00:01,000 --> 00:00:02,000\nКлиент: Здравствуйте\n\n2\n00:00:03,000 --> 00:00:04,000\n" \
           "Оператор: Слушаю вас\n"
    (tmp_path / "a.srt").write_text(good, encoding="utf-8")
    (tmp_path / "b.srt").write_bytes(good.encode("utf-8").replace("Слушаю".encode(), b"\xd0\x98\x98"))
    with pytest.raises(IngestError, match=r"b\.srt: line 7: undecodable byte 0x98 at byte offset \d+"):
        list(read_feedback(tmp_path / "b.srt"))
    [chunk] = list(read_feedback(tmp_path))
    assert len(chunk.records) == 1 and [r.reason for r in chunk.rejected] == ["unreadable transcript"]


# ---------------------------------------------------------------------------------------------- YAML


def test_deep_taxonomy_yaml_is_a_config_error(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text("topics: " + "[" * 5000 + "]" * 5000, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"flow\.yaml: invalid YAML at line 1, column \d+: nested deeper than 64"):
        load_taxonomy(flow)
    path = tmp_path / "taxonomy.yaml"
    path.write_text("topics:\n" + "".join(" " * i + "- \n" for i in range(2000)), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"taxonomy\.yaml: invalid YAML at line \d+, column \d+: nested deeper"):
        load_taxonomy(path)


@pytest.mark.parametrize(("text", "message"), [
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}" if k > 1 else "*a"] * 10) + "]\n" for k in range(1, 8)),
     "aliases expand"),
    ("topics: &a [*a]\n", "contains it"),
    ("topics: 2024-13-45\n", "month must be in 1..12"),
])
def test_hostile_yaml(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_taxonomy(path)


def test_safe_load_yaml_reads_normal_documents() -> None:
    assert safe_load_yaml("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}
    assert safe_load_yaml("") is None


def test_zip_directory_is_read_without_inflating(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.txt", b"\0" * (50 * 2**20))
    path = tmp_path / "z.xlsx"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(IngestError, match="big.txt"):
        check_xlsx(path)


def test_chat_whose_only_message_does_not_fit_is_rejected_not_a_crash(tmp_path: Path) -> None:
    long_text = "а" * 19_995  # within the text limit, but "Клиент: " + text is not
    table = tmp_path / "chats.csv"
    table.write_text(f"chat_id,speaker,text\nc1,клиент,{long_text}\nc2,клиент,коротко\n", encoding="utf-8")
    [chunk] = list(read_feedback(table))
    assert [r.id for r in chunk.records] == ["c2"]
    assert [(r.row, r.reason) for r in chunk.rejected] == [(1, "conversation longer than 20000 characters")]
    export = tmp_path / "chats.json"
    export.write_text(json.dumps([{"id": "c1", "messages": [{"author": "клиент", "text": long_text}]}],
                                 ensure_ascii=False), encoding="utf-8")
    [chunk] = list(read_feedback(export))
    assert not chunk.records and [r.reason for r in chunk.rejected] == ["conversation longer than 20000 characters"]


def test_call_with_one_huge_utterance_is_cut_not_a_crash(tmp_path: Path) -> None:
    for name, content in (("plain.srt", "1\n00:00:01,000 --> 00:00:02,000\n" + "а" * 25_000 + "\n"),
                          ("roles.srt", "1\n00:00:01,000 --> 00:00:02,000\nКлиент: " + "а" * 25_000 + "\n")):
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        [chunk] = list(read_feedback(path))
        [record] = chunk.records
        assert 19_000 < len(record.text) <= 20_000 and record.metadata["utterances_truncated"] == "1"
