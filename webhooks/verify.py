"""Proving a post came from its source, on the raw bytes, before anything is parsed.

One verifier per scheme.  Standard Webhooks verification is the `standardwebhooks` library's (nobody here
wrote that HMAC); Typeform and Tally sign the raw body with HMAC-SHA256 and send it base64-encoded, which
we check with `hmac.compare_digest` on bytes against every configured secret (rotation).  Every malformed
header ends as `SignatureRejected` (401), never as an exception that would turn into a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from standardwebhooks import Webhook, WebhookVerificationError

from store.secrets import hash_token
from webhooks.sources import IntakeSource

_DIGITS = re.compile(r"^[0-9]{1,12}$")
# Ids are echoed into the signed content `id.timestamp.body`, so they must not contain the separator.
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_:\-]{1,255}$")


class SignatureRejected(Exception):
    """`reason` is a short machine word for metrics and the problem document; never contains secrets."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Verified:
    """What verification vouches for: the sender's delivery id when the scheme carries one in a header."""

    delivery_id: str | None


def _constant_time_any(expected: list[bytes], presented: bytes) -> bool:
    """Compare against every candidate without stopping early, so timing says nothing about which matched."""
    matched = False
    for candidate in expected:
        matched |= hmac.compare_digest(candidate, presented)
    return matched


def _hmac_b64(secret: str, body: bytes) -> bytes:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest())


def _ascii_header(headers: Mapping[str, str], name: str) -> bytes | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return value.strip().encode("ascii")
    except UnicodeEncodeError:
        return b"\x00"  # can never match a base64 or hex digest


class Verifier:
    def __init__(self, source: IntakeSource) -> None:
        self.source = source
        self._secrets = [s.get_secret_value() for s in source.secrets]
        self._webhooks = [Webhook(s) for s in self._secrets] if source.scheme == "standard-webhooks" else []
        self._token_hashes = [h.removeprefix("sha256:").encode("ascii") for h in source.token_hashes]

    def verify(self, headers: Mapping[str, str], body: bytes) -> Verified:
        scheme = self.source.scheme
        if scheme == "standard-webhooks":
            return self._standard(headers, body)
        if scheme == "typeform":
            return self._prefixed_hmac(headers, body, "typeform-signature", b"sha256=")
        if scheme == "tally":
            return self._prefixed_hmac(headers, body, "tally-signature", b"")
        if scheme == "token":
            return self._token(headers)
        if scheme == "browser":  # a page can keep no secret: its origin is checked instead (webhooks/browser.py)
            return Verified(delivery_id=None)
        return Verified(delivery_id=self._own_delivery_id(headers))

    def _own_delivery_id(self, headers: Mapping[str, str]) -> str | None:
        name = self.source.delivery_id_header
        value = headers.get(name.lower()) if name else None
        if value is not None and not _MESSAGE_ID.match(value):
            raise SignatureRejected("bad_delivery_id", f"the {name} header must be 1-255 letters, digits, '_:-'")
        return value

    def _standard(self, headers: Mapping[str, str], body: bytes) -> Verified:
        msg_id = headers.get("webhook-id")
        timestamp = headers.get("webhook-timestamp")
        signature = headers.get("webhook-signature")
        if not (msg_id and timestamp and signature):
            raise SignatureRejected(
                "missing_signature", "webhook-id, webhook-timestamp and webhook-signature are required"
            )
        if not _MESSAGE_ID.match(msg_id):
            raise SignatureRejected("bad_headers", "webhook-id must be 1-255 letters, digits, '_', ':' or '-'")
        if not _DIGITS.match(timestamp):
            raise SignatureRejected("bad_headers", "webhook-timestamp must be whole Unix seconds (digits only)")
        # The library raises ValueError/binascii.Error on malformed signature lists: keep only well-formed entries.
        entries = [e for e in signature.split(" ") if e.count(",") == 1 and _is_b64(e.split(",", 1)[1])]
        if not entries:
            raise SignatureRejected("bad_signature", "webhook-signature holds no well-formed 'v1,<base64>' entry")
        clean = {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": " ".join(entries)}
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise SignatureRejected(
                "bad_signature", "the body is not UTF-8, so it cannot carry a valid signature"
            ) from None
        last = "no configured secret matched the signature"
        reason = "bad_signature"
        matched = False
        for webhook in self._webhooks:
            try:
                webhook.verify(text, clean, json_parse=False)
                matched = True
            except WebhookVerificationError as exc:
                message = str(exc)
                if "too old" in message or "too new" in message:
                    reason, last = "stale_timestamp", "webhook-timestamp is more than 5 minutes from our clock"
        if not matched:
            raise SignatureRejected(reason, last)
        return Verified(delivery_id=msg_id)

    def _prefixed_hmac(self, headers: Mapping[str, str], body: bytes, header: str, prefix: bytes) -> Verified:
        presented = _ascii_header(headers, header)
        if presented is None:
            raise SignatureRejected("missing_signature", f"the {header} header is required")
        expected = [prefix + _hmac_b64(secret, body) for secret in self._secrets]
        if not _constant_time_any(expected, presented):
            raise SignatureRejected("bad_signature", f"{header} does not match the body under any configured secret")
        return Verified(delivery_id=None)

    def verify_path_token(self, headers: Mapping[str, str], presented: str) -> Verified:
        """The token as the URL's last segment, for senders that can only call a URL (never logged)."""
        digest = hash_token(presented).encode("ascii")
        if not presented or not _constant_time_any(self._token_hashes, digest):
            raise SignatureRejected("bad_signature", "the URL holds no accepted token")
        return Verified(delivery_id=self._own_delivery_id(headers))

    def _token(self, headers: Mapping[str, str]) -> Verified:
        name = self.source.token_header
        presented = headers.get(name.lower())
        if not presented:
            raise SignatureRejected("missing_signature", f"the {name} header is required")
        digest = hash_token(presented).encode("ascii")
        if not _constant_time_any(self._token_hashes, digest):
            raise SignatureRejected("bad_signature", f"the {name} header holds no accepted token")
        return Verified(delivery_id=self._own_delivery_id(headers))


def _is_b64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def token_hash(token: str) -> str:
    """The form a token is configured in (`token_hashes`); the token itself is never stored."""
    return "sha256:" + hash_token(token)
