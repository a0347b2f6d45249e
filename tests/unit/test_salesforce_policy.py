"""The Salesforce adapter's pure rules: limit parsing, the pause threshold, error translation, Bulk CSV, lookups."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)
from simple_salesforce.format import format_soql

from connector.base import FatalCrmError, TransientCrmError
from connector.salesforce import GivenSession, SalesforceConnector, SalesforcePolicy, build_salesforce_connector
from connector.salesforce.auth import instance_from_url
from connector.salesforce.bulk import cell, flatten, parse_error, to_csv
from connector.salesforce.errors import MaybeAppliedError, SessionExpiredError, translate
from connector.salesforce.limits import LimitTracker, parse_limit_info


def sf_error(cls: type, status: int, code: str) -> Exception:
    return cls("https://x/services/data/v62.0/x", status, "x", [{"errorCode": code, "message": "m"}])


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("api-usage=18/5000", (18, 5000), id="plain"),
        pytest.param("api-usage=25/5000; per-app-api-usage=17/250(appName=x)", (25, 5000), id="with-per-app"),
        pytest.param("per-app-api-usage=17/250(appName=x)", None, id="per-app-only-is-not-org-usage"),
        pytest.param("", None, id="empty"),
    ],
)
def test_sforce_limit_info_is_read_for_org_usage(header: str, expected: tuple[int, int] | None) -> None:
    usage = parse_limit_info(header)
    assert (None if usage is None else (usage.used, usage.total)) == expected


def test_writes_pause_once_usage_reaches_the_configured_share() -> None:
    tracker = LimitTracker(0.9)
    tracker.observe("api-usage=89999/100000")
    assert tracker.pause_reason is None
    tracker.observe("api-usage=90000/100000")
    assert tracker.pause_reason is not None
    assert "90,000/100,000" in tracker.pause_reason and "IGNITE_SF_LIMIT_PAUSE_SHARE" in tracker.pause_reason


@pytest.mark.parametrize(
    ("exc", "expected", "code"),
    [
        pytest.param(
            sf_error(SalesforceMalformedRequest, 400, "UNABLE_TO_LOCK_ROW"),
            TransientCrmError,
            "UNABLE_TO_LOCK_ROW",
            id="lock-400-retries",
        ),
        pytest.param(
            sf_error(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"),
            TransientCrmError,
            "SERVER_UNAVAILABLE",
            id="503-retries",
        ),
        pytest.param(
            sf_error(SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION"),
            MaybeAppliedError,
            "UNKNOWN_EXCEPTION",
            id="500-may-have-applied",
        ),
        pytest.param(
            sf_error(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"),
            TransientCrmError,
            "REQUEST_LIMIT_EXCEEDED",
            id="limit-transient",
        ),
        pytest.param(
            sf_error(SalesforceMalformedRequest, 400, "JSON_PARSER_ERROR"),
            FatalCrmError,
            "JSON_PARSER_ERROR",
            id="malformed-fatal",
        ),
        pytest.param(
            sf_error(SalesforceMalformedRequest, 400, "INVALID_FIELD"),
            FatalCrmError,
            "INVALID_FIELD",
            id="data-code-on-whole-call-fatal",
        ),
        pytest.param(
            requests.exceptions.ReadTimeout("slow"), MaybeAppliedError, None, id="read-timeout-may-have-applied"
        ),
        pytest.param(
            requests.exceptions.ChunkedEncodingError("reset"), MaybeAppliedError, None, id="reset-may-have-applied"
        ),
        pytest.param(
            requests.exceptions.ConnectTimeout("no"), TransientCrmError, None, id="connect-timeout-never-sent"
        ),
        pytest.param(requests.exceptions.SSLError("bad cert"), FatalCrmError, None, id="tls-fatal"),
    ],
)
def test_failures_translate_to_the_port_errors_by_error_code(exc: Exception, expected: type, code: str | None) -> None:
    error = translate(exc, what="upsert Contact", limit_retry_after=900)
    assert type(error) is expected
    assert getattr(error, "code", None) == code


def test_request_limit_exceeded_suggests_a_long_delay() -> None:
    error = translate(
        sf_error(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"), what="x", limit_retry_after=900
    )
    assert isinstance(error, TransientCrmError) and error.retry_after == 900


def test_expired_session_is_kept_apart_for_the_single_relogin() -> None:
    error = translate(sf_error(SalesforceExpiredSession, 401, "INVALID_SESSION_ID"), what="x", limit_retry_after=1)
    assert isinstance(error, SessionExpiredError)


def test_bulk_csv_clears_nulls_with_na_and_leaves_absent_fields_blank() -> None:
    rows = [
        {"Ignite_Key__c": "p:1", "Email": None, "HasOptedOutOfEmail": True, "Account": {"Ignite_Key__c": "org:a"}},
        {"Ignite_Key__c": "p:2", "LastName": 'Ng, "Jr"'},
    ]
    text = to_csv([flatten(r) for r in rows], "Ignite_Key__c")
    assert text.splitlines() == [
        "Ignite_Key__c,Email,HasOptedOutOfEmail,Account.Ignite_Key__c,LastName",
        "p:1,#N/A,true,org:a,",
        'p:2,,,,"Ng, ""Jr"""',
    ]
    assert cell(False) == "false" and cell(3.5) == "3.5"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
            ("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ("LastName",)),
            id="with-fields",
        ),
        pytest.param(
            "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--",
            ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", ()),
            id="no-fields",
        ),
    ],
)
def test_bulk_error_text_is_split_into_code_message_and_fields(text: str, expected: tuple) -> None:
    assert parse_error(text) == expected


def test_lookup_chunks_stay_under_the_url_budget_and_the_count(tmp_path: Path) -> None:
    policy = SalesforcePolicy(lookup_chunk=50, max_query_chars=2000)
    connector = SalesforceConnector(GivenSession("sid", "https://127.0.0.1:1"), policy=policy)
    values = [f"person{i}@example.org" for i in range(400)] + ["o'brien@example.org"]
    chunks = list(connector._lookup_chunks(values, "SELECT Id, Email FROM Contact WHERE Email IN "))
    assert [v for c in chunks for v in c] == values
    assert all(len(c) <= 50 for c in chunks)
    from urllib.parse import quote

    for chunk in chunks:
        soql = format_soql("SELECT Id, Email FROM Contact WHERE Email IN {}", chunk)
        assert len(quote(soql)) <= 2000
    assert "'o\\'brien@example.org'" in format_soql("{}", chunks[-1])


def test_object_and_field_names_cannot_smuggle_soql() -> None:
    connector = SalesforceConnector(GivenSession("sid", "https://127.0.0.1:1"))
    with pytest.raises(ValueError, match="not a Salesforce API field name"):
        connector.lookup("Contact", "Email) OR (Name", ["x"])


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        pytest.param(
            {"auth": "password", "username": "u"}, "IGNITE_SF_PASSWORD, IGNITE_SF_SECURITY_TOKEN", id="password"
        ),
        pytest.param({"auth": "jwt", "username": "u"}, "IGNITE_SF_CONSUMER_KEY, IGNITE_SF_PRIVATE_KEY_FILE", id="jwt"),
        pytest.param({"auth": "session"}, "IGNITE_SF_SESSION_ID, IGNITE_SF_INSTANCE_URL", id="session"),
    ],
)
def test_each_auth_mode_names_the_settings_it_lacks(kwargs: dict, missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        build_salesforce_connector(**kwargs)


def test_instance_url_must_be_https() -> None:
    assert instance_from_url("https://acme.my.salesforce.com") == "acme.my.salesforce.com"
    assert instance_from_url("https://127.0.0.1:8443/") == "127.0.0.1:8443"
    with pytest.raises(ValueError, match="https"):
        instance_from_url("http://127.0.0.1:8443")


def test_settings_wire_the_salesforce_adapter(tmp_path: Path) -> None:
    from connector.base import CrmError
    from settings import load_settings
    from wiring import build_connector

    ca = tmp_path / "ca.pem"
    ca.write_text("not read until a call is made")
    settings = load_settings(
        crm="salesforce",
        sf_auth="session",
        sf_session_id="sid",
        sf_instance_url="https://127.0.0.1:8443",
        sf_ca_bundle=ca,
        sf_bulk_threshold=500,
        sf_limit_pause_share=0.8,
    )
    connector = build_connector(settings)
    assert isinstance(connector, SalesforceConnector)
    assert connector.policy.bulk_threshold == 500 and connector.limit_tracker.pause_share == 0.8
    with pytest.raises(CrmError, match="IGNITE_SF_SESSION_ID"):
        build_connector(load_settings(crm="salesforce", sf_auth="session", sf_instance_url="https://x"))
