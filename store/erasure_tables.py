"""The erasure record: what remains of a person after `ignite-sync forget` (issue 18).

It holds no value of theirs: only keyed hashes (HMAC-SHA256 under `IGNITE_ERASURE_KEY`, so a database dump and
a guessed address cannot confirm who was erased), when and by whom, the CRM policy, counts of what was removed,
the CRM Ids the CRM part touched or left to staff, and which funder exports were delivered before (those are
not recalled).  An import or intake delivery of the same person is refused while `override_at` is NULL.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table

from store.personal import ERASURE_RECORD, personal
from store.tables import metadata
from store.types import UtcDateTime

# Erasure states: `pending` while the service-database part runs (never committed as such: that part is one
# transaction), `crm_pending` while the CRM part waits in the job queue, `done` when nothing is left to do.
PENDING = "pending"
CRM_PENDING = "crm_pending"
DONE = "done"

erasures = Table(
    "erasures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # HMAC-SHA256 (hex) of the participant key `participant:<hash of the normalised email>`; every import and
    # intake check computes it from the email it holds, so one hash recognises the person.
    Column("key_hash", String(64), nullable=False, unique=True, info=personal("pseudonym", ERASURE_RECORD, "keyed")),
    # HMAC-SHA256 of the normalised email, when the request named one (or the participant was still stored).
    Column("email_hash", String(64), nullable=True, info=personal("pseudonym", ERASURE_RECORD, "keyed")),
    # Which erasure key made the hashes (8 hex digits of its SHA-256): a changed key is noticed, not silent.
    Column("key_id", String(8), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("requested_by", String(120), nullable=False),
    Column("crm_policy", String(16), nullable=False),  # delete · anonymise · keep
    Column("status", String(16), nullable=False),
    # {table: rows removed}; never values.
    Column("counts", JSON, nullable=False),
    # What the CRM part did: {deleted: {object: [ids]}, anonymised: …, hand_made: [{object, id}], …}.
    Column("crm_result", JSON, nullable=True),
    # [{funder, delivered_at, sha256}] of exports downloaded before the erasure: already out, not recalled.
    Column("exports_delivered_before", JSON, nullable=False),
    Column("job_id", BigInteger().with_variant(Integer(), "sqlite"), nullable=True),
    Column("completed_at", UtcDateTime(), nullable=True),
    # An administrator allowed the person back (`ignite-sync forget --allow-reimport`).
    Column("override_at", UtcDateTime(), nullable=True),
    Column("override_by", String(120), nullable=True),
    Index("ix_erasures_email_hash", "email_hash"),
)
