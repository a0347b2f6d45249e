"""The intake webhook's promises: signed, idempotent, durable before 202, strict about input, never a 5xx."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from store.intake import InboxEntry, InboxRepository
from store.intake_tables import intake_inbox
from store.jobs_tables import jobs
from tests.web.conftest import AppFactory
from tests.web.helpers import (
    FORM_TOKEN,
    OLD_FORM_TOKEN,
    ROTATED_SECRET,
    SITE_SECRET,
    compact,
    new_whsec,
    stale,
    standard_headers,
    submission,
    tally_signature,
    typeform_signature,
)

URL = "/webhooks/intake/website"


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(intake_inbox)).scalar_one()
        queued = conn.execute(select(func.count()).select_from(jobs)).scalar_one()
    return int(rows), int(queued)


def assert_problem(response, status: int, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    document = response.json()
    assert document["status"] == status
    assert document["type"].startswith("urn:ignite-sync:problem:")
    if field is not None:
        assert field in [e["field"] for e in document["errors"]], document
    return document


def test_signed_submission_is_stored_with_its_job_before_the_202(client: TestClient, web_engine: Engine) -> None:
    body = compact(submission(email="  Ada@Example.ORG "))
    headers = standard_headers(body, msg_id="msg_first")
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 202, response.text
    receipt = response.json()["receipt_id"]
    assert receipt.startswith("rcpt_")
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("website", "msg_first")
        assert entry is not None and entry.receipt_id == receipt
        assert entry.status == "pending" and not entry.quarantined
        assert entry.raw_body == body  # the exact signed bytes, for audit and replay
        assert entry.submission is not None and entry.submission["email"] == "ada@example.org"
        job = conn.execute(select(jobs).where(jobs.c.id == entry.job_id)).one()
    assert job.kind == "intake" and job.payload == {"inbox_id": entry.id} and job.state == "queued"


def test_repeated_delivery_answers_200_with_the_same_receipt_and_writes_nothing(
    client: TestClient, web_engine: Engine
) -> None:
    body = compact(submission())
    first = client.post(URL, content=body, headers=standard_headers(body, msg_id="msg_dup"))
    # The sender retries later: same webhook-id, new timestamp, new signature.
    again = client.post(URL, content=body, headers=standard_headers(body, msg_id="msg_dup"))
    assert first.status_code == 202 and again.status_code == 200
    assert again.json() == {"receipt_id": first.json()["receipt_id"], "status": "duplicate"}
    assert counts(web_engine) == (1, 1)


def test_submission_under_data_envelope_is_accepted(client: TestClient) -> None:
    body = compact({"type": "intake.submitted", "timestamp": "2026-11-27T10:00:00Z", "data": submission()})
    assert client.post(URL, content=body, headers=standard_headers(body)).status_code == 202


def test_captured_request_replayed_after_five_minutes_is_refused(client: TestClient, web_engine: Engine) -> None:
    body = compact(submission())
    headers = standard_headers(body, at=stale(301))
    document = assert_problem(client.post(URL, content=body, headers=headers), 401)
    assert "5 minutes" in document["detail"]
    assert counts(web_engine) == (0, 0)


def test_future_timestamp_is_refused(client: TestClient) -> None:
    body = compact(submission())
    # Well past the 5-minute tolerance: at +301 s a slow run (a loaded CI machine) reached the check in time.
    headers = standard_headers(body, at=datetime.now(UTC) + timedelta(seconds=360))
    assert_problem(client.post(URL, content=body, headers=headers), 401)


def test_timestamp_within_tolerance_is_accepted(client: TestClient) -> None:
    body = compact(submission())
    assert client.post(URL, content=body, headers=standard_headers(body, at=stale(240))).status_code == 202


def test_wrong_secret_is_refused(client: TestClient, web_engine: Engine) -> None:
    body = compact(submission())
    assert_problem(client.post(URL, content=body, headers=standard_headers(body, secret=new_whsec())), 401)
    assert counts(web_engine) == (0, 0)


def test_body_tampered_by_one_byte_is_refused(client: TestClient) -> None:
    body = compact(submission())
    headers = standard_headers(body)
    tampered = body.replace(b"Ada", b"Adb")
    assert_problem(client.post(URL, content=tampered, headers=headers), 401)


def test_malformed_signature_headers_answer_401_never_500(client: TestClient) -> None:
    body = compact(submission())
    good = standard_headers(body)
    variants = [
        {**good, "webhook-signature": "v1"},
        {**good, "webhook-signature": "v1,not base64!!"},
        {**good, "webhook-signature": "v1,a,b"},
        {**good, "webhook-signature": "v2," + good["webhook-signature"].split(",")[1]},
        {**good, "webhook-timestamp": good["webhook-timestamp"] + ".5"},
        {**good, "webhook-timestamp": "soon"},
        {**good, "webhook-id": "msg.with.dots"},
        {k: v for k, v in good.items() if k != "webhook-signature"},
        {k: v for k, v in good.items() if k != "webhook-id"},
    ]
    for headers in variants:
        assert_problem(client.post(URL, content=body, headers=headers), 401)


def test_secrets_rotate_without_refusing_either_key(client: TestClient) -> None:
    url = "/webhooks/intake/rotating"
    for secret in (ROTATED_SECRET, SITE_SECRET):
        body = compact(submission())
        assert client.post(url, content=body, headers=standard_headers(body, secret=secret)).status_code == 202
    # A sender mid-rotation sends two signatures; one unknown to us is fine.
    body = compact(submission())
    headers = standard_headers(body, secret=SITE_SECRET)
    unknown = standard_headers(body, secret=new_whsec(), msg_id=headers["webhook-id"])
    signature = unknown["webhook-signature"] + " " + headers["webhook-signature"]
    at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    assert standard_headers(body, secret=SITE_SECRET, msg_id=headers["webhook-id"], at=at) == headers
    response = client.post(url, content=body, headers={**headers, "webhook-signature": signature})
    assert response.status_code == 202, response.text


def test_body_over_64_kib_is_refused_with_413(client: TestClient, web_engine: Engine) -> None:
    body = compact(submission(message="x" * 70_000))
    document = assert_problem(client.post(URL, content=body, headers=standard_headers(body)), 413)
    assert "65536" in document["detail"]
    assert counts(web_engine) == (0, 0)


def test_streamed_body_without_length_is_cut_off_at_64_kib(client: TestClient) -> None:
    headers = standard_headers(b"{}")

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b" " * 1024  # 100 KiB of whitespace, sent chunked with no Content-Length

    assert_problem(client.post(URL, content=chunks(), headers=headers), 413)


def test_wrong_content_type_is_refused_with_415(client: TestClient) -> None:
    body = compact(submission())
    headers = {**standard_headers(body), "content-type": "text/plain"}
    assert_problem(client.post(URL, content=body, headers=headers), 415, field="Content-Type")


def quarantined_entry(web_engine: Engine, source: str, delivery_id: str) -> InboxEntry:
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find(source, delivery_id)
    assert entry is not None
    assert (entry.status, entry.quarantined, entry.job_id, entry.submission) == ("quarantined", True, None, None)
    return entry


LONG_MESSAGE = "Our story. " * 460  # 5,060 characters, over the 5,000 limit


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"state": "ON"}, "state"),  # a Canadian province: not one of the US codes
        ({"message": LONG_MESSAGE}, "message"),
        ({"role": "chief executive"}, "role"),
        ({"email": "ada at example.org"}, "email"),
        ({"last_name": ""}, "last_name"),
    ],
    ids=["state", "long-message", "role", "email", "missing-name"],
)
def test_signed_submission_failing_validation_is_kept_quarantined_and_answered_202(
    client: TestClient, web_engine: Engine, overrides: dict[str, str], field: str
) -> None:
    body = compact(submission(**overrides))
    response = client.post(URL, content=body, headers=standard_headers(body, msg_id="msg_q"))
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"
    entry = quarantined_entry(web_engine, "website", "msg_q")
    assert entry.quarantine_reason == "invalid" and entry.raw_body == body
    assert field in [p["field"] for p in entry.quarantine_problems or []]
    assert counts(web_engine) == (1, 0)  # stored, and never enqueued for the CRM
    # The reason names field and rule, never what was sent.
    assert overrides[field] == "" or overrides[field] not in entry.reason
    again = client.post(URL, content=body, headers=standard_headers(body, msg_id="msg_q"))
    assert again.status_code == 200 and again.json()["receipt_id"] == response.json()["receipt_id"]


def test_quarantine_logs_fields_and_rules_but_no_personal_data(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = compact(submission(email="grace@mercy.example.org", state="ON", message="Call me on 555-0100"))
    with caplog.at_level(logging.DEBUG):
        assert client.post(URL, content=body, headers=standard_headers(body)).status_code == 202
    text = caplog.text
    assert "quarantined" in text and "state" in text
    for value in ("grace@mercy.example.org", "555-0100", "Lovelace", "ON'"):
        assert value not in text


def test_harmless_extra_fields_are_ignored_named_and_kept_in_the_raw_body(
    client: TestClient, web_engine: Engine
) -> None:
    extras = {
        "utm_source": "newsletter",
        "utm_campaign": "spring",
        "referrer": "https://search.example/",
        "page_url": "https://ignite.example/bring-ignite",
        "gdpr_consent": True,
        "delivery_id": "forged",  # set by the service: ignored, never the sender's to choose
    }
    body = compact(submission(**extras))
    response = client.post(URL, content=body, headers=standard_headers(body, msg_id="msg_utm"))
    assert response.status_code == 202, response.text
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("website", "msg_utm")
    assert entry is not None and entry.status == "pending" and not entry.quarantined and entry.job_id is not None
    assert entry.submission is not None and entry.submission["delivery_id"] == "msg_utm"
    assert not (set(extras) - {"delivery_id"}) & set(entry.submission)
    assert entry.ignored_fields == sorted(extras)
    assert entry.raw_body == body
    assert counts(web_engine) == (1, 1)


def test_unsigned_or_badly_signed_invalid_body_is_still_refused_401_and_not_stored(
    client: TestClient, web_engine: Engine
) -> None:
    body = compact(submission(state="ON", utm_source="x"))
    assert_problem(client.post(URL, content=body, headers=standard_headers(body, secret=new_whsec())), 401)
    assert_problem(client.post(URL, content=body, headers={"content-type": "application/json"}), 401)
    tampered = {**standard_headers(body), "webhook-signature": "v1,AAAA"}
    assert_problem(client.post(URL, content=body, headers=tampered), 401)
    assert counts(web_engine) == (0, 0)


def test_body_that_is_not_json_is_a_400_after_verification(client: TestClient) -> None:
    body = b"{not json"
    assert_problem(client.post(URL, content=body, headers=standard_headers(body)), 400, field="(body)")


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_number_json_cannot_hold_is_a_400_not_a_write_that_fails_on_every_retry(
    client: TestClient, web_engine: Engine, number: str
) -> None:
    """Python's json writes NaN; Postgres JSON columns refuse it, so storing it would 503 the sender for days."""
    body = compact(submission()).replace(b"}", f', "score": {number}}}'.encode(), 1)
    assert_problem(client.post(URL, content=body, headers=standard_headers(body)), 400, field="(body)")
    assert counts(web_engine) == (0, 0)


def test_filled_honeypot_is_accepted_but_quarantined_without_a_job(client: TestClient, web_engine: Engine) -> None:
    body = compact(submission(website_url="http://spam.example"))
    response = client.post(URL, content=body, headers=standard_headers(body, msg_id="msg_bot"))
    assert response.status_code == 202
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("website", "msg_bot")
    assert entry is not None and entry.quarantined and entry.status == "quarantined" and entry.job_id is None
    assert counts(web_engine) == (1, 0)
    metrics = client.get("/metrics").text
    assert 'ignite_intake_quarantined_total{source="website"} 1.0' in metrics


def test_empty_honeypot_is_an_ordinary_submission(client: TestClient, web_engine: Engine) -> None:
    body = compact(submission(website_url=""))
    assert client.post(URL, content=body, headers=standard_headers(body)).status_code == 202
    assert counts(web_engine) == (1, 1)


def test_unicode_names_are_kept_exactly(client: TestClient, web_engine: Engine) -> None:
    body = compact(submission(first_name="Zoë", last_name="Ōtsuka-李", organization="Hôpital Saint-Émile"))
    assert client.post(URL, content=body, headers=standard_headers(body, msg_id="msg_uni")).status_code == 202
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("website", "msg_uni")
    assert entry is not None and entry.submission is not None
    assert (entry.submission["first_name"], entry.submission["last_name"]) == ("Zoë", "Ōtsuka-李")


def test_soql_injection_text_is_stored_as_plain_data(client: TestClient, web_engine: Engine) -> None:
    hostile = "x' OR Email != '' --"
    body = compact(submission(email="o'brien@example.org", organization=hostile, last_name="O'Brien"))
    assert client.post(URL, content=body, headers=standard_headers(body, msg_id="msg_soql")).status_code == 202
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("website", "msg_soql")
    assert entry is not None and entry.submission is not None
    assert entry.submission["organization"] == hostile and entry.submission["email"] == "o'brien@example.org"


def test_unconfigured_source_is_404_but_configured_ones_never_are(client: TestClient) -> None:
    body = compact(submission())
    assert_problem(client.post("/webhooks/intake/nobody", content=body, headers=standard_headers(body)), 404)
    for source in ("website", "rotating", "typeform", "tally", "wix", "dev"):
        status = client.post(f"/webhooks/intake/{source}", content=b"{}", headers={"content-type": "x/y"}).status_code
        assert status not in (404, 410)


class FakeClock:
    """Monotonic seconds the test moves by hand: the rate limit's answers never depend on when the test runs."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_rate_limit_answers_429_with_retry_after(make_client: AppFactory) -> None:
    clock = FakeClock(59.5)  # half a second before a minute boundary, where the old counter let a fourth through
    client = make_client(intake_clock=clock)
    url = "/webhooks/intake/throttled"
    statuses = []
    for step in (0.0, 0.1, 0.1, 0.4, 0.1):  # five posts within a second, across the boundary
        clock.now += step
        body = compact(submission())
        response = client.post(url, content=body, headers=standard_headers(body))
        statuses.append(response.status_code)
    assert statuses == [202, 202, 202, 429, 429]
    assert response.headers["retry-after"] == "60"  # the first post leaves the window 59.3 s from now
    clock.now += 59.3
    body = compact(submission())
    assert client.post(url, content=body, headers=standard_headers(body)).status_code == 202
    # Forged posts do not count against the source: a real sender is not locked out by an attacker.
    other = client.post("/webhooks/intake/website", content=b"{}", headers=standard_headers(b"{}", secret=new_whsec()))
    assert other.status_code == 401


def typeform_headers(signature: str) -> dict[str, str]:
    return {"content-type": "application/json", "typeform-signature": signature}


def test_typeform_post_signed_per_its_docs_is_mapped_from_the_answers_array(
    client: TestClient, web_engine: Engine
) -> None:
    payload = {
        "event_id": "01HTYPEFORMEVENT",
        "event_type": "form_response",
        "form_response": {
            "form_id": "abc",
            "token": "tok",
            "submitted_at": "2026-11-27T10:00:00Z",
            "hidden": {"org": "Mercy Community Hospital", "fax": ""},
            "answers": [
                {"type": "text", "text": "Grace", "field": {"id": "1", "type": "short_text", "ref": "first_name"}},
                {"type": "text", "text": "Hopper", "field": {"id": "2", "type": "short_text", "ref": "last_name"}},
                {
                    "type": "email",
                    "email": "grace@mercy.example.org",
                    "field": {"id": "3", "type": "email", "ref": "email"},
                },
                {
                    "type": "choice",
                    "choice": {"label": "clinician"},
                    "field": {"id": "4", "type": "multiple_choice", "ref": "role"},
                },
                {"type": "text", "text": "Please call.", "field": {"id": "5", "type": "long_text", "ref": "message"}},
            ],
        },
    }
    body = json.dumps(payload).encode()
    url = "/webhooks/intake/typeform"
    response = client.post(
        url, content=body, headers={"content-type": "application/json", "typeform-signature": typeform_signature(body)}
    )
    assert response.status_code == 202, response.text
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("typeform", "01HTYPEFORMEVENT")
    assert entry is not None and entry.submission is not None
    assert entry.submission["organization"] == "Mercy Community Hospital"
    assert entry.submission["role"] == "clinician" and entry.submission["email"] == "grace@mercy.example.org"
    # Typeform has no timestamp: its event id is the replay guard.
    again = client.post(
        url, content=body, headers={"content-type": "application/json", "typeform-signature": typeform_signature(body)}
    )
    assert again.status_code == 200
    wrong = typeform_signature(body, secret="not the secret")
    assert_problem(client.post(url, content=body, headers=typeform_headers(wrong)), 401)
    hex_style = "sha256=" + typeform_signature(body).encode().hex()
    assert_problem(
        client.post(url, content=body, headers=typeform_headers(hex_style)),
        401,
    )


def test_tally_post_signed_per_its_docs_is_mapped_from_its_fields(client: TestClient, web_engine: Engine) -> None:
    payload = {
        "eventId": str(uuid.uuid4()),
        "eventType": "FORM_RESPONSE",
        "createdAt": "2026-11-27T10:00:00.000Z",
        "data": {
            "responseId": "r1",
            "formId": "f1",
            "fields": [
                {"key": "question_1", "label": "First name", "type": "INPUT_TEXT", "value": "Mary"},
                {"key": "question_2", "label": "Last name", "type": "INPUT_TEXT", "value": "Seacole"},
                {"key": "question_email", "label": "Email", "type": "INPUT_EMAIL", "value": "mary@seacole.example.org"},
                {"key": "question_4", "label": "Organisation", "type": "INPUT_TEXT", "value": "Seacole Health"},
                {
                    "key": "question_5",
                    "label": "Interest",
                    "type": "MULTIPLE_CHOICE",
                    "value": ["o2"],
                    "options": [{"id": "o1", "text": "Pilot"}, {"id": "o2", "text": "Full cohort"}],
                },
            ],
        },
    }
    body = json.dumps(payload).encode()
    headers = {"content-type": "application/json", "tally-signature": tally_signature(body)}
    assert client.post("/webhooks/intake/tally", content=body, headers=headers).status_code == 202
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("tally", payload["eventId"])
    assert entry is not None and entry.submission is not None
    assert entry.submission["interest"] == "Full cohort" and entry.submission["consent_to_contact"] is True
    bad = {**headers, "tally-signature": tally_signature(body, "wrong")}
    assert_problem(client.post("/webhooks/intake/tally", content=body, headers=bad), 401)


def test_token_source_takes_form_posts_and_rotated_tokens(client: TestClient, web_engine: Engine) -> None:
    form = urlencode({"fname": "Ida", "lname": "Wells", "email": "ida@example.org", "org": "Wells Clinic", "msg": "Hi"})
    url = "/webhooks/intake/wix"
    base = {"content-type": "application/x-www-form-urlencoded", "x-submission-id": "sub-1"}
    assert client.post(url, content=form, headers={**base, "x-ignite-token": FORM_TOKEN}).status_code == 202
    again = client.post(url, content=form, headers={**base, "x-ignite-token": OLD_FORM_TOKEN})
    assert again.status_code == 200  # the old token still works during rotation; same submission id: duplicate
    assert_problem(client.post(url, content=form, headers={**base, "x-ignite-token": "guess"}), 401)
    assert_problem(client.post(url, content=form, headers=base), 401)
    json_body = compact(submission())
    assert_problem(
        client.post(
            url, content=json_body, headers={**base, "content-type": "application/json", "x-ignite-token": FORM_TOKEN}
        ),
        415,
    )
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("wix", "sub-1")
    assert entry is not None and entry.submission is not None and entry.submission["last_name"] == "Wells"


def test_sender_without_delivery_id_is_deduplicated_by_body_hash(client: TestClient, web_engine: Engine) -> None:
    body = compact(submission())
    first = client.post("/webhooks/intake/dev", content=body, headers={"content-type": "application/json"})
    again = client.post("/webhooks/intake/dev", content=body, headers={"content-type": "application/json"})
    assert (first.status_code, again.status_code) == (202, 200)
    assert counts(web_engine) == (1, 1)


def test_metrics_count_accepted_and_rejected_by_reason(client: TestClient) -> None:
    body = compact(submission())
    client.post(URL, content=body, headers=standard_headers(body))
    client.post(URL, content=body, headers=standard_headers(body, secret=new_whsec()))
    client.post(URL, content=body, headers={**standard_headers(body), "content-type": "text/csv"})
    text = client.get("/metrics").text
    assert 'ignite_intake_accepted_total{source="website"} 1.0' in text
    assert 'ignite_intake_rejected_total{reason="bad_signature",source="website"} 1.0' in text
    assert 'ignite_intake_rejected_total{reason="unsupported_media_type",source="website"} 1.0' in text
    assert 'ignite_jobs{state="queued"} 1.0' in text
    assert 'ignite_intake_inbox{status="pending"} 1.0' in text


def test_typeform_post_from_a_form_the_field_map_does_not_fit_is_quarantined_not_refused(
    client: TestClient, web_engine: Engine
) -> None:
    """Typeform disables a webhook that keeps failing; a form edited without updating the field map must still
    be stored, for staff to release once the map is fixed or the fields are filled in by hand."""
    payload = {
        "event_id": "01HOTHERFORM",
        "event_type": "form_response",
        "form_response": {
            "form_id": "other",
            "hidden": {},
            "answers": [
                {"type": "text", "text": "Grace", "field": {"id": "1", "type": "short_text", "ref": "given_name"}},
                {"type": "email", "email": "grace@example.org", "field": {"id": "3", "type": "email", "ref": "mail"}},
            ],
        },
    }
    body = json.dumps(payload).encode()
    response = client.post(
        "/webhooks/intake/typeform", content=body, headers=typeform_headers(typeform_signature(body))
    )
    assert response.status_code == 202, response.text
    entry = quarantined_entry(web_engine, "typeform", "01HOTHERFORM")
    assert {"last_name", "email", "organization"} <= {p["field"] for p in entry.quarantine_problems or []}
    # A Typeform body without its form_response parses but cannot be mapped: kept as well.
    odd = json.dumps({"event_id": "01HNOFORM", "event_type": "form_response"}).encode()
    answer = client.post("/webhooks/intake/typeform", content=odd, headers=typeform_headers(typeform_signature(odd)))
    assert answer.status_code == 202
    odd_entry = quarantined_entry(web_engine, "typeform", hashlib.sha256(odd).hexdigest())
    assert [p["field"] for p in odd_entry.quarantine_problems or []] == ["form_response"]
    assert counts(web_engine) == (2, 0)


def test_form_post_with_an_invalid_email_is_quarantined(client: TestClient, web_engine: Engine) -> None:
    form = urlencode({"fname": "Ida", "lname": "Wells", "email": "ida(at)example.org", "org": "Wells Clinic"})
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-submission-id": "sub-bad",
        "x-ignite-token": FORM_TOKEN,
    }
    assert client.post("/webhooks/intake/wix", content=form, headers=headers).status_code == 202
    entry = quarantined_entry(web_engine, "wix", "sub-bad")
    assert entry.candidate is not None and entry.candidate["last_name"] == "Wells"
    assert [p["field"] for p in entry.quarantine_problems or []] == ["email"]
    metrics = client.get("/metrics").text
    assert 'ignite_intake_quarantined_waiting{reason="invalid"} 1.0' in metrics
    assert 'ignite_intake_quarantined_waiting{reason="honeypot"} 0.0' in metrics
    assert 'ignite_intake_inbox{status="quarantined"} 1.0' in metrics
