"""Signed, expiring form tokens: proof that a post comes from a form this service rendered, and when.

A page can keep no secret, so a browser source cannot authenticate its sender.  What it can do cheaply is
make bots that post straight at the endpoint stand out: the form carries a token issued when it was rendered
(`GET /forms/{source}` or `GET /forms/{source}/token`), HMAC-signed with a server-side key
(`IGNITE_INTAKE_FORM_KEY`), naming the source and the render time.  A post without a valid token, or filled
faster than the source's `min_fill_seconds`, is quarantined for review, never refused: a person whose page
sat open past the token's age, or whose browser ran no script, loses nothing.

Format: `v1.<issued unix ms>.<16 random bytes, base64url>.<HMAC-SHA256(key, "v1|source|issued|nonce"), base64url>`.
The nonce makes every rendering's token (and so every body) different, so two people sending the same words
are two deliveries, while one person's double-click is one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

FORM_TOKEN_FIELD = "_ignite_form_token"  # noqa: S105 (a form field name, not a secret)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """`problem` is None when the token is valid and the form was filled slowly enough."""

    problem: str | None  # "form_token" (missing, forged, expired) or "too_fast"
    rule: str = ""


class FormTokens:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the form-token key must hold at least 16 bytes")
        self._key = key

    def _sign(self, source: str, issued_ms: int, nonce: str) -> str:
        message = f"v1|{source}|{issued_ms}|{nonce}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def issue(self, source: str, now: float) -> str:
        issued_ms = int(now * 1000)
        nonce = _b64(secrets.token_bytes(16))
        return f"v1.{issued_ms}.{nonce}.{self._sign(source, issued_ms, nonce)}"

    def check(
        self, source: str, token: str | None, now: float, *, min_fill_seconds: float, max_age_seconds: int
    ) -> TokenCheck:
        if not token:
            return TokenCheck("form_token", "the form carried no form token (a page that ran no script, or a bot)")
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "v1" or not parts[1].isdigit() or len(parts[1]) > 15:
            return TokenCheck("form_token", "the form token is malformed")
        issued_ms, nonce, signature = int(parts[1]), parts[2], parts[3]
        if not hmac.compare_digest(self._sign(source, issued_ms, nonce).encode(), signature.encode("ascii", "replace")):
            return TokenCheck("form_token", "the form token was not issued by this service for this source")
        age = now - issued_ms / 1000
        if age > max_age_seconds:
            return TokenCheck("form_token", f"the form token is older than {max_age_seconds} s")
        if age < min_fill_seconds:
            return TokenCheck("too_fast", f"the form was sent less than {min_fill_seconds:g} s after it was shown")
        return TokenCheck(None)
