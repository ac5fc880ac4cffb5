"""Nothing leaves ingest unmasked: every output file of `voc analyze` and `voc.analyze()` is searched for
every raw personal value of a batch with PII in the text, in extra columns, in the customer key, in a rejected
row and in the tickets file; ticket linking and repeat contacts still work on pseudonyms."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import voc
from voc.cli import EXIT_NO_ROWS, _mount, app

pytestmark = pytest.mark.slow  # whole file: left out of the fast lane (make test-fast)

ROOT = Path(__file__).resolve().parents[1]
KEY = "test-pseudonym-key-0123456789abcdef"

#: Raw personal values of the batch below; none may appear in any output file.
RAW = [
    "765-43-21", "7654321", "916) 765", "123-45-67", "1234567", "555-44-33", "5554433", "222-33-44",
    "petr.sidorov", "anna.smirnova", "ivan@", "654321", "4515 654321", "4276 3800 1234 5679", "4276380012345679",
    "Кузнецова", "Сидоров", "Смирнова", "Петровна", "112-233-445 95", "500100732259", "Ленина",
]


def _write_inputs(folder: Path) -> tuple[Path, Path]:
    feedback = pd.DataFrame({
        "id": ["F1", "F2", "F3", "F4", "F5", "F6"],
        "text": [
            "Перезвоните мне 8 (916) 765-43-21, курьер опоздал на три часа",
            "Оператор Мария Кузнецова нагрубила, паспорт 4515 654321 не приняли",
            "Пишите на petr.sidorov@example.ru, деньги за заказ так и не вернули",
            "Меня зовут Анна Смирнова, карта 4276 3800 1234 5679 заблокирована после оплаты",
            "Снова пишу: курьер опять опоздал, СНИЛС 112-233-445 95 и ИНН 500100732259 в анкете",
            "Всё отлично, спасибо!",
        ],
        "дата": ["01.10.2026 10:00", "02.10.2026 11:00", "03.10.2026 12:00", "04.10.2026 13:00",
                 "03.10.2026 09:00", "тел 8 916 555-44-33"],
        "клиент": ["8 (916) 765-43-21", "+7 916 123-45-67", "petr.sidorov@example.ru", "C-0042",
                   "8 916 765 43 21", "C-0043"],
        "Телефон": ["+7 916 765-43-21", "", "+7 999 222-33-44", "", "", ""],
        "email клиента": ["ivan@example.com", "", "petr.sidorov@example.ru", "anna.smirnova@mail.ru", "", ""],
        "Паспорт": ["", "4515 654321", "", "", "", ""],
        "Номер карты": ["", "", "", "4276 3800 1234 5679", "", ""],
        "ФИО": ["Сидоров Пётр", "Кузнецова Мария Петровна", "", "Смирнова Анна", "", ""],
        "Адрес доставки": ["ул. Ленина, 5", "", "", "", "", ""],
        "комментарий оператора": ["перезвонить на 8 916 555-44-33", "=HYPERLINK(\"http://x\")", "", "", "", ""],
        "продукт": ["Доставка", "Кредитная карта", "Маркетплейс", "Кредитная карта", "Доставка", "Маркетплейс"],
    })
    tickets = pd.DataFrame({
        "номер обращения": ["T-1", "T-2", "T-3", "T-4"],
        "клиент": ["+79167654321", "79161234567", "Petr.Sidorov@example.ru", "8 916 555 44 33"],
        "создано": ["01.10.2026 09:00", "02.10.2026 10:30", "03.10.2026 11:00", "не помню, звонил 8 916 555-44-33"],
        "категория": ["Доставка", "Обслуживание", "Возврат", "Доставка"],
    })
    src, tix = folder / "in.csv", folder / "tickets.csv"
    feedback.to_csv(src, index=False)
    tickets.to_csv(tix, index=False)
    return src, tix


def _texts(outdir: Path) -> dict[str, str]:
    """Every output file as text: CSV/JSON/HTML as they are, Parquet through pandas (PNG images skipped)."""
    texts = {}
    for path in sorted(p for p in outdir.rglob("*") if p.is_file()):
        if path.suffix == ".png" or path.name == "plotly.min.js":
            continue
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            texts[str(path)] = frame.to_csv(index=False) + " ".join(map(str, frame.columns))
        else:
            texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    return texts


def _assert_no_raw_pii(outdir: Path) -> None:
    texts = _texts(outdir)
    assert any(p.endswith("enriched.parquet") for p in texts) and any(p.endswith("errors.csv") for p in texts)
    hits = [(Path(p).relative_to(outdir).as_posix(), raw) for p, text in texts.items() for raw in RAW if raw in text]
    assert hits == []


def _assert_linked(outdir: Path) -> None:
    enriched = pd.read_parquet(outdir / "enriched.parquet").set_index("id")
    assert set(enriched.index) == {"F1", "F2", "F3", "F4", "F5"}  # F6: unparseable date, rejected
    psn = enriched["customer_id"]
    assert psn[["F1", "F2", "F3"]].str.match(r"^psn_[0-9a-f]{24}$").all()
    assert psn["F1"] == psn["F5"]  # the same phone in two spellings: one pseudonym
    assert psn["F4"] == "C-0042"  # a CRM id is no personal data and stays
    assert enriched.loc["F1", "ticket_id"] == "T-1" and enriched.loc["F1", "link_method"] == "customer_window"
    assert enriched.loc["F2", "ticket_id"] == "T-2" and enriched.loc["F3", "ticket_id"] == "T-3"
    assert bool(enriched.loc["F5", "repeat_contact"]) is False and bool(enriched.loc["F1", "repeat_contact"])
    for gone in ("Телефон", "email клиента", "Паспорт", "Номер карты", "ФИО", "Адрес доставки", "клиент",
                 "input:text"):
        assert gone not in enriched.columns, gone
    assert enriched.loc["F1", "комментарий оператора"] == "перезвонить на [ТЕЛЕФОН]"
    assert enriched.loc["F4", "продукт"] == "Кредитная карта"
    summary = json.loads((outdir / "summary.json").read_text(encoding="utf-8"))["summary"]
    privacy = summary["privacy"]
    assert privacy["dropped_pii_columns"] == {"Телефон": "phone", "email клиента": "email", "Паспорт": "passport",
                                              "Номер карты": "card", "ФИО": "name", "Адрес доставки": "address"}
    assert privacy["pseudonymised"]["customer_id"] == 4  # F4's CRM id stays
    assert enriched.loc["F5", "ticket_id"] == "T-1"  # found through the pseudonym of another spelling
    assert summary["linked"] == {"customer_window": 4} and summary["input_files"] == ["in.csv", "tickets.csv"]
    errors = pd.read_csv(outdir / "errors.csv", dtype=str, keep_default_na=False)
    assert errors[["file", "row", "field", "reason"]].values.tolist() == [["in.csv", "6", "created_at",
                                                                          "unparseable date"]]
    assert errors.loc[0, "value"] == "тел [ТЕЛЕФОН]"
    csv = pd.read_csv(outdir / "enriched.csv", dtype=str, keep_default_na=False).set_index("id")
    assert csv.loc["F2", "комментарий оператора"] == "'=HYPERLINK(\"http://x\")"  # no formula in a spreadsheet


@pytest.fixture()
def key_env(monkeypatch, tmp_path) -> dict[str, str]:
    monkeypatch.setenv("VOC_PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("VOC_CONFIG_DIR", str(tmp_path / "config"))
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_cli_outputs_hold_no_raw_pii_and_linking_works(tmp_path: Path, key_env) -> None:
    src, tix = _write_inputs(tmp_path)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "voc.cli", "analyze", str(src), "--tickets", str(tix), "--text-col", "text",
           "-o", str(out), "--quiet", "--workers", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, env=key_env)
    assert proc.returncode == 0, proc.stderr
    for raw in RAW:
        assert raw not in proc.stdout + proc.stderr
    _assert_no_raw_pii(out)
    _assert_linked(out)
    tickets_errors = pd.read_csv(out / "ticket_errors.csv", dtype=str, keep_default_na=False)
    assert tickets_errors.loc[0, "value"] == "не помню, звонил [ТЕЛЕФОН]"
    assert not (tmp_path / "config").exists()  # the key came from the environment


def test_python_api_outputs_hold_no_raw_pii(tmp_path: Path, key_env) -> None:
    src, tix = _write_inputs(tmp_path)
    frame = pd.read_csv(src, dtype=str, keep_default_na=False)
    result = voc.analyze(frame, tickets=tix, text_col="text", outdir=tmp_path / "out")
    outdir = tmp_path / "out"
    assert not list(outdir.rglob("input.parquet"))  # the DataFrame was staged outside the output folder
    texts = _texts(outdir)
    hits = [(p, raw) for p, text in texts.items() for raw in RAW if raw in text]
    assert hits == []
    frame_text = result.frame.to_csv() + result.errors.to_csv() + result.summary.model_dump_json()
    assert [raw for raw in RAW if raw in frame_text] == []
    assert result.summary.linked == {"customer_window": 4}
    assert result.summary.privacy.pseudonym_key == "env"


def test_kept_pii_columns_stay_raw_and_are_recorded(tmp_path: Path, key_env) -> None:
    src, _ = _write_inputs(tmp_path)
    mapping_yaml = tmp_path / "columns.yaml"
    mapping_yaml.write_text("columns:\n  text: text\nkeep_pii_columns: [ФИО]\n", encoding="utf-8")
    _mount()
    res = CliRunner().invoke(app, ["analyze", str(src), "--columns", str(mapping_yaml), "--keep-pii-column",
                                   "email_клиента", "-o", str(tmp_path / "out"), "--quiet", "--workers", "1"])
    assert res.exit_code == 0, res.output
    enriched = pd.read_parquet(tmp_path / "out" / "enriched.parquet").set_index("id")
    assert enriched.loc["F1", "email клиента"] == "ivan@example.com" and enriched.loc["F1", "ФИО"] == "Сидоров Пётр"
    assert "Телефон" not in enriched.columns
    privacy = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))["summary"]["privacy"]
    assert privacy["kept_pii_columns"] == {"email клиента": "email", "ФИО": "name"}
    assert privacy["keep_pii_columns"] == ["email_клиента", "ФИО"]


def test_every_row_rejected_is_a_one_line_error(tmp_path: Path, key_env) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("text,date\n,01.01.2026\nкурьер опоздал,звонил 8 916 765-43-21\n", encoding="utf-8")
    _mount()
    res = CliRunner().invoke(app, ["analyze", str(src), "-o", str(tmp_path / "o"), "--quiet", "--workers", "1"])
    assert res.exit_code == EXIT_NO_ROWS
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and re.search(r"no valid rows: all 2 of 2 rows were rejected \(.*empty text: 1", lines[0])
    assert "765-43-21" not in (tmp_path / "o" / "errors.csv").read_text(encoding="utf-8")


def test_resume_with_another_key_is_refused(tmp_path: Path, key_env, monkeypatch) -> None:
    from voc.batch import BatchCancelled, run_batch
    from voc.pipeline import Pipeline

    src = tmp_path / "in.csv"
    pd.DataFrame({"text": [f"Курьер опоздал, звоните 8 916 765-43-{i:02d}" for i in range(250)]}).to_csv(src, index=False)
    pipe = Pipeline.load(redact_names="morph", components=["sentiment"])
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    with pytest.raises(BatchCancelled):
        run_batch(src, tmp_path / "o", pipeline=pipe, chunk_size=100, should_stop=stop)
    with pytest.raises(ValueError, match="another pseudonym key"):
        run_batch(src, tmp_path / "o", pipeline=pipe, chunk_size=100, pseudonym_key="another-key-0123456789")
    with pytest.raises(ValueError, match=r"chunk 0 was written from 100 input rows, this run reads 80 there"):
        run_batch(src, tmp_path / "o", pipeline=pipe, chunk_size=80)  # other chunks would shift: refused
    result = run_batch(src, tmp_path / "o", pipeline=pipe, chunk_size=100)
    assert result.summary.records == 250
