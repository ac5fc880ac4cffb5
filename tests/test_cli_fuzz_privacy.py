"""A fuzz smoke of `voc analyze` on malformed files: bad encodings, broken quotes, binary junk, personal data in
headers and file names, formula-looking cells, deep JSON. Never a traceback (exit 0, 2 or 3 with a one-line
error), every CSV output formula-safe, no raw personal value in any output file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from voc.cli import EXIT_BAD_INPUT, EXIT_NO_ROWS, EXIT_OK, _mount, app
from voc.safe_csv import FORMULA_PREFIXES

pytestmark = pytest.mark.slow  # whole file: left out of the fast lane (make test-fast)

PHONE, EMAIL, NAME, CARD = "+7 916 123-45-67", "иван.петров@почта.рф", "Мария Кузнецова", "4276 3800 1234 5679"
RAW = [PHONE, "123-45-67", "9161234567", EMAIL, "иван.петров", NAME, "Кузнецов", CARD, "3800 1234", "4510 987123"]
TEXT = f"Курьер опоздал, звоните {PHONE}, пишите {EMAIL}, {NAME}"


def _xlsx(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_excel(buf, index=False)
    return buf.getvalue()


def _csv(rows: list[list[str]], bom: bool = False) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


FORMULAS = ["=HYPERLINK(\"http://evil\",\"жми\")", "@SUM(A1:A9)", "-2+3+cmd|' /C calc'!A0", "+7 916 123-45-67",
            "\tTAB", "=1+1"]

#: file name → bytes; every file is malformed in its own way, most hold personal data
CASES: dict[str, bytes] = {
    "cp1251.csv": f"Отзыв;Телефон\n{TEXT};{PHONE}\nспасибо;\n".encode("cp1251"),
    "utf16-no-bom.csv": f"Отзыв\n{TEXT}\n".encode("utf-16-le"),
    "junk.csv": bytes(range(256)) * 8,
    "broken-quotes.csv": f'Отзыв,заметка\n"{TEXT},"{PHONE}\n"ещё, {EMAIL}\n'.encode(),
    "extra-fields.csv": f"Отзыв,дата\n{TEXT},2026-01-01,{PHONE},{EMAIL}\nхорошо,2026-01-02\n".encode(),
    "pii-headers.csv": _csv([["Отзыв", f"звонить {PHONE}", NAME, EMAIL], [TEXT, "да", "нет", "может"]]),
    "formulas.csv": _csv([["Отзыв", "заметка", "=cmd|' /C calc'!A0"], *([f"{f} {TEXT}", f, f] for f in FORMULAS)]),
    "empty.csv": b"",
    "header-only.csv": "Отзыв,Телефон\n".encode(),
    "nul-bytes.csv": f"Отзыв\n{TEXT}\x00\x00\nхорошо\n".encode(),
    "cr-only.csv": f"Отзыв,заметка\r{TEXT},{PHONE}\rхорошо,\r".encode(),
    "mixed-encoding.csv": f"Отзыв\n{TEXT}\n".encode() + "плохо\n".encode("cp1251"),
    "no-text-column.csv": f"{PHONE},{EMAIL}\n{NAME},{CARD}\n".encode(),
    "duplicate-headers.csv": _csv([["Отзыв", "Отзыв", "Телефон"], [TEXT, "второй", PHONE]], bom=True),
    "long-text.csv": f"Отзыв\n\"{'очень плохо ' * 2000}{PHONE}\"\nнормально\n".encode(),
    "broken.jsonl": (json.dumps({"text": TEXT, "phone": PHONE}, ensure_ascii=False) + "\n{\"text\": \"обрыв "
                     + PHONE + "\n[1, 2]\n" + "[" * 50_000 + "]" * 50_000 + "\n").encode(),
    "deep.json": ("[" * 100_000 + "]" * 100_000).encode(),
    "object.json": json.dumps({EMAIL: [{"text": TEXT}], "b": [1]}, ensure_ascii=False).encode(),
    "not-a-zip.xlsx": f"Отзыв\n{TEXT}\n".encode(),
    "formulas.xlsx": _xlsx(pd.DataFrame({"Отзыв": [TEXT, "=1+1", "@SUM(A1)"], f"заметка {PHONE}": FORMULAS[:3]})),
    "truncated.parquet": _parquet(pd.DataFrame({"Отзыв": [TEXT] * 50}))[:300],
    f"отзывы {PHONE}.csv": _csv([["Отзыв"], [TEXT]]),
    "notes.txt": TEXT.encode(),
}


#: files that still give an analysis: read together in one run (one run costs ~3 s of rendering)
TOGETHER = ["cp1251.csv", "broken-quotes.csv", "extra-fields.csv", "pii-headers.csv", "formulas.csv", "nul-bytes.csv",
            "cr-only.csv", "duplicate-headers.csv", "long-text.csv", "broken.jsonl", "formulas.xlsx",
            f"отзывы {PHONE}.csv"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, _key) -> dict[str, tuple[int, str, Path]]:
    """`voc analyze` in this process (the pipeline is loaded once and cached): the readable files together, every
    other file alone; each file's exit code, output (with the exception if one escaped) and output folder."""
    tmp = tmp_path_factory.mktemp("cli_fuzz")
    inputs = tmp / "in"
    inputs.mkdir()
    for name, data in CASES.items():
        (inputs / name).write_bytes(data)
    _mount()
    runner = CliRunner()
    out: dict[str, tuple[int, str, Path]] = {}
    for i, group in enumerate([TOGETHER, *([n] for n in CASES if n not in TOGETHER)]):
        outdir = tmp / "out" / f"run{i}"
        result = runner.invoke(app, ["analyze", *(str(inputs / n) for n in group), "-o", str(outdir), "--quiet",
                                     "--workers", "1", "--chunk-size", "100"])
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        output = result.output + (f"\nTraceback: {result.exception!r}" if crashed else "")
        for name in group:
            out[name] = (result.exit_code, output, outdir)
    return out


@pytest.fixture(scope="module")
def _key():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOC_PSEUDONYM_KEY", "cli-fuzz-key-0123456789abcdef")
        yield


def test_never_a_traceback(runs):
    bad = []
    for name, (code, output, _) in runs.items():
        lines = [line for line in output.splitlines() if line.strip()]
        if code not in (EXIT_OK, EXIT_BAD_INPUT, EXIT_NO_ROWS) or "Traceback" in output or (
                code != EXIT_OK and not (len(lines) == 1 and lines[0].startswith("voc: error: "))):
            bad.append((name, code, output[-300:]))
    assert bad == []
    assert runs[TOGETHER[0]][0] == EXIT_OK


def _csv_cells(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_csv_outputs_are_formula_safe(runs):
    checked = 0
    for name, (_, _, outdir) in runs.items():
        for path in outdir.rglob("*.csv"):
            unsafe = [c for c in _csv_cells(path) if c.startswith(FORMULA_PREFIXES) and not _is_number(c)]
            assert unsafe == [], (name, path.name, unsafe[:5])
            checked += 1
    assert checked >= 10
    enriched = _csv_cells(runs["formulas.csv"][2] / "enriched.csv")
    assert "'=HYPERLINK(\"http://evil\",\"жми\")" in enriched and "'@SUM(A1:A9)" in enriched
    assert "'=cmd|' /C calc'!A0" in enriched  # a formula-looking header too


def test_no_raw_personal_data_in_any_output_file(runs):
    found = []
    for name, (_, _, outdir) in runs.items():
        for path in (p for p in outdir.rglob("*") if p.is_file()):
            text = path.read_bytes().decode("utf-8", errors="ignore")
            if path.suffix == ".parquet":
                frame = pd.read_parquet(path)
                text += frame.to_csv(index=False) + " ".join(map(str, frame.columns))
            found += [(name, path.relative_to(outdir).as_posix(), raw) for raw in RAW
                      if raw in text or json.dumps(raw)[1:-1] in text]
    assert found == []


def test_files_read_together_keep_every_row_and_column(runs):
    outdir = runs[TOGETHER[0]][2]
    frame = pd.read_parquet(outdir / "enriched.parquet")
    assert (frame["id"] == "formulas-1").sum() == 2  # one id from two files (formulas.csv, formulas.xlsx)
    assert {"заметка", "звонить [ТЕЛЕФОН]", "[ИМЯ]", "заметка [ТЕЛЕФОН]"} <= set(frame.columns)
    with open(outdir / "enriched.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == len(frame) + 1 and {len(r) for r in rows} == {len(frame.columns)}
