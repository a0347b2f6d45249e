"""Reads through the `CrmConnector` port: every record of a query, and records by Id or by a field's values.

Callers used to write the same loops over and over: build `WHERE Id IN (…)` by hand for 200 Ids at a time,
quote each value, then walk the pages (`for page in crm.query(…): for rec in page.records`).  They are here
once, so every value goes through the one quoting helper (`connector.soql.soql_quote`) and every IN-list
stays under the length Salesforce accepts in one query.

`query_all` yields records lazily, the way simple-salesforce's `query_all_iter` does: a caller that needs
only the first record stops after the first page.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from connector.base import CrmConnector
from connector.soql import soql_quote

IN_CHUNK = 200  # values per IN-list: one query stays well under Salesforce's 100,000-character SOQL limit


def query_all(crm: CrmConnector, soql: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
    """Every record the query returns, page after page (lazily)."""
    # `include_deleted` only when asked: a plain read is `query(soql)`, the call every connector (and double) takes
    pages = crm.query(soql, include_deleted=True) if include_deleted else crm.query(soql)
    for page in pages:
        yield from page.records


def in_list(values: Iterable[str]) -> str:
    """`'a', 'b'`: values quoted for a SOQL IN (…)."""
    return ", ".join(soql_quote(v) for v in values)


def chunks(values: Iterable[str], size: int = IN_CHUNK) -> Iterator[list[str]]:
    """Distinct values, sorted, `size` at a time (the same queries for the same values, run after run)."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def records_where_in(
    crm: CrmConnector,
    object_name: str,
    fields: Sequence[str],
    field: str,
    values: Iterable[str],
    *,
    include_deleted: bool = False,
    order_by: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Records of `object_name` whose `field` is one of `values`, one query per 200 values."""
    columns = ", ".join(fields)
    order = f" ORDER BY {order_by}" if order_by else ""
    for chunk in chunks(values):
        soql = f"SELECT {columns} FROM {object_name} WHERE {field} IN ({in_list(chunk)}){order}"
        yield from query_all(crm, soql, include_deleted=include_deleted)


def records_by_ids(
    crm: CrmConnector,
    object_name: str,
    fields: Sequence[str],
    ids: Iterable[str],
    *,
    include_deleted: bool = False,
) -> dict[str, dict[str, Any]]:
    """{Id: record} of the records among `ids` the CRM holds (with `Id` and `fields`); absent Ids are left out."""
    columns = ["Id", *(f for f in fields if f != "Id")]
    found: dict[str, dict[str, Any]] = {}
    for row in records_where_in(crm, object_name, columns, "Id", ids, include_deleted=include_deleted):
        found[str(row["Id"])] = dict(row)
    return found
