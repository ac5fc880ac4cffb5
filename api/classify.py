"""``POST /v1/classify`` work: the items of a typed body, records for the pipeline, results, and the
Idempotency-Key store. The route itself is :mod:`voc_api.routers.classify`."""

from __future__ import annotations

import hashlib
import json
import uuid

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from voc.ingest.errors import IngestError
from voc.ingest.safety import check_depth
from voc.schema import Feedback, Findings
from voc_api.db import IdempotencyRecord, utcnow
from voc_api.problems import ProblemError, errors_from_validation
from voc_api.schemas import (
    ClassifyBatch,
    ClassifyBody,
    ClassifyItem,
    ClassifyResponse,
    ClassifyResult,
    ItemResult,
)

BODY = TypeAdapter(ClassifyBody)
RESULT = TypeAdapter(ClassifyResult)


def items_of(body: ClassifyItem | ClassifyBatch, max_items: int) -> tuple[list[ClassifyItem], bool]:
    """The items of a validated body and whether it was a single item; a 422 beyond ``max_items``."""
    if isinstance(body, ClassifyItem):
        return [body], True
    if len(body.items) > max_items:
        raise ProblemError(422, f"too many items: {len(body.items)}; at most {max_items} per call",
                           [(["body", "items"], f"expected 1..{max_items} items")])
    return body.items, False


def body_hash(body: ClassifyItem | ClassifyBatch) -> str:
    """SHA-256 of the body as sent (fields given, keys sorted): equal bodies → equal hashes (Idempotency-Key)."""
    data = body.model_dump(mode="json", exclude_unset=True)
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def parse_body(raw: bytes, max_items: int) -> tuple[list[ClassifyItem], bool, str]:
    """Validate a raw classify body outside a request, with the guards the service runs before FastAPI
    parses one (nesting, UTF-8) and the same model; returns the items, whether it was a single object, and
    the body hash. Every problem is a 422 :class:`ProblemError` naming the field."""
    try:
        check_depth(raw, where="body")
    except IngestError as exc:
        raise ProblemError(422, str(exc), [(["body"], "JSON nested too deeply (metadata included)")]) from None
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise ProblemError(422, "body is not UTF-8", [(["body"], "expected UTF-8 encoded JSON")]) from None
    except ValueError as exc:
        raise ProblemError(422, f"body is not valid JSON: {exc}", [(["body"], "expected a JSON object")]) from None
    except RecursionError:  # the middleware caps nesting first; this is the last line
        raise ProblemError(422, "body is nested too deeply", [(["body"], "expected a shallower JSON object")]) from None
    try:
        body = BODY.validate_python(data)
    except ValidationError as exc:
        errs = errors_from_validation(exc.errors(), ("body",))
        head = "; ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in errs[:3])
        raise ProblemError(422, head, [(e["loc"], e["msg"]) for e in errs]) from None
    items, single = items_of(body, max_items)
    return items, single, body_hash(body)


def to_records(items: list[ClassifyItem]) -> list[Feedback]:
    out = []
    for i, it in enumerate(items):
        try:
            out.append(Feedback(id=it.id or uuid.uuid4().hex[:16], text=it.text, channel=it.channel,
                                ticket_id=it.ticket_id, customer_id=it.customer_id, journey_stage=it.journey_stage,
                                metadata=it.metadata))
        except ValidationError as exc:
            errs = errors_from_validation(exc.errors(), ("body", "items", i))
            raise ProblemError(422, errs[0]["msg"], [(e["loc"], e["msg"]) for e in errs]) from None
    return out


def item_result(rec: Feedback, f: Findings, took_ms: float) -> ItemResult:
    return ItemResult.of(rec, f, took_ms)


def idempotent_lookup(sessions: sessionmaker, key_id: str, idem_key: str,
                      digest: str) -> ItemResult | ClassifyResponse | None:
    """The stored answer of an earlier call with this key and body; a 422 when the body differs."""
    with sessions() as s:
        rec = s.get(IdempotencyRecord, (key_id, idem_key))
    if rec is None:
        return None
    if rec.body_hash != digest:
        raise ProblemError(422, "Idempotency-Key was already used with a different body",
                           [(["header", "Idempotency-Key"], "expected a new key for a different request body")],
                           kind="idempotency-key-reuse")
    return RESULT.validate_json(rec.response)


def idempotent_store(sessions: sessionmaker, key_id: str, idem_key: str, digest: str,
                     result: ItemResult | ClassifyResponse) -> None:
    try:
        with sessions.begin() as s:
            s.add(IdempotencyRecord(key_id=key_id, idem_key=idem_key, body_hash=digest, status_code=200,
                                    response=result.model_dump_json(), created_at=utcnow()))
    except IntegrityError:  # a concurrent request with the same key stored first; its answer stands
        pass
