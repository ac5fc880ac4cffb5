"""The one data model of voc: a feedback record, a ticket, a rejected row, and the findings on a record.

Every layer (ingest, analyzers, linking, aggregates, CLI, HTTP API) passes these types; nothing passes
raw dicts between layers. Russian domain values (journey stages, causes, topics) stay in Russian.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_TEXT_CHARS = 20_000


class Channel(StrEnum):
    """Where the feedback came from."""

    review = "review"
    survey = "survey"
    chat = "chat"
    call = "call"
    email = "email"
    social = "social"


class SpeakerRole(StrEnum):
    """Who speaks a dialog turn."""

    client = "client"
    operator = "operator"
    bot = "bot"


class DialogTurn(BaseModel):
    """One message of a chat or one utterance of a call transcript."""

    model_config = ConfigDict(frozen=True)

    speaker: SpeakerRole
    text: str
    start: float | None = Field(None, description="seconds from the start of the call/chat")
    end: float | None = Field(None, description="seconds from the start of the call/chat")


class Scores(BaseModel):
    """Survey scores attached to a record, when known."""

    rating: float | None = Field(None, description="star rating, usually 1..5")
    nps: float | None = Field(None, ge=0, le=10, description="likelihood to recommend, 0..10")
    csat: float | None = Field(None, description="customer satisfaction, usually 1..5")
    ces: float | None = Field(None, description="customer effort score, usually 1..7")


class CallMetrics(BaseModel):
    """Timing metrics of one call, computed from the transcript's timestamps."""

    duration_s: float
    longest_pause_s: float
    silence_share: float = Field(description="share of the call where nobody speaks, 0..1")
    talk_ratio: dict[str, float] = Field(default_factory=dict, description="speaking-time share per role")
    overlaps: int = Field(0, description="number of utterances that start before the other side finished")
    interruptions: dict[str, int] = Field(default_factory=dict, description="overlaps started, per role")
    client_sentiment_start: float | None = None
    client_sentiment_end: float | None = None


class TicketLink(BaseModel):
    """The ticket a feedback record was linked to (voc.link), how it was found and what the enriched table
    shows of it (the ticket-link columns of voc.enriched)."""

    model_config = ConfigDict(frozen=True)

    method: Literal["ticket_id", "customer_window"] = Field(
        description="ticket_id: the record names the ticket; customer_window: the same customer's nearest ticket")
    ticket_id: str
    category: str | None = None
    created_at: datetime | None = None
    sla_breached: bool | None = None
    reopen_count: int | None = None
    csat: float | None = None


class Feedback(BaseModel):
    """One piece of customer feedback: a review, a survey answer, a chat, a call, an e-mail or a post."""

    model_config = ConfigDict(extra="forbid")

    id: str
    text: str = Field(description="full text; for chats/calls the client and operator turns joined")
    channel: Channel = Channel.review
    created_at: datetime | None = None
    customer_id: str | None = None
    ticket_id: str | None = None
    journey_stage: str | None = None
    touchpoint: str | None = None
    scores: Scores = Field(default_factory=Scores)
    turns: list[DialogTurn] = Field(default_factory=list)
    call_metrics: CallMetrics | None = None
    ticket: TicketLink | None = Field(None, description="the linked ticket (voc.link), when a ticket export is given")
    metadata: dict[str, Any] = Field(default_factory=dict)
    source_file: str | None = None
    source_row: int | None = Field(None, description="1-based data row in the source file")

    @field_validator("text")
    @classmethod
    def _text_not_empty(cls, value: str) -> str:
        if not value or not value.strip():
            raise ValueError("text is empty")
        if len(value) > MAX_TEXT_CHARS:
            raise ValueError(f"text is longer than {MAX_TEXT_CHARS} characters")
        return value

    def turn_spans(self) -> list[tuple[int, int] | None]:
        """Character span of each dialog turn inside ``text`` (searched in order); None where not found."""
        out: list[tuple[int, int] | None] = []
        cursor = 0
        for turn in self.turns:
            at = self.text.find(turn.text, cursor) if turn.text else -1
            if at == -1 and turn.text:
                at = self.text.find(turn.text)
            if at == -1:
                out.append(None)
            else:
                out.append((at, at + len(turn.text)))
                cursor = at + len(turn.text)
        return out

    def client_spans(self) -> list[tuple[int, int]] | None:
        """Spans of the client's turns inside ``text``; None when the record is no dialog with client turns."""
        spans = [span for turn, span in zip(self.turns, self.turn_spans(), strict=True)
                 if turn.speaker == SpeakerRole.client and span is not None]
        return spans or None

    def client_text(self) -> str:
        """The customer's own words: client turns for dialogs, else the whole text."""
        if self.turns:
            parts = [t.text for t in self.turns if t.speaker == SpeakerRole.client]
            if parts:
                return "\n".join(parts)
        return self.text


class Ticket(BaseModel):
    """One row of a ticket (обращение) export."""

    ticket_id: str
    customer_id: str | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    category: str | None = None
    channel: str | None = None
    sla_breached: bool | None = None
    reopen_count: int | None = None
    csat: float | None = None


class RejectedRow(BaseModel):
    """A row that could not be used, with the place and the reason. Written to errors.csv."""

    file: str = Field(description="the input file's name (no server folders once past the privacy gate)")
    row: int | None = Field(None, description="1-based data row (header not counted); None for whole-file errors")
    field: str | None = None
    reason: str
    value: str | None = Field(None, description="the offending value, PII-masked and cut to 200 chars by the "
                                                "privacy gate (raw, up to 1,000 chars, only inside ingest)")


class Evidence(BaseModel):
    """The words, phrase or sentence that drove a label, with character offsets into Feedback.text."""

    label: str = Field(description="what this evidence supports, e.g. 'sentiment:negative', 'topic:доставка'")
    text: str
    start: int | None = None
    end: int | None = None
    weight: float | None = None


class Label(BaseModel):
    """A label with its confidence in [0, 1]."""

    name: str
    confidence: float


class SentenceSentiment(BaseModel):
    """Sentiment of one sentence or one dialog turn."""

    text: str
    start: int | None = None
    end: int | None = None
    speaker: SpeakerRole | None = None
    sentiment: Literal["negative", "neutral", "positive"]
    score: float


class TopicMention(BaseModel):
    """A topic found in a record, with the sentiment of its mention (aspect sentiment)."""

    name: str
    confidence: float
    sentiment: Literal["negative", "neutral", "positive"] = "neutral"
    sentiment_score: float = 0.0
    source: Literal["taxonomy", "discovered", "model"] = "taxonomy"


JourneyStageSource = Literal["record", "ticket", "predicted"]


class Findings(BaseModel):
    """Everything the analyzers found in one Feedback record."""

    feedback_id: str
    sentiment: Literal["negative", "neutral", "positive"] | None = None
    sentiment_score: float | None = Field(None, description="-1 (very negative) .. 1 (very positive)")
    sentiment_confidence: float | None = None
    sentences: list[SentenceSentiment] = Field(default_factory=list)
    emotions: list[Label] = Field(default_factory=list)
    topics: list[TopicMention] = Field(default_factory=list)
    cause: Label | None = Field(None, description="complaint cause; set for negative feedback only")
    journey_stage: str | None = None
    journey_stage_source: JourneyStageSource | None = None
    journey_stage_confidence: float | None = None
    discovered_topic: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    call_metrics: CallMetrics | None = None
    pii_masked: dict[str, int] = Field(default_factory=dict)
    model_versions: dict[str, str] = Field(default_factory=dict)

    def emotion_names(self) -> list[str]:
        return [e.name for e in self.emotions]

    def topic_names(self) -> list[str]:
        return [t.name for t in self.topics]


class PrivacySummary(BaseModel):
    """What the privacy gate did in a run (summary.json ``summary.privacy``)."""

    redaction: bool = Field(True, description="texts and other strings masked (False with --no-redact)")
    name_engine: str | None = Field(None, description="person-name engine of the redactor; None: names not masked")
    keep_pii_columns: list[str] = Field(default_factory=list, description="PII columns the user asked to keep")
    dropped_pii_columns: dict[str, str] = Field(default_factory=dict, description="dropped column → PII kind")
    kept_pii_columns: dict[str, str] = Field(default_factory=dict, description="column kept raw → PII kind")
    pseudonymised: dict[str, int] = Field(default_factory=dict, description="values replaced by pseudonyms, per field")
    cells_masked: int = Field(0, description="distinct column/metadata values (per chunk) with something masked")
    pseudonym_key: str = Field("", description="where the pseudonym key came from: argument, env, file, generated")
    pseudonym_key_id: str = Field("", description="fingerprint of the pseudonym key (not the key)")


class RunSummary(BaseModel):
    """Counts and provenance of one analysis run (summary.json top part, report header)."""

    input_files: list[str] = Field(default_factory=list)
    input_encodings: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per text input file: codec, confidence, method, undecodable bytes")
    rows_in: int = Field(0, description="source rows read (messages for message-level chats, files for transcripts)")
    rows_out: int = Field(0, description="source rows that made it into analysed records")
    rows_rejected: int = 0
    records: int = Field(0, description="analysed feedback records (conversations count once)")
    rejected_by_reason: dict[str, int] = Field(default_factory=dict)
    pii_masked: dict[str, int] = Field(default_factory=dict, description="masked spans per kind")
    tickets_in: int = 0
    tickets_rejected: int = 0
    linked: dict[str, int] = Field(default_factory=dict, description="records linked per method")
    privacy: PrivacySummary = Field(default_factory=PrivacySummary)
    model_versions: dict[str, str] = Field(default_factory=dict)
    started_at: datetime | None = None
    seconds: float = 0.0
    voc_version: str = ""
