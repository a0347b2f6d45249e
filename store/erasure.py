"""Forgetting one person (issue 18): the keyed hash that names them afterwards, the refusal of a later import
or intake delivery, and the erasure record.  Finding and removing their rows is `store.erasure_plan`.

The keyed hash: HMAC-SHA256 under `IGNITE_ERASURE_KEY` (installed at start, like the encryption keyring) of the
participant key (`participant:<sha256 of the normalised email>`), which every import and intake check can
compute from the email it holds; and of the normalised email when known.  Unkeyed, a dump and a guessed
address would confirm that this person took part in a burnout programme and asked to be forgotten.  Logs name
the person by the first 12 characters of the keyed hash only.  Repositories here never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from models.keys import normalise_email, participant_key
from store.erasure_tables import CRM_PENDING, DONE, erasures

# Used when IGNITE_ERASURE_KEY is not set (development only: `ignite-sync forget` refuses it in production).
DEVELOPMENT_KEY = "ignite-sync development erasure key: set IGNITE_ERASURE_KEY"
_CHUNK = 500

_installed: str | None = None


def install_erasure_key(key: str | None) -> None:
    """Set the key the erasure hashes are made with (from settings, at start), like `install_keyring`."""
    global _installed
    _installed = key


def erasure_key() -> str:
    return _installed or DEVELOPMENT_KEY


def erasure_key_is_set() -> bool:
    return _installed is not None


def key_id(key: str | None = None) -> str:
    return hashlib.sha256((key or erasure_key()).encode("utf-8")).hexdigest()[:8]


def keyed_hash(value: str, key: str | None = None) -> str:
    return hmac.new((key or erasure_key()).encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


def keyed_key_hash(participant: str) -> str:
    """The erasure hash of a participant key: what imports and intake deliveries look up."""
    return keyed_hash(participant)


@dataclass(frozen=True)
class Subject:
    """Whom to forget: their participant key always, their normalised email when the request or the store gave it."""

    key: str
    email: str | None = None

    @property
    def key_hash(self) -> str:
        return keyed_key_hash(self.key)

    @property
    def email_hash(self) -> str | None:
        return keyed_hash(f"email:{self.email}") if self.email else None

    @property
    def short(self) -> str:
        """How logs and answers name the person: a prefix of the keyed hash."""
        return self.key_hash[:12]


def subject_of(raw: str) -> Subject:
    """An email (any case, spacing or Unicode form) or a participant key; ValueError naming the rule otherwise."""
    value = raw.strip()
    if value.startswith("participant:"):
        if not re.fullmatch(r"participant:[0-9a-f]{24}", value):
            raise ValueError("a participant key looks like participant:<24 hex digits>")
        return Subject(value)
    email = normalise_email(value)
    return Subject(participant_key(email), email)


# --------------------------------------------------------------------------------------------- the refusal


def refusal_rule(requested_at: datetime) -> str:
    return f"erased on {requested_at.date().isoformat()}; `ignite-sync forget --allow-reimport` to accept"


def erased_keys(connection: Connection, keys: Iterable[str]) -> dict[str, datetime]:
    """{participant key: when erased} for the keys whose person was forgotten and not allowed back."""
    by_hash = {keyed_key_hash(k): k for k in set(keys)}
    found: dict[str, datetime] = {}
    hashes = list(by_hash)
    for start in range(0, len(hashes), _CHUNK):
        rows = connection.execute(
            select(erasures.c.key_hash, erasures.c.requested_at).where(
                erasures.c.key_hash.in_(hashes[start : start + _CHUNK]), erasures.c.override_at.is_(None)
            )
        )
        for row in rows:
            found[by_hash[row.key_hash]] = row.requested_at
    return found


def erased_email(connection: Connection, email: str) -> datetime | None:
    """When the person with this email was erased (and not allowed back), else None."""
    return erased_keys(connection, [participant_key(email)]).get(participant_key(email))


def allow_reimport(connection: Connection, subject: Subject, *, by: str, at: datetime) -> bool:
    """An administrator lets the person be imported and delivered again; False when no erasure is waiting."""
    result = connection.execute(
        update(erasures)
        .where(erasures.c.key_hash == subject.key_hash, erasures.c.override_at.is_(None))
        .values(override_at=at, override_by=by)
    )
    return bool(result.rowcount)


def attach_job(connection: Connection, erasure_id: int, job_id: int) -> None:
    connection.execute(update(erasures).where(erasures.c.id == erasure_id).values(job_id=job_id, status=CRM_PENDING))


def record_crm_result(connection: Connection, erasure_id: int, result: dict[str, Any], *, at: datetime) -> None:
    """The CRM part finished: its result (Ids and counts, no values) and the record is done."""
    connection.execute(
        update(erasures).where(erasures.c.id == erasure_id).values(crm_result=result, status=DONE, completed_at=at)
    )


def get(connection: Connection, erasure_id: int) -> Any:
    return connection.execute(select(erasures).where(erasures.c.id == erasure_id)).first()
