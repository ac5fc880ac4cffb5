"""The enriched table: one row per Feedback with its Findings flattened into columns — declared once, here.

:data:`COLUMNS` declares every column voc adds (name, type, list-ness, group, whether it may hold personal
data, a short description, and which consumers read it). Everything else is derived from it: the Parquet
Arrow schema (:func:`arrow_schema`), the CSV writer (list columns pipe-joined, :func:`to_csv_frame`), the
aggregates' column selection, the webhook payload's columns, the API's results-row model (:func:`row_model`),
the ClickHouse feedback table (voc.sinks.tables) and the column table in docs/outputs.md
(``python -m voc.enriched --markdown``). Input columns are kept before these, as strings (``input:<name>``
where a name clashes with ours). List-valued columns hold Python lists in memory and ``a|b`` in CSV.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    create_model,
    model_serializer,
)

from voc.schema import Feedback, Findings, TicketLink

Kind = Literal["string", "float", "int", "bool", "timestamp"]
#: input: the feedback record's own fields; finding: what the analyzers found; call: call-timing metrics;
#: ticket: the linked ticket (only with a ticket export); contact: repeat contacts and first-contact resolution
Group = Literal["input", "finding", "call", "ticket", "contact"]
#: masked: free text, personal data masked by the privacy gate; pseudonym: a keyed pseudonym when the value was
#: personal data; identifier: an id, masked where it holds personal data
Pii = Literal["masked", "pseudonym", "identifier"]
#: who reads a column besides the writers: the aggregates (voc.aggregate), the drill-down filters
#: (voc.aggregate.drill), the feedback.negative webhook payload (voc_api.worker)
Use = Literal["aggregate", "filter", "webhook"]

_ARROW: dict[str, pa.DataType] = {"string": pa.string(), "float": pa.float64(), "int": pa.int64(),
                                   "bool": pa.bool_(), "timestamp": pa.timestamp("us", tz="UTC")}
#: JSON-side Python types of the results-row model (timestamps travel as ISO 8601 strings)
_PYTHON: dict[str, type] = {"string": str, "float": float, "int": int, "bool": bool, "timestamp": str}


@dataclass(frozen=True)
class Column:
    """One column of the enriched table."""

    name: str
    kind: Kind
    group: Group
    description: str
    is_list: bool = False
    pii: Pii | None = None
    uses: frozenset[Use] = frozenset({"aggregate"})

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.list_(_ARROW[self.kind]) if self.is_list else _ARROW[self.kind]

    @property
    def python_type(self) -> Any:
        """The type of a value in a JSON results row (None where missing)."""
        base = _PYTHON[self.kind]
        return (list[base | None] if self.is_list else base) | None  # type: ignore[valid-type]

    @property
    def pandas_dtype(self) -> Any:
        """The pandas dtype of the column read from enriched.parquet (Arrow's own mapping)."""
        return pd.api.types.pandas_dtype(self.arrow_type.to_pandas_dtype())


def _c(name: str, kind: Kind, group: Group, description: str, *, is_list: bool = False, pii: Pii | None = None,
       uses: Iterable[Use] = ("aggregate",)) -> Column:
    return Column(name, kind, group, description, is_list, pii, frozenset(uses))


_AGG_FILTER: tuple[Use, ...] = ("aggregate", "filter")
_AGG_FILTER_HOOK: tuple[Use, ...] = ("aggregate", "filter", "webhook")
_AGG_HOOK: tuple[Use, ...] = ("aggregate", "webhook")

#: Every column voc adds, in output order (ticket and contact columns last).
COLUMNS: tuple[Column, ...] = (
    _c("id", "string", "input", "record id (from the input, or file stem + row)", pii="identifier",
       uses=_AGG_FILTER_HOOK),
    _c("channel", "string", "input", "review, survey, chat, call, email or social", uses=_AGG_FILTER_HOOK),
    _c("created_at", "timestamp", "input", "when the feedback was given (UTC)", uses=_AGG_FILTER),
    _c("customer_id", "string", "input", "customer key; a keyed pseudonym where it was personal data",
       pii="pseudonym", uses=_AGG_HOOK),
    _c("ticket_id", "string", "input", "ticket id (from the input or the linked ticket)", pii="identifier",
       uses=_AGG_HOOK),
    _c("touchpoint", "string", "input", "touchpoint named by the input", pii="masked", uses=()),
    _c("rating", "float", "input", "star rating, usually 1..5"),
    _c("nps", "float", "input", "likelihood to recommend, 0..10"),
    _c("csat", "float", "input", "customer satisfaction, usually 1..5"),
    _c("ces", "float", "input", "customer effort score, usually 1..7"),
    _c("text", "string", "input", "the feedback text, personal data masked", pii="masked", uses=_AGG_HOOK),
    _c("sentiment", "string", "finding", "negative, neutral or positive", uses=_AGG_FILTER_HOOK),
    _c("sentiment_score", "float", "finding", "-1 (very negative) .. 1 (very positive)", uses=_AGG_FILTER_HOOK),
    _c("sentiment_confidence", "float", "finding", "confidence of the sentiment, 0..1"),
    _c("emotions", "string", "finding", "emotions found", is_list=True, uses=_AGG_FILTER_HOOK),
    _c("topics", "string", "finding", "topics found", is_list=True, uses=_AGG_FILTER_HOOK),
    _c("topic_sentiments", "string", "finding", "sentiment of each topic's mention, aligned with topics",
       is_list=True),
    _c("cause", "string", "finding", "complaint cause (negative feedback only)", uses=_AGG_FILTER_HOOK),
    _c("cause_confidence", "float", "finding", "confidence of the cause, 0..1"),
    _c("journey_stage", "string", "finding", "customer-journey stage", uses=_AGG_FILTER_HOOK),
    _c("journey_stage_source", "string", "finding", "where the stage came from: record, ticket or predicted"),
    _c("discovered_topic", "string", "finding", "topic of the discovered-topics model (--topic-model)"),
    _c("evidence", "string", "finding", "phrases that drove the labels (masked text)", is_list=True, pii="masked",
       uses=_AGG_HOOK),
    _c("call_duration_s", "float", "call", "call length, seconds"),
    _c("call_longest_pause_s", "float", "call", "longest silence in the call, seconds"),
    _c("call_silence_share", "float", "call", "share of the call where nobody speaks, 0..1"),
    _c("call_overlaps", "float", "call", "utterances started before the other side finished"),
    _c("call_talk_ratio_client", "float", "call", "client's share of the speaking time, 0..1"),
    _c("call_client_sentiment_start", "float", "call", "client sentiment at the start of the call, -1..1"),
    _c("call_client_sentiment_end", "float", "call", "client sentiment at the end of the call, -1..1"),
    _c("pii_masked", "int", "finding", "spans of personal data masked in the text", uses=()),
    _c("link_method", "string", "ticket", "how the ticket was found: ticket_id or customer_window"),
    _c("ticket_category", "string", "ticket", "the ticket's category", pii="masked"),
    _c("ticket_created_at", "timestamp", "ticket", "when the ticket was opened (UTC)"),
    _c("sla_breached", "bool", "ticket", "the ticket broke its SLA"),
    _c("reopen_count", "float", "ticket", "times the ticket was reopened"),
    _c("ticket_csat", "float", "ticket", "CSAT of the ticket"),
    _c("repeat_contact", "bool", "contact", "the customer got in touch again within the repeat window"),
    _c("fcr", "bool", "contact", "first-contact resolution: ticket never reopened, no repeat on a shared topic "
                                 "(linked records only)"),
)

BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}


def names(*, groups: Iterable[Group] | None = None, use: Use | None = None) -> tuple[str, ...]:
    """Column names in output order, optionally only of some groups or read by one consumer."""
    wanted = set(groups) if groups is not None else None
    return tuple(c.name for c in COLUMNS
                 if (wanted is None or c.group in wanted) and (use is None or use in c.uses))


#: Columns of every run, in output order (``repeat_contact`` follows them, and the ticket columns with tickets).
FINDING_COLUMNS: tuple[str, ...] = names(groups=("input", "finding", "call"))
#: Columns added by voc.link when a ticket export is given, then the contact metrics.
TICKET_COLUMNS: tuple[str, ...] = names(groups=("ticket", "contact"))
#: The ticket-link columns alone (filled from :class:`voc.schema.TicketLink`).
LINK_COLUMNS: tuple[str, ...] = names(groups=("ticket",))
#: Call-timing columns.
CALL_COLUMNS: tuple[str, ...] = names(groups=("call",))
#: List-valued columns (Python lists in the frame, "a|b" in CSV).
LIST_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.is_list)
#: Columns the aggregates read (voc.batch loads only these, plus the segment columns).
AGGREGATE_COLUMNS: tuple[str, ...] = names(use="aggregate")
#: Columns a drill-down filter reads.
FILTER_COLUMNS: tuple[str, ...] = names(use="filter")
#: Columns of the feedback.negative webhook payload (voc_api.events.negative_from_row).
WEBHOOK_COLUMNS: tuple[str, ...] = names(use="webhook")
#: Arrow type of each column voc adds; input columns are strings.
ARROW_TYPES: dict[str, pa.DataType] = {c.name: c.arrow_type for c in COLUMNS}


def arrow_schema(columns: Sequence[str]) -> pa.Schema:
    """The Parquet schema of an enriched table with these columns (undeclared ones are input strings)."""
    return pa.schema([pa.field(str(c), ARROW_TYPES.get(str(c), pa.string())) for c in columns])


# -- building the table ------------------------------------------------------------------------------------------
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


def link_row(link: TicketLink | None) -> dict[str, Any]:
    """The ticket-link columns of one record (all None when it is not linked)."""
    if link is None:
        return dict.fromkeys(LINK_COLUMNS)
    return {"link_method": link.method, "ticket_category": link.category, "ticket_created_at": link.created_at,
            "sla_breached": link.sla_breached, "reopen_count": link.reopen_count, "ticket_csat": link.csat}


def link_frame(links: Sequence[TicketLink | None]) -> pd.DataFrame:
    """The ticket-link columns of a chunk, typed as declared (timestamps UTC, nullable booleans, floats)."""
    frame = pd.DataFrame([link_row(link) for link in links], columns=list(LINK_COLUMNS))
    for name in LINK_COLUMNS:
        kind = BY_NAME[name].kind
        if kind == "timestamp":
            frame[name] = pd.to_datetime(frame[name], utc=True, errors="coerce")
        elif kind == "bool":
            frame[name] = frame[name].astype("boolean")
        elif kind in ("float", "int"):
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    return frame


def to_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with list columns pipe-joined, for CSV output."""
    out = frame.copy()
    for col in LIST_COLUMNS:
        if col in out.columns:
            out[col] = out[col].map(lambda v: "|".join(map(str, v)) if isinstance(v, list | tuple) else v)
    return out


# -- the API's results row ---------------------------------------------------------------------------------------
class _PresentFields(BaseModel):
    """Base of the results-row model: input columns pass as extra fields; only the columns a row has are
    serialised (a run without tickets has no ticket columns, and a row never gains null keys)."""

    model_config = ConfigDict(extra="allow")

    @model_serializer(mode="wrap")
    # unannotated return on purpose: pydantic would take it as the serialisation schema (no properties)
    def _present(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]  # noqa: ANN202
        data = handler(self)
        present = self.model_fields_set | set(self.model_extra or {})
        return {k: v for k, v in data.items() if k in present}


def row_model(name: str = "EnrichedRow") -> type[BaseModel]:
    """A pydantic model of one JSON results row: every declared column (optional, typed, described), input
    columns as extra string fields."""
    fields: dict[str, Any] = {}
    for c in COLUMNS:
        note = f" [{c.group}{'; ' + c.pii if c.pii else ''}]"
        fields[c.name] = (c.python_type, Field(None, description=c.description + note))
    return create_model(name, __base__=_PresentFields, __doc__="One row of the enriched table (voc.enriched); "
                        "input columns follow as extra string fields.", **fields)


# -- docs ----------------------------------------------------------------------------------------------------------
def markdown_table() -> str:
    """The column table of docs/outputs.md."""
    lines = ["| column | type | group | personal data | description |", "|---|---|---|---|---|"]
    for c in COLUMNS:
        typ = f"list of {c.kind}" if c.is_list else c.kind
        lines.append(f"| `{c.name}` | {typ} | {c.group} | {c.pii or ''} | {c.description} |")
    return "\n".join(lines) + "\n"


def _main(argv: Sequence[str]) -> int:
    if list(argv) != ["--markdown"]:
        print("usage: python -m voc.enriched --markdown", file=sys.stderr)
        return 2
    sys.stdout.write(markdown_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
