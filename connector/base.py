"""The `CrmConnector` port: what the sync engine may ask of any CRM, and how failures come back.

Rows fail as values (`RowResult` with an error code), whole calls fail as exceptions: `TransientCrmError`
(worth retrying later: outage, lock, limit) or `FatalCrmError` (retrying cannot help: bad credentials, a
malformed request).  Every adapter — the embedded local CRM, Salesforce over simple-salesforce — returns the
same shapes, so one contract suite tests them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

CrmRecord = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RowResult:
    """The outcome of one input row, in input order."""

    success: bool
    id: str | None = None
    created: bool = False
    error_code: str | None = None
    message: str | None = None
    fields: tuple[str, ...] = ()
    # For DUPLICATES_DETECTED: the Ids of the records a duplicate rule matched, so the engine can adopt one.
    matched_ids: tuple[str, ...] = ()


class Disposition(StrEnum):
    RETRY = "retry"
    FATAL = "fatal"
    ROW_REJECTED = "row_rejected"


class CrmError(Exception):
    """A whole call failed.  `code` is Salesforce's errorCode when there is one."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class TransientCrmError(CrmError):
    """Retrying later can succeed.  `retry_after` (seconds) is a hint, e.g. long for REQUEST_LIMIT_EXCEEDED."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.retry_after = retry_after


class FatalCrmError(CrmError):
    """Retrying cannot help until a person changes something (credentials, mapping, org configuration)."""


@dataclass(frozen=True, slots=True)
class ApiUsage:
    used: int
    total: int

    @property
    def share(self) -> float:
        return self.used / self.total if self.total else 0.0


@dataclass(frozen=True)
class QueryPage:
    records: list[CrmRecord]
    total_size: int
    done: bool
    next_locator: str | None = None


@dataclass
class CallCounter:
    """API calls made through a connector, by kind; the benches and `status` read it."""

    calls: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1) -> None:
        self.calls[kind] = self.calls.get(kind, 0) + n

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@runtime_checkable
class CrmConnector(Protocol):
    """The port.  Object and field names are the CRM's API names."""

    counter: CallCounter

    def describe(self, object_name: str) -> dict[str, Any]:
        """Describe-shaped metadata of one object (Salesforce's `sobjects/{Object}/describe` JSON)."""
        ...

    def upsert(self, object_name: str, external_id_field: str, records: Sequence[Mapping[str, Any]]) -> list[RowResult]:
        """Create or update each record by its external-ID value; one result per row, in input order."""
        ...

    def create(self, object_name: str, records: Sequence[Mapping[str, Any]]) -> list[RowResult]: ...

    def update(self, object_name: str, records: Sequence[Mapping[str, Any]]) -> list[RowResult]:
        """Each record carries its `Id`."""
        ...

    def delete(self, object_name: str, ids: Sequence[str]) -> list[RowResult]: ...

    def get(self, object_name: str, record_id: str, fields: Sequence[str] | None = None) -> CrmRecord | None: ...

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[QueryPage]:
        """Pages of rows; every page but the last carries a locator to the next."""
        ...

    def limits(self) -> dict[str, Any]:
        """Salesforce `/limits`-shaped JSON (`DailyApiRequests: {Max, Remaining}` at least)."""
        ...
