"""Request dependencies: the service state and role checks on ``Authorization: Bearer <key>``."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.keys import ROLES, Principal, verify_token
from api.problems import ProblemError

if TYPE_CHECKING:
    from api.state import ServiceState


def get_state(request: Request) -> ServiceState:
    return request.app.state.voc


#: verified tokens → (principal, expiry); keeps the database off the hot path of /v1/classify. The expiry
#: is short (``key_cache_ttl_s``, 1 s) so that a revocation from another process (the CLI) counts within 1 s.
_CACHE: dict[str, tuple[Principal, float]] = {}
CACHE_MAX = 10_000
_KEY_ID_RE = re.compile(r"voc_([0-9a-f]{1,32})_")


def forget_key(key_id: str) -> None:
    """Drop cached verifications of a key (on revocation)."""
    for token, (principal, _) in list(_CACHE.items()):
        if principal.key_id == key_id:
            _CACHE.pop(token, None)


async def _verify(request: Request, token: str) -> Principal | None:
    hit = _CACHE.get(token)
    now = time.monotonic()
    if hit is not None and hit[1] > now:
        return hit[0]
    state = get_state(request)

    def lookup() -> Principal | None:
        with state.sessions() as s:
            return verify_token(s, token)

    principal = await run_in_threadpool(lookup)
    ttl = state.settings.key_cache_ttl_s
    if principal is not None and ttl > 0:
        if len(_CACHE) >= CACHE_MAX:
            _CACHE.clear()
        _CACHE[token] = (principal, now + ttl)
    return principal


def claimed_key_id(token: str) -> str | None:
    """The key id a token claims to be (for the audit of failed attempts; never the secret)."""
    match = _KEY_ID_RE.match(token)
    return match.group(1) if match else None


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', None) or request.url.path[:200]}"


def audit_async(request: Request, action: str, resource: str, **who: object) -> None:
    from api.audit import audit_async as queue_row  # api.audit imports this module

    queue_row(request, action, resource, **who)  # type: ignore[arg-type]


def require(role: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits keys with ``role`` or a higher one (service < analyst < admin)."""
    if role not in ROLES:
        raise ValueError(role)

    async def dependency(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            audit_async(request, "auth.missing", _route(request))
            raise ProblemError(401, "missing API key: send 'Authorization: Bearer <key>'",
                               [(["header", "Authorization"], "expected 'Bearer <key>'")],
                               headers={"WWW-Authenticate": "Bearer"})
        principal = await _verify(request, token.strip())
        if principal is None:
            audit_async(request, "auth.failed", _route(request), key_id=claimed_key_id(token.strip()))
            raise ProblemError(401, "API key is unknown or revoked",
                               [(["header", "Authorization"], "expected a valid, unrevoked key")],
                               headers={"WWW-Authenticate": "Bearer"})
        request.state.principal = principal
        if not principal.has(role):
            audit_async(request, "auth.forbidden", _route(request), principal=principal)
            raise ProblemError(403, f"role '{principal.role}' may not do this; needs '{role}' or higher",
                               [(["header", "Authorization"], f"expected a key with role {role} or higher")])
        return principal

    return dependency
