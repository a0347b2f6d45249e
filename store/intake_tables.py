"""Tables of the web service: the intake inbox and the API keys of the ingest API.

The inbox is the durable hand-off between the HTTP answer and the CRM: a row is written (with its job, in one
transaction) before the sender hears 202, so an accepted submission survives any crash or CRM outage.  The
unique (source, delivery_id) pair is the idempotency guard against sender retries; rows are kept long after
their raw body is purged, so the guard outlives every sender's retry window (Standard Webhooks senders retry
for about three days; we keep ids indefinitely and bodies for the retention period).
The sender's words (body, submission, candidate fields, notes and errors that may quote them) are encrypted at
rest when `IGNITE_ENCRYPTION_KEYS` is set (store/encryption.py).
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table, UniqueConstraint

from store.encryption import EncryptedBytes, EncryptedJSON, EncryptedText
from store.personal import INBOX_BODY, INBOX_HASH, INBOX_ROW, holds_none, not_personal, personal
from store.tables import metadata
from store.types import UtcDateTime

# Inbox states.  `pending` rows have a job that will deliver them.  `quarantined` rows were accepted but not
# delivered (a filled honeypot, or content that failed validation) and wait for staff: `ignite-sync intake
# release` makes one `pending` (with its job), `discard` makes it `discarded`.  The others are terminal.
PENDING = "pending"
DONE = "done"
QUARANTINED = "quarantined"
DISCARDED = "discarded"
FAILED = "failed"

# quarantine_reason codes
HONEYPOT = "honeypot"
INVALID = "invalid"
# The submission validated but the mapping profile refuses one of its values (longer than the CRM field…).
MAPPING = "mapping"
# Browser sources: no valid form token (a bot posting directly, or a page that ran no script), filled faster than
# a person can, a CAPTCHA the verifier refused, or a verifier that could not be asked (nothing is lost for it).
FORM_TOKEN = "form_token"  # noqa: S105 (a reason code, not a secret)
TOO_FAST = "too_fast"
CAPTCHA = "captcha"
CAPTCHA_UNAVAILABLE = "captcha_unavailable"

intake_inbox = Table(
    "intake_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("receipt_id", String(40), nullable=False, unique=True),
    Column("source", String(64), nullable=False),
    Column("delivery_id", String(255), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("body_sha256", String(64), nullable=False, info=not_personal("the body's SHA-256, for audit")),
    # The exact bytes the sender signed, for audit and replay; NULL once purged after the retention period.
    # Encrypted at rest, like every column below holding what the sender wrote (store/encryption.py).
    Column("raw_body", EncryptedBytes(), nullable=True, info=personal("free text", INBOX_BODY, "the body as sent")),
    Column("body_purged_at", UtcDateTime(), nullable=True, info=not_personal("when the body was purged")),
    # The normalised IntakeSubmission (JSON mode); NULL for quarantined rows that never validated.
    Column("submission", EncryptedJSON(), nullable=True, info=personal("contact", INBOX_BODY, "name, email, phone…")),
    Column("email_hash", String(24), nullable=True, info=personal("pseudonym", INBOX_HASH)),
    Column("quarantined", Boolean, nullable=False, default=False),
    Column("quarantine_reason", String(64), nullable=True),
    # Why a quarantined row did not validate: [{"field", "rule"}], never the values (those are in raw_body).
    Column("quarantine_problems", JSON, nullable=True),
    # The submission fields read from the body before validation, so staff can correct and release them;
    # NULL once purged, like raw_body.
    Column("candidate", EncryptedJSON(), nullable=True, info=personal("contact", INBOX_BODY, "name, email, phone…")),
    # Names (not values) of body fields the unknown-field policy left out of the submission (utm_source…).
    Column("ignored_fields", JSON, nullable=True),
    Column("reviewed_at", UtcDateTime(), nullable=True),
    # Staff's note when releasing or discarding (the discard reason).
    Column("review_note", EncryptedText(), nullable=True, info=personal("free text", INBOX_ROW)),
    Column("status", String(16), nullable=False),
    Column("job_id", Integer, nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("crm_object", String(40), nullable=True),
    Column("crm_id", String(40), nullable=True),
    Column("processed_at", UtcDateTime(), nullable=True),
    # Encrypted: a CRM's error message may quote the values it refused.
    Column("last_error", EncryptedText(), nullable=True, info=personal("free text", INBOX_ROW)),
    UniqueConstraint("source", "delivery_id", name="uq_intake_inbox_source_delivery_id"),
    Index("ix_intake_inbox_received_at", "received_at"),
    Index("ix_intake_inbox_status", "status"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False, unique=True),
    # The public part of the key (shown in lists and logs); the secret part is only ever stored hashed.
    Column("key_id", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # Written at most once a minute per key, so authenticating costs no write per request (store/secrets.py).
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    # NULL: never expires (keys made before expiry existed, or made with --no-expiry).
    Column("expires_at", UtcDateTime(), nullable=True),
    # `import` (the ingest API's imports) or `admin` (also `POST /api/v1/forget`); revision 0008.
    Column("role", String(16), nullable=False, server_default="import"),
    info=holds_none("credentials of the ingest API: a name, a public id and a hash"),
)
