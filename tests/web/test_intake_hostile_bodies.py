"""What a sender gets for each kind of bad body, from the issue's adversarial run (issue 13).

The rule behind every test here: a signed post is answered 4xx (a problem document naming the field and rule)
or 202 and stored for review; never 500 or 503, which tell a sender to retry something that can never succeed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from store.intake import InboxRepository
from store.jobs import JobRepository
from tests.web.helpers import FORM_TOKEN, compact, standard_headers, submission, typeform_signature

URL = "/webhooks/intake/website"


def post_json(client: TestClient, body: bytes, msg_id: str | None = None) -> Any:
    return client.post(URL, content=body, headers=standard_headers(body, msg_id=msg_id))


def job_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return sum(JobRepository(conn).counts_by_state().values())


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("10,000 nested arrays", b'{"email": "a@example.org", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"),
        ("nesting past the limit", compact(submission(utm=json.loads("[" * 40 + "]" * 40)))),
        ("a 5,000-digit integer in an ignored field", compact(submission())[:-1] + b', "utm": ' + b"9" * 5000 + b"}"),
        ("an unpaired surrogate in a value", compact(submission())[:-1] + b', "referrer": "\\ud800"}'),
        ("an unpaired surrogate in a name", compact(submission())[:-1] + b', "\\udfff": "x"}'),
        ("a float too large for a double", compact(submission())[:-1] + b', "utm": 1e999}'),
    ],
)
def test_a_body_that_can_never_be_stored_is_refused_400_never_retried(
    client: TestClient, web_engine: Engine, name: str, body: bytes
) -> None:
    response = post_json(client, body)
    assert response.status_code == 400, name
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "(body)"
    assert job_count(web_engine) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("message", "Hello\x00world"),
        ("last_name", "Love\x1b[31mlace"),
        ("organization", "AEH\x00"),
        ("email", "ada\x00@example.org"),
    ],
)
def test_control_characters_in_a_submission_field_quarantine_it_naming_the_field(
    client: TestClient, web_engine: Engine, field: str, value: str
) -> None:
    response = post_json(client, compact(submission(**{field: value})), msg_id=f"msg_ctl_{field}")
    assert response.status_code == 202
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("website", f"msg_ctl_{field}")
    assert entry is not None and entry.status == "quarantined"
    assert field in {p["field"] for p in entry.quarantine_problems or []}
    assert job_count(web_engine) == 0


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("NUL in an ignored value", b'"utm_source": "a\\u0000b"'),
        ("NUL in an ignored name", b'"\\u0000": "x"'),
        ("escape characters in an ignored name", b'"\\u001b[2J": "x"'),
        ("a huge but finite float", b'"utm": 1.7976931348623157e308'),
        ("a 100-digit integer", b'"utm": ' + b"9" * 100),
        ("nesting within the limit", b'"utm": ' + b"[" * 30 + b"]" * 30),
        ("a paired surrogate (an emoji, escaped)", b'"utm": "\\ud83d\\ude00"'),
    ],
)
def test_odd_but_storable_values_in_ignored_fields_are_accepted_and_delivered(
    client: TestClient, web_engine: Engine, name: str, extra: bytes
) -> None:
    body = compact(submission())[:-1] + b", " + extra + b"}"
    response = post_json(client, body, msg_id="msg_odd")
    assert response.status_code == 202, (name, response.text)
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("website", "msg_odd")
    assert entry is not None and entry.status == "pending"
    assert job_count(web_engine) == 1


def test_a_message_keeps_its_line_breaks(client: TestClient, web_engine: Engine) -> None:
    response = post_json(client, compact(submission(message="Line one\r\nLine two\tend")), msg_id="msg_lines")
    assert response.status_code == 202
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("website", "msg_lines")
    assert entry is not None and entry.status == "pending"


def typeform_body(event_id: str) -> bytes:
    return compact(
        {
            "event_id": event_id,
            "event_type": "form_response",
            "form_response": {
                "hidden": {"org": "Analytical Engines Health"},
                "answers": [
                    {"type": "text", "text": "Ada", "field": {"ref": "first_name"}},
                    {"type": "text", "text": "Lovelace", "field": {"ref": "last_name"}},
                    {"type": "email", "email": "ada@example.org", "field": {"ref": "email"}},
                ],
            },
        }
    )


@pytest.mark.parametrize("event_id", ["01H\x00NUL", "01H\nINFO intake accepted source=forged", "01H \u00e9"])
def test_a_typeform_event_id_that_cannot_be_a_delivery_id_is_quarantined_not_503(
    client: TestClient, web_engine: Engine, event_id: str
) -> None:
    body = typeform_body(event_id)
    headers = {"content-type": "application/json", "typeform-signature": typeform_signature(body)}
    first = client.post("/webhooks/intake/typeform", content=body, headers=headers)
    assert first.status_code == 202
    # Typeform retries the same body: it is the same delivery (keyed by the body's hash), stored once.
    assert client.post("/webhooks/intake/typeform", content=body, headers=headers).status_code == 200
    with web_engine.connect() as conn:
        [entry] = InboxRepository(conn).quarantined()
    assert entry.quarantine_problems == [
        {"field": "event_id", "rule": "must be 1-255 printable ASCII characters (no spaces or control characters)"}
    ]
    assert job_count(web_engine) == 0


def test_a_delivery_id_cannot_forge_a_log_line(
    client: TestClient, caplog: pytest.LogCaptureFixture, web_engine: Engine
) -> None:
    """Whatever a sender puts in an id that reaches a log line, each logged event stays one line."""
    caplog.set_level(logging.INFO, logger="ignite")
    body = typeform_body("01H\nINFO intake accepted source=forged delivery=x")
    headers = {"content-type": "application/json", "typeform-signature": typeform_signature(body)}
    assert client.post("/webhooks/intake/typeform", content=body, headers=headers).status_code == 202
    client.post("/webhooks/intake/nobody%0Aforged", content=b"{}", headers={"content-type": "application/json"})
    messages = [record.getMessage() for record in caplog.records if record.name.startswith("ignite")]
    assert messages and all("\n" not in message and "\r" not in message for message in messages)


WIX = "/webhooks/intake/wix"


def post_form(client: TestClient, body: bytes, submission_id: str) -> Any:
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-ignite-token": FORM_TOKEN,
        "x-submission-id": submission_id,
    }
    return client.post(WIX, content=body, headers=headers)


def test_a_latin1_form_field_is_quarantined_naming_the_field_never_stored_as_a_replacement_character(
    client: TestClient, web_engine: Engine
) -> None:
    body = b"fname=Ada&lname=Caf%E9&email=ada%40example.org&org=AEH"
    assert post_form(client, body, "sub-latin1").status_code == 202
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("wix", "sub-latin1")
    assert entry is not None and entry.status == "quarantined"
    [problem] = [p for p in entry.quarantine_problems or [] if "UTF-8" in p["rule"]]
    assert problem["field"] == "last_name" and "'lname'" in problem["rule"]
    assert "\ufffd" not in json.dumps(entry.candidate, ensure_ascii=False)
    assert job_count(web_engine) == 0


def test_a_repeated_form_field_is_reported_not_silently_last_wins(client: TestClient, web_engine: Engine) -> None:
    body = b"fname=Ada&lname=Lovelace&email=ada%40example.org&email=eve%40example.org&org=AEH"
    assert post_form(client, body, "sub-repeat").status_code == 202
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("wix", "sub-repeat")
    assert entry is not None and entry.status == "quarantined"
    rule = "form field 'email' was sent more than once; which value is meant is not known"
    assert {"field": "email", "rule": rule} in (entry.quarantine_problems or [])
    assert job_count(web_engine) == 0


def test_an_email_the_crm_cannot_hold_is_quarantined_at_intake_not_retried_for_days(
    client: TestClient, web_engine: Engine
) -> None:
    long_email = "a" * 64 + "@" + "b" * 38 + ".org"  # 107 characters: a valid address, over Lead.Email's 80
    response = post_json(client, compact(submission(email=long_email)), msg_id="msg_long_email")
    assert response.status_code == 202
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("website", "msg_long_email")
    assert entry is not None and (entry.status, entry.quarantine_reason) == ("quarantined", "mapping")
    assert any(p["field"] == "Lead.Email" and "80" in p["rule"] for p in entry.quarantine_problems or [])
    assert job_count(web_engine) == 0
