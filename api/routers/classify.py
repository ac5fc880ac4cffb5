"""``POST /v1/classify``: online classification of 1..256 texts, with Idempotency-Key replay."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Response
from starlette.concurrency import run_in_threadpool

from voc_api.audit import AuditDep
from voc_api.auth import ServiceKey
from voc_api.classify import body_hash, idempotent_lookup, idempotent_store, item_result, items_of, to_records
from voc_api.deps import StateDep
from voc_api.events import negative_from_result
from voc_api.microbatch import QueueFull
from voc_api.problems import ProblemError
from voc_api.schemas import ClassifyBody, ClassifyResponse, ItemResult

router = APIRouter(tags=["classify"])

EXAMPLES: dict[str, Any] = {
    "one": {"summary": "один отзыв", "value": {"text": "Курьер опоздал на три часа, поддержка молчит.",
                                               "channel": "review", "ticket_id": "T-1042"}},
    "many": {"summary": "несколько", "value": {"items": [
        {"text": "Спасибо, всё пришло вовремя!", "channel": "survey"},
        {"text": "Деньги списали дважды, верните.", "channel": "chat", "customer_id": "C-77"}]}},
}


@router.post("/v1/classify", summary="Classify feedback texts", response_model=ItemResult | ClassifyResponse,
             responses={200: {"description": "one ItemResult for a single item; ClassifyResponse for items"},
                        503: {"description": "models not loaded yet, or too many texts waiting (Retry-After)"}})
async def classify(
    body: Annotated[ClassifyBody, Body(openapi_examples=EXAMPLES)],
    principal: ServiceKey,
    state: StateDep,
    audit: AuditDep,
    response: Response,
    idem_key: Annotated[str | None, Header(
        alias="Idempotency-Key", min_length=1, max_length=200,
        description="same key + same body → the stored response; different body → 422")] = None,
) -> ItemResult | ClassifyResponse:
    """One item (`{"text": …}`) gives one ItemResult; `{"items": [...]}` gives a ClassifyResponse."""
    t0 = time.perf_counter()
    if state.pipeline is None or state.batcher is None:
        raise ProblemError(503, "models are not loaded yet; see /readyz", headers={"Retry-After": "5"})
    items, single = items_of(body, state.settings.max_items)
    digest = body_hash(body) if idem_key is not None else ""
    if idem_key is not None:
        replay = await run_in_threadpool(idempotent_lookup, state.sessions, principal.key_id, idem_key, digest)
        if replay is not None:
            response.headers["Idempotent-Replayed"] = "true"
            return replay
    records = to_records(items)
    audit.queue("classify", f"items:{len(records)}")
    t_infer = time.perf_counter()
    try:
        redacted, findings = await state.batcher.submit(records)
    except QueueFull:
        raise ProblemError(503, "too many texts are waiting for analysis; retry in a moment",
                           headers={"Retry-After": "1"}, kind="overloaded") from None
    state.metrics.inference_seconds.observe(time.perf_counter() - t_infer)
    state.metrics.classified_items.inc(len(records))
    took_ms = round((time.perf_counter() - t0) * 1000, 2)
    results = [item_result(r, f, took_ms) for r, f in zip(redacted, findings, strict=True)]
    answer: ItemResult | ClassifyResponse = results[0] if single else ClassifyResponse(
        items=results, model_versions=findings[0].model_versions if findings else {}, took_ms=took_ms)
    if idem_key is not None:
        await state.run_inference(lambda: idempotent_store(state.sessions, principal.key_id, idem_key, digest, answer))
    if state.dispatcher is not None:
        for res, found in zip(results, findings, strict=True):
            if found.sentiment != "negative" or found.sentiment_score is None:  # dump only what is sent
                continue
            row = res.model_dump(mode="json")
            state.dispatcher.submit("feedback.negative", negative_from_result(row), row["sentiment_score"])
    return answer
