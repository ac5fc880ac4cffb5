"""`voc analyze` on malformed files: a one-line error and a non-zero exit, or the good rows plus errors.csv."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.fuzz_files import _NS, xlsx_package

pytestmark = pytest.mark.slow  # whole file: left out of the fast lane (make test-fast)

ROOT = Path(__file__).resolve().parents[1]


def _analyze(path: Path, out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voc.cli", "analyze", str(path), "-o", str(out), "--workers", "1",
                           *options], capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("deep.json", ("[" * 50_000 + "]" * 50_000).encode(), "JSON nested deeper than 64 levels"),
    ("bomb.xlsx", xlsx_package(f'<worksheet xmlns="{_NS}"><sheetData/></worksheet>',
                               f'<sst xmlns="{_NS}"><si><t>' + "a" * (20 * 2**20) + "</t></si></sst>"),
     "refusing a possible zip bomb"),
    ("junk.xlsx", b"PK\x03\x04\x00\x00junk", "not a valid Excel workbook"),
])
def test_unreadable_file_is_one_clear_line(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    proc = _analyze(path, tmp_path / "out", "--quiet")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voc: error: ") and name in lines[0] and message in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


def test_bad_rows_are_reported_and_the_rest_processed(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    text = "id,text,rating\n1,Курьер опоздал на три часа,2\n2,Деньги\x98 вернули,5\n3,Лишнее поле,1,да\n"
    path.write_bytes(text.encode("utf-8").replace(b"\xc2\x98", b"\x98"))
    proc = _analyze(path, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "rows in 3 = out 1 + rejected 2" in proc.stdout
    with open(tmp_path / "out" / "errors.csv", encoding="utf-8") as handle:
        errors = list(csv.DictReader(handle))
    assert [(e["row"], e["field"], e["reason"]) for e in errors] == [
        ("2", "text", "undecodable bytes"), ("3", "", "more fields than header columns")]
    assert "0x98" in errors[0]["value"]
