"""ASGI middleware: request size limits (413 problem), UTF-8 and the JSON nesting limit (422 problems) checked
on the raw bytes before FastAPI parses a body, a problem+json 500
for any unexpected error (the connection stays usable), one JSON log line and latency metric per request."""

from __future__ import annotations

import json
import logging
import time
import traceback
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voc_api.jsondepth import too_deep
from voc_api.problems import problem_response
from voc_api.settings import Settings

log = logging.getLogger("voc.api.access")
#: bodies at least this large are checked for nesting on a worker thread
OFFLOAD_BYTES = 64 * 1024


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body is larger than the limit of {limit} bytes")


def body_limit(settings: Settings, content_type: str) -> int:
    if content_type.startswith("multipart/form-data"):
        return int(settings.max_upload_mb * 1024 * 1024)
    return int(settings.max_request_kb * 1024)


class ServiceMiddleware:
    """Enforces body limits and the JSON nesting limit, turns any unexpected error into a problem+json 500,
    then logs and times the request (no texts, no keys — only the key id)."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Any):
        self.app = app
        self.settings = settings
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        limit = body_limit(self.settings, headers.get("content-type", ""))
        status = {"code": 500}

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            declared = int(headers.get("content-length", "0") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            response = problem_response(None, 413, f"request body is {declared} bytes; the limit is {limit} bytes",
                                        [{"loc": ["header", "Content-Length"], "msg": f"expected at most {limit} bytes"}],
                                        instance=scope.get("path", ""))
            await response(scope, receive, send_wrapped)
        else:
            await self._guarded(scope, receive, send_wrapped, limit, headers.get("content-type", ""), status)
        elapsed = time.perf_counter() - t0
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        self.metrics.request_seconds.labels(template, scope.get("method", ""), str(status["code"])).observe(elapsed)
        if not log.isEnabledFor(logging.INFO):
            return
        principal = (scope.get("state") or {}).get("principal")
        client = scope.get("client")
        log.info(json.dumps({
            "event": "request", "method": scope.get("method"), "route": template, "status": status["code"],
            "latency_ms": round(elapsed * 1000, 2), "key_id": getattr(principal, "key_id", None),
            "client": client[0] if client else None,
        }))

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, limit: int, content_type: str,
                       status: dict[str, int]) -> None:
        started = {"yes": False}

        async def send_tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                started["yes"] = True
            await send(message)

        try:
            if content_type.startswith("multipart/form-data"):
                await self.app(scope, _limited(receive, limit), send_tracked)
                return
            body = await _read_body(receive, limit)
            if _is_json(content_type) and not _utf8(body):
                response = problem_response(None, 422, "body is not UTF-8",
                                            [{"loc": ["body"], "msg": "expected UTF-8 encoded JSON"}],
                                            instance=scope.get("path", ""))
                await response(scope, receive, send_tracked)
                return
            path = await _nesting_problem(body, self.settings.max_json_depth)
            if path is not None:
                where = ".".join(map(str, ["body", *path]))
                response = problem_response(
                    None, 422, f"{where}: JSON nested deeper than {self.settings.max_json_depth} levels",
                    [{"loc": ["body", *path], "msg": f"expected at most {self.settings.max_json_depth} levels of "
                                                     "nested objects/arrays"}],
                    kind="json-too-deep", instance=scope.get("path", ""))
                await response(scope, receive, send_tracked)
                return
            await self.app(scope, _replay(body, receive), send_tracked)
        except BodyTooLarge:
            if started["yes"]:
                raise
            response = problem_response(None, 413, f"request body is larger than the limit of {limit} bytes",
                                        [{"loc": ["body"], "msg": f"expected at most {limit} bytes"}],
                                        instance=scope.get("path", ""))
            await response(scope, receive, send_tracked)
        except Exception as exc:  # noqa: BLE001 - answer 500 as a problem and keep the connection
            last = traceback.extract_tb(exc.__traceback__)[-1:]  # where, never the message (it may hold input)
            log.error(json.dumps({"event": "unhandled_error", "route": scope.get("path", ""),
                                  "error": type(exc).__name__,
                                  "at": f"{last[0].filename}:{last[0].lineno}" if last else None}))
            if started["yes"]:  # too late for a problem document; the server closes this response
                raise
            status["code"] = 500
            response = problem_response(None, 500, "internal error; the incident was logged without request data",
                                        instance=scope.get("path", ""))
            await response(scope, receive, send_tracked)


def _is_json(content_type: str) -> bool:
    """Whether FastAPI reads this body as JSON (no content type, ``application/json`` or ``…+json``)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return not media or media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _limited(receive: Receive, limit: int) -> Receive:
    seen = {"n": 0}

    async def receive_limited() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            seen["n"] += len(message.get("body", b""))
            if seen["n"] > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_limited


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body (JSON bodies are small: ``max_request_kb``)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = {"done": False}

    async def replay() -> Message:
        if not sent["done"]:
            sent["done"] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect, when it comes

    return replay


async def _nesting_problem(body: bytes, limit: int) -> list[str | int] | None:
    if len(body) < OFFLOAD_BYTES:
        return too_deep(body, limit)
    return await run_in_threadpool(too_deep, body, limit)  # ~30 ms per MB: off the event loop
