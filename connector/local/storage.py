"""Where the local CRM keeps its data: one SQLite file, its meta tables, and the transactions writes run in.

A record table per described object (typed columns, unique and lookup indexes), plus three meta tables: the
describes themselves with each object's key prefix (`_sobject`, so a database reopens without its profile),
the sequences record Ids are allocated from (`_sequence`), and open query cursors (`_query_cursor`).  Writes
run in one `BEGIN IMMEDIATE` transaction per call under a process lock, so a concurrent writer cannot slip a
duplicate between a check and the write; a database busy past SQLite's timeout is a transient failure.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from connector.base import FatalCrmError, TransientCrmError
from connector.ids import BASE62
from connector.local.in_list import VALUES, select_in
from connector.local.query import quote
from connector.local.schema import STANDARD_KEY_PREFIXES, ObjectSpec


def engine_for(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ValueError(f"the local CRM stores its data in SQLite; got a {parsed.get_backend_name()} URL")
    if not parsed.database or parsed.database == ":memory:":
        raise ValueError("the local CRM needs a SQLite file (sqlite:///path/to/crm.db), not an in-memory database")
    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: we issue BEGIN IMMEDIATE / COMMIT ourselves around each write call.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A deleted record's bytes are overwritten, not left on a free page: `ignite-sync forget` deletes
        # people from this CRM, and whether SQLite does this by default depends on how it was built.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    return engine


class Storage:
    """The SQLite database of one local CRM: its engine, its write lock and its meta tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = threading.RLock()
        self._init_meta()

    def close(self) -> None:
        self.engine.dispose()

    def _init_meta(self) -> None:
        conn: Any = None
        try:
            conn = self.engine.raw_connection()
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except Exception as exc:  # not a database, unreadable, locked by a foreign program…
            if conn is not None:
                conn.close()
            self.engine.dispose()
            raise FatalCrmError(
                f"cannot open the local CRM database {self.engine.url.database}: {exc}", code="NOT_FOUND"
            ) from exc
        try:
            conn.execute(
                'CREATE TABLE IF NOT EXISTS "_sobject" (name TEXT PRIMARY KEY COLLATE NOCASE, '
                "key_prefix TEXT NOT NULL UNIQUE, describe TEXT NOT NULL)"
            )
            conn.execute('CREATE TABLE IF NOT EXISTS "_sequence" (name TEXT PRIMARY KEY, next_seq INTEGER NOT NULL)')
            conn.execute(
                'CREATE TABLE IF NOT EXISTS "_query_cursor" (id TEXT PRIMARY KEY, soql TEXT NOT NULL, '
                "include_deleted INTEGER NOT NULL, created TEXT NOT NULL)"
            )
        finally:
            conn.close()

    @contextmanager
    def read(self) -> Iterator[Any]:
        """A connection for reads outside a write transaction (autocommit; a caller may BEGIN for a snapshot)."""
        conn = self.engine.raw_connection()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def write(self) -> Iterator[Any]:
        """One write call's transaction: BEGIN IMMEDIATE under the lock, COMMIT on success, ROLLBACK on error."""
        self.lock.acquire()
        conn: Any = None
        try:
            conn = self.engine.raw_connection()
            conn.execute("BEGIN IMMEDIATE")
        except Exception as exc:
            if conn is not None:
                conn.close()
            self.lock.release()
            raise TransientCrmError(f"local CRM database is busy: {exc}", code="UNABLE_TO_LOCK_ROW") from exc
        failed = False
        try:
            yield conn
        except BaseException:
            failed = True
            raise
        finally:
            try:
                conn.execute("ROLLBACK" if failed else "COMMIT")
            finally:
                conn.close()
                self.lock.release()

    def load_specs(self) -> dict[str, ObjectSpec]:
        """lower-case object name -> its spec, from the describes stored in `_sobject`."""
        with self.read() as conn:
            rows = conn.execute('SELECT name, key_prefix, describe FROM "_sobject"').fetchall()
        return {
            name.lower(): ObjectSpec.from_describe(name, json.loads(describe), key_prefix)
            for name, key_prefix, describe in rows
        }

    def save_describes(self, current: Mapping[str, ObjectSpec], describes: Mapping[str, Mapping[str, Any]]) -> None:
        """Create or extend tables so they hold every object and field in `describes` (describe-shaped JSON).

        A field present before but missing from the new describe is kept (its data stays queryable); a field
        described again takes the new describe's properties.
        """
        with self.lock:
            conn = self.engine.raw_connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                used = {spec.key_prefix for spec in current.values()}
                for name, raw in describes.items():
                    existing = current.get(name.lower())
                    if existing is not None:
                        merged = dict(raw)
                        new_names = {str(f.get("name", "")).lower() for f in raw.get("fields") or []}
                        kept = [f for f in existing.describe["fields"] if str(f["name"]).lower() not in new_names]
                        merged["fields"] = [*(raw.get("fields") or []), *kept]
                        spec = ObjectSpec.from_describe(existing.name, merged, existing.key_prefix)
                    else:
                        prefix = _choose_prefix(name, raw, used)
                        used.add(prefix)
                        spec = ObjectSpec.from_describe(name, raw, prefix)
                    _apply_table(conn, spec)
                    conn.execute(
                        'INSERT INTO "_sobject" (name, key_prefix, describe) VALUES (?, ?, ?) '
                        "ON CONFLICT(name) DO UPDATE SET describe = excluded.describe",
                        (spec.name, spec.key_prefix, json.dumps(spec.describe, sort_keys=True)),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                conn.close()


def _choose_prefix(name: str, raw: Mapping[str, Any], used: set[str]) -> str:
    prefix = raw.get("keyPrefix") or STANDARD_KEY_PREFIXES.get(name)
    if prefix:
        prefix = str(prefix)
        if len(prefix) != 3 or not all(c in BASE62 for c in prefix):
            raise ValueError(f"{name}: keyPrefix {prefix!r} is not 3 base-62 characters")
        if prefix in used:
            raise ValueError(f"{name}: keyPrefix {prefix} is already used by another object")
        return prefix
    # Custom objects without a prefix get the next free a0x, as an org hands out a0…, a1… in turn.
    for first in BASE62[BASE62.index("0") :]:
        for second in BASE62[1:]:
            candidate = f"a{first}{second}"
            if candidate not in used:
                return candidate
    raise ValueError("no free key prefix left")


def _apply_table(conn: Any, spec: ObjectSpec) -> None:
    table = quote(spec.name)
    columns = []
    for f in spec.stored_fields():
        if f.name == "Id":
            columns.append('"Id" TEXT PRIMARY KEY')
        else:
            columns.append(f"{quote(f.name)} {f.sql_type}")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)})")
    present = {row[1].lower() for row in conn.execute(f"PRAGMA table_info({table})").fetchall()}
    for f in spec.stored_fields():
        if f.name.lower() not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {quote(f.name)} {f.sql_type}")
    for f in spec.stored_fields():
        if f.name == "Id":
            continue
        index = quote(f"ix_{spec.name}_{f.name}")
        if f.unique:
            unique_index = quote(f"ux_{spec.name}_{f.name}")
            try:
                conn.execute(
                    f"CREATE UNIQUE INDEX IF NOT EXISTS {unique_index} ON {table} ({quote(f.name)}) "
                    'WHERE "IsDeleted" = 0'
                )
            except Exception as exc:
                raise ValueError(f"{spec.name}.{f.name} is now unique but existing records repeat values") from exc
        elif f.external_id or f.type == "reference" or f.id_lookup:
            conn.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({quote(f.name)})")


def allocate(conn: Any, name: str, count: int) -> int:
    """Reserve `count` sequence numbers for `name`; returns the first.  Runs inside the write transaction."""
    row = conn.execute('SELECT next_seq FROM "_sequence" WHERE name = ?', (name,)).fetchone()
    if row is None:
        conn.execute('INSERT INTO "_sequence" (name, next_seq) VALUES (?, ?)', (name, 1 + count))
        return 1
    conn.execute('UPDATE "_sequence" SET next_seq = next_seq + ? WHERE name = ?', (count, name))
    return int(row[0])


def fetch_state(conn: Any, spec: ObjectSpec, ids: Sequence[str]) -> dict[str, bool]:
    """Id -> IsDeleted for the given Ids that exist."""
    sql = f'SELECT "Id", "IsDeleted" FROM {quote(spec.name)} WHERE "Id" IN {VALUES}'
    return {rid: bool(deleted) for rid, deleted in select_in(conn, sql, ids)}
