"""RFC 9457 problem details: every error the service returns is ``application/problem+json``."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from voc_api.responses import UTF8JSONResponse
from voc_api.schemas import BODY_TAGS

PROBLEM_TYPE_BASE = "https://voc.local/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("voc.api")

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
_TYPES = {401: "unauthorized", 403: "forbidden", 404: "not-found", 409: "conflict", 413: "too-large",
          415: "unsupported-media-type", 422: "validation", 503: "unavailable"}


class ErrorItem(BaseModel):
    loc: list[str | int] = Field(description="path to the field, e.g. ['body', 'items', 0, 'text']")
    msg: str = Field(description="what is wrong and what was expected")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(examples=[PROBLEM_TYPE_BASE + "validation"])
    title: str = Field(examples=["Unprocessable content"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["body.items.0.text: текст пустой (expected 1..20000 characters)"])
    instance: str = Field(examples=["/v1/classify"])
    errors: list[ErrorItem] = Field(default_factory=list)


class ProblemError(Exception):
    """Raise anywhere in a handler to answer with a problem document."""

    def __init__(self, status: int, detail: str, errors: Sequence[tuple[Sequence[str | int], str]] = (),
                 kind: str | None = None, headers: dict[str, str] | None = None,
                 extensions: dict[str, Any] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = [{"loc": list(loc), "msg": msg} for loc, msg in errors]
        self.kind = kind
        self.headers = headers
        self.extensions = extensions or {}


def problem_response(request: Request | None, status: int, detail: str, errors: list[dict[str, Any]] | None = None,
                     kind: str | None = None, headers: dict[str, str] | None = None,
                     instance: str | None = None, extensions: dict[str, Any] | None = None) -> JSONResponse:
    """A problem document; ``extensions`` are extra members (RFC 9457 §3.2), e.g. /readyz's checks, which
    keep their own ``status`` ("not ready") as they always did."""
    body = {
        "type": PROBLEM_TYPE_BASE + (kind or _TYPES.get(status, "error")),
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance or (request.url.path if request is not None else ""),
        "errors": errors or [],
        **(extensions or {}),
    }
    return UTF8JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _clean(value: Any) -> Any:
    """JSON-safe version of a value from a pydantic error (inputs can be anything)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except (TypeError, ValueError, UnicodeEncodeError):
        return repr(value)[:200]


def errors_from_validation(errs: Sequence[Mapping[str, Any]], prefix: Sequence[str | int] = ()) -> list[dict[str, Any]]:
    """pydantic error dicts → [{loc, msg}] with a message that says what was expected."""
    out = []
    for e in errs:
        loc = [*prefix, *[x if isinstance(x, int) else str(x) for x in e.get("loc", ())]]
        if len(loc) > 1 and loc[0] == "body" and loc[1] in BODY_TAGS:
            del loc[1]  # the branch of a body union (one item / many), not a field
        msg = str(e.get("msg", "invalid value"))
        if e.get("type") == "json_invalid":  # FastAPI's own JSON parse: loc is [body, character offset]
            error = (e.get("ctx") or {}).get("error", "")
            out.append({"loc": loc, "msg": f"body is not valid JSON: {error} at character {loc[-1]}"})
            continue
        if "input" in e and e.get("type") not in ("missing",):
            shown = _clean(e["input"])
            text = shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False)
            msg = f"{msg} (got {text[:80]!r})" if len(text) < 200 else msg
        out.append({"loc": loc, "msg": msg})
    return out


def validation_problem(request: Request, errors: list[dict[str, Any]]) -> JSONResponse:
    head = "; ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in errors[:3])
    return problem_response(request, 422, head or "invalid request", errors)


def install_handlers(app: FastAPI) -> None:
    """Turn every error (ours, FastAPI's, Starlette's, unexpected) into a problem document."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, exc.errors, exc.kind, exc.headers,
                                extensions=exc.extensions)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(request, errors_from_validation(exc.errors()))

    @app.exception_handler(ValidationError)
    async def _pyd_validation(request: Request, exc: ValidationError) -> JSONResponse:
        return validation_problem(request, errors_from_validation(exc.errors(), ("body",)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, ensure_ascii=False)
        errors = None
        if exc.status_code == 400 and "parsing the body" in detail:
            # FastAPI's body decode failed before JSON parsing (e.g. NUL bytes read as UTF-32): name the field
            msg = "body is not JSON text in UTF-8 (it could not be decoded)"
            errors, detail = [{"loc": ["body"], "msg": msg}], f"body: {msg}"
        return problem_response(request, exc.status_code, detail, errors, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(json.dumps({"event": "unhandled_error", "route": request.url.path,
                              "error": type(exc).__name__}))
        return problem_response(request, 500, "internal error; the incident was logged without request data")
