"""Bearer secrets the service issues (funder download tokens, ingest API keys, and any later URL token): one
hash, one lifetime rule, one set of refusal reasons.

Secrets are 32 random bytes, so a plain SHA-256 is enough to store them: there is nothing to brute-force a slow
hash against, and a lookup by hash leaks nothing about other secrets.  Every kind of secret is checked the same
way, so an expired or revoked one is refused with the same words whichever endpoint it was shown to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

# A credential's last-used time is written at most this often, so a busy caller costs reads, not a write per
# request (the ingest API and the intake worker share the database's write lock).
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Funder tokens and API keys expire after this long unless the command asks for another lifetime or none.
DEFAULT_LIFETIME = timedelta(days=365)

RefusalReason = Literal["unknown", "expired", "revoked"]

WORDS: dict[RefusalReason, str] = {
    "unknown": "is not valid",
    "expired": "has expired; ask for a new one",
    "revoked": "has been revoked; ask for a new one",
}


def hash_token(secret: str) -> str:
    """The stored form of a bearer secret (hex SHA-256 of its UTF-8 bytes)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a presented secret was refused.  `unknown` covers malformed, forged and never-issued secrets alike."""

    reason: RefusalReason

    def detail(self, what: str) -> str:
        """The 401's detail, e.g. `the API key has expired; ask for a new one`."""
        return f"the {what} {WORDS[self.reason]}"


def refusal_for(*, revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> Refusal | None:
    """Revocation wins over expiry (it is the later, deliberate act); None for a live credential."""
    if revoked_at is not None:
        return Refusal("revoked")
    if expires_at is not None and expires_at <= now:
        return Refusal("expired")
    return None


def expiry(now: datetime, lifetime: timedelta | None) -> datetime | None:
    return now + lifetime if lifetime is not None else None


def last_used_is_stale(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a use at `now` should be written (see LAST_USED_RESOLUTION)."""
    return last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION
