"""Funder download tokens (stored as SHA-256 only, with a lifetime) and the download log.

A token is shown once, at creation; afterwards only its hash and a short public id exist, so a copy of the
database cannot be used to download anything.  Lookups go by the hash, which leaks nothing about other tokens.
Tokens expire (a year by default), can be revoked, and record when they were last used (at most once a minute).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, insert, or_, select, update

from store.exports_tables import export_downloads, funder_tokens
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
    "DEFAULT_LIFETIME",
    "PREFIX",
    "IssuedToken",
    "Refusal",
    "TokenHolder",
    "TokenInfo",
    "check_token",
    "create_token",
    "list_tokens",
    "record_download",
    "revoke_token",
]

PREFIX = "igx_"


@dataclass(frozen=True)
class IssuedToken:
    id: str
    funder: str
    secret: str  # shown once; never stored
    expires_at: datetime | None = None


def create_token(
    conn: Connection,
    funder: str,
    label: str | None = None,
    *,
    lifetime: timedelta | None = DEFAULT_LIFETIME,
    now: datetime | None = None,
) -> IssuedToken:
    """A new token for `funder`, expiring after `lifetime` (None: never)."""
    now = now or datetime.now(UTC)
    secret = PREFIX + secrets.token_urlsafe(32)
    token_id = secrets.token_hex(8)
    expires_at = expiry(now, lifetime)
    conn.execute(
        insert(funder_tokens).values(
            id=token_id,
            funder=funder,
            token_hash=hash_token(secret),
            label=label,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return IssuedToken(token_id, funder, secret, expires_at)


@dataclass(frozen=True)
class TokenHolder:
    id: str
    funder: str


def check_token(conn: Connection, secret: str, *, now: datetime | None = None) -> TokenHolder | Refusal:
    """The funder a live token belongs to, or why it is refused (unknown, expired, revoked).

    A use is recorded as the token's last-used time when the recorded one is over a minute old."""
    now = now or datetime.now(UTC)
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return Refusal("unknown")
    row = conn.execute(
        select(
            funder_tokens.c.id,
            funder_tokens.c.funder,
            funder_tokens.c.revoked_at,
            funder_tokens.c.expires_at,
            funder_tokens.c.last_used_at,
        ).where(funder_tokens.c.token_hash == hash_token(secret))
    ).first()
    if row is None:
        return Refusal("unknown")
    refusal = refusal_for(revoked_at=row.revoked_at, expires_at=row.expires_at, now=now)
    if refusal is not None:
        return refusal
    if last_used_is_stale(row.last_used_at, now):
        column = funder_tokens.c.last_used_at
        conn.execute(
            update(funder_tokens)
            .where(and_(funder_tokens.c.id == row.id, or_(column.is_(None), column <= now - LAST_USED_RESOLUTION)))
            .values(last_used_at=now)
        )
    return TokenHolder(row.id, row.funder)


@dataclass(frozen=True)
class TokenInfo:
    """What `funder-token list` shows: never the secret, nor its hash."""

    id: str
    funder: str
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def list_tokens(conn: Connection, funder: str | None = None) -> list[TokenInfo]:
    query = select(
        funder_tokens.c.id,
        funder_tokens.c.funder,
        funder_tokens.c.label,
        funder_tokens.c.created_at,
        funder_tokens.c.expires_at,
        funder_tokens.c.last_used_at,
        funder_tokens.c.revoked_at,
    ).order_by(funder_tokens.c.funder, funder_tokens.c.created_at, funder_tokens.c.id)
    if funder is not None:
        query = query.where(funder_tokens.c.funder == funder)
    return [TokenInfo(*row) for row in conn.execute(query)]


def revoke_token(conn: Connection, token_id: str, *, now: datetime | None = None) -> bool:
    """Revoke a live token by its public id; False when there is no such token or it is already revoked."""
    result = conn.execute(
        update(funder_tokens)
        .where(and_(funder_tokens.c.id == token_id, funder_tokens.c.revoked_at.is_(None)))
        .values(revoked_at=now or datetime.now(UTC))
    )
    return bool(result.rowcount)


def record_download(
    conn: Connection,
    *,
    requested: str,
    outcome: str,
    holder: TokenHolder | None = None,
    size_bytes: int | None = None,
    sha256: str | None = None,
) -> None:
    conn.execute(
        insert(export_downloads).values(
            requested=requested[:80],
            funder=holder.funder if holder else None,
            token_id=holder.id if holder else None,
            outcome=outcome,
            size_bytes=size_bytes,
            sha256=sha256,
            at=datetime.now(UTC),
        )
    )
