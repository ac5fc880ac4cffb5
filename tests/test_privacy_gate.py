"""The privacy gate's parts: PII column names, keyed pseudonyms, the gate on chunks and tickets, linking on
pseudonyms, CSV formula neutralisation."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from voc.ingest import read_feedback
from voc.ingest.errors import MAX_VALUE_CHARS
from voc.ingest.pii_columns import pii_column_kind
from voc.ingest.privacy import PrivacyGate
from voc.ingest.pseudonym import Pseudonymizer, PseudonymKeyError, canonical, is_pseudonym, load_key
from voc.link import TicketIndex, link_records
from voc.pipeline import Pipeline
from voc.redact import Redactor
from voc.safe_csv import neutralize_formulas, write_csv
from voc.schema import Feedback, RejectedRow, Ticket

KEY = "unit-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def gate() -> PrivacyGate:
    return PrivacyGate(Redactor(names=True, name_engine="morph"), Pseudonymizer(KEY.encode()))


# ------------------------------------------------------------------------------------ PII column names

@pytest.mark.parametrize(("name", "kind"), [
    ("Телефон", "phone"), ("телефон_клиента", "phone"), ("НомерТелефона", "phone"), ("phone", "phone"),
    ("clientPhone", "phone"), ("Моб. тел.", "phone"), ("MSISDN", "phone"), ("контактный телефон", "phone"),
    ("email", "email"), ("E-mail", "email"), ("email клиента", "email"), ("Эл. почта", "email"),
    ("адрес электронной почты", "email"), ("customer_email", "email"),
    ("ФИО", "name"), ("Ф.И.О.", "name"), ("фио_клиента", "name"), ("Имя", "name"), ("Фамилия", "name"),
    ("Отчество", "name"), ("first_name", "name"), ("LastName", "name"), ("client name", "name"),
    ("имя оператора", "name"), ("username", "name"),
    ("Паспорт", "passport"), ("серия и номер паспорта", "passport"), ("passport_no", "passport"),
    ("Адрес", "address"), ("адрес доставки", "address"), ("home_address", "address"),
    ("СНИЛС", "snils"), ("ИНН", "inn"), ("inn", "inn"),
    ("Номер карты", "card"), ("card_number", "card"), ("карта", "card"), ("cardNo", "card"),
    ("номер счёта", "account"), ("Лицевой счет", "account"), ("IBAN", "account"), ("account", "account"),
    ("Дата рождения", "birth_date"), ("birth_date", "birth_date"), ("DOB", "birth_date"),
    ("день рождения", "birth_date"), ("Водительское удостоверение", "id_document"), ("контакт", "contact"),
])
def test_pii_column_names_are_found(name: str, kind: str) -> None:
    assert pii_column_kind(name) == kind


@pytest.mark.parametrize("name", [
    "текст", "отзыв", "клиент", "customer_id", "id клиента", "дата", "канал", "оценка", "комментарий оператора",
    "product_name", "Название товара", "имя файла", "file_name", "адрес магазина", "адрес пункта выдачи",
    "тип карты", "карта сайта", "сумма счета", "account manager", "точка контакта", "этап",
    "Город", "продукт", "почтовый индекс", "company name", "тема", "номер обращения", "nps", "др",
])
def test_ordinary_column_names_are_not_pii(name: str) -> None:
    assert pii_column_kind(name) is None


# ---------------------------------------------------------------------------------------- pseudonyms

def test_pseudonyms_are_stable_keyed_and_canonical() -> None:
    one, same, other = Pseudonymizer(KEY.encode()), Pseudonymizer(KEY.encode()), Pseudonymizer(b"other-key-0123456789")
    value = "8 (916) 123-45-67"
    assert one(value) == same(value) and is_pseudonym(one(value))
    assert one(value) != other(value)
    assert one(value) == one("+7 916 1234567") == one("79161234567") == one("9161234567")
    assert one("Petr@Example.ru") == one(" petr@example.ru ")
    assert one("C-1") != one("c-1") and one("C-1") != one("C-2")
    assert one(one(value)) == one(value)  # a pseudonym is never hashed again
    assert canonical("8-916-123-45-67") == "79161234567" and canonical("C-0042") == "C-0042"
    assert KEY not in repr(one) and "unit-test" not in repr(one)
    assert len(one.key_id) == 8 and one.key_id != other.key_id


def test_key_from_env_file_or_generated(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("VOC_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("VOC_PSEUDONYM_KEY_FILE", raising=False)
    monkeypatch.setenv("VOC_CONFIG_DIR", str(tmp_path / "cfg"))
    key, source = load_key()
    path = tmp_path / "cfg" / "pseudonym.key"
    assert source == "generated" and path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key() == (key, "file")  # the same key on the next run
    monkeypatch.setenv("VOC_PSEUDONYM_KEY", KEY)
    assert load_key() == (KEY.encode(), "env")
    assert load_key("argument-key-0123456789")[1] == "argument"
    with pytest.raises(PseudonymKeyError, match="too short"):
        load_key("short")
    monkeypatch.delenv("VOC_PSEUDONYM_KEY")
    with pytest.raises(PseudonymKeyError, match="not found"):
        load_key(key_file=tmp_path / "missing.key")


# ---------------------------------------------------------------------------------------------- gate

def _table(tmp_path: Path) -> Path:
    long_text = "x" * 190 + " 8 916 765-43-21 " + "y" * 20_000  # the phone straddles character 200
    frame = pd.DataFrame({
        "id": ["1", "2", "3", "89167654321"],
        "Отзыв": ["Звоните 8 916 123-45-67, курьер опоздал", "Меня зовут Анна Смирнова", long_text, "ок"],
        "рейтинг": ["5", "4", "3", "семь, звоните +7 916 765-43-21"],
        "Телефон": ["+7 916 123-45-67", "", "", ""],
        "ФИО": ["Смирнова Анна", "", "", ""],
        "Город": ["Казань", "Тверь", "", "Москва"],
        "заметка": ["клиент Иван Петров просил перезвонить", "", "", ""],
        "клиент": ["petr@example.ru", "C-7", "", ""],
    })
    path = tmp_path / "folder" / "reviews.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    return path


def test_gate_masks_drops_and_pseudonymises_a_table_chunk(tmp_path: Path, gate: PrivacyGate) -> None:
    (chunk,) = read_feedback(_table(tmp_path), privacy=gate)
    assert chunk.protected and chunk.rows_in == chunk.rows_out + len(chunk.rejected) == 4
    first, second = chunk.records[0], chunk.records[1]
    assert first.text == "Звоните [ТЕЛЕФОН], курьер опоздал" and chunk.pii_counts[0] == {"phone": 1}
    assert second.text == "Меня зовут [ИМЯ]"
    assert first.metadata == {"Город": "Казань", "заметка": "клиент [ИМЯ] просил перезвонить"}
    assert is_pseudonym(first.customer_id) and second.customer_id == "C-7"
    assert first.source_file == "reviews.csv"
    assert list(chunk.input_rows.columns) == ["рейтинг", "Город", "заметка"]
    assert chunk.privacy["dropped_pii_columns"] == {"Телефон": "phone", "ФИО": "name"}
    assert chunk.privacy["pseudonymised"] == {"customer_id": 1}
    (too_long, bad_score) = chunk.rejected
    assert too_long.file == "reviews.csv" and too_long.reason.startswith("text longer")
    assert len(too_long.value) <= MAX_VALUE_CHARS and too_long.value == "x" * 190 + " [ТЕЛЕФОН]"
    assert bad_score.value == "семь, звоните [ТЕЛЕФОН]"
    assert gate.protect(chunk) is chunk  # protecting twice changes nothing


def test_kept_columns_stay_raw(tmp_path: Path) -> None:
    gate = PrivacyGate(Redactor(names=True, name_engine="morph"), Pseudonymizer(KEY.encode()),
                       keep_pii_columns=["фио", "Клиент"])
    (chunk,) = read_feedback(_table(tmp_path), privacy=gate)
    assert chunk.records[0].metadata["ФИО"] == "Смирнова Анна" and "ФИО" in chunk.input_rows.columns
    assert chunk.records[0].customer_id == "petr@example.ru"  # the customer key column kept: no pseudonym
    assert chunk.privacy["kept_pii_columns"] == {"ФИО": "name", "клиент": "customer_id"}


def test_no_redaction_still_drops_pii_columns_and_pseudonymises(tmp_path: Path) -> None:
    gate = PrivacyGate(None, Pseudonymizer(KEY.encode()))
    (chunk,) = read_feedback(_table(tmp_path), privacy=gate)
    assert chunk.records[0].text.startswith("Звоните 8 916")
    assert "Телефон" not in chunk.input_rows.columns and is_pseudonym(chunk.records[0].customer_id)


def test_chat_export_input_rows_drop_the_message_text(tmp_path: Path, gate: PrivacyGate) -> None:
    path = tmp_path / "chats.jsonl"
    conversation = {"chat_id": "c1", "customer_id": "+7 916 123-45-67", "operator": "Мария Кузнецова",
                    "messages": [{"author": "client", "text": "Мой телефон 8 916 123-45-67", "time": "2026-01-01T10:00"},
                                 {"author": "operator", "text": "Спасибо, Иван Петров", "time": "2026-01-01T10:01"}]}
    path.write_text(json.dumps(conversation, ensure_ascii=False) + "\n", encoding="utf-8")
    (chunk,) = read_feedback(path, privacy=gate)
    record = chunk.records[0]
    assert "123-45-67" not in record.text and all("123-45-67" not in t.text for t in record.turns)
    assert record.turns[1].text == "Спасибо, [ИМЯ]" and record.metadata == {"operator": "[ИМЯ]"}
    assert is_pseudonym(record.customer_id)
    cells = " ".join(chunk.input_rows.astype(str).to_numpy().ravel())
    assert "123-45-67" not in cells and "Кузнецова" not in cells and "message_text" not in chunk.input_rows


def test_transcript_named_after_a_phone(tmp_path: Path, gate: PrivacyGate) -> None:
    folder = tmp_path / "calls"
    folder.mkdir()
    (folder / "89161234567.json").write_text(json.dumps({"segments": [
        {"start": 0, "end": 1, "text": "алло", "speaker": "Клиент"}]}), encoding="utf-8")
    (folder / "79167654321.json").write_text("{broken", encoding="utf-8")
    (chunk,) = read_feedback(folder, privacy=gate)
    assert is_pseudonym(chunk.records[0].id)
    assert chunk.input_rows["file"].tolist() == ["[ТЕЛЕФОН].json"]
    assert chunk.rejected[0].file == "[ТЕЛЕФОН].json"


def test_linking_and_repeat_contacts_work_on_pseudonyms(gate: PrivacyGate) -> None:
    tickets, rejected = gate.protect_tickets(
        [Ticket(ticket_id="T-1", customer_id="+7 916 123-45-67", created_at=datetime(2026, 1, 1, 9), category="Доставка"),
         Ticket(ticket_id="T-2", customer_id="anna@example.ru", created_at=datetime(2026, 1, 5, 9))],
        [RejectedRow(file="/srv/voc/uploads/x/tickets.csv", row=3, field="created_at", reason="unparseable date",
                     value="звонил 8 916 765-43-21")])
    assert all(is_pseudonym(t.customer_id) for t in tickets)
    assert rejected[0].file == "tickets.csv" and rejected[0].value == "звонил [ТЕЛЕФОН]"
    index = TicketIndex.build(tickets, customer_key=gate.customer_key)
    records = [Feedback(id="a", text="курьер опоздал", customer_id=gate.pseudonymize("89161234567"),
                        created_at=datetime(2026, 1, 1, 12)),
               Feedback(id="b", text="где деньги", customer_id="Anna@Example.ru", created_at=datetime(2026, 1, 5, 10)),
               Feedback(id="c", text="спасибо", customer_id="C-9", created_at=datetime(2026, 1, 5, 10))]
    linked, links = link_records(records, index)
    assert [r.ticket_id for r in linked] == ["T-1", "T-2", None]
    assert [link.method if link else None for link in links] == ["customer_window", "customer_window", None]
    assert linked[0].ticket.category == "Доставка"


def test_pipeline_does_not_mask_twice() -> None:
    class Counting:
        version, calls = "count-1", 0

        def redact_record(self, rec):
            Counting.calls += 1
            return rec, {}

    pipe = Pipeline([], redactor=Counting())
    _, found = pipe.analyze([Feedback(id="1", text="[ТЕЛЕФОН]")], pii_counts=[{"phone": 1}])
    assert Counting.calls == 0 and found[0].pii_masked == {"phone": 1}
    pipe.analyze([Feedback(id="1", text="x")])
    assert Counting.calls == 1


# -------------------------------------------------------------------------------------- CSV formulas

def test_formula_prefixes_are_neutralised(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "text": ["=1+2", "+7 916", "-5 баллов", "@SUM(A1)", "\tx", "\rx", "обычный", None, "'=уже"],
        "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9],
        "score": [-0.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
    })
    safe = neutralize_formulas(frame)
    assert safe["text"].tolist()[:7] == ["'=1+2", "'+7 916", "'-5 баллов", "'@SUM(A1)", "'\tx", "'\rx", "обычный"]
    assert safe["text"].tolist()[8] == "'=уже" and pd.isna(safe["text"].tolist()[7])
    assert safe["n"].tolist() == frame["n"].tolist() and safe["score"].tolist() == frame["score"].tolist()
    assert neutralize_formulas(safe).equals(safe)  # idempotent
    assert frame["text"][0] == "=1+2"  # the input frame is not changed
    write_csv(pd.DataFrame({"=cmd": ["=x"]}), tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_text(encoding="utf-8") == "'=cmd\n'=x\n"


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.slow
def test_every_csv_output_is_neutralised(tmp_path: Path, monkeypatch) -> None:
    import voc

    monkeypatch.setenv("VOC_PSEUDONYM_KEY", KEY)
    frame = pd.DataFrame({"text": ["=HYPERLINK(\"http://evil\") курьер опоздал", "Спасибо, всё хорошо", "ок"],
                          "дата": ["01.10.2026", "02.10.2026", "-"], "тег": ["@доставка", "+SUM(1)", ""]})
    voc.analyze(frame, text_col="text", outdir=tmp_path / "out")
    for path in (tmp_path / "out").rglob("*.csv"):
        cells = pd.read_csv(path, dtype=str, keep_default_na=False, header=None).to_numpy().ravel()
        formulas = [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r")) and not _number(c)]
        assert not formulas, path.name
    enriched = pd.read_csv(tmp_path / "out" / "enriched.csv", dtype=str, keep_default_na=False)
    assert enriched["text"][0].startswith("'=HYPERLINK") and enriched["тег"].tolist() == ["'@доставка", "'+SUM(1)"]
    errors = pd.read_csv(tmp_path / "out" / "errors.csv", dtype=str, keep_default_na=False)
    assert errors["value"].tolist() == ["'-"]
    assert pd.read_parquet(tmp_path / "out" / "enriched.parquet")["тег"].tolist()[0] == "@доставка"


def test_error_messages_and_parser_values_show_no_personal_data(tmp_path: Path, gate: PrivacyGate) -> None:
    from voc.ingest import IngestError

    headerless = tmp_path / "x.csv"
    headerless.write_text("Иван,+7 916 123-45-67\nа,б\n", encoding="utf-8")
    with pytest.raises(IngestError, match="no text column") as err:
        list(read_feedback(headerless))
    assert "123-45-67" not in str(err.value) and "[ТЕЛЕФОН]" in str(err.value)
    rejected = gate.protect_rejected([RejectedRow(file=str(tmp_path / "calls" / "a.json"), reason="unreadable transcript",
                                                  value=f"{tmp_path}/calls/a.json: segments[0].start: not a number")])
    assert rejected[0].value == "a.json: segments[0].start: not a number" and rejected[0].file == "a.json"


def test_customer_key_from_a_pii_column_is_always_pseudonymised(tmp_path: Path, gate: PrivacyGate) -> None:
    from voc.ingest import ColumnMapping

    path = tmp_path / "x.csv"
    pd.DataFrame({"text": ["курьер опоздал", "всё хорошо"], "Телефон клиента": ["8 916 123-45-67", "нет"]}).to_csv(
        path, index=False)
    (chunk,) = read_feedback(path, ColumnMapping(customer_id="телефон клиента"), privacy=gate)
    assert [is_pseudonym(r.customer_id) for r in chunk.records] == [True, True]
    assert chunk.records[0].customer_id == gate.pseudonymize("+79161234567")
    assert list(chunk.input_rows.columns) == [] and chunk.privacy["dropped_pii_columns"] == {"Телефон клиента": "phone"}


def test_mapping_yaml_keep_pii_columns(tmp_path: Path) -> None:
    from voc.ingest import ColumnMapping, IngestError

    path = tmp_path / "m.yaml"
    path.write_text("columns: {text: Отзыв}\nkeep_pii_columns: [ФИО, email]\n", encoding="utf-8")
    assert ColumnMapping.from_yaml(path).keep_pii_columns == ["ФИО", "email"]
    path.write_text("keep_pii_columns: ФИО\n", encoding="utf-8")
    with pytest.raises(IngestError, match="keep_pii_columns.*list"):
        ColumnMapping.from_yaml(path)


def test_headers_holding_personal_data_are_masked(tmp_path: Path, gate: PrivacyGate) -> None:
    path = tmp_path / "h.csv"
    pd.DataFrame({"text": ["курьер опоздал"], "звонить 8 916 123-45-67": ["да"], "звонить 8 903 111-22-33": ["нет"],
                  "Телефон 89161234567": ["+7 916 123-45-67"], "ФИО": ["Иванов Иван"]}).to_csv(path, index=False)
    (chunk,) = read_feedback(path, privacy=gate)
    assert list(chunk.input_rows.columns) == ["звонить [ТЕЛЕФОН]", "звонить [ТЕЛЕФОН] (2)"]
    assert chunk.records[0].metadata == {"звонить [ТЕЛЕФОН]": "да", "звонить [ТЕЛЕФОН] (2)": "нет"}
    assert chunk.privacy["dropped_pii_columns"] == {"Телефон [ТЕЛЕФОН]": "phone", "ФИО": "name"}
    kept = PrivacyGate(gate.redactor, gate.pseudonymize, keep_pii_columns=["ФИО"])
    (chunk,) = read_feedback(path, privacy=kept)
    assert chunk.records[0].metadata["ФИО"] == "Иванов Иван"  # kept by name: name and values raw


def test_records_made_in_memory_are_protected(gate: PrivacyGate) -> None:
    record = Feedback(id="89031112233", text="Звоните +7 916 123-45-67", customer_id="иван.петров@почта.рф",
                      ticket_id="T-1", metadata={"телефон": "8 916 765 43 21", "примечание": "паспорт 4510 987123",
                                                 "для Марии Кузнецовой": "да"})
    (protected,), counts = gate.protect_records([record], texts=False)
    assert protected.text == record.text and counts == [{}]  # the pipeline masks the text
    assert is_pseudonym(protected.id) and protected.ticket_id == "T-1"
    assert protected.customer_id == gate.pseudonymize("Иван.Петров@почта.рф")
    assert protected.metadata == {"примечание": "паспорт [ПАСПОРТ]", "для [ИМЯ]": "да"}
    (masked,), counts = gate.protect_records([record])
    assert masked.text == "Звоните [ТЕЛЕФОН]" and counts == [{"phone": 1}]
