"""Funder download tokens (stored as SHA-256 only) and the download log.

A token is shown once, at creation; afterwards only its hash and a short public id exist, so a copy of the
database cannot be used to download anything.  Lookups go by the hash, which leaks nothing about other tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from store.exports_tables import export_downloads, funder_tokens

PREFIX = "igx_"


@dataclass(frozen=True)
class IssuedToken:
    id: str
    funder: str
    secret: str  # shown once; never stored


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(conn: Connection, funder: str, label: str | None = None) -> IssuedToken:
    secret = PREFIX + secrets.token_urlsafe(32)
    token_id = secrets.token_hex(8)
    conn.execute(
        insert(funder_tokens).values(
            id=token_id, funder=funder, token_hash=hash_token(secret), label=label, created_at=datetime.now(UTC)
        )
    )
    return IssuedToken(token_id, funder, secret)


@dataclass(frozen=True)
class TokenHolder:
    id: str
    funder: str


def verify_token(conn: Connection, secret: str) -> TokenHolder | None:
    """The funder a live token belongs to, or None (unknown, malformed or revoked)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    row = conn.execute(
        select(funder_tokens.c.id, funder_tokens.c.funder).where(
            funder_tokens.c.token_hash == hash_token(secret), funder_tokens.c.revoked_at.is_(None)
        )
    ).first()
    return TokenHolder(row.id, row.funder) if row is not None else None


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
