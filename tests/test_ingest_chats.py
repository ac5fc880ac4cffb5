"""Chats: message tables (sorted and unsorted) and JSON conversation exports."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from voc.ingest import detect_kind, read_feedback
from voc.schema import Channel, SpeakerRole

DATA = Path(__file__).parent / "data" / "ingest"


def _check(chunks):
    for chunk in chunks:
        assert chunk.rows_in == chunk.rows_out + len(chunk.rejected)
        assert len(chunk.input_rows) == len(chunk.records)
    return [r for c in chunks for r in c.records], [r for c in chunks for r in c.rejected]


def test_message_table_grouped_into_conversations() -> None:
    assert detect_kind(DATA / "chat_messages.csv") == "chat_messages"
    records, rejected = _check(list(read_feedback(DATA / "chat_messages.csv")))
    assert [r.id for r in records] == ["c1", "c2"]
    c1 = records[0]
    assert c1.channel == Channel.chat and c1.customer_id == "u1"
    assert c1.text == "Клиент: Здравствуйте, где мой заказ?\nОператор: Добрый день! Проверяю.\nКлиент: Жду уже неделю"
    assert [t.speaker for t in c1.turns] == [SpeakerRole.client, SpeakerRole.operator, SpeakerRole.client]
    assert [t.start for t in c1.turns] == [0.0, 90.0, 120.0]
    assert c1.created_at == datetime(2024, 3, 1, 10) and c1.client_text().startswith("Здравствуйте")
    assert [t.speaker for t in records[1].turns] == [SpeakerRole.client, SpeakerRole.bot, SpeakerRole.operator]
    assert [(r.row, r.field, r.reason, r.value) for r in rejected] == [(6, "speaker", "unknown speaker", "марсианин")]


def test_sorted_file_streams_without_splitting_conversations(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    lines = ["conversation_id,speaker,message"]
    sizes = [3, 1, 5, 2, 4, 7, 1]
    for c, size in enumerate(sizes):
        lines += [f"conv{c},{'client' if k % 2 == 0 else 'agent'},сообщение {k}" for k in range(size)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chunks = list(read_feedback(path, chunk_size=4))
    records, rejected = _check(chunks)
    assert len(chunks) > 3 and not rejected
    assert [len(r.turns) for r in records] == sizes
    assert [r.id for r in records] == [f"conv{c}" for c in range(len(sizes))]
    assert sum(c.rows_in for c in chunks) == sum(sizes)


def test_unsorted_file_is_grouped_whole() -> None:
    records, rejected = _check(list(read_feedback(DATA / "chat_messages_unsorted.csv", chunk_size=2)))
    assert [(r.id, len(r.turns)) for r in records] == [("a", 3), ("b", 2)]
    assert records[0].text == "Клиент: Привет\nОператор: Здравствуйте\nКлиент: Спасибо" and not rejected


def test_missing_conversation_id_and_long_conversation(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    long_text = "я" * 12_000
    path.write_text(f"chat_id,role,text\n,client,потерялся\nz,client,{long_text}\nz,operator,{long_text}\n"
                    "z,operator,ок\n", encoding="utf-8")
    records, rejected = _check(list(read_feedback(path)))
    assert [(r.row, r.field, r.reason) for r in rejected] == [
        (1, "conversation_id", "missing conversation id"), (3, "text", "conversation longer than 20000 characters")]
    assert len(records[0].turns) == 2 and len(records[0].text) <= 20_000


def test_json_conversation_export() -> None:
    path = DATA / "chat_export.json"
    assert detect_kind(path) == "chat_json"
    chunks = list(read_feedback(path))
    records, rejected = _check(chunks)
    assert [r.id for r in records] == ["x1", "x2"]
    x1 = records[0]
    assert x1.created_at == datetime(2024, 4, 1, 9) and x1.customer_id == "u7" and x1.ticket_id == "T-1"
    assert [t.start for t in x1.turns] == [0.0, 180.0]
    assert records[1].text == "Клиент: Спасибо за помощь!"  # the empty bot message is skipped
    assert [(r.row, r.field, r.reason) for r in rejected] == [
        (3, "messages[0].author", "unknown speaker"), (4, "messages", "missing messages list")]
    assert chunks[0].input_rows.iloc[0]["message_author"] == "client"


def test_jsonl_conversation_export_with_offsets(tmp_path: Path) -> None:
    path = tmp_path / "chats.jsonl"
    rows = [{"chat_id": "k", "channel": "telegram", "rating": 2,
             "messages": [{"from": {"role": "customer"}, "text": "Бот не понимает", "timestamp": 0},
                          {"from": "support", "text": "Подключаю оператора", "timestamp": 12.5}]}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n", encoding="utf-8")
    assert detect_kind(path) == "chat_json"
    records, rejected = _check(list(read_feedback(path)))
    assert records[0].channel == Channel.social and [t.start for t in records[0].turns] == [0.0, 12.5]
    assert records[0].scores.rating == 2 and records[0].metadata == {}
    assert [(r.row, r.reason) for r in rejected] == [(2, "invalid JSON")]
