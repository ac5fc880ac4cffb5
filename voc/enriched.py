"""The enriched table: one row per Feedback with its Findings flattened into columns.

This is the contract between the analyzers and everything downstream (aggregates, renderers, API
results). List-valued columns hold Python lists in memory and are pipe-joined in CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from voc.schema import Feedback, Findings

#: List-valued columns (Python lists in the frame, "a|b" in CSV).
LIST_COLUMNS: tuple[str, ...] = ("emotions", "topics", "topic_sentiments", "evidence")

#: Columns voc adds, in output order. Input columns are kept as they are before these.
FINDING_COLUMNS: tuple[str, ...] = (
    "id",
    "channel",
    "created_at",
    "customer_id",
    "ticket_id",
    "touchpoint",
    "rating",
    "nps",
    "csat",
    "ces",
    "text",
    "sentiment",
    "sentiment_score",
    "sentiment_confidence",
    "emotions",
    "topics",
    "topic_sentiments",
    "cause",
    "cause_confidence",
    "journey_stage",
    "journey_stage_source",
    "discovered_topic",
    "evidence",
    "call_duration_s",
    "call_longest_pause_s",
    "call_silence_share",
    "call_overlaps",
    "call_talk_ratio_client",
    "call_client_sentiment_start",
    "call_client_sentiment_end",
    "pii_masked",
)

#: Columns added by voc.link when a ticket export is given.
TICKET_COLUMNS: tuple[str, ...] = (
    "link_method",
    "ticket_category",
    "ticket_created_at",
    "sla_breached",
    "reopen_count",
    "ticket_csat",
    "repeat_contact",
    "fcr",
)


def findings_rows(records: Sequence[Feedback], findings: Sequence[Findings]) -> list[dict[str, Any]]:
    """Flatten records and their findings into dicts keyed by FINDING_COLUMNS."""
    rows: list[dict[str, Any]] = []
    for rec, f in zip(records, findings, strict=True):
        cm = f.call_metrics or rec.call_metrics
        rows.append(
            {
                "id": rec.id,
                "channel": rec.channel.value,
                "created_at": rec.created_at,
                "customer_id": rec.customer_id,
                "ticket_id": rec.ticket_id,
                "touchpoint": rec.touchpoint,
                "rating": rec.scores.rating,
                "nps": rec.scores.nps,
                "csat": rec.scores.csat,
                "ces": rec.scores.ces,
                "text": rec.text,
                "sentiment": f.sentiment,
                "sentiment_score": f.sentiment_score,
                "sentiment_confidence": f.sentiment_confidence,
                "emotions": f.emotion_names(),
                "topics": f.topic_names(),
                "topic_sentiments": [t.sentiment for t in f.topics],
                "cause": f.cause.name if f.cause else None,
                "cause_confidence": f.cause.confidence if f.cause else None,
                "journey_stage": f.journey_stage,
                "journey_stage_source": f.journey_stage_source,
                "discovered_topic": f.discovered_topic,
                "evidence": [e.text for e in f.evidence],
                "call_duration_s": cm.duration_s if cm else None,
                "call_longest_pause_s": cm.longest_pause_s if cm else None,
                "call_silence_share": cm.silence_share if cm else None,
                "call_overlaps": cm.overlaps if cm else None,
                "call_talk_ratio_client": cm.talk_ratio.get("client") if cm else None,
                "call_client_sentiment_start": cm.client_sentiment_start if cm else None,
                "call_client_sentiment_end": cm.client_sentiment_end if cm else None,
                "pii_masked": sum(f.pii_masked.values()),
            }
        )
    return rows


def to_frame(records: Sequence[Feedback], findings: Sequence[Findings]) -> pd.DataFrame:
    """The enriched frame for a batch (without input columns; see voc.pipeline for the join)."""
    frame = pd.DataFrame(findings_rows(records, findings), columns=list(FINDING_COLUMNS))
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, errors="coerce")
    return frame


def to_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with list columns pipe-joined, for CSV output."""
    out = frame.copy()
    for col in LIST_COLUMNS:
        if col in out.columns:
            out[col] = out[col].map(lambda v: "|".join(map(str, v)) if isinstance(v, list | tuple) else v)
    return out
