"""Query results in pages, as Salesforce hands them out: a first page now, a locator for each next one.

A query's first page is read at once (so a bad query fails the call); if rows remain, the SOQL is kept in
`_query_cursor` under an Id like Salesforce's `01g…`, and the locator `01g…-2000` names that cursor and where
the next page starts.  A later page re-runs the stored query from there (ordered by Id last, so pages neither
overlap nor skip).  Cursors expire after an hour, as an org's do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from connector.base import FatalCrmError, QueryPage
from connector.ids import make_id
from connector.local.query import CompiledQuery, datetime_text
from connector.local.storage import Storage, allocate
from connector.local.values import build_record

CURSOR_TTL = dt.timedelta(hours=1)


def read_page(
    storage: Storage,
    compiled: CompiledQuery,
    *,
    page_size: int,
    start: int,
    cursor_id: str | None,
    open_cursor: Callable[[], str],
) -> QueryPage:
    """The page of `compiled` from row `start`; `open_cursor` is called for a first page that leaves rows over."""
    with storage.read() as conn:
        conn.execute("BEGIN")  # one snapshot for the count and the rows
        count = conn.execute(compiled.count_sql, compiled.params).fetchone()[0]
        total = max(0, count - compiled.offset)
        if compiled.limit is not None:
            total = min(total, compiled.limit)
        if compiled.count_only:
            conn.execute("COMMIT")
            return QueryPage(records=[], total_size=total, done=True)
        take = max(0, min(page_size, total - start))
        rows = conn.execute(
            compiled.select_sql + " LIMIT ? OFFSET ?", [*compiled.params, take, compiled.offset + start]
        ).fetchall()
        conn.execute("COMMIT")
    records = [build_record(compiled, row) for row in rows]
    end = start + len(records)
    if end >= total:
        return QueryPage(records=records, total_size=total, done=True)
    if cursor_id is None:
        cursor_id = open_cursor()
    return QueryPage(records=records, total_size=total, done=False, next_locator=f"{cursor_id}-{end}")


def open_cursor(storage: Storage, soql: str, include_deleted: bool, now: dt.datetime) -> str:
    """Keep a query for its later pages (and drop cursors past their hour); returns the cursor's Id."""
    with storage.write() as conn:
        seq = allocate(conn, "_query_cursor", 1)
        cursor_id = make_id("01g", seq)
        conn.execute('DELETE FROM "_query_cursor" WHERE created < ?', (datetime_text(now - CURSOR_TTL),))
        conn.execute(
            'INSERT INTO "_query_cursor" (id, soql, include_deleted, created) VALUES (?, ?, ?, ?)',
            (cursor_id, soql, int(include_deleted), datetime_text(now)),
        )
    return cursor_id


def find_cursor(storage: Storage, locator: str) -> tuple[str, str, bool, int]:
    """(cursor Id, SOQL, include_deleted, first row) for a locator, or INVALID_QUERY_LOCATOR."""
    cursor_id, _, start_text = locator.rpartition("-")
    with storage.read() as conn:
        row = conn.execute('SELECT soql, include_deleted FROM "_query_cursor" WHERE id = ?', (cursor_id,)).fetchone()
    if row is None or not start_text.isdigit():
        raise FatalCrmError(f"invalid query locator: {locator}", code="INVALID_QUERY_LOCATOR", status=400)
    return cursor_id, row[0], bool(row[1]), int(start_text)
