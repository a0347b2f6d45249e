"""One place that decides what a CRM failure means for the sync: retry later, stop, or reject just this row.

Salesforce reports the same condition under different HTTP statuses (UNABLE_TO_LOCK_ROW arrives as a 400 or
inside a 200 per-record result), so the errorCode decides first and the status only when there is no code.
Transport exceptions (timeouts, refused connections) are always worth a retry: the write was an idempotent
upsert, so repeating it cannot duplicate a record.
"""

from __future__ import annotations

from connector.base import CrmError, Disposition, FatalCrmError, TransientCrmError

# Codes for which waiting and retrying can succeed without anyone changing anything.
RETRY_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "REQUEST_LIMIT_EXCEEDED",
        "SERVER_UNAVAILABLE",
        "UNKNOWN_EXCEPTION",
        "QUERY_TIMEOUT",
        "TXN_SECURITY_METERING_ERROR",
        "CONCURRENT_REQUESTS_LIMIT_EXCEEDED",
    }
)
# Codes that mean the whole call (every row in it) cannot succeed until a person acts.
FATAL_CODES = frozenset(
    {
        "INVALID_SESSION_ID",
        "INVALID_AUTH_HEADER",
        "INVALID_LOGIN",
        "INSUFFICIENT_ACCESS",
        "API_DISABLED_FOR_ORG",
        "API_CURRENTLY_DISABLED",
        "INVALID_TYPE",
        "NOT_FOUND",
        "MALFORMED_QUERY",
        "INVALID_QUERY_FILTER_OPERATOR",
        "JSON_PARSER_ERROR",
        "METHOD_NOT_ALLOWED",
        "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
        "EXCEEDED_ID_LIMIT",
    }
)
RETRY_STATUSES = frozenset({408, 420, 429, 500, 502, 503, 504})
FATAL_STATUSES = frozenset({401, 403, 404, 405, 406, 414, 415, 431})
# Python exceptions raised by transports when the far side could not be reached or did not answer in time.
_TRANSIENT_EXCEPTION_NAMES = frozenset(
    {"ConnectionError", "Timeout", "ReadTimeout", "ConnectTimeout", "ChunkedEncodingError", "RemoteDisconnected"}
)


def classify(
    status: int | None = None,
    error_code: str | None = None,
    exception: BaseException | None = None,
) -> Disposition:
    """Map (HTTP status, Salesforce errorCode, exception) to RETRY, FATAL or ROW_REJECTED.

    A per-record error with a data code (REQUIRED_FIELD_MISSING…) is ROW_REJECTED: the rest of the batch is
    fine.  Unknown codes on a 400 are treated as row-level data problems, never retried blindly.
    """
    if isinstance(exception, TransientCrmError):
        return Disposition.RETRY
    if isinstance(exception, FatalCrmError):
        return Disposition.FATAL
    if isinstance(exception, CrmError):
        error_code = error_code or exception.code
        status = status if status is not None else exception.status
    code = (error_code or "").upper()
    if code in RETRY_CODES:
        return Disposition.RETRY
    if code in FATAL_CODES:
        return Disposition.FATAL
    if exception is not None and not isinstance(exception, CrmError):
        if isinstance(exception, TimeoutError | ConnectionError):
            return Disposition.RETRY
        if any(cls.__name__ in _TRANSIENT_EXCEPTION_NAMES for cls in type(exception).__mro__):
            return Disposition.RETRY
    if code:
        return Disposition.ROW_REJECTED
    if status is not None:
        if status in RETRY_STATUSES:
            return Disposition.RETRY
        if status in FATAL_STATUSES:
            return Disposition.FATAL
        if status == 300 or 400 <= status < 500:
            return Disposition.ROW_REJECTED
        if status >= 500:
            return Disposition.RETRY
    # Nothing we recognise (a bug, an unexpected exception): stop rather than retry blindly or drop the row.
    return Disposition.FATAL
