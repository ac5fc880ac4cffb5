"""Ticket exports → Ticket records + rejected rows."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from voc.ingest import IngestError, read_tickets

DATA = Path(__file__).parent / "data" / "ingest"


def test_russian_ticket_export() -> None:
    tickets, rejected = read_tickets(DATA / "tickets.csv")
    assert [t.ticket_id for t in tickets] == ["T-1", "T-2"]
    first = tickets[0]
    assert (first.customer_id, first.category, first.channel, first.sla_breached, first.reopen_count,
            first.csat) == ("u1", "Доставка", "chat", True, 0, 4.0)
    assert first.created_at == datetime(2024, 3, 1, 10) and first.closed_at == datetime(2024, 3, 2, 10)
    assert tickets[1].sla_breached is False and tickets[1].reopen_count == 2 and tickets[1].closed_at is None
    assert [(r.row, r.field, r.reason) for r in rejected] == [
        (3, "ticket_id", "missing ticket id"), (4, "sla_breached", "not a yes/no value"),
        (5, "created_at", "unparseable date")]


def test_english_jsonl_tickets_and_bad_numbers(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    rows = [{"ticket_id": "A", "customer_id": "c", "created": "2024-01-01", "sla_breached": True,
             "reopen_count": 1, "category": "billing"},
            {"ticket_id": "B", "reopen_count": "много"}, {"ticket_id": "C", "reopen_count": 1.5},
            {"ticket_id": "D", "csat": 12}]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    tickets, rejected = read_tickets(path)
    assert [t.ticket_id for t in tickets] == ["A"] and tickets[0].sla_breached is True
    assert [(r.row, r.field, r.reason) for r in rejected] == [
        (2, "reopen_count", "not a number"), (3, "reopen_count", "out of range 0.."),
        (4, "csat", "out of range 0..10")]


def test_no_ticket_id_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"no ticket id column found; headers seen: \['foo', 'bar'\]"):
        read_tickets(path)
    tickets, _ = read_tickets(path, columns={"ticket_id": "foo"})
    assert tickets[0].ticket_id == "1"
