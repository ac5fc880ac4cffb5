"""Hypothesis strategies that build malformed input files for the ingest fuzz suite (tests/test_fuzz_ingest.py).

Each strategy draws a :class:`FuzzFile`: the bytes of one file (or several, for a transcript folder), its
suffix, and — when the file is well formed enough to know it — the number of source rows a reader must
account for. Nothing here touches the disk.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import yaml
from hypothesis import strategies as st

from voc.ingest.tables import MAX_FIELD_LINES

CHARS = list("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВЁЯ abcXYZ019 .,;:|\t\"'\n\r\\{}[]«»№\x00\x0b\u2028\ufeff\u00a0é😀")
HEADERS = ["id", "text", "Отзыв", "Текст", "комментарий", "Дата", "created_at", "rating", "Оценка", "nps", "csat",
           "ces", "channel", "Канал", "chat_id", "диалог", "speaker", "Роль", "time", "customer_id", "ticket_id",
           "этап", "", " ", "номер обращения", "закрыто", "просрочка sla"]
VALUES = ["", " ", "5", "4,5", "11", "-1", "nan", "1e309", "2024-03-01", "01.02.2024", "31.02.2024",
          "2024-03-01T10:00:00+03:00", "1700000000", "45000", "отзыв", "чат", "звонок", "почта", "марс", "клиент",
          "оператор", "бот", "да", "нет", "NULL", "=1+1", "Курьер опоздал на три часа"]
BAD_BYTES = [b"\x98", b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b'"', b"\x00", b"\r", b"\n", b"\\",
             codecs.BOM_UTF8, codecs.BOM_UTF16_LE, b"[", b"{", b"\x1a"]

texts = st.text(alphabet=st.sampled_from(CHARS), max_size=30)
cells = st.one_of(
    texts,
    st.sampled_from(VALUES),
    st.builds(lambda ch, n: ch * n, st.sampled_from(["а", "x", '"', "\n", ";"]), st.integers(2_000, 30_000)),
)


@dataclass
class FuzzFile:
    """One generated input: file name → bytes (several files for a folder), and the rows a reader must see."""

    kind: str
    files: dict[str, bytes]
    expected_rows: int | None = None
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------- mutations


@st.composite
def mutate(draw: st.DrawFn, data: bytes) -> tuple[bytes, bool]:
    """Apply 1–3 byte-level corruptions to half of the files; returns the bytes and whether anything changed."""
    if draw(st.booleans()):
        return data, False
    steps = draw(st.lists(st.sampled_from(["insert", "truncate", "flip", "delete", "duplicate", "bom"]),
                          min_size=1, max_size=3))
    for step in steps:
        at = draw(st.integers(0, len(data)))
        if step == "insert":
            data = data[:at] + draw(st.sampled_from(BAD_BYTES)) + data[at:]
        elif step == "truncate":
            data = data[:at]
        elif step == "flip" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
        elif step == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 64)):]
        elif step == "duplicate":
            data = data[:at] + data[at:at + draw(st.integers(1, 256))] * draw(st.integers(2, 4)) + data[at:]
        elif step == "bom":
            data = draw(st.sampled_from([codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])) + data
    return data, bool(steps)


junk = st.one_of(st.binary(max_size=2_000), st.just(b""), st.sampled_from([b"\n\n\n", b" ", codecs.BOM_UTF8,
                                                                          b"\xff\xfe", b"PK\x03\x04", b"\x00" * 64]))


@st.composite
def junk_files(draw: st.DrawFn) -> FuzzFile:
    """Random bytes (or empty) under any supported suffix."""
    suffix = draw(st.sampled_from([".csv", ".tsv", ".xlsx", ".json", ".jsonl", ".parquet", ".srt", ".vtt"]))
    return FuzzFile("junk", {f"junk{suffix}": draw(junk)})


# --------------------------------------------------------------------------------------------- CSV


def _expected_csv_rows(records: list[list[str]]) -> int | None:
    """Data rows a CSV reader must account for: non-empty records after the first non-blank one
    (None when there is no header: the reader must refuse the file)."""
    header = next((i for i, r in enumerate(records) if r and any(c.strip() for c in r)), None)
    return None if header is None else sum(1 for r in records[header + 1:] if r)


@st.composite
def csv_files(draw: st.DrawFn) -> FuzzFile:
    """CSV/TSV with odd headers (missing, duplicate, blank), ragged rows, huge fields, any encoding,
    then byte corruptions. ``expected_rows`` is set when the bytes are intact and decodable exactly."""
    headers = draw(st.lists(st.one_of(st.sampled_from(HEADERS), texts), max_size=6))
    if draw(st.booleans()):  # a recognisable table (reviews or chat messages) half of the time
        headers = draw(st.sampled_from([["id", "Отзыв"], ["text"], ["chat_id", "speaker", "text"]])) + headers
    rows = draw(st.lists(st.lists(cells, max_size=8), max_size=12))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=draw(st.sampled_from(
        ["\n", "\r\n"])))
    records = ([headers] if draw(st.booleans()) else []) + rows
    writer.writerows(records)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "cp1251", "koi8_r", "utf-16-le"]))
    data = buffer.getvalue().encode(encoding, errors="replace")
    data, changed = draw(mutate(data))
    # the csv module is the oracle of what the written text holds (a lone "\r" is a line break to it)
    # (a field over MAX_FIELD_LINES lines is refused as an unclosed quote, by design)
    runaway = any(c.count("\n") + c.count("\r") >= MAX_FIELD_LINES for r in records for c in r)
    exact = not changed and not runaway and encoding in ("utf-8", "utf-8-sig", "utf-16")
    written = list(csv.reader(io.StringIO(buffer.getvalue(), newline=""), delimiter=delimiter)) if exact else []
    name = "table" + draw(st.sampled_from([".csv", ".tsv"]))
    fuzz = FuzzFile("csv", {name: data}, _expected_csv_rows(written) if exact else None)
    fuzz.notes.append(delimiter)
    return fuzz


# -------------------------------------------------------------------------------------------- JSON

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                         st.floats(allow_nan=False, allow_infinity=False), texts, st.sampled_from(VALUES))
json_values = st.recursive(json_scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(["text", "id", "messages", "rating", "channel", "created_at"]),
                              texts), kids, max_size=4)), max_leaves=12)
records = st.one_of(
    st.fixed_dictionaries({"text": cells}, optional={"id": json_scalars, "rating": json_scalars,
                                                     "created_at": json_scalars, "channel": json_scalars,
                                                     "meta": json_values}),
    json_values,
)
# textual tricks json.dumps cannot produce: deep nesting, lone surrogates, 5,000-digit numbers, NaN
TRICKS = [
    lambda n: "[" * n + "]" * n,
    lambda n: '{"text": "глубоко", "x": ' + "[" * n + "]" * n + "}",
    lambda n: '{"text": "x", "y": ' + '{"a": ' * n + "1" + "}" * n + "}",
    lambda n: "[" * n,
    lambda n: '{"text": "\\ud800 одинокий"}',
    lambda n: '{"te\\udc98xt": "ключ"}',
    lambda n: '{"text": "число", "n": ' + "9" * 5_000 + "}",
    lambda n: '{"text": NaN, "r": Infinity}',
    lambda n: '{"text": "' + "\\" * n + '"}',
    lambda n: '"' + '\\"' * n,
]
tricks = st.builds(lambda f, n: f(n), st.sampled_from(TRICKS), st.integers(1, 5_000))


@st.composite
def jsonl_files(draw: st.DrawFn) -> FuzzFile:
    """JSON Lines: objects, non-objects, tricks, blank lines; then byte corruptions."""
    lines = draw(st.lists(st.one_of(records.map(lambda v: json.dumps(v, ensure_ascii=True)), tricks),
                          max_size=10))
    blanks = draw(st.lists(st.integers(0, len(lines)), max_size=2))
    text_lines = list(lines)
    for at in sorted(blanks, reverse=True):
        text_lines.insert(at, "")
    data = ("\n".join(text_lines) + "\n").encode("utf-8")
    data, changed = draw(mutate(data))
    return FuzzFile("jsonl", {"lines.jsonl": data}, None if changed else len(lines))


@st.composite
def json_files(draw: st.DrawFn) -> FuzzFile:
    """A JSON array / wrapped array / chat export / anything, pretty or compact, then corruptions."""
    shape = draw(st.sampled_from(["array", "wrapped", "chat", "value", "trick"]))
    if shape == "trick":
        text = draw(tricks)
    else:
        items = draw(st.lists(records, max_size=8))
        if shape == "wrapped":
            doc: object = {"items": items, "total": len(items)}
        elif shape == "chat":
            doc = [{"id": draw(json_scalars), "messages": draw(st.one_of(
                st.lists(st.fixed_dictionaries({"author": st.sampled_from(["клиент", "оператор", "bot", "кот", 5]),
                                                "text": st.one_of(cells, json_scalars)},
                                               optional={"time": json_scalars}), max_size=5),
                json_values))} for _ in range(draw(st.integers(0, 4)))]
        elif shape == "value":
            doc = draw(json_values)
        else:
            doc = items
        text = json.dumps(doc, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2])))
    data, _ = draw(mutate(text.encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-16"])))))
    return FuzzFile("json", {"doc.json": data})


# -------------------------------------------------------------------------------------------- XLSX

_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        '<sheet name="Лист1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        '</Relationships>'),
}
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


_FIXED_TIME = (2024, 1, 1, 0, 0, 0)


def _member(name: str) -> zipfile.ZipInfo:
    """A ZIP entry with a fixed timestamp (hypothesis needs the same bytes for the same draws)."""
    info = zipfile.ZipInfo(name, _FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def deterministic_zip(data: bytes) -> bytes:
    """Re-pack a workbook with fixed entry times and document-property dates."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-01-01T00:00:00Z", content)
            target.writestr(_member(info.filename), content)
    return out.getvalue()


def xlsx_package(sheet_xml: str, shared: list[str] | str, *, deflate: bool = True) -> bytes:
    """A minimal workbook around the given sheet XML and shared strings (list, or raw sst XML)."""
    if isinstance(shared, list):
        shared = f'<sst xmlns="{_NS}">' + "".join(f"<si><t>{s}</t></si>" for s in shared) + "</sst>"
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in _XLSX_PARTS.items():
            archive.writestr(zipfile.ZipInfo(name, _FIXED_TIME), content, compress_type=method)
        archive.writestr(zipfile.ZipInfo("xl/worksheets/sheet1.xml", _FIXED_TIME), sheet_xml, compress_type=method)
        archive.writestr(zipfile.ZipInfo("xl/sharedStrings.xml", _FIXED_TIME), shared, compress_type=method)
    return buffer.getvalue()


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_REFS = ["A1", "B1", "C2", "ZZ5", "XFD1", "XFD1048576", "ZZZ1", "AAAA1", "A0", "", "1A", "A-1", "A99999999"]
_DIMENSIONS = ["", '<dimension ref="A1"/>', '<dimension ref="A1:C3"/>', '<dimension ref="A1:XFD1048576"/>',
               '<dimension ref="A1:ZZZZ9999999"/>', '<dimension ref="garbage"/>', '<dimension ref="C3:A1"/>']


@st.composite
def handmade_sheets(draw: st.DrawFn) -> bytes:
    """Sheet XML with hostile row numbers, cell references, types and values."""
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        r = draw(st.one_of(st.integers(1, 12).map(str), st.sampled_from(["1048576", "99999999999", "0", "x", ""])))
        cells_xml = []
        for _ in range(draw(st.integers(0, 5))):
            ref = draw(st.one_of(st.sampled_from(_REFS), st.none()))
            kind = draw(st.sampled_from(["s", "str", "inlineStr", "n", "b", "e", "d", None, "zz"]))
            value = _xml_text(draw(st.one_of(st.sampled_from(["0", "1", "5", "-1", "1e400", "x", "", "2024-03-01",
                                                              "_xD800_", "99"]), texts.filter(
                lambda t: all(ch >= " " or ch in "\t\n\r" for ch in t)))))
            attrs = (f' r="{ref}"' if ref is not None else "") + (f' t="{kind}"' if kind else "")
            body = f"<is><t>{value}</t></is>" if kind == "inlineStr" else f"<v>{value}</v>"
            cells_xml.append(f"<c{attrs}>{body}</c>")
        rows.append(f'<row r="{r}">' + "".join(cells_xml) + "</row>" if r else "<row>" + "".join(cells_xml) + "</row>")
    dimension = draw(st.sampled_from(_DIMENSIONS))
    return f'<worksheet xmlns="{_NS}">{dimension}<sheetData>{"".join(rows)}</sheetData></worksheet>'.encode()


xlsx_cells = st.one_of(st.none(), st.integers(-10**6, 10**6), st.floats(-1e6, 1e6), st.booleans(),
                       st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2099, 1, 1)),
                       texts.filter(lambda t: all(ch >= " " or ch in "\t\n\r" for ch in t)), st.sampled_from(VALUES))


@st.composite
def xlsx_files(draw: st.DrawFn) -> FuzzFile:
    """Real workbooks (odd cells), handmade sheet XML, zip junk, small zip bombs; then corruptions."""
    shape = draw(st.sampled_from(["openpyxl", "openpyxl", "handmade", "handmade", "zipjunk", "bomb", "junk"]))
    expected = None
    if shape == "openpyxl":
        from openpyxl import Workbook

        from voc.ingest.values import cell_to_str

        book = Workbook()
        sheet = book.active
        grid = draw(st.lists(st.lists(xlsx_cells, max_size=6), max_size=10))
        if draw(st.booleans()):
            grid.insert(0, draw(st.sampled_from([["id", "Отзыв"], ["text"], ["Комментарий", "Дата", "Оценка"]])))
        for row in grid:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        data = deterministic_zip(buffer.getvalue())
        # openpyxl stores "=..." strings as formulas, which read back (data_only) as empty cells
        strings = [["" if isinstance(v, str) and v.startswith("=") else cell_to_str(v).strip() for v in row]
                   for row in grid]
        nonblank = [i for i, row in enumerate(strings) if any(row)]
        expected = len(nonblank) - 1 if nonblank else None
    elif shape == "handmade":
        strings = draw(st.lists(texts.map(_xml_text), max_size=4))
        data = xlsx_package(draw(handmade_sheets()).decode(), strings)
    elif shape == "zipjunk":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name in draw(st.lists(st.sampled_from(["xl/workbook.xml", "[Content_Types].xml", "a.txt",
                                                        "xl/worksheets/sheet1.xml", "_rels/.rels"]), max_size=4)):
                archive.writestr(_member(name), draw(st.binary(max_size=200)))
        data = buffer.getvalue()
    elif shape == "bomb":
        size = draw(st.integers(11, 24)) * 1024 * 1024
        data = xlsx_package(f'<worksheet xmlns="{_NS}"><sheetData/></worksheet>',
                            f'<sst xmlns="{_NS}"><si><t>' + "a" * size + "</t></si></sst>")
    else:
        data = draw(junk)
    data, changed = draw(mutate(data))
    return FuzzFile("xlsx", {"book.xlsx": data}, None if changed else expected, [shape])


# ----------------------------------------------------------------------------------------- Parquet


@st.composite
def parquet_files(draw: st.DrawFn) -> FuzzFile:
    """Parquet with mixed column types (strings, numbers, nulls, lists, structs, bytes, dates), corrupted."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = draw(st.integers(0, 12))
    columns = {}
    for k in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["text", "int", "float", "list", "struct", "bytes", "date", "null"]))
        name = draw(st.one_of(st.sampled_from(HEADERS), texts)) or f"c{k}"
        values: list[object]
        if kind == "text":
            values = draw(st.lists(st.one_of(st.none(), cells), min_size=n, max_size=n))
        elif kind == "int":
            values = draw(st.lists(st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)), min_size=n, max_size=n))
        elif kind == "float":
            values = draw(st.lists(st.floats(), min_size=n, max_size=n))
        elif kind == "list":
            values = draw(st.lists(st.lists(texts, max_size=3), min_size=n, max_size=n))
        elif kind == "struct":
            values = draw(st.lists(st.fixed_dictionaries({"a": texts, "b": st.integers(0, 9)}), min_size=n,
                                   max_size=n))
        elif kind == "bytes":
            values = draw(st.lists(st.binary(max_size=20), min_size=n, max_size=n))
        elif kind == "date":
            values = [datetime(2024, 1, 1) + timedelta(days=d) for d in draw(st.lists(
                st.integers(-10**5, 10**5), min_size=n, max_size=n))]
        else:
            values = [None] * n
        columns[name] = values
    buffer = io.BytesIO()
    pq.write_table(pa.table({k: pa.array(v) for k, v in columns.items()}), buffer,
                   compression=draw(st.sampled_from(["snappy", "zstd", "none"])))
    data, changed = draw(mutate(buffer.getvalue()))
    return FuzzFile("parquet", {"table.parquet": data}, None if changed else n)


# ------------------------------------------------------------------------------------- transcripts

good_times = st.one_of(st.none(), st.floats(0, 1e5), st.integers(0, 10**5), st.sampled_from(["1.5s", "0.5"]))
bad_times = st.one_of(st.floats(-5, 1e6), st.integers(-5, 10**6), st.sampled_from(
    ["-1s", "abc", "", "1e400s", "NaNs", "infs"]), json_values)
good_speakers = st.one_of(st.none(), st.sampled_from(["1", "2", "0", "Клиент", "Оператор", "agent", "кот", ""]),
                          st.integers(0, 3))
good_texts = st.one_of(st.sampled_from(VALUES[-1:] * 3 + ["Здравствуйте", "Слушаю вас"]), cells)


@st.composite
def transcript_documents(draw: st.DrawFn) -> str:
    """SpeechKit v2/v3 or Whisper JSON; in half of them some fields have the wrong type or value."""
    broken = draw(st.booleans())

    def pick(good: st.SearchStrategy, bad: st.SearchStrategy = json_values) -> st.SearchStrategy:
        return st.one_of(good, good, good, bad) if broken else good

    times, speakers, text = pick(good_times, bad_times), pick(good_speakers), pick(good_texts)
    shape = draw(st.sampled_from(["v2", "v2op", "v3", "v3jsonl", "whisper", "whisper", "trick"]))
    if shape == "trick":
        return draw(tricks)
    if shape.startswith("v2"):
        chunks = [{"channelTag": draw(speakers), "alternatives": draw(pick(st.lists(
            st.fixed_dictionaries({"text": text, "words": pick(st.lists(st.fixed_dictionaries(
                {"startTime": times, "endTime": times}), max_size=3))}), max_size=2)))}
            for _ in range(draw(st.integers(0, 4)))]
        doc: object = {"chunks": chunks}
        if shape == "v2op":
            doc = {"done": True, "response": doc}
        return json.dumps(doc, ensure_ascii=False)
    if shape.startswith("v3"):
        items = [{"result": draw(pick(st.fixed_dictionaries({
            draw(st.sampled_from(["final", "finalRefinement", "final", "partial"])): st.fixed_dictionaries({
                "alternatives": pick(st.lists(st.fixed_dictionaries(
                    {"text": text, "startTimeMs": times, "endTimeMs": times}), max_size=2))}),
            "channelTag": speakers})))} for _ in range(draw(st.integers(0, 4)))]
        if shape == "v3jsonl":
            return "\n".join(json.dumps(i, ensure_ascii=False) for i in items)
        return json.dumps(items, ensure_ascii=False)
    segments = draw(st.lists(st.fixed_dictionaries({"text": text, "start": times, "end": times},
                                                   optional={"speaker": speakers}), max_size=5))
    return json.dumps({"segments": draw(pick(st.just(segments)))}, ensure_ascii=False)


good_stamps = st.sampled_from(["00:00:01,000", "00:00:02.500", "01:02.5", "00:01:00,000", "1:00:00.000"])
bad_stamps = st.sampled_from(["99999999:00:00,000", "00:61:00,000", "garbage", "", "-00:00:01,000",
                              "00:00:01,0000"])


@st.composite
def cue_texts(draw: st.DrawFn) -> tuple[str, str]:
    """(suffix, text) of an SRT or WebVTT file with odd cues, speakers and tags (bad times in half of them)."""
    suffix = draw(st.sampled_from([".srt", ".vtt"]))
    stamps = st.one_of(good_stamps, good_stamps, bad_stamps) if draw(st.booleans()) else good_stamps
    blocks = ["WEBVTT"] if suffix == ".vtt" and draw(st.integers(0, 5)) else []
    for n in range(draw(st.integers(0, 6))):
        line = draw(st.sampled_from(["", "<v Оператор>", "Клиент: ", "Speaker 1: ", "[кот]: ", "<b>", "NOTE "]))
        arrow = draw(st.sampled_from([" --> ", " -> ", "-->", " --> ", " --> "]))
        blocks.append(f"{n + 1}\n{draw(stamps)}{arrow}{draw(stamps)}\n{line}{draw(good_texts)}")
    return suffix, "\n\n".join(blocks) + draw(st.sampled_from(["", "\n", "\r\n\r\n"]))


@st.composite
def transcript_files(draw: st.DrawFn) -> FuzzFile:
    """One transcript file (JSON/JSONL/SRT/VTT) or a folder of them (with an odd calls manifest)."""
    count = draw(st.sampled_from([1, 1, 1, 2, 3]))
    files: dict[str, bytes] = {}
    for i in range(count):
        if draw(st.booleans()):
            suffix, text = draw(cue_texts())
        else:
            suffix, text = draw(st.sampled_from([".json", ".jsonl"])), draw(transcript_documents())
        data, _ = draw(mutate(text.encode(draw(st.sampled_from(["utf-8", "utf-8", "cp1251", "utf-16"])),
                                          errors="replace")))
        files[f"call{i}{suffix}"] = data
    if count > 1 and draw(st.booleans()):
        manifest = [["file", "call_id", "created_at"]] + [[name, draw(texts), draw(st.sampled_from(VALUES))]
                                                          for name in files]
        buffer = io.StringIO()
        csv.writer(buffer).writerows(manifest)
        files["calls.csv"], _ = draw(mutate(buffer.getvalue().encode()))
    transcripts = sum(1 for name in files if not name.endswith(".csv"))
    return FuzzFile("transcript_dir" if count > 1 else "transcript", files, transcripts if count > 1 else None)


# -------------------------------------------------------------------------------------------- YAML


def _alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for k in range(1, levels):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]")
    return "\n".join(lines) + "\ntopics: *a" + str(levels - 1) + "\n"


yaml_tricks = st.one_of(
    st.integers(1, 5_000).map(lambda n: "topics: " + "[" * n + "]" * n),
    st.integers(1, 3_000).map(lambda n: "topics:\n" + "".join(" " * i + "- \n" for i in range(n))),
    st.integers(1, 9).map(_alias_bomb),
    st.sampled_from(["topics: &a [*a]\n", "topics: 2024-13-45\n", "topics: " + "1" * 5_000 + "\n", "? [a]\n: b\n",
                     "topics:\n\t- a\n", "a: !!python/object:os.system x\n", "%YAML 9.9\n---\n", "--- a\n--- b\n",
                     "columns: [1, 2]\n", "columns:\n  text: [a]\n"]),
)
taxonomy_like = st.fixed_dictionaries({}, optional={
    "topics": st.lists(st.fixed_dictionaries({}, optional={"name": json_scalars, "keywords": json_values,
                                                           "parent": json_scalars, "extra": json_scalars}),
                       max_size=3),
    "stages": st.lists(st.fixed_dictionaries({}, optional={"name": json_scalars, "ticket_categories": json_values}),
                       max_size=3),
    "causes": st.lists(st.fixed_dictionaries({}, optional={"name": json_scalars, "keywords": json_values}),
                       max_size=3),
    "fallback": json_scalars, "default_stage": json_scalars, "columns": json_values,
})


@st.composite
def yaml_files(draw: st.DrawFn) -> FuzzFile:
    """Config YAML: near-valid documents, hostile tricks (depth, alias bombs, bad timestamps), junk."""
    shape = draw(st.sampled_from(["near", "near", "value", "trick", "junk"]))
    if shape == "near":
        text = yaml.safe_dump(draw(taxonomy_like), allow_unicode=True)
    elif shape == "value":
        text = yaml.safe_dump(draw(json_values), allow_unicode=draw(st.booleans()))
    elif shape == "trick":
        text = draw(yaml_tricks)
    else:
        return FuzzFile("yaml", {"config.yaml": draw(junk)})
    data, _ = draw(mutate(text.encode("utf-8")))
    return FuzzFile("yaml", {"config.yaml": data})
