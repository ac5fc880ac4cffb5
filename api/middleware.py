"""ASGI middleware: request size limits (413 problem), one JSON log line and latency metric per request."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from api.settings import Settings

log = logging.getLogger("voc.api.access")


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body is larger than the limit of {limit} bytes")


def body_limit(settings: Settings, content_type: str) -> int:
    if content_type.startswith("multipart/form-data"):
        return int(settings.max_upload_mb * 1024 * 1024)
    return int(settings.max_request_kb * 1024)


class ServiceMiddleware:
    """Enforces body limits, then logs and times the request (no texts, no keys — only the key id)."""

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
            seen = {"n": 0}

            async def receive_limited() -> Message:
                message = await receive()
                if message["type"] == "http.request":
                    seen["n"] += len(message.get("body", b""))
                    if seen["n"] > limit:
                        raise BodyTooLarge(limit)
                return message

            await self.app(scope, receive_limited, send_wrapped)
        elapsed = time.perf_counter() - t0
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        self.metrics.request_seconds.labels(template, scope.get("method", ""), str(status["code"])).observe(elapsed)
        principal = (scope.get("state") or {}).get("principal")
        client = scope.get("client")
        log.info(json.dumps({
            "event": "request", "method": scope.get("method"), "route": template, "status": status["code"],
            "latency_ms": round(elapsed * 1000, 2), "key_id": getattr(principal, "key_id", None),
            "client": client[0] if client else None,
        }))
