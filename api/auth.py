"""Request dependencies: the service state and role checks on ``Authorization: Bearer <key>``."""

from __future__ import annotations

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


#: verified tokens → (principal, expiry); keeps the database off the hot path of /v1/classify
_CACHE: dict[str, tuple[Principal, float]] = {}
CACHE_TTL_S = 30.0
CACHE_MAX = 10_000


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
    if principal is not None:
        if len(_CACHE) >= CACHE_MAX:
            _CACHE.clear()
        _CACHE[token] = (principal, now + CACHE_TTL_S)
    return principal


def require(role: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits keys with ``role`` or a higher one (service < analyst < admin)."""
    if role not in ROLES:
        raise ValueError(role)

    async def dependency(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ProblemError(401, "missing API key: send 'Authorization: Bearer <key>'",
                               [(["header", "Authorization"], "expected 'Bearer <key>'")],
                               headers={"WWW-Authenticate": "Bearer"})
        principal = await _verify(request, token.strip())
        if principal is None:
            raise ProblemError(401, "API key is unknown or revoked",
                               [(["header", "Authorization"], "expected a valid, unrevoked key")],
                               headers={"WWW-Authenticate": "Bearer"})
        request.state.principal = principal
        if not principal.has(role):
            raise ProblemError(403, f"role '{principal.role}' may not do this; needs '{role}' or higher",
                               [(["header", "Authorization"], f"expected a key with role {role} or higher")])
        return principal

    return dependency
