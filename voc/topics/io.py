"""Reading texts for topic fitting/assignment: any file ``voc.ingest.read_feedback`` reads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def read_texts(path: str | Path, text_col: str | None = None) -> pd.DataFrame:
    """Frame with ``id`` and ``text`` (plus ``created_at``, ``channel`` when known) for each record.

    Uses ``voc.ingest.read_feedback`` (column auto-detection, chats, transcripts); ``text_col`` names the
    text column of a table. Raises ``ValueError`` naming the file when nothing usable is found. Texts pass
    the same privacy gate as ``voc analyze`` (masked PII), so a fitted topic model never holds raw PII words.
    """
    from voc.ingest import read_feedback
    from voc.ingest.mapping import ColumnMapping
    from voc.ingest.privacy import PrivacyGate

    file = Path(path)
    if not file.exists():
        raise ValueError(f"{file}: file not found")
    mapping = ColumnMapping(text=text_col) if text_col else None
    rows: list[dict] = []
    for chunk in read_feedback(file, mapping, privacy=PrivacyGate.create()):
        for rec in chunk.records:
            rows.append({"id": rec.id, "text": rec.client_text(), "created_at": rec.created_at,
                         "channel": rec.channel.value, "journey_stage": rec.journey_stage})
    if not rows:
        raise ValueError(f"{file}: no feedback records with text")
    return pd.DataFrame(rows)
