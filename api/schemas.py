"""Request and response models of the HTTP API (the OpenAPI document is generated from these)."""

from __future__ import annotations

import json
import typing
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    create_model,
    field_validator,
)

from voc import enriched
from voc.schema import MAX_TEXT_CHARS, Channel, Feedback, Findings

EXAMPLE_TEXT = "Курьер опоздал на три часа, а в поддержке никто не отвечает. Очень недоволен."


def _encodable(value: Any) -> Any:
    """``value`` when it is valid Unicode: JSON may carry lone surrogate escapes (``"\\ud800"``) that no
    UTF-8 response, database or log line can hold."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("holds a lone surrogate escape; expected valid Unicode text") from None
    return value


#: a string (or JSON value) that is valid Unicode text
UnicodeStr = Annotated[str, AfterValidator(_encodable)]


class ClassifyItem(BaseModel):
    """One piece of feedback to classify."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": EXAMPLE_TEXT, "channel": "review", "ticket_id": "T-1042",
                                         "customer_id": "C-77", "metadata": {"city": "Казань"}}]},
    )

    text: UnicodeStr = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="the feedback text (Russian)")
    channel: Channel = Field(Channel.review, description="review | survey | chat | call | email | social")
    id: UnicodeStr | None = Field(None, max_length=200, description="your id of the record; generated when absent")
    ticket_id: UnicodeStr | None = Field(None, max_length=200)
    customer_id: UnicodeStr | None = Field(None, max_length=200)
    journey_stage: UnicodeStr | None = Field(None, max_length=200, description="known stage, e.g. 'доставка'")
    metadata: Annotated[dict[str, Any], AfterValidator(_encodable)] = Field(
        default_factory=dict, description="kept as is; not analysed")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank; expected 1..20000 characters of feedback")
        return value


class ClassifyBatch(BaseModel):
    """Up to 256 items in one call."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"items": [{"text": EXAMPLE_TEXT, "channel": "review"},
                                                   {"text": "Спасибо, всё пришло вовремя!", "channel": "survey"}]}]},
    )

    items: list[ClassifyItem] = Field(min_length=1, max_length=256)


#: the tags of the classify body union; they name the branch in pydantic's error locations and are dropped
#: from the problem document's ``loc`` (``body.items.0.text``, not ``body.many.items.0.text``)
BODY_TAGS = frozenset({"one", "many"})
BODY_SHAPE_ERROR = ('body must be a JSON object sent as application/json: {"items": [...]} or one item '
                    '{"text": ...}')


def _body_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "many" if "items" in value else "one"
    return None


#: the body of ``POST /v1/classify``: one item, or ``{"items": [...]}``; an object with ``items`` is a batch
ClassifyBody = Annotated[
    Annotated[ClassifyItem, Tag("one")] | Annotated[ClassifyBatch, Tag("many")],
    Discriminator(_body_kind, custom_error_type="body_shape", custom_error_message=BODY_SHAPE_ERROR),
]


#: Findings fields /v1/classify does not return (the id is the record's; sentences, discovered topics and call
#: metrics are batch-only)
_NOT_RETURNED = frozenset({"feedback_id", "sentences", "discovered_topic", "call_metrics"})
_ITEM_EXAMPLE: dict[str, Any] = {
    "id": "b1c2", "ticket_id": "T-1042", "customer_id": "C-77", "channel": "review",
    "sentiment": "negative", "sentiment_score": -0.82, "sentiment_confidence": 0.91,
    "emotions": [{"name": "раздражение/гнев", "confidence": 0.77}],
    "topics": [{"name": "доставка", "confidence": 0.9, "sentiment": "negative", "sentiment_score": -0.8,
                "source": "taxonomy"}],
    "cause": {"name": "ошибка процесса", "confidence": 0.64},
    "journey_stage": "доставка", "journey_stage_source": "predicted", "journey_stage_confidence": 0.81,
    "evidence": [{"label": "sentiment:negative", "text": "Курьер опоздал на три часа", "start": 0, "end": 26}],
    "pii_masked": {}, "model_versions": {"sentiment": "sentiment-tfidf@2026.01"}, "took_ms": 7.4}


def _item_fields() -> dict[str, Any]:
    """ItemResult's fields: the record's fields a ClassifyItem carries (typed as voc.schema.Feedback, described
    as the enriched table declares them in voc.enriched), then voc.schema.Findings' own fields."""
    fields: dict[str, Any] = {}
    for col in enriched.COLUMNS:
        if col.group == "input" and col.name in ClassifyItem.model_fields:
            typ = Feedback.model_fields[col.name].annotation
            optional = type(None) in typing.get_args(typ)
            fields[col.name] = (typ, Field(None if optional else ..., description=col.description))
    for name, info in Findings.model_fields.items():
        if name not in _NOT_RETURNED:
            fields[name] = (info.annotation, info)
    fields["took_ms"] = (float, Field(description="server time for the whole request, ms"))
    return fields


class _ItemBase(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ITEM_EXAMPLE]})

    @classmethod
    def of(cls, rec: Feedback, findings: Findings, took_ms: float) -> Self:
        """The result of one classified record."""
        values = {name: getattr(rec, name) for name in cls.model_fields if name in Feedback.model_fields}
        values.update({name: getattr(findings, name) for name in cls.model_fields if name in Findings.model_fields})
        return cls.model_validate({**values, "took_ms": took_ms})


ItemResult = create_model("ItemResult", __base__=_ItemBase, __doc__="What the analyzers found in one item.",
                          **_item_fields())


class ClassifyResponse(BaseModel):
    """The answer to ``{"items": [...]}``: one result per item, in order."""

    items: list[ItemResult]  # type: ignore[valid-type]
    model_versions: dict[str, str]
    took_ms: float


#: the answer of ``POST /v1/classify``: an ItemResult for one item, a ClassifyResponse for ``items``
ClassifyResult = ItemResult | ClassifyResponse


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    models_loaded: bool
    database: bool
    error: str | None = Field(None, description="why the models did not load (file names only)")


class BatchCreated(BaseModel):
    id: str
    state: str = Field(examples=["queued"])


class BatchStatus(BaseModel):
    id: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: float = Field(description="percent, 0..100: rows read / rows in the file scaled to 95, then 97 while "
                                        "the heatmaps and the report are built, 100 when done")
    phase: Literal["queued", "starting", "analysing", "summarising", "done", "failed", "cancelled"] = Field(
        "queued", description="what the batch is doing now (starting: the worker loads its models)")
    input_name: str
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    rows_total: int | None
    rows_in: int
    rows_out: int
    rows_rejected: int
    records: int
    chunks_done: int
    attempts: int
    cancel_requested: bool
    first_errors: list[dict[str, Any]] = Field(description="up to 20 rejected rows: file, row, field, reason")
    error: str | None
    links: dict[str, str]


#: One row of a batch's enriched table as JSON, generated from the declaration in voc.enriched.
EnrichedRow = enriched.row_model("EnrichedRow")


class ResultsPage(BaseModel):
    """A page of enriched rows (``view=full``)."""

    page: int
    page_size: int
    total: int
    items: list[EnrichedRow]  # type: ignore[valid-type]


class RowsPage(BaseModel):
    """A page of other rows: the drill-down's compact rows, rejected rows."""

    page: int
    page_size: int
    total: int
    items: list[dict[str, Any]]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"url": "https://helpdesk.example.ru/hooks/voc", "events": ["feedback.negative", "batch.finished"],
         "negative_threshold": -0.5}]})

    url: UnicodeStr = Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s]+$")
    events: list[Literal["feedback.negative", "topic.spike", "batch.finished"]] = Field(min_length=1, max_length=3)
    negative_threshold: float | None = Field(None, ge=-1, le=1, description="feedback.negative fires at score ≤ this")
    secret: UnicodeStr | None = Field(None, min_length=16, max_length=128, description="generated when absent")


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    negative_threshold: float
    created_at: str | None
    active: bool
    secret: str | None = Field(None, description="shown only in the create response")


class DeliveryAttemptOut(BaseModel):
    attempt: int
    at: str | None
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryOut(BaseModel):
    id: str
    event: str
    state: str
    attempts: int
    created_at: str | None
    next_attempt_at: str | None
    last_status: int | None
    payload: dict[str, Any]
    attempt_log: list[DeliveryAttemptOut]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["service", "analyst", "admin"]
    name: UnicodeStr = Field("", max_length=200)


class KeyOut(BaseModel):
    id: str
    name: str
    role: str
    created_at: str | None
    revoked_at: str | None
    key: str | None = Field(None, description="the token; shown only in the create response")


class AuditOut(BaseModel):
    id: int
    at: str | None
    key_id: str | None
    role: str | None
    action: str
    resource: str
    client: str | None


class ModelsOut(BaseModel):
    components: dict[str, str]
    stages: list[str]
