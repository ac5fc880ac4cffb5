"""Authentication as dependencies: ``Authorization: Bearer <key>`` → the caller's :class:`Principal`, then
role checks (service < analyst < admin).

A key's principal carries scopes: its role and the roles below it. Routes declare who may call them with
``principal: ServiceKey`` / ``AnalystKey`` / ``AdminKey`` (``Security(authorize, scopes=[role])``); the bearer
scheme and each route's role appear in the OpenAPI document, so ``/docs`` can send a key.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from starlette.concurrency import run_in_threadpool

from voc_api.audit import AuditDep, RequestAudit
from voc_api.deps import StateDep
from voc_api.keys import ROLES, TOKEN_CACHE, Principal, verify_token
from voc_api.problems import ProblemError
from voc_api.state import ServiceState

_KEY_ID_RE = re.compile(r"voc_([0-9a-f]{1,32})_")

#: reads the header only; a missing or malformed one is our 401 problem, not FastAPI's 403
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="apiKey",
                           description="an API key: `Authorization: Bearer voc_<id>_<secret>` (`voc keys create`)")


def claimed_key_id(token: str) -> str | None:
    """The key id a token claims to be (for the audit of failed attempts; never the secret)."""
    match = _KEY_ID_RE.match(token)
    return match.group(1) if match else None


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', None) or request.url.path[:200]}"


async def verify(state: ServiceState, token: str) -> Principal | None:
    """The principal behind ``token`` (cached for ``key_cache_ttl_s``), or None; the lookup runs off the loop."""
    principal = TOKEN_CACHE.get(token)
    if principal is not None:
        return principal

    def lookup() -> Principal | None:
        with state.sessions() as s:
            return verify_token(s, token)

    principal = await run_in_threadpool(lookup)
    if principal is not None:
        TOKEN_CACHE.put(token, principal, state.settings.key_cache_ttl_s)
    return principal


async def authenticate(request: Request, state: StateDep, audit: AuditDep,
                       credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
                       ) -> Principal:
    """The caller behind the bearer key; a 401 problem (audited) when it is missing, unknown or revoked."""
    token = credentials.credentials.strip() if credentials is not None else ""
    if not token:
        audit.queue("auth.missing", _route(request))
        raise ProblemError(401, "missing API key: send 'Authorization: Bearer <key>'",
                           [(["header", "Authorization"], "expected 'Bearer <key>'")],
                           headers={"WWW-Authenticate": "Bearer"})
    principal = await verify(state, token)
    if principal is None:
        audit.queue("auth.failed", _route(request), key_id=claimed_key_id(token))
        raise ProblemError(401, "API key is unknown or revoked",
                           [(["header", "Authorization"], "expected a valid, unrevoked key")],
                           headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = principal  # the access log and the audit rows name the key
    return principal


def check_role(audit: RequestAudit, principal: Principal, role: str) -> Principal:
    """``principal`` when its role is ``role`` or higher (``role`` in its scopes); else a 403 problem (audited)."""
    if role not in principal.scopes:
        audit.queue("auth.forbidden", _route(audit.request), principal=principal)
        raise ProblemError(403, f"role '{principal.role}' may not do this; needs '{role}' or higher",
                           [(["header", "Authorization"], f"expected a key with role {role} or higher")])
    return principal


async def authorize(security_scopes: SecurityScopes, audit: AuditDep,
                    principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    """The authenticated caller when its key holds every scope the route asks for; else a 403 problem."""
    for role in security_scopes.scopes:
        check_role(audit, principal, role)
    return principal


def require(role: str) -> Any:
    """A dependency that admits keys with ``role`` or a higher one (service < analyst < admin); the role is
    also the route's scope in the OpenAPI document (``security: [{"apiKey": ["analyst"]}]``)."""
    if role not in ROLES:
        raise ValueError(role)
    return Security(authorize, scopes=[role])


ServiceKey = Annotated[Principal, require("service")]
AnalystKey = Annotated[Principal, require("analyst")]
AdminKey = Annotated[Principal, require("admin")]
