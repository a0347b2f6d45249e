"""Asking SQLite about many values at once: one `IN (…)` statement per chunk of values.

The local CRM's write path reads by batches (the records an upsert matches, the targets of a batch's
lookups, the holders of a batch's unique values) and a delete writes by batches; a batch can hold more values
than SQLite takes as bound variables in one statement (32,766 by default).  Every such statement goes through
here, written once with `IN {VALUES}` where the list belongs, and runs once per chunk of `CHUNK` values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

# Where the list of bound values goes: f'SELECT "Id" FROM "Contact" WHERE "Id" IN {VALUES}'.
VALUES = "(<values>)"
# Well under SQLite's default limit on bound variables, with room for the statement's other parameters.
CHUNK = 900


class Connection(Protocol):
    """The DB-API connection (sqlite3) a write or a read runs on."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...


def _statements(sql: str, values: Sequence[Any], params: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
    if sql.count(VALUES) != 1:
        raise ValueError(f"an IN-list statement needs exactly one {VALUES}: {sql}")
    for start in range(0, len(values), CHUNK):
        chunk = list(values[start : start + CHUNK])
        yield sql.replace(VALUES, "(" + ", ".join("?" for _ in chunk) + ")"), [*params, *chunk]


def select_in(conn: Connection, sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> list[Any]:
    """Every row `sql` returns for `values`, chunk after chunk (`params` bind before the list).  No values, no query."""
    rows: list[Any] = []
    for statement, bound in _statements(sql, values, params):
        rows.extend(conn.execute(statement, bound))
    return rows


def update_in(conn: Connection, sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> int:
    """Run an UPDATE over `values`, chunk after chunk (`params` bind before the list); the rows it changed."""
    changed = 0
    for statement, bound in _statements(sql, values, params):
        changed += int(conn.execute(statement, bound).rowcount)
    return changed
