"""The local CRM's one IN-list helper: a batch larger than SQLite takes in one statement is still read whole."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing

import pytest

from connector.local.in_list import CHUNK, VALUES, select_in, update_in

MANY = 2 * CHUNK + 7  # three statements' worth


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute('CREATE TABLE t ("Id" TEXT PRIMARY KEY, "Flag" INTEGER)')
        db.executemany("INSERT INTO t VALUES (?, 0)", [(f"id{n}",) for n in range(MANY + 10)])
        yield db


def test_select_in_returns_every_match_across_chunks(conn: sqlite3.Connection) -> None:
    wanted = [f"id{n}" for n in range(MANY)]
    rows = select_in(conn, f'SELECT "Id" FROM t WHERE "Id" IN {VALUES}', wanted)
    assert sorted(rid for (rid,) in rows) == sorted(wanted)


def test_update_in_binds_leading_parameters_and_counts_changed_rows(conn: sqlite3.Connection) -> None:
    wanted = [f"id{n}" for n in range(MANY)]
    changed = update_in(conn, f'UPDATE t SET "Flag" = ? WHERE "Id" IN {VALUES}', wanted, [1])
    assert changed == MANY
    assert conn.execute('SELECT COUNT(*) FROM t WHERE "Flag" = 1').fetchone()[0] == MANY


def test_no_values_runs_no_statement(conn: sqlite3.Connection) -> None:
    assert select_in(conn, f'SELECT "Id" FROM nowhere WHERE "Id" IN {VALUES}', []) == []


def test_a_statement_without_its_list_marker_is_refused(conn: sqlite3.Connection) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        select_in(conn, 'SELECT "Id" FROM t WHERE "Id" IN (?)', ["id1"])
