"""API keys: ``voc_<id>_<secret>`` tokens stored as salted SHA-256 hashes, with roles.

Roles nest: ``service`` may classify; ``analyst`` may also run batches and read results and reports;
``admin`` may do everything (keys, webhooks, models, audit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voc_api.db import ApiKey, utcnow

ROLES: tuple[str, ...] = ("service", "analyst", "admin")
ROLE_RANK: dict[str, int] = {role: i for i, role in enumerate(ROLES)}
TOKEN_PREFIX = "voc_"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind a verified key."""

    key_id: str
    role: str
    name: str

    def has(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def scopes(self) -> tuple[str, ...]:
        """What the key may do, as scopes: its role and every role below it (roles nest)."""
        return ROLES[: ROLE_RANK[self.role] + 1]


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def create_key(sessions: sessionmaker, role: str, name: str = "") -> tuple[str, ApiKey]:
    """Store a new key; returns the token (shown once, never stored) and its row."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    row = ApiKey(id=key_id, name=name, role=role, salt=salt, key_hash=_hash(salt, secret), created_at=utcnow())
    with sessions.begin() as s:
        s.add(row)
    return f"{TOKEN_PREFIX}{key_id}_{secret}", row


def verify_token(session: Session, token: str) -> Principal | None:
    """The principal for a token, or None when it is malformed, unknown, revoked or wrong."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    key_id, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or not key_id or not secret or len(key_id) > 32:
        return None
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(row.salt, secret)):
        return None
    return Principal(key_id=row.id, role=row.role, name=row.name)


class TokenCache:
    """Verified tokens → (principal, expiry): keeps the database off the hot path of /v1/classify. The expiry
    is short (``key_cache_ttl_s``, 1 s) so that a revocation from another process (the CLI) counts within 1 s;
    a revocation through this process drops the key at once (:func:`revoke_key`)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, token: str) -> Principal | None:
        hit = self._entries.get(token)
        return hit[0] if hit is not None and hit[1] > time.monotonic() else None

    def put(self, token: str, principal: Principal, ttl: float) -> None:
        if ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[token] = (principal, time.monotonic() + ttl)

    def forget_key(self, key_id: str) -> None:
        """Drop cached verifications of a key (on revocation)."""
        for token, (principal, _) in list(self._entries.items()):
            if principal.key_id == key_id:
                self._entries.pop(token, None)


#: the process-wide cache used by :mod:`voc_api.auth`
TOKEN_CACHE = TokenCache()


def list_keys(sessions: sessionmaker) -> list[ApiKey]:
    with sessions() as s:
        return list(s.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_key(sessions: sessionmaker, key_id: str, when: datetime | None = None) -> bool:
    """Revoke a key; False when there is no such key."""
    with sessions.begin() as s:
        row = s.get(ApiKey, key_id)
        if row is None:
            return False
        if row.revoked_at is None:
            row.revoked_at = when or utcnow()
    TOKEN_CACHE.forget_key(key_id)
    return True
