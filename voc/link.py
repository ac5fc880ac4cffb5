"""Linking feedback to tickets, and contact metrics (repeat contacts, first-contact resolution).

A record is joined to a ticket by ``ticket_id``; when it has none, by ``customer_id`` with the nearest ticket
created within a configurable window around the feedback's ``created_at``. The link is a typed
:class:`voc.schema.TicketLink` on ``record.ticket``, set before analysis so the journey-stage analyzer can map
the ticket's category; voc.enriched turns it into the ticket-link columns.

Customers are compared by ``customer_key`` (in a batch: the keyed pseudonym of the privacy gate), so a
feedback customer id and a ticket customer id match when they are the same person's key, whether either was
pseudonymised at ingest or kept: ``8 (916) 123-45-67`` in the feedback finds ``+79161234567`` in the tickets.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import overload

import numpy as np
import pandas as pd

from voc.schema import Feedback, Ticket, TicketLink

LINK_BY_ID = "ticket_id"
LINK_BY_CUSTOMER = "customer_window"


@overload
def _utc(ts: datetime) -> datetime: ...
@overload
def _utc(ts: datetime | None) -> datetime | None: ...
def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@dataclass
class TicketIndex:
    """Tickets by id and, per customer key, sorted by creation time."""

    by_id: dict[str, Ticket]
    by_customer: dict[str, tuple[list[datetime], list[Ticket]]]
    #: customer id → the key customers are compared by (None: the id itself)
    customer_key: Callable[[str], str] | None = None

    @classmethod
    def build(cls, tickets: Sequence[Ticket], customer_key: Callable[[str], str] | None = None) -> TicketIndex:
        by_id = {t.ticket_id: t for t in tickets}
        # only tickets with a customer and a creation time can be found by the window; sorted (stably) by time
        grouped: dict[str, list[tuple[datetime, Ticket]]] = defaultdict(list)
        for t in tickets:
            if t.customer_id and t.created_at:
                key = customer_key(t.customer_id) if customer_key else t.customer_id
                grouped[key].append((_utc(t.created_at), t))
        by_customer: dict[str, tuple[list[datetime], list[Ticket]]] = {}
        for cid, pairs in grouped.items():
            pairs.sort(key=lambda p: p[0])
            by_customer[cid] = ([at for at, _ in pairs], [t for _, t in pairs])
        return cls(by_id=by_id, by_customer=by_customer, customer_key=customer_key)

    def __len__(self) -> int:
        return len(self.by_id)

    def find(self, record: Feedback, window: timedelta) -> tuple[Ticket | None, str | None]:
        """The ticket of a record and how it was found (``ticket_id`` or ``customer_window``)."""
        if record.ticket_id and record.ticket_id in self.by_id:
            return self.by_id[record.ticket_id], LINK_BY_ID
        customer = record.customer_id
        if customer and self.customer_key is not None:
            customer = self.customer_key(customer)
        if customer and record.created_at and customer in self.by_customer:
            times, items = self.by_customer[customer]
            at = _utc(record.created_at)
            i = bisect.bisect_left(times, at)
            best: Ticket | None = None
            best_gap = window
            for j in (i - 1, i):
                if 0 <= j < len(times):
                    gap = abs(times[j] - at)
                    if gap <= best_gap:
                        best, best_gap = items[j], gap
            if best is not None:
                return best, LINK_BY_CUSTOMER
        return None, None


def link_records(
    records: Sequence[Feedback], index: TicketIndex | None, window_days: float = 3.0
) -> tuple[list[Feedback], list[TicketLink | None]]:
    """Attach tickets to records.

    Returns the records (with ``ticket`` set, and ``ticket_id`` filled where it was missing) and, per record, its
    :class:`TicketLink` or None (voc.enriched.link_frame makes the ticket columns; repeat/FCR come later).
    """
    window = timedelta(days=window_days)
    out_records: list[Feedback] = []
    links: list[TicketLink | None] = []
    for rec in records:
        ticket, method = index.find(rec, window) if index is not None else (None, None)
        if ticket is None or method is None:
            out_records.append(rec)
            links.append(None)
            continue
        link = TicketLink(method=method, ticket_id=ticket.ticket_id, category=ticket.category,
                          created_at=_utc(ticket.created_at), sla_breached=ticket.sla_breached,
                          reopen_count=ticket.reopen_count, csat=ticket.csat)
        update: dict = {"ticket": link}
        if not rec.ticket_id:
            update["ticket_id"] = ticket.ticket_id
        out_records.append(rec.model_copy(update=update))
        links.append(link)
    return out_records, links


def contact_metrics(frame: pd.DataFrame, window_days: float = 7.0) -> pd.DataFrame:
    """Repeat contacts and first-contact resolution per record.

    ``repeat_contact``: the same customer got in touch again within ``window_days`` after this record.
    ``fcr`` (first-contact resolution) for records linked to a ticket: the ticket was never reopened and the
    customer did not come back about a shared topic within the window. Returns a frame indexed like ``frame``
    with columns ``repeat_contact`` and ``fcr``.
    """
    out = pd.DataFrame(index=frame.index, data={"repeat_contact": False, "fcr": None})
    if frame.empty or "customer_id" not in frame:
        return out
    created = pd.to_datetime(frame["created_at"], utc=True, errors="coerce")
    valid = frame["customer_id"].notna() & created.notna()
    sub = pd.DataFrame(
        {"customer_id": frame.loc[valid, "customer_id"], "created_at": created[valid]}, index=frame.index[valid]
    )
    sub = sub.sort_values(["customer_id", "created_at"])
    nxt_time = sub.groupby("customer_id")["created_at"].shift(-1)
    gap = (nxt_time - sub["created_at"]).dt.total_seconds() / 86400.0
    repeat = (gap <= window_days).fillna(False)
    out.loc[sub.index, "repeat_contact"] = repeat.to_numpy(dtype=bool)

    # Same-topic repeat: the next contact of the customer shares a topic with this one (or neither has one).
    topics = frame["topics"].to_numpy() if "topics" in frame else np.empty(len(frame), dtype=object)
    pos = frame.index.get_indexer(sub.index)  # positions of the sorted rows
    cust = sub["customer_id"].to_numpy()
    rep = repeat.to_numpy(dtype=bool)
    same = np.zeros(len(frame), dtype=bool)
    for k in np.flatnonzero(rep[:-1] & (cust[:-1] == cust[1:])):
        ta, tb = topics[pos[k]], topics[pos[k + 1]]
        ta = ta if isinstance(ta, list | tuple | np.ndarray) else []
        tb = tb if isinstance(tb, list | tuple | np.ndarray) else []
        if (len(ta) == 0 and len(tb) == 0) or set(ta) & set(tb):
            same[pos[k]] = True
    same_topic = pd.Series(same, index=frame.index)

    if "link_method" in frame:
        linked = frame["link_method"].notna()
        reopen = pd.to_numeric(frame.get("reopen_count"), errors="coerce").fillna(0) if "reopen_count" in frame else 0
        fcr = (reopen == 0) & ~same_topic
        out["fcr"] = fcr.where(linked, None).astype(object)
        out.loc[~linked, "fcr"] = None
    return out
