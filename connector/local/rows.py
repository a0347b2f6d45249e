"""A write call's records as the write path carries them: one `Row` per input record, and its refusal.

Every step of a write (matching, access, lookups, uniqueness, org checks, the INSERT/UPDATE itself) reads and
marks the same rows, so their shape lives here, apart from every step.  A row fails by getting a `RowError`,
which becomes the row's `RowResult` with Salesforce's error code; later steps skip rows that have one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connector.base import RowResult
from connector.local.schema import FieldSpec, ObjectSpec


class RowError(Exception):
    def __init__(self, code: str, message: str, fields: Iterable[str] = (), matched: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = tuple(fields)
        self.matched = tuple(matched)

    def result(self) -> RowResult:
        return RowResult(
            success=False, error_code=self.code, message=self.message, fields=self.fields, matched_ids=self.matched
        )


@dataclass
class Ref:
    """A lookup set by external ID: `"Account": {"Ignite_Key__c": "org:flch"}` on the row being saved."""

    field: FieldSpec  # the reference field on this object (AccountId)
    target: ObjectSpec
    key_field: FieldSpec  # the target's external-ID field
    value: Any  # stored representation of the key value


@dataclass
class Row:
    index: int
    values: dict[str, Any]  # canonical field name -> stored value
    refs: list[Ref] = field(default_factory=list)
    record_id: str | None = None  # existing record (update) or allocated (create)
    create: bool = True
    error: RowError | None = None
