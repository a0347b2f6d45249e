"""Stable keys: the identity a record keeps across imports, syncs and CRMs.

Every CRM write is an upsert on the key, so a key must never change for the same real-world thing.  People are
keyed by a hash of their normalised email, so the same person typed with different case or spacing gets one
key, and the key itself carries no personal data into logs or the CRM's external-ID index.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

SLUG = r"[a-z0-9](?:[a-z0-9_.-]{0,62})"
_EMAIL_LOCAL = re.compile(r"^[^\s@]{1,64}$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
KEY_MAX_LENGTH = 80


def email_match_form(raw: str) -> str:
    """The form two spellings of one address share: Unicode NFC, trimmed, lower-cased (NFC again, since
    lower-casing can decompose).  `josé` typed as `e` + combining accent (NFD, as macOS and some forms send it)
    and as one precomposed `é` are the same person; without this they hash to two keys and match two records.
    For comparing what the CRM holds, where a value may not be an address we accept."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", raw).strip().lower())


def normalise_email(raw: str) -> str:
    """NFC, trim, lower-case, and IDNA-encode the domain; raise ValueError naming the rule when it is no email.

    Every key and every match derived from an email goes through here (or `email_match_form`), so one person
    has one key whatever Unicode form, case or spacing their address arrived in."""
    value = email_match_form(raw)
    if value.count("@") != 1:
        raise ValueError("must be an email address with exactly one '@'")
    local, domain = value.split("@")
    if not _EMAIL_LOCAL.match(local):
        raise ValueError("the part before '@' must be 1-64 characters without spaces")
    domain = domain.rstrip(".")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError("the domain is not a valid internationalised domain name") from exc
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise ValueError("the domain must have at least two dot-separated labels of letters, digits or '-'")
    return f"{local}@{ascii_domain}"


def crm_email_match(value: str) -> str:
    """An email as the CRM holds it, in the form `normalise_email` gives ours, so the two compare equal; a
    value that is no address we would accept keeps its `email_match_form`."""
    try:
        return normalise_email(value)
    except ValueError:
        return email_match_form(value)


def email_hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:24]


def participant_key(email: str) -> str:
    return f"participant:{email_hash(normalise_email(email))}"


def _key_checker(prefix: str) -> AfterValidator:
    pattern = re.compile(rf"^{prefix}:{SLUG}(?::{SLUG})*$")

    def check(value: str) -> str:
        if len(value) > KEY_MAX_LENGTH:
            raise ValueError(f"key must be at most {KEY_MAX_LENGTH} characters")
        if not pattern.match(value):
            raise ValueError(f"key must look like '{prefix}:<slug>' (lower-case letters, digits, '-', '_', '.')")
        return value

    return AfterValidator(check)


def slug_of(key: str) -> str:
    """The part after the kind prefix, used to build child keys (a cohort's sessions, say)."""
    return key.split(":", 1)[1]


ProgramKey = Annotated[str, _key_checker("program")]
OrganizationKey = Annotated[str, _key_checker("org")]
CohortKey = Annotated[str, _key_checker("cohort")]
SessionKey = Annotated[str, _key_checker("session")]
FunderKey = Annotated[str, _key_checker("funder")]
GrantKey = Annotated[str, _key_checker("grant")]
MeasureKey = Annotated[str, _key_checker("measure")]
ParticipantKey = Annotated[str, _key_checker("participant")]


def compose_key(prefix: str, *parts: str) -> str:
    """A derived key from its parts, readable while it fits the CRM's 80-character key field.

    A longer one becomes the prefix plus a hash of the readable form: still stable and unique, never cut off
    (cutting would let two different records share a key and overwrite each other in the CRM).
    """
    readable = ":".join((prefix, *parts))
    if len(readable) <= KEY_MAX_LENGTH:
        return readable
    return f"{prefix}:h-{hashlib.sha256(readable.encode('utf-8')).hexdigest()[:40]}"
