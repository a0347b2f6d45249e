"""Senders that sign, as test helpers: one module, so every test sees the same secrets.

Standard Webhooks requests are signed by the `standardwebhooks` library (a signer nobody here wrote);
Typeform and Tally signatures are computed as their documentation specifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks import Webhook


def new_whsec() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


SITE_SECRET = new_whsec()
ROTATED_SECRET = new_whsec()
TYPEFORM_SECRET = "typeform-secret-Ωmega"
TALLY_SECRET = "tally signing secret"
FORM_TOKEN = "tok_" + secrets.token_urlsafe(24)
OLD_FORM_TOKEN = "tok_" + secrets.token_urlsafe(24)


def sha256_ref(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


SOURCES: dict[str, Any] = {
    "website": {"scheme": "standard-webhooks", "secrets": [SITE_SECRET], "honeypot": "website_url"},
    "rotating": {"scheme": "standard-webhooks", "secrets": [ROTATED_SECRET, SITE_SECRET]},
    "throttled": {"scheme": "standard-webhooks", "secrets": [SITE_SECRET], "rate_limit": "3/minute"},
    "typeform": {
        "scheme": "typeform",
        "secrets": [TYPEFORM_SECRET],
        "field_map": {
            "format": "typeform",
            "fields": {
                "first_name": "first_name",
                "last_name": "last_name",
                "email": "email",
                "organization": "hidden.org",
                "role": "role",
                "message": "message",
            },
        },
        "honeypot": "hidden.fax",
    },
    "tally": {
        "scheme": "tally",
        "secrets": [TALLY_SECRET],
        "field_map": {
            "format": "tally",
            "fields": {
                "first_name": "First name",
                "last_name": "Last name",
                "email": "question_email",
                "organization": "Organisation",
                "interest": "Interest",
            },
            "constants": {"consent_to_contact": True},
        },
    },
    "wix": {
        "scheme": "token",
        "token_hashes": [sha256_ref(FORM_TOKEN), sha256_ref(OLD_FORM_TOKEN)],
        "delivery_id_header": "X-Submission-Id",
        "field_map": {
            "format": "form",
            "fields": {
                "first_name": "fname",
                "last_name": "lname",
                "email": "email",
                "organization": "org",
                "message": "msg",
            },
        },
        "honeypot": "website",
    },
    "dev": {"scheme": "none", "insecure": True},
}


def submission(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.org",
        "organization": "Analytical Engines Health",
        "role": "administrator",
        "message": "We would like to bring Ignite to our hospital.",
    }
    body.update(overrides)
    return body


def compact(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def standard_headers(
    body: bytes, *, secret: str = SITE_SECRET, msg_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body.decode("utf-8"))
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def typeform_signature(body: bytes, secret: str = TYPEFORM_SECRET) -> str:
    """Typeform: `sha256=` + base64 of HMAC-SHA256(secret, raw body)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def tally_signature(body: bytes, secret: str = TALLY_SECRET) -> str:
    """Tally: base64 of HMAC-SHA256(signing secret, raw JSON body), no prefix."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def stale(seconds: int) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)
