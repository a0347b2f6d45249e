"""What an authenticated intake post becomes: its inbox row (valid, or quarantined and why) and the words for
a refusal.

These are pure decisions about content (no request, no database, no metrics), so they live apart from the
router in webhooks/intake.py, which does the I/O in its fixed order (verify, rate-limit, parse, classify,
commit) and answers.  Keeping them here keeps the router readable and lets them be tested without an app.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse

from models import IntakeSubmission, Problem
from models.intake import split_sender_fields, validate_submission
from models.keys import email_hash, normalise_email
from store.intake import HONEYPOT, INVALID, MAPPING, NewDelivery
from sync.intake import IntakeMappingCheck
from webhooks.fieldmaps import PayloadError, extract
from webhooks.problems import problem
from webhooks.sources import IntakeSource


def readable_rule(rule: str) -> str:
    """Pydantic's rule wording, made a sentence a person can act on."""
    text = rule.removeprefix("Value error, ")
    if text.lower().startswith("field required"):
        return "This field is required."
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def classify(
    config: IntakeSource,
    source: str,
    document: Any,
    body: bytes,
    media: str,
    received_at: datetime,
    verified_delivery_id: str | None,
    mapping_check: IntakeMappingCheck | None = None,
    spam: tuple[str, Problem] | None = None,
) -> NewDelivery:
    """The inbox row for an authenticated, parsed body: a valid submission (pending), or quarantined with the
    problems that kept it from validating.  Content never refuses a post from here on."""
    candidate: dict[str, Any] | None = None
    ignored: list[str] = []
    honeypot = False
    try:
        extracted = extract(config, document)
    except PayloadError as exc:  # parseable, but not the shape this source's payloads have
        sender_delivery_id = None
        problems: list[Problem] = [Problem("submission", exc.field, exc.rule)]
    else:
        sender_delivery_id = extracted.delivery_id
        split = split_sender_fields(extracted.fields)
        candidate, ignored, honeypot = split.known, split.ignored, extracted.honeypot_filled
        problems = list(extracted.problems)
    delivery_id = verified_delivery_id or sender_delivery_id or hashlib.sha256(body).hexdigest()
    submission: IntakeSubmission | None = None
    refused_by_mapping = False
    if candidate is not None:
        checked = validate_submission(candidate, source=source, delivery_id=delivery_id, received_at=received_at)
        if isinstance(checked, list):
            problems += [p for p in checked if p not in problems]
        elif not problems:
            submission = checked
            # What the CRM mapping refuses on its own (an email longer than the CRM's 80 characters) can never
            # be delivered, however long the job retries: staff review it now instead of in 72 hours.
            if mapping_check is not None:
                problems = mapping_check(checked)
                refused_by_mapping = bool(problems)
    reason = HONEYPOT if honeypot else (MAPPING if refused_by_mapping else INVALID) if problems else None
    if spam is not None and reason in (None, MAPPING):
        reason = spam[0]
        problems = [spam[1], *problems]
    if reason is not None:
        submission = None
    return NewDelivery(
        source=source,
        delivery_id=delivery_id,
        received_at=received_at,
        content_type=media,
        raw_body=body,
        submission=submission.model_dump(mode="json") if submission is not None else None,
        email_hash=email_hash(submission.email) if submission is not None else candidate_email_hash(candidate),
        quarantine_reason=reason,
        quarantine_problems=[{"field": p.field, "rule": p.rule} for p in problems] or None,
        candidate=candidate if reason is not None else None,
        ignored_fields=ignored or None,
    )


def candidate_email_hash(candidate: dict[str, Any] | None) -> str | None:
    """The email's hash for a quarantined row when it has a usable email, so staff can match it up."""
    value = (candidate or {}).get("email")
    if not isinstance(value, str):
        return None
    try:
        return email_hash(normalise_email(value))
    except ValueError:
        return None


def invalid_submission(problems: list[Problem]) -> JSONResponse:
    first = problems[0]
    return problem(400, "invalid-submission", "Invalid submission", f"{first.field}: {first.rule}", errors=problems)
