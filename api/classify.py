"""``POST /v1/classify``: online classification of 1..256 texts, with Idempotency-Key replay."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from api.audit import audit_async
from api.auth import get_state, require
from api.db import IdempotencyRecord, utcnow
from api.events import negative_from_result
from api.keys import Principal
from api.microbatch import QueueFull
from api.problems import ProblemError, errors_from_validation
from api.schemas import ClassifyItem, ClassifyRequest, ClassifyResponse, ItemResult
from api.state import ServiceState
from voc.ingest.errors import IngestError
from voc.ingest.safety import check_depth
from voc.schema import Feedback, Findings

router = APIRouter(tags=["classify"])

_BODY_SCHEMA = TypeAdapter(ClassifyRequest | ClassifyItem).json_schema(ref_template="#/components/schemas/{model}")
_OPENAPI_EXTRA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [
            {"$ref": "#/components/schemas/ClassifyRequest"}, {"$ref": "#/components/schemas/ClassifyItem"}]},
            "examples": {
                "one": {"summary": "один отзыв", "value": {"text": "Курьер опоздал на три часа, поддержка молчит.",
                                                           "channel": "review", "ticket_id": "T-1042"}},
                "many": {"summary": "несколько", "value": {"items": [
                    {"text": "Спасибо, всё пришло вовремя!", "channel": "survey"},
                    {"text": "Деньги списали дважды, верните.", "channel": "chat", "customer_id": "C-77"}]}},
            }}},
    },
    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                    "schema": {"type": "string", "maxLength": 200},
                    "description": "same key + same body → the stored response; different body → 422"}],
}


def parse_body(raw: bytes, max_items: int) -> tuple[list[ClassifyItem], bool, str]:
    """Validate a classify body; returns the items, whether it was a single object, and a body hash."""
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
        canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        raise ProblemError(422, "body holds a lone surrogate escape", [(["body"], "expected valid Unicode text")]) from None
    if not isinstance(data, dict):
        raise ProblemError(422, "body must be an object: {\"items\": [...]} or one item {\"text\": ...}",
                           [(["body"], f"expected an object, got {type(data).__name__}")])
    single = "items" not in data
    try:
        items = [ClassifyItem.model_validate(data)] if single else ClassifyRequest.model_validate(data).items
    except ValidationError as exc:
        errs = errors_from_validation(exc.errors(), ("body",))
        head = "; ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in errs[:3])
        raise ProblemError(422, head, [(e["loc"], e["msg"]) for e in errs]) from None
    if len(items) > max_items:
        raise ProblemError(422, f"too many items: {len(items)}; at most {max_items} per call",
                           [(["body", "items"], f"expected 1..{max_items} items")])
    return items, single, hashlib.sha256(canonical).hexdigest()


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


def result_dict(rec: Feedback, f: Findings, took_ms: float) -> dict[str, Any]:
    return ItemResult.of(rec, f, took_ms).model_dump(mode="json")


def _idempotent_lookup(state: ServiceState, key_id: str, idem_key: str, body_hash: str) -> JSONResponse | None:
    with state.sessions() as s:
        rec = s.get(IdempotencyRecord, (key_id, idem_key))
    if rec is None:
        return None
    if rec.body_hash != body_hash:
        raise ProblemError(422, "Idempotency-Key was already used with a different body",
                           [(["header", "Idempotency-Key"], "expected a new key for a different request body")],
                           kind="idempotency-key-reuse")
    return JSONResponse(json.loads(rec.response), status_code=rec.status_code,
                        headers={"Idempotent-Replayed": "true"})


def _idempotent_store(state: ServiceState, key_id: str, idem_key: str, body_hash: str, body: dict) -> None:
    try:
        with state.sessions.begin() as s:
            s.add(IdempotencyRecord(key_id=key_id, idem_key=idem_key, body_hash=body_hash, status_code=200,
                                    response=json.dumps(body, ensure_ascii=False), created_at=utcnow()))
    except IntegrityError:  # a concurrent request with the same key stored first; its answer stands
        pass


@router.post("/v1/classify", summary="Classify feedback texts", openapi_extra=_OPENAPI_EXTRA,
             responses={200: {"model": ClassifyResponse | ItemResult,
                              "description": "one ItemResult for a single item; ClassifyResponse for items"}})
async def classify(request: Request, principal: Principal = Depends(require("service"))) -> JSONResponse:
    t0 = time.perf_counter()
    state: ServiceState = get_state(request)
    if state.pipeline is None or state.batcher is None:
        raise ProblemError(503, "models are not loaded yet; see /readyz", headers={"Retry-After": "5"})
    items, single, body_hash = parse_body(await request.body(), state.settings.max_items)
    idem_key = request.headers.get("idempotency-key")
    if idem_key is not None:
        if not 1 <= len(idem_key) <= 200:
            raise ProblemError(422, "Idempotency-Key must be 1..200 characters",
                               [(["header", "Idempotency-Key"], "expected 1..200 characters")])
        replay = await run_in_threadpool(_idempotent_lookup, state, principal.key_id, idem_key, body_hash)
        if replay is not None:
            return replay
    records = to_records(items)
    audit_async(request, "classify", f"items:{len(records)}")
    t_infer = time.perf_counter()
    try:
        redacted, findings = await state.batcher.submit(records)
    except QueueFull:
        raise ProblemError(503, "too many texts are waiting for analysis; retry in a moment",
                           headers={"Retry-After": "1"}, kind="overloaded") from None
    state.metrics.inference_seconds.observe(time.perf_counter() - t_infer)
    state.metrics.classified_items.inc(len(records))
    took_ms = round((time.perf_counter() - t0) * 1000, 2)
    results = [result_dict(r, f, took_ms) for r, f in zip(redacted, findings, strict=True)]
    body: dict[str, Any] = results[0] if single else {
        "items": results, "model_versions": findings[0].model_versions if findings else {}, "took_ms": took_ms}
    if idem_key is not None:
        await state.run_inference(lambda: _idempotent_store(state, principal.key_id, idem_key, body_hash, body))
    if state.dispatcher is not None:
        for res in results:
            if res["sentiment"] == "negative" and res["sentiment_score"] is not None:
                state.dispatcher.submit("feedback.negative", negative_from_result(res), res["sentiment_score"])
    return JSONResponse(body)
