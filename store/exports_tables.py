"""Tables for funder export delivery: hashed download tokens and the download log.

Tokens are stored only as the SHA-256 of a random secret: a leaked database gives no working token.  The log
keeps one row per download attempt (refused ones too) with no personal data: funder, token id, outcome, size.
A covering index on survey_responses lets the export aggregates (and the benchmark) be computed from the
index alone, in key order, with no sort.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from store.personal import holds_none
from store.tables import KEY, metadata, survey_responses
from store.types import UtcDateTime

funder_tokens = Table(
    "funder_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("funder", String(KEY), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(120)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    # NULL: never expires (tokens made before expiry existed, or made with --no-expiry).
    Column("expires_at", UtcDateTime()),
    # Written at most once a minute per token (store/secrets.py).
    Column("last_used_at", UtcDateTime()),
    info=holds_none("funders' download credentials: a hash and an admin's label"),
)

export_downloads = Table(
    "export_downloads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("requested", String(KEY), nullable=False),
    Column("funder", String(KEY), index=True),
    Column("token_id", String(32)),
    Column("outcome", String(16), nullable=False),
    Column("size_bytes", Integer),
    Column("sha256", String(64)),
    Column("at", UtcDateTime(), nullable=False),
    info=holds_none("one row per download: funder, token id, outcome, size"),
)

ix_survey_responses_pairs = Index(
    "ix_survey_responses_pairs",
    survey_responses.c.cohort,
    survey_responses.c.measure,
    survey_responses.c.participant,
    survey_responses.c.phase,
    survey_responses.c.value,
    survey_responses.c.collected_on,
)
