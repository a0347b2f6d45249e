"""Turn what simple-salesforce and requests raise into the port's errors, using the one `classify()`.

simple-salesforce raises by HTTP status (400 → SalesforceMalformedRequest even for UNABLE_TO_LOCK_ROW), so the
decision reads the errorCode in the body first, as `classify()` does.  Two extra facts matter here and not in
`classify()`: whether a failed request may already have been applied (a read timeout after the server
committed), which decides whether a non-idempotent create may be repeated; and the 401, which the connector
answers with exactly one re-login.
"""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.exceptions import SalesforceError
from urllib3.exceptions import MaxRetryError, NewConnectionError

from connector.base import CrmError, Disposition, FatalCrmError, TransientCrmError
from connector.errors import classify

REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"


class MaybeAppliedError(TransientCrmError):
    """Transient, but the server may have done the work before the failure (timeout mid-response, 500)."""


class SessionExpiredError(Exception):
    """A 401: the session id is no longer valid.  Internal: the connector re-logs in once, then goes fatal."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def first_error(content: Any) -> tuple[str | None, str]:
    """(errorCode, message) from Salesforce's JSON error array (or whatever text came back instead)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        item = content[0]
        code = item.get("errorCode") or item.get("statusCode")
        return (str(code) if code else None), str(item.get("message", ""))
    if isinstance(content, dict):
        code = content.get("errorCode") or content.get("error")
        return (str(code) if code else None), str(content.get("message") or content.get("error_description") or "")
    text = content.decode(errors="replace") if isinstance(content, bytes) else str(content or "")
    return None, text[:300]


def _never_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)


def translate(exc: BaseException, *, what: str, limit_retry_after: float) -> BaseException:
    """The port error (or SessionExpiredError) for an exception raised while doing `what`."""
    if isinstance(exc, CrmError | SessionExpiredError):
        return exc
    if isinstance(exc, SalesforceError):
        code, message = first_error(exc.content)
        status = int(exc.status)
        if status == 401:
            return SessionExpiredError(f"{what}: {code or 'HTTP 401'}: {message}")
        text = f"{what}: HTTP {status} {code or ''}: {message}".replace("  ", " ")
        if code == REQUEST_LIMIT_EXCEEDED:
            return TransientCrmError(text, code=code, status=status, retry_after=limit_retry_after)
        disposition = classify(status=status, error_code=code)
        if disposition is Disposition.RETRY:
            error_cls = MaybeAppliedError if status == 500 else TransientCrmError
            return error_cls(text, code=code, status=status)
        return FatalCrmError(text, code=code, status=status)
    if isinstance(exc, requests.exceptions.SSLError):
        return FatalCrmError(f"{what}: TLS failure, check IGNITE_SF_CA_BUNDLE ({exc})")
    if isinstance(exc, requests.RequestException):
        name = type(exc).__name__
        if _never_sent(exc):
            return TransientCrmError(f"{what}: could not connect ({name})")
        if classify(exception=exc) is Disposition.RETRY:
            return MaybeAppliedError(f"{what}: {name} before a complete answer")
        return FatalCrmError(f"{what}: {name}: {exc}")
    return exc
