"""Ticket linking and contact metrics."""

from datetime import UTC, datetime, timedelta

import pandas as pd

from voc.enriched import LINK_COLUMNS, link_frame
from voc.link import LINK_BY_CUSTOMER, LINK_BY_ID, TicketIndex, contact_metrics, link_records
from voc.schema import Feedback, Ticket

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _tickets():
    return [
        Ticket(ticket_id="T1", customer_id="C1", created_at=T0, category="Доставка", sla_breached=True, reopen_count=1),
        Ticket(ticket_id="T2", customer_id="C2", created_at=T0 + timedelta(days=1), category="Оплата"),
        Ticket(ticket_id="T3", customer_id="C2", created_at=T0 + timedelta(days=10), category="Возврат товара"),
    ]


def test_link_by_ticket_id_then_customer_window():
    index = TicketIndex.build(_tickets())
    recs = [
        Feedback(id="1", text="курьер опоздал", ticket_id="T1"),
        Feedback(id="2", text="деньги списали дважды", customer_id="C2", created_at=T0 + timedelta(days=2)),
        Feedback(id="3", text="всё хорошо", customer_id="C2", created_at=T0 + timedelta(days=5)),
        Feedback(id="4", text="нет клиента"),
    ]
    out, links = link_records(recs, index, window_days=3)
    assert [link.method if link else None for link in links] == [LINK_BY_ID, LINK_BY_CUSTOMER, None, None]
    assert out[0].ticket.category == "Доставка" and out[0].ticket == links[0]
    assert out[1].ticket_id == "T2" and out[1].ticket.category == "Оплата"
    assert links[0].sla_breached is True and links[0].reopen_count == 1
    assert out[2].ticket is None and out[3].ticket is None and not out[0].metadata


def test_link_frame_types_the_ticket_columns():
    index = TicketIndex.build(_tickets())
    recs = [Feedback(id="1", text="курьер опоздал", ticket_id="T1"), Feedback(id="4", text="нет клиента")]
    frame = link_frame(link_records(recs, index)[1])
    assert list(frame.columns) == list(LINK_COLUMNS)
    assert frame["link_method"][0] == LINK_BY_ID and pd.isna(frame["link_method"][1])
    assert isinstance(frame["ticket_created_at"].dtype, pd.DatetimeTZDtype) and frame["ticket_created_at"][0] == T0
    assert str(frame["sla_breached"].dtype) == "boolean" and frame["sla_breached"][0]
    assert frame["reopen_count"].tolist()[0] == 1 and pd.isna(frame["ticket_csat"]).all()


def test_customer_window_picks_nearest_ticket():
    index = TicketIndex.build(_tickets())
    rec = Feedback(id="x", text="вернули деньги", customer_id="C2", created_at=T0 + timedelta(days=9))
    ticket, method = index.find(rec, timedelta(days=3))
    assert ticket.ticket_id == "T3" and method == LINK_BY_CUSTOMER


def test_contact_metrics_repeat_and_fcr():
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "customer_id": ["C1", "C1", "C2", "C3"],
            "created_at": [T0, T0 + timedelta(days=2), T0, T0],
            "topics": [["доставка"], ["доставка"], ["оплата"], []],
            "link_method": ["ticket_id", None, "ticket_id", "ticket_id"],
            "reopen_count": [0, None, 0, 2],
        }
    )
    m = contact_metrics(frame, window_days=7)
    assert m["repeat_contact"].tolist() == [True, False, False, False]
    # a: came back about the same topic → not resolved at first contact; c: resolved; d: reopened twice
    assert m["fcr"].tolist() == [False, None, True, False]
