"""Webhook event payloads: what a ticketing system needs to open a review task."""

from __future__ import annotations

from typing import Any

from voc_api.db import iso, utcnow

EVENTS: tuple[str, ...] = ("feedback.negative", "topic.spike", "batch.finished")


def envelope(event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event": event, "occurred_at": iso(utcnow()), "data": data}


def negative_from_result(item: dict[str, Any]) -> dict[str, Any]:
    """feedback.negative data from one /v1/classify item result (already PII-masked)."""
    return {
        "feedback_id": item["id"],
        "ticket_id": item.get("ticket_id"),
        "customer_id": item.get("customer_id"),
        "channel": item.get("channel"),
        "text": item.get("text"),
        "sentiment": item.get("sentiment"),
        "sentiment_score": item.get("sentiment_score"),
        "labels": {
            "emotions": [e["name"] for e in item.get("emotions", [])],
            "topics": [t["name"] for t in item.get("topics", [])],
            "cause": (item.get("cause") or {}).get("name"),
            "journey_stage": item.get("journey_stage"),
        },
        "evidence": [{"label": e.get("label"), "text": e.get("text"), "start": e.get("start"), "end": e.get("end")}
                     for e in item.get("evidence", [])],
        "batch": None,
        "source": "classify",
    }


def _listish(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split("|") if v]
    try:
        return [str(v) for v in value]
    except TypeError:
        return [str(value)]


def _scalar(value: Any) -> Any:
    if value is None:
        return None
    try:
        if value != value:  # NaN
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value


def negative_from_row(row: dict[str, Any], batch_id: str, batch_url: str) -> dict[str, Any]:
    """feedback.negative data from one enriched-table row of a finished batch."""
    score = _scalar(row.get("sentiment_score"))
    return {
        "feedback_id": str(row.get("id")),
        "ticket_id": _scalar(row.get("ticket_id")),
        "customer_id": _scalar(row.get("customer_id")),
        "channel": _scalar(row.get("channel")),
        "text": _scalar(row.get("text")),
        "sentiment": _scalar(row.get("sentiment")),
        "sentiment_score": float(score) if score is not None else None,
        "labels": {
            "emotions": _listish(row.get("emotions")),
            "topics": _listish(row.get("topics")),
            "cause": _scalar(row.get("cause")),
            "journey_stage": _scalar(row.get("journey_stage")),
        },
        "evidence": [{"text": t} for t in _listish(row.get("evidence"))],
        "batch": {"id": batch_id, "url": batch_url},
        "source": "batch",
    }
