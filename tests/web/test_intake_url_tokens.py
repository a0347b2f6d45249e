"""Senders that cannot set headers or sign (Wix automations, Jotform, Google Forms scripts): a token in the URL
path, stored only hashed and rotatable, and multipart/form-data bodies.  The token never reaches a log."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service import create_app
from settings import load_settings
from store.intake import InboxRepository
from tests.web.helpers import FORM_TOKEN, OLD_FORM_TOKEN, SOURCES
from tests.web.live_server import serving

FIELDS = {"fname": "Ida", "lname": "Wells", "email": "ida@example.org", "org": "Wells Clinic", "msg": "Hi"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_a_token_in_the_url_authenticates_and_rotated_tokens_both_work(client: TestClient, web_engine: Engine) -> None:
    body = urlencode(FIELDS)
    first = client.post(f"/webhooks/intake/wix/{FORM_TOKEN}", content=body, headers={**FORM, "x-submission-id": "u1"})
    assert first.status_code == 202
    again = client.post(
        f"/webhooks/intake/wix/{OLD_FORM_TOKEN}", content=body, headers={**FORM, "x-submission-id": "u1"}
    )
    assert again.status_code == 200  # the old token still works while rotating; same id: a duplicate
    assert client.post("/webhooks/intake/wix/guess", content=body, headers=FORM).status_code == 401
    # A source that signs takes no token in its URL.
    assert client.post(f"/webhooks/intake/website/{FORM_TOKEN}", content=b"{}", headers=FORM).status_code == 404
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("wix", "u1")
    assert entry is not None and entry.submission is not None and entry.submission["last_name"] == "Wells"


def test_multipart_form_data_is_read_like_a_url_encoded_form(client: TestClient, web_engine: Engine) -> None:
    answer = client.post(
        f"/webhooks/intake/wix/{FORM_TOKEN}",
        data=FIELDS,
        files={"attachment": ("cv.txt", b"not part of a submission", "text/plain")},
        headers={"x-submission-id": "m1"},
    )
    assert answer.status_code == 202, answer.text
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).find("wix", "m1")
    assert entry is not None and entry.status == "pending"
    assert entry.submission is not None and entry.submission["organization"] == "Wells Clinic"
    assert entry.content_type == "multipart/form-data"
    broken = client.post(
        f"/webhooks/intake/wix/{FORM_TOKEN}",
        content=b"--x\r\nnonsense",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert broken.status_code in (202, 400)  # never a 500: unreadable parts are refused or quarantined


def test_the_url_token_never_reaches_a_log_not_even_uvicorns_access_log(
    web_engine: Engine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(database_url=web_engine.url.render_as_string(hide_password=False), intake_sources=SOURCES)
    caplog.set_level(logging.DEBUG)
    # Another test may have let uvicorn configure its loggers (access log not propagating, or disabled).
    access_logger = logging.getLogger("uvicorn.access")
    monkeypatch.setattr(access_logger, "propagate", True)
    monkeypatch.setattr(access_logger, "disabled", False)
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    with serving(create_app(settings, engine=web_engine)) as base:
        body = urlencode(FIELDS)
        with httpx.Client(base_url=base) as http:
            assert http.post(f"/webhooks/intake/wix/{FORM_TOKEN}", content=body, headers=FORM).status_code == 202
            assert http.post(f"/webhooks/intake/wix/{FORM_TOKEN}", content=b"{", headers={}).status_code == 415
            assert http.post("/webhooks/intake/wix/not-the-token", content=body, headers=FORM).status_code == 401
            assert http.get(f"/webhooks/intake/wix/{FORM_TOKEN}").status_code == 405
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert {line.rsplit(" ", 1)[1] for line in access} == {"202", "415", "401", "405"}, access
    assert all("/webhooks/intake/{source}/{token}" in line for line in access)
    # Everything the service and uvicorn logged (the test's own HTTP client logs the URLs it calls).
    service = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    everything = "\n".join(r.getMessage() for r in service)
    assert FORM_TOKEN not in everything and "not-the-token" not in everything
