"""What a failure means for the sync: retry later, stop and ask a person, or reject only this row."""

from __future__ import annotations

import pytest

from connector.base import CrmError, Disposition, FatalCrmError, TransientCrmError
from connector.errors import classify

R, F, X = Disposition.RETRY, Disposition.FATAL, Disposition.ROW_REJECTED


class ReadTimeout(OSError):
    """Stands in for requests.exceptions.ReadTimeout: classified by name so connector/ needs no requests."""


CASES = [
    # (status, errorCode, exception) -> disposition
    pytest.param(400, "UNABLE_TO_LOCK_ROW", None, R, id="lock-as-400-retries"),
    pytest.param(200, "UNABLE_TO_LOCK_ROW", None, R, id="lock-inside-a-200-row-result-retries"),
    pytest.param(403, "REQUEST_LIMIT_EXCEEDED", None, R, id="api-limit-retries-later"),
    pytest.param(503, "SERVER_UNAVAILABLE", None, R, id="maintenance-retries"),
    pytest.param(500, "UNKNOWN_EXCEPTION", None, R, id="platform-error-retries"),
    pytest.param(502, None, None, R, id="bad-gateway-retries"),
    pytest.param(504, None, None, R, id="gateway-timeout-retries"),
    pytest.param(429, None, None, R, id="too-many-requests-retries"),
    pytest.param(401, "INVALID_SESSION_ID", None, F, id="expired-session-is-fatal-after-relogin"),
    pytest.param(403, None, None, F, id="forbidden-without-code-is-fatal"),
    pytest.param(404, "NOT_FOUND", None, F, id="missing-resource-is-fatal"),
    pytest.param(400, "MALFORMED_QUERY", None, F, id="bad-soql-is-fatal"),
    pytest.param(400, "INVALID_TYPE", None, F, id="unknown-object-is-fatal"),
    pytest.param(400, "JSON_PARSER_ERROR", None, F, id="malformed-body-is-fatal"),
    pytest.param(None, "REQUIRED_FIELD_MISSING", None, X, id="required-field-rejects-row"),
    pytest.param(None, "INVALID_FIELD", None, X, id="unknown-field-rejects-row"),
    pytest.param(None, "STRING_TOO_LONG", None, X, id="too-long-rejects-row"),
    pytest.param(None, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", None, X, id="picklist-rejects-row"),
    pytest.param(None, "DUPLICATE_VALUE", None, X, id="duplicate-value-rejects-row"),
    pytest.param(None, "DUPLICATES_DETECTED", None, X, id="duplicate-rule-rejects-row"),
    pytest.param(None, "DUPLICATE_EXTERNAL_ID", None, X, id="several-matches-rejects-row"),
    pytest.param(None, "INVALID_CROSS_REFERENCE_KEY", None, X, id="missing-parent-rejects-row"),
    pytest.param(None, "MALFORMED_ID", None, X, id="bad-id-rejects-row"),
    pytest.param(None, "ENTITY_IS_DELETED", None, X, id="deleted-parent-rejects-row"),
    pytest.param(None, "FIELD_CUSTOM_VALIDATION_EXCEPTION", None, X, id="validation-rule-rejects-row"),
    pytest.param(400, "SOME_NEW_CODE", None, X, id="unknown-code-rejects-row-not-retried"),
    pytest.param(300, None, None, X, id="multiple-choices-rejects-row"),
    pytest.param(400, None, None, X, id="bad-request-without-code-rejects-row"),
    pytest.param(None, "unable_to_lock_row", None, R, id="codes-are-case-insensitive"),
    pytest.param(None, None, TimeoutError("read timed out"), R, id="timeout-retries"),
    pytest.param(None, None, ConnectionRefusedError(), R, id="refused-connection-retries"),
    pytest.param(None, None, ReadTimeout(), R, id="requests-timeout-by-name-retries"),
    pytest.param(None, None, TransientCrmError("busy", code="UNABLE_TO_LOCK_ROW"), R, id="transient-crm-error"),
    pytest.param(None, None, FatalCrmError("bad login", code="INVALID_LOGIN"), F, id="fatal-crm-error"),
    pytest.param(None, None, CrmError("limit", code="REQUEST_LIMIT_EXCEEDED"), R, id="crm-error-uses-its-code"),
    pytest.param(None, None, CrmError("gateway", status=503), R, id="crm-error-uses-its-status"),
    pytest.param(None, None, KeyError("bug"), F, id="programming-error-is-fatal"),
    pytest.param(None, None, None, F, id="nothing-known-is-fatal"),
]


@pytest.mark.parametrize(("status", "code", "exception", "expected"), CASES)
def test_classify(status: int | None, code: str | None, exception: BaseException | None, expected: Disposition) -> None:
    assert classify(status, code, exception) is expected
