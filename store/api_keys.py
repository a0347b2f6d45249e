"""The repository of the ingest API keys (bearer secrets for the program-data API).  It never commits: the
caller's transaction does.

A key is shown once, at creation; only its hash (`store.secrets.hash_token`) and a short public id are stored,
and it is checked like every other bearer secret the service issues (`store.secrets`).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, or_, select, update

from store.intake_tables import api_keys
from store.secrets import (
    DEFAULT_LIFETIME,
    LAST_USED_RESOLUTION,
    Refusal,
    expiry,
    hash_token,
    last_used_is_stale,
    refusal_for,
)

__all__ = [
    "ADMIN_ROLE",
    "API_KEY_PREFIX",
    "API_KEY_ROLES",
    "IMPORT_ROLE",
    "ApiKeyInfo",
    "ApiKeyRepository",
    "NewApiKey",
]

API_KEY_PREFIX = "isk"
# What a key may do: `import` (the ingest API's imports; every key made before roles existed) or `admin`
# (also `POST /api/v1/forget`).
IMPORT_ROLE = "import"
ADMIN_ROLE = "admin"
API_KEY_ROLES = (IMPORT_ROLE, ADMIN_ROLE)


@dataclass(frozen=True, slots=True)
class NewApiKey:
    name: str
    key_id: str
    token: str  # shown once, never stored
    expires_at: datetime | None = None
    role: str = IMPORT_ROLE


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    name: str
    key_id: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None = None
    role: str = IMPORT_ROLE


class ApiKeyRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def create(
        self,
        name: str,
        *,
        now: datetime | None = None,
        lifetime: timedelta | None = DEFAULT_LIFETIME,
        role: str = IMPORT_ROLE,
    ) -> NewApiKey:
        """A new key expiring after `lifetime` (None: never); the token is returned once and stored hashed."""
        if role not in API_KEY_ROLES:
            raise ValueError(f"an API key's role is one of {', '.join(API_KEY_ROLES)}")
        now = now or datetime.now(UTC)
        key_id = secrets.token_hex(6)
        token = f"{API_KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        expires_at = expiry(now, lifetime)
        self.connection.execute(
            api_keys.insert().values(
                name=name,
                key_id=key_id,
                key_hash=hash_token(token),
                created_at=now,
                expires_at=expires_at,
                role=role,
            )
        )
        return NewApiKey(name=name, key_id=key_id, token=token, expires_at=expires_at, role=role)

    def role_of(self, name: str) -> str | None:
        """The role of the key with this name (as `check` returns it), None when there is none."""
        return self.connection.execute(select(api_keys.c.role).where(api_keys.c.name == name)).scalar()

    def revoke(self, name: str, *, now: datetime | None = None) -> bool:
        result = self.connection.execute(
            update(api_keys)
            .where(and_(api_keys.c.name == name, api_keys.c.revoked_at.is_(None)))
            .values(revoked_at=now or datetime.now(UTC))
        )
        return bool(result.rowcount)

    def list(self) -> list[ApiKeyInfo]:
        rows = self.connection.execute(select(api_keys).order_by(api_keys.c.name)).all()
        return [
            ApiKeyInfo(r.name, r.key_id, r.created_at, r.last_used_at, r.revoked_at, r.expires_at, r.role) for r in rows
        ]

    def check(self, token: str, *, now: datetime | None = None) -> str | Refusal:
        """The key's name when the token is a live key, else why not (unknown, expired or revoked).

        The hash comparison is constant-time.  The last-used time is written only when the recorded one is
        over a minute old, so a busy caller's requests are reads (the guarded UPDATE also makes two
        concurrent requests write it once)."""
        now = now or datetime.now(UTC)
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
            return Refusal("unknown")
        row = self.connection.execute(select(api_keys).where(api_keys.c.key_id == parts[1])).first()
        if row is None or not hmac.compare_digest(hash_token(token).encode("ascii"), row.key_hash.encode("ascii")):
            return Refusal("unknown")
        refusal = refusal_for(revoked_at=row.revoked_at, expires_at=row.expires_at, now=now)
        if refusal is not None:
            return refusal
        if last_used_is_stale(row.last_used_at, now):
            column = api_keys.c.last_used_at
            self.connection.execute(
                update(api_keys)
                .where(and_(api_keys.c.id == row.id, or_(column.is_(None), column <= now - LAST_USED_RESOLUTION)))
                .values(last_used_at=now)
            )
        return str(row.name)
