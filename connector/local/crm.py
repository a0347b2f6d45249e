"""`LocalCrm`: an embedded CRM on SQLite that behaves like a Salesforce org where a sync can tell the difference.

It is self-describing: `LocalCrm.create_database(url, describes)` builds typed tables from Salesforce describe
JSON and keeps those describes in the database, so `LocalCrm.open(url)` needs nothing else, and calling it again
with a grown profile adds the new objects and fields in place.  Writes are checked against the describes with
Salesforce's own error codes and fail per row (`RowResult`), never by exception; only whole-call problems
(unknown object, a query that does not parse) raise.

Beyond the describes it keeps what an org adds where a sync can tell: each campaign's list of member
statuses (a member's Status must be one of them), and `merge()` as staff do it (losers deleted with
`MasterRecordId`, their lookups moved to the master).  External-ID references to polymorphic lookups name
their target in `attributes.type`, as Salesforce requires.

Each write call works in batches: one SELECT per batch finds the records an upsert matches, one per lookup
target resolves external-ID references, one per unique field checks duplicates, then `executemany` writes the
rows, all inside one `BEGIN IMMEDIATE` transaction so a concurrent writer cannot slip a duplicate in between.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from connector.base import CallCounter, CrmRecord, FatalCrmError, QueryPage, RowResult, TransientCrmError
from connector.ids import BASE62, make_id, to_18
from connector.local.address_picklists import AddressPicklists, without_address_picklists
from connector.local.checks import Check, merged_candidates
from connector.local.deletes import apply_delete, plan_delete
from connector.local.member_statuses import MemberStatuses
from connector.local.query import CompiledQuery, compile_query, datetime_text, quote
from connector.local.schema import (
    INTEGER_TYPES,
    REAL_TYPES,
    STANDARD_KEY_PREFIXES,
    TEXT_TYPES,
    FieldSpec,
    ObjectSpec,
)
from connector.local.soql_parser import parse
from connector.local.stage_rules import StageRestrictions
from connector.local.validation_rules import ValidationRules

DEFAULT_PAGE_SIZE = 2000
# Salesforce sObject Collections take at most 200 records per call; we count calls the same way.
RECORDS_PER_CALL = 200
# SQLite's default limit on bound variables is 32766; stay well under it in IN (…) lists.
_IN_CHUNK = 900
_CURSOR_TTL = dt.timedelta(hours=1)
_IGNORED_KEYS = frozenset({"attributes"})

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _RowError(Exception):
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
class _Ref:
    """A lookup set by external ID: `"Account": {"Ignite_Key__c": "org:flch"}` on the row being saved."""

    field: FieldSpec  # the reference field on this object (AccountId)
    target: ObjectSpec
    key_field: FieldSpec  # the target's external-ID field
    value: Any  # stored representation of the key value


@dataclass
class _Row:
    index: int
    values: dict[str, Any]  # canonical field name -> stored value
    refs: list[_Ref] = field(default_factory=list)
    record_id: str | None = None  # existing record (update) or allocated (create)
    create: bool = True
    error: _RowError | None = None


def _fold(spec: FieldSpec, value: Any) -> Any:
    """The comparison key Salesforce uses for this field: text matches case-insensitively unless caseSensitive."""
    if isinstance(value, str) and spec.type in TEXT_TYPES and not spec.case_sensitive:
        return value.lower()
    return value


@dataclass(frozen=True)
class MergeResult:
    """What a merge did: the surviving record, the records merged into it, and the lookups moved to it
    ({"Object.Field": rows})."""

    master_id: str
    merged_ids: tuple[str, ...]
    reparented: dict[str, int]


class LocalCrm:
    """The embedded CRM.  Build with `LocalCrm.create_database(url, describes)` or reopen with `LocalCrm.open(url)`."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        api_limit: int = 1_000_000,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self._engine = engine
        self._clock = clock or _utc_now
        self.page_size = page_size
        self.api_limit = api_limit
        self.counter = CallCounter()
        self._lock = threading.RLock()
        self._specs: dict[str, ObjectSpec] = {}
        self._duplicate_rules: dict[str, list[tuple[tuple[FieldSpec, ...], bool]]] = {}
        # Org behaviours beyond the describes, each in its own module (see connector/local/checks.py).
        self._checks: tuple[Check, ...] = (
            MemberStatuses(self._spec_or_none),
            AddressPicklists(),
            StageRestrictions(self._spec_or_none),
            ValidationRules(self._spec_or_none),
        )
        self._init_meta()
        self._load_specs()

    # ---------------------------------------------------------------------------------------- opening

    @staticmethod
    def _engine_for(url: str) -> Engine:
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
            cursor.close()

        return engine

    @classmethod
    def create_database(
        cls,
        url: str,
        describes: Mapping[str, Mapping[str, Any]],
        *,
        clock: Clock | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        state_country_picklists: bool = True,
    ) -> LocalCrm:
        """Open (creating if needed) the database at `url` and make sure every described object and field exists.

        Safe to call again on an existing database: new objects get tables, new fields get columns, data stays.
        State and Country/Territory Picklists are on, as in a new org, when the describes have the code fields;
        `state_country_picklists=False` builds the org with the setting off (no code fields, text states and
        countries taken as sent).
        """
        if not state_country_picklists:
            describes = without_address_picklists(describes)
        crm = cls(cls._engine_for(url), clock=clock, page_size=page_size)
        crm.ensure_schema(describes)
        crm.ensure_record_types(describes)
        return crm

    def ensure_record_types(self, describes: Mapping[str, Mapping[str, Any]]) -> None:
        """A real org has a RecordType row behind every record type its describes list; describes carry only
        the describe side, so the local CRM adds the rows (once) and record types resolve by DeveloperName."""
        if "recordtype" not in self._specs:
            return
        existing = {
            (str(r["SobjectType"]), str(r["DeveloperName"]))
            for r in self.query_all("SELECT SobjectType, DeveloperName FROM RecordType")
        }
        wanted = [
            {"SobjectType": name, "DeveloperName": info["developerName"], "Name": info["name"], "IsActive": True}
            for name, describe in sorted(describes.items())
            for info in describe.get("recordTypeInfos") or []
            if not info.get("master") and (name, info["developerName"]) not in existing
        ]
        if wanted:
            self.create("RecordType", wanted)
        self.counter.calls.clear()  # setting up the org is not sync traffic

    @classmethod
    def open(cls, url: str, *, clock: Clock | None = None, page_size: int = DEFAULT_PAGE_SIZE) -> LocalCrm:
        """Reopen a database made by `create_database`; its schema comes from the describes stored inside it."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
            raise FatalCrmError(
                f"no local CRM database at {parsed.database}: create one first (e.g. by running the demo)",
                code="NOT_FOUND",
            )
        crm = cls(cls._engine_for(url), clock=clock, page_size=page_size)
        if not crm._specs:
            raise FatalCrmError(f"the local CRM database at {parsed.database} has no objects yet", code="NOT_FOUND")
        return crm

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> LocalCrm:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _init_meta(self) -> None:
        conn: Any = None
        try:
            conn = self._engine.raw_connection()
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except Exception as exc:  # not a database, unreadable, locked by a foreign program…
            if conn is not None:
                conn.close()
            self._engine.dispose()
            raise FatalCrmError(
                f"cannot open the local CRM database {self._engine.url.database}: {exc}", code="NOT_FOUND"
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

    def _load_specs(self) -> None:
        conn = self._engine.raw_connection()
        try:
            rows = conn.execute('SELECT name, key_prefix, describe FROM "_sobject"').fetchall()
        finally:
            conn.close()
        self._specs = {
            name.lower(): ObjectSpec.from_describe(name, json.loads(describe), key_prefix)
            for name, key_prefix, describe in rows
        }

    # ----------------------------------------------------------------------------------------- schema

    def object_names(self) -> list[str]:
        return sorted(spec.name for spec in self._specs.values())

    def object_for_id(self, record_id: str) -> str | None:
        """The object an Id belongs to, by its key prefix (Salesforce's collections delete takes bare Ids)."""
        prefix = record_id[:3]
        return next((spec.name for spec in self._specs.values() if spec.key_prefix == prefix), None)

    def ensure_schema(self, describes: Mapping[str, Mapping[str, Any]]) -> None:
        """Create or extend tables so they hold every object and field in `describes` (describe-shaped JSON).

        A field present before but missing from the new describe is kept (its data stays queryable); a field
        described again takes the new describe's properties.
        """
        with self._lock:
            conn = self._engine.raw_connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                used = {spec.key_prefix for spec in self._specs.values()}
                for name, raw in describes.items():
                    existing = self._specs.get(name.lower())
                    if existing is not None:
                        merged = dict(raw)
                        new_names = {str(f.get("name", "")).lower() for f in raw.get("fields") or []}
                        kept = [f for f in existing.describe["fields"] if str(f["name"]).lower() not in new_names]
                        merged["fields"] = [*(raw.get("fields") or []), *kept]
                        spec = ObjectSpec.from_describe(existing.name, merged, existing.key_prefix)
                    else:
                        prefix = self._choose_prefix(name, raw, used)
                        used.add(prefix)
                        spec = ObjectSpec.from_describe(name, raw, prefix)
                    self._apply_table(conn, spec)
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
            self._load_specs()

    @staticmethod
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

    @staticmethod
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

    def _spec_or_none(self, object_name: str) -> ObjectSpec | None:
        return self._specs.get(object_name.lower())

    def _spec(self, object_name: str) -> ObjectSpec:
        spec = self._specs.get(object_name.lower())
        if spec is None:
            raise FatalCrmError(f"sObject type '{object_name}' is not supported.", code="INVALID_TYPE", status=404)
        return spec

    # ------------------------------------------------------------------------------------------- port

    def add_duplicate_rule(self, object_name: str, fields: Sequence[str], *, on_edit: bool = False) -> None:
        """Activate a blocking duplicate rule, as an org's admin does: creating a record whose `fields` all equal
        an existing record's (text case-insensitively, blanks never match) fails with DUPLICATES_DETECTED and
        the matched Ids, as Salesforce's API answers when a rule with an exact matching rule blocks a save.
        NPSP orgs often have one on Contact (first name, last name, email).  With `on_edit` it also blocks an
        update that makes a record match another one, as a rule whose "Action on edit" is Block does."""
        spec = self._spec(object_name)
        specs = []
        for name in fields:
            fspec = spec.field(name)
            if fspec is None or not fspec.stored:
                raise ValueError(f"{spec.name} has no field {name!r} a duplicate rule can match on")
            specs.append(fspec)
        self._duplicate_rules.setdefault(spec.name, []).append((tuple(specs), on_edit))

    def describe(self, object_name: str) -> dict[str, Any]:
        self.counter.add("describe")
        return json.loads(json.dumps(self._spec(object_name).describe))  # type: ignore[no-any-return]

    def limits(self) -> dict[str, Any]:
        self.counter.add("limits")
        used = self.counter.total
        return {"DailyApiRequests": {"Max": self.api_limit, "Remaining": max(0, self.api_limit - used)}}

    def create(self, object_name: str, records: Sequence[Mapping[str, Any]]) -> list[RowResult]:
        """Insert records (the port's `create`: no external-ID matching)."""
        return self._save(object_name, records, "create", None)

    def update(self, object_name: str, records: Sequence[Mapping[str, Any]]) -> list[RowResult]:
        return self._save(object_name, records, "update", None)

    def upsert(self, object_name: str, external_id_field: str, records: Sequence[Mapping[str, Any]]) -> list[RowResult]:
        return self._save(object_name, records, "upsert", external_id_field)

    def delete(self, object_name: str, ids: Sequence[str]) -> list[RowResult]:
        """Soft delete: the row stays with IsDeleted = true, visible to `query(..., include_deleted=True)`; its
        children are held back, deleted along or blanked as their lookups say (`connector.local.deletes`)."""
        spec = self._spec(object_name)
        self._count_write("delete", len(ids))
        results: list[RowResult | None] = [None] * len(ids)
        wanted: dict[str, list[int]] = defaultdict(list)
        for i, raw in enumerate(ids):
            try:
                record_id = to_18(str(raw))
            except ValueError:
                results[i] = RowResult(False, error_code="MALFORMED_ID", message=f"malformed id {raw}")
                continue
            if record_id[:3] != spec.key_prefix:
                results[i] = RowResult(
                    False, error_code="MALFORMED_ID", message=f"{spec.name} ID: id value of incorrect type: {raw}"
                )
                continue
            wanted[record_id].append(i)
        now = self._now()
        with self._write() as conn:
            state = self._fetch_state(conn, spec, list(wanted))
            to_delete: dict[str, int] = {}
            for record_id, indexes in wanted.items():
                deleted = state.get(record_id)
                for n, i in enumerate(indexes):
                    if deleted is None:
                        results[i] = RowResult(
                            False, error_code="INVALID_CROSS_REFERENCE_KEY", message="invalid cross reference id"
                        )
                    elif deleted or n > 0:
                        results[i] = RowResult(False, error_code="ENTITY_IS_DELETED", message="entity is deleted")
                    else:
                        to_delete[record_id] = i
            # Children follow their lookups' delete rules (restrict, cascade, set null): see connector.local.deletes.
            plan = plan_delete(conn, self._specs, spec.name, list(to_delete))
            for record_id, i in to_delete.items():
                why = plan.refused.get(record_id)
                results[i] = (
                    RowResult(False, error_code="DELETE_FAILED", message=why)
                    if why is not None
                    else RowResult(True, id=record_id)
                )
            apply_delete(conn, plan, now)
        return [r for r in results if r is not None]

    def merge(self, object_name: str, master_id: str, duplicate_ids: Sequence[str]) -> MergeResult:
        """Merge up to two duplicates into a master record, as staff do in Salesforce (its `merge` call).

        What a sync can see afterwards is what an org shows: each duplicate is deleted (in the recycle bin, so
        `query(..., include_deleted=True)` still finds it) with `MasterRecordId` set to the master, and every
        live record that looked one of them up now looks up the master.  The master keeps its own field
        values.  Only objects with a `MasterRecordId` field (Account, Contact, Lead) can be merged.
        """
        spec = self._spec(object_name)
        if "masterrecordid" not in spec.fields:
            raise FatalCrmError(f"{spec.name} records cannot be merged", code="INVALID_TYPE", status=400)
        if not 1 <= len(duplicate_ids) <= 2:
            raise FatalCrmError(
                "a merge takes one master and one or two records to merge into it", code="INVALID_OPERATION"
            )
        try:
            master = to_18(master_id)
            losers = sorted({to_18(i) for i in duplicate_ids})
        except ValueError as exc:
            raise FatalCrmError(f"malformed id in merge: {exc}", code="MALFORMED_ID", status=400) from None
        if master in losers:
            raise FatalCrmError("a record cannot be merged into itself", code="INVALID_OPERATION")
        self.counter.add("merge")
        now = self._now()
        with self._write() as conn:
            state = self._fetch_state(conn, spec, [master, *losers])
            for record_id in (master, *losers):
                if record_id[:3] != spec.key_prefix or state.get(record_id) is None:
                    raise FatalCrmError(
                        f"{spec.name} {record_id}: invalid cross reference id", code="INVALID_CROSS_REFERENCE_KEY"
                    )
                if state[record_id]:
                    raise FatalCrmError(f"{spec.name} {record_id}: entity is deleted", code="ENTITY_IS_DELETED")
            reparented: dict[str, int] = {}
            marks = ", ".join("?" for _ in losers)
            for child in self._specs.values():
                for fspec in child.fields.values():
                    if fspec.type != "reference" or fspec.name == "MasterRecordId" or not fspec.stored:
                        continue
                    if spec.name.lower() not in {t.lower() for t in fspec.reference_to}:
                        continue
                    moved = conn.execute(
                        f'UPDATE {quote(child.name)} SET {quote(fspec.name)} = ?, "LastModifiedDate" = ?, '
                        f'"SystemModstamp" = ? WHERE {quote(fspec.name)} IN ({marks}) AND "IsDeleted" = 0',
                        [master, now, now, *losers],
                    ).rowcount
                    if moved:
                        reparented[f"{child.name}.{fspec.name}"] = int(moved)
            conn.execute(
                f'UPDATE {quote(spec.name)} SET "IsDeleted" = 1, "MasterRecordId" = ?, "LastModifiedDate" = ?, '
                f'"SystemModstamp" = ? WHERE "Id" IN ({marks})',
                [master, now, now, *losers],
            )
            conn.execute(
                f'UPDATE {quote(spec.name)} SET "LastModifiedDate" = ?, "SystemModstamp" = ? WHERE "Id" = ?',
                (now, now, master),
            )
        return MergeResult(master, tuple(losers), reparented)

    def get(self, object_name: str, record_id: str, fields: Sequence[str] | None = None) -> CrmRecord | None:
        spec = self._spec(object_name)
        self.counter.add("get")
        try:
            rid = to_18(record_id)
        except ValueError:
            raise FatalCrmError(f"malformed id {record_id}", code="MALFORMED_ID", status=400) from None
        if fields is None:
            chosen = spec.stored_fields()
        else:
            chosen = []
            for name in fields:
                fspec = spec.field(name)
                if fspec is None or not fspec.stored:
                    raise FatalCrmError(
                        f"No such column '{name}' on entity '{spec.name}'.", code="INVALID_FIELD", status=400
                    )
                chosen.append(fspec)
        cols = ", ".join(quote(f.name) for f in chosen)
        conn = self._engine.raw_connection()
        try:
            row = conn.execute(
                f'SELECT {cols} FROM {quote(spec.name)} WHERE "Id" = ? AND "IsDeleted" = 0', (rid,)
            ).fetchone()
        finally:
            conn.close()
        if row is None:
            return None
        return {f.name: _output(f, v) for f, v in zip(chosen, row, strict=True)}

    # ------------------------------------------------------------------------------------------ query

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[QueryPage]:
        """Pages of at most `page_size` rows.  The first page is computed now, so a bad query raises here."""
        first = self.query_page(soql, include_deleted=include_deleted)

        def pages() -> Iterator[QueryPage]:
            page = first
            yield page
            while page.next_locator is not None:
                page = self.query_more(page.next_locator)
                yield page

        return pages()

    def query_all(self, soql: str, *, include_deleted: bool = False) -> list[CrmRecord]:
        """Every row of every page: a convenience for tests, the CLI and small lookups."""
        return [record for page in self.query(soql, include_deleted=include_deleted) for record in page.records]

    def query_page(self, soql: str, *, include_deleted: bool = False) -> QueryPage:
        """The first page of a query; `next_locator` (like Salesforce's `01g…-2000`) fetches the rest."""
        compiled = compile_query(
            parse(soql), self._specs, include_deleted=include_deleted, today=self._clock().astimezone(dt.UTC).date()
        )
        return self._page(compiled, soql, include_deleted, cursor_id=None, start=0)

    def query_more(self, locator: str) -> QueryPage:
        cursor_id, _, start_text = locator.rpartition("-")
        conn = self._engine.raw_connection()
        try:
            row = conn.execute(
                'SELECT soql, include_deleted FROM "_query_cursor" WHERE id = ?', (cursor_id,)
            ).fetchone()
        finally:
            conn.close()
        if row is None or not start_text.isdigit():
            raise FatalCrmError(f"invalid query locator: {locator}", code="INVALID_QUERY_LOCATOR", status=400)
        soql, include_deleted = row[0], bool(row[1])
        compiled = compile_query(
            parse(soql), self._specs, include_deleted=include_deleted, today=self._clock().astimezone(dt.UTC).date()
        )
        return self._page(compiled, soql, include_deleted, cursor_id=cursor_id, start=int(start_text))

    def _page(
        self, compiled: CompiledQuery, soql: str, include_deleted: bool, *, cursor_id: str | None, start: int
    ) -> QueryPage:
        self.counter.add("query")
        conn = self._engine.raw_connection()
        try:
            conn.execute("BEGIN")  # one snapshot for the count and the rows
            count = conn.execute(compiled.count_sql, compiled.params).fetchone()[0]
            total = max(0, count - compiled.offset)
            if compiled.limit is not None:
                total = min(total, compiled.limit)
            if compiled.count_only:
                conn.execute("COMMIT")
                return QueryPage(records=[], total_size=total, done=True)
            take = max(0, min(self.page_size, total - start))
            rows = conn.execute(
                compiled.select_sql + " LIMIT ? OFFSET ?", [*compiled.params, take, compiled.offset + start]
            ).fetchall()
            conn.execute("COMMIT")
        finally:
            conn.close()
        records = [_build_record(compiled, row) for row in rows]
        end = start + len(records)
        if end >= total:
            return QueryPage(records=records, total_size=total, done=True)
        if cursor_id is None:
            cursor_id = self._new_cursor(soql, include_deleted)
        return QueryPage(records=records, total_size=total, done=False, next_locator=f"{cursor_id}-{end}")

    def _new_cursor(self, soql: str, include_deleted: bool) -> str:
        now = self._clock()
        with self._write() as conn:
            seq = self._allocate(conn, "_query_cursor", 1)
            cursor_id = make_id("01g", seq)
            conn.execute('DELETE FROM "_query_cursor" WHERE created < ?', (datetime_text(now - _CURSOR_TTL),))
            conn.execute(
                'INSERT INTO "_query_cursor" (id, soql, include_deleted, created) VALUES (?, ?, ?, ?)',
                (cursor_id, soql, int(include_deleted), datetime_text(now)),
            )
        return cursor_id

    # ----------------------------------------------------------------------------------------- writes

    def _now(self) -> str:
        return datetime_text(self._clock())

    def _count_write(self, kind: str, rows: int) -> None:
        if rows:
            self.counter.add(kind, math.ceil(rows / RECORDS_PER_CALL))

    class _WriteContext:
        def __init__(self, crm: LocalCrm) -> None:
            self.crm = crm
            self.conn: Any = None

        def __enter__(self) -> Any:
            self.crm._lock.acquire()
            try:
                self.conn = self.crm._engine.raw_connection()
                self.conn.execute("BEGIN IMMEDIATE")
            except Exception as exc:
                if self.conn is not None:
                    self.conn.close()
                self.crm._lock.release()
                raise TransientCrmError(f"local CRM database is busy: {exc}", code="UNABLE_TO_LOCK_ROW") from exc
            return self.conn

        def __exit__(self, exc_type: object, exc: object, _tb: object) -> None:
            try:
                self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
            finally:
                self.conn.close()
                self.crm._lock.release()

    def _write(self) -> LocalCrm._WriteContext:
        return LocalCrm._WriteContext(self)

    @staticmethod
    def _allocate(conn: Any, name: str, count: int) -> int:
        """Reserve `count` sequence numbers for `name`; returns the first.  Runs inside the write transaction."""
        row = conn.execute('SELECT next_seq FROM "_sequence" WHERE name = ?', (name,)).fetchone()
        if row is None:
            conn.execute('INSERT INTO "_sequence" (name, next_seq) VALUES (?, ?)', (name, 1 + count))
            return 1
        conn.execute('UPDATE "_sequence" SET next_seq = next_seq + ? WHERE name = ?', (count, name))
        return int(row[0])

    @staticmethod
    def _fetch_state(conn: Any, spec: ObjectSpec, ids: Sequence[str]) -> dict[str, bool]:
        """Id -> IsDeleted for the given Ids that exist."""
        found: dict[str, bool] = {}
        for chunk in _chunks(ids):
            marks = ", ".join("?" for _ in chunk)
            for rid, deleted in conn.execute(
                f'SELECT "Id", "IsDeleted" FROM {quote(spec.name)} WHERE "Id" IN ({marks})', list(chunk)
            ):
                found[rid] = bool(deleted)
        return found

    def _save(
        self, object_name: str, records: Sequence[Mapping[str, Any]], mode: str, ext_name: str | None
    ) -> list[RowResult]:
        spec = self._spec(object_name)
        ext: FieldSpec | None = None
        if mode == "upsert":
            ext = spec.field(ext_name or "")
            if ext is None or not (ext.external_id or ext.id_lookup):
                raise FatalCrmError(
                    f"Field name provided, {ext_name} is not an External ID or indexed field for {spec.name}",
                    code="INVALID_FIELD",
                    status=400,
                )
        self._count_write(mode, len(records))
        if not records:
            return []
        rows = [self._prepare(spec, i, record, mode, ext) for i, record in enumerate(records)]
        now = self._now()
        with self._write() as conn:
            if mode == "upsert":
                assert ext is not None
                self._match_upsert(conn, spec, ext, rows)
            elif mode == "update":
                self._match_update(conn, spec, rows)
            for row in rows:
                if row.error is None:
                    self._check_access(spec, row)
            self._resolve_refs(conn, rows)
            self._check_direct_refs(conn, spec, rows)
            self._check_unique(conn, spec, rows, skip=ext if mode == "upsert" else None)
            self._check_duplicate_rules(conn, spec, rows)
            self._org_checks(conn, spec, rows)
            self._write_rows(conn, spec, rows, now)
            self._org_rules_after(conn, spec, rows, now)
        return [
            row.error.result() if row.error else RowResult(True, id=row.record_id, created=row.create) for row in rows
        ]

    def _org_checks(self, conn: Any, spec: ObjectSpec, rows: list[_Row]) -> None:
        """Member statuses, address picklists, stage restrictions and validation rules, on the record as it
        would be saved."""
        checks = [check for check in self._checks if check.applies(spec)]
        live = [r for r in rows if r.error is None]
        if not checks or not live:
            return
        candidates = merged_candidates(conn, spec, [(r.values, r.create, r.record_id) for r in live])
        for check in checks:
            check.check(conn, spec, candidates)
        for row, candidate in zip(live, candidates, strict=True):
            if candidate.refusal is not None:
                row.error = _RowError(candidate.refusal.code, candidate.refusal.message, candidate.refusal.fields)

    # -- per-row preparation (pure)

    def _prepare(
        self, spec: ObjectSpec, index: int, record: Mapping[str, Any], mode: str, ext: FieldSpec | None
    ) -> _Row:
        row = _Row(index=index, values={}, create=mode != "update")
        try:
            if not isinstance(record, Mapping):
                raise _RowError("INVALID_TYPE_ON_FIELD_IN_RECORD", "record must be a JSON object of field values")
            for key, raw in record.items():
                if key in _IGNORED_KEYS:
                    continue
                fspec = spec.field(key)
                if fspec is None:
                    rel = spec.relationships.get(str(key).lower())
                    if rel is None:
                        raise _RowError(
                            "INVALID_FIELD", f"No such column '{key}' on sobject of type {spec.name}", (str(key),)
                        )
                    row.refs.append(self._prepare_ref(spec, rel, raw))
                    continue
                if mode == "update" and fspec.name == "Id":
                    row.record_id = self._coerce_id(fspec, raw)
                    continue
                if not fspec.stored:
                    raise _RowError(
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        f"Unable to create/update fields: {fspec.name}. Compound fields are read-only; "
                        f"write their component fields instead.",
                        (fspec.name,),
                    )
                row.values[fspec.name] = self._coerce(fspec, raw)
            if mode == "update" and row.record_id is None:
                raise _RowError("MISSING_ARGUMENT", "Id not specified in an update call", ("Id",))
            if ext is not None and ext.name != "Id" and row.values.get(ext.name) is None:
                raise _RowError("MISSING_ARGUMENT", f"{ext.name} not specified", (ext.name,))
            if ext is not None and ext.name == "Id" and "Id" in row.values:
                row.record_id = row.values.pop("Id")
        except _RowError as err:
            row.error = err
        return row

    def _prepare_ref(self, spec: ObjectSpec, rel: FieldSpec, raw: Any) -> _Ref:
        name = rel.relationship_name or rel.name
        if not isinstance(raw, Mapping):
            raise _RowError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: an external-ID reference must be an object", (name,)
            )
        keys = [k for k in raw if k not in _IGNORED_KEYS]
        if len(keys) != 1:
            raise _RowError(
                "INVALID_FIELD",
                f"More than 1 field provided in an external foreign key reference in entity: {spec.name}"
                if keys
                else f"No external ID field given in the foreign key reference {name}",
                (name,),
            )
        target = self._ref_target(spec, rel, name, raw.get("attributes"))
        key_field = target.field(keys[0])
        if key_field is None or not (key_field.external_id or key_field.id_lookup):
            raise _RowError(
                "INVALID_FIELD",
                f"Field {keys[0]} does not exist or is not an External ID field on {target.name}",
                (name,),
            )
        value = self._coerce(key_field, raw[keys[0]])
        if key_field.name == "Id" and value is None:
            raise _RowError("INVALID_FIELD", f"{name}: an Id reference needs a value", (name,))
        return _Ref(rel, target, key_field, value)

    def _ref_target(self, spec: ObjectSpec, rel: FieldSpec, name: str, attributes: Any) -> ObjectSpec:
        """The object an external-ID reference points at.  A polymorphic lookup (`Who`, `Enrollee`) can point at
        several objects, so its reference names one in `attributes.type`, as Salesforce requires; a plain
        lookup may name its one target too."""
        named = attributes.get("type") if isinstance(attributes, Mapping) else None
        if attributes is not None and (not isinstance(named, str) or not named):
            raise _RowError("INVALID_FIELD", f"{name}: attributes of a reference must name its type", (name,))
        if named is None:
            if len(rel.reference_to) != 1:
                raise _RowError(
                    "INVALID_FIELD",
                    f"{name} is polymorphic ({', '.join(rel.reference_to)}): name the target object of the "
                    f'external ID reference in "attributes": {{"type": …}}',
                    (name,),
                )
            named = rel.reference_to[0]
        allowed = {t.lower(): t for t in rel.reference_to}
        if named.lower() not in allowed:
            raise _RowError(
                "INVALID_FIELD",
                f"{name}: {named} is not a valid type for {spec.name}.{rel.name} "
                f"(it can point at {', '.join(rel.reference_to)})",
                (name,),
            )
        target = self._specs.get(named.lower())
        if target is None:
            raise _RowError("INVALID_FIELD", f"{name}: the local CRM has no object {allowed[named.lower()]}", (name,))
        return target

    @staticmethod
    def _coerce_id(fspec: FieldSpec, raw: Any) -> str:
        if not isinstance(raw, str):
            raise _RowError("MALFORMED_ID", f"{fspec.name}: id value of incorrect type: {raw!r}", (fspec.name,))
        try:
            return to_18(raw)
        except ValueError:
            raise _RowError("MALFORMED_ID", f"{fspec.name}: id value of incorrect type: {raw}", (fspec.name,)) from None

    def _coerce(self, fspec: FieldSpec, raw: Any) -> Any:
        """The stored representation of one input value, or a row error naming the field and the rule."""
        if raw is None or raw == "":
            return None  # Salesforce's REST API treats an empty string as "clear this field"
        ftype = fspec.type
        if ftype in TEXT_TYPES:
            if type(raw) is str:
                text = raw
            elif isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
                text = str(raw)
            else:
                raise _wrong_type(fspec)
            if fspec.length and len(text) > fspec.length:
                raise _RowError(
                    "STRING_TOO_LONG", f"{fspec.name}: data value too large (max length={fspec.length})", (fspec.name,)
                )
            if fspec.restricted_picklist and ftype in ("picklist", "multipicklist") and not fspec.controller_name:
                chosen = text.split(";") if ftype == "multipicklist" else (text,)
                for value in chosen:
                    if value not in fspec.picklist_values:
                        raise _RowError(
                            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                            f"{fspec.name}: bad value for restricted picklist field: {value}",
                            (fspec.name,),
                        )
            return text
        if ftype in ("id", "reference"):
            return self._coerce_id(fspec, raw)
        if ftype == "boolean":
            if isinstance(raw, bool):
                return int(raw)
            if isinstance(raw, str) and raw.lower() in ("true", "false"):
                return int(raw.lower() == "true")
            raise _wrong_type(fspec)
        if ftype in INTEGER_TYPES or ftype in REAL_TYPES:
            if isinstance(raw, bool):
                raise _wrong_type(fspec)
            if ftype in REAL_TYPES and type(raw) is float and math.isfinite(raw):
                return raw
            try:
                number = Decimal(str(raw)) if isinstance(raw, str | int | float | Decimal) else None
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite():
                raise _wrong_type(fspec)
            if ftype in INTEGER_TYPES:
                if number != number.to_integral_value():
                    raise _wrong_type(fspec)
                return int(number)
            return float(number)
        if ftype == "date":
            if isinstance(raw, dt.datetime):
                raise _wrong_type(fspec)
            if isinstance(raw, dt.date):
                return raw.isoformat()
            if isinstance(raw, str) and len(raw) == 10:
                try:
                    return dt.date.fromisoformat(raw).isoformat()
                except ValueError:
                    raise _wrong_type(fspec) from None
            raise _wrong_type(fspec)
        if ftype == "datetime":
            if isinstance(raw, dt.datetime):
                return datetime_text(raw)
            if isinstance(raw, str):
                try:
                    parsed = dt.datetime.fromisoformat(_iso(raw))
                except ValueError:
                    raise _wrong_type(fspec) from None
                return datetime_text(parsed)
            raise _wrong_type(fspec)
        return raw if isinstance(raw, str) else json.dumps(raw)

    # -- matching (one SELECT per batch)

    def _match_upsert(self, conn: Any, spec: ObjectSpec, ext: FieldSpec, rows: list[_Row]) -> None:
        live = [r for r in rows if r.error is None]
        if ext.name == "Id":
            ids = [r.record_id for r in live if r.record_id]
            state = self._fetch_state(conn, spec, [i for i in ids if i])
            for row in live:
                if row.record_id is None:
                    row.create = True
                elif state.get(row.record_id) is None:
                    row.error = _RowError(
                        "NOT_FOUND",
                        f"Provided external ID field does not exist or is not accessible: {row.record_id}",
                        ("Id",),
                    )
                elif state[row.record_id]:
                    row.error = _RowError("ENTITY_IS_DELETED", "entity is deleted", ("Id",))
                else:
                    row.create = False
            return
        by_key: dict[Any, list[_Row]] = defaultdict(list)
        for row in live:
            by_key[_fold(ext, row.values[ext.name])].append(row)
        for key_rows in by_key.values():
            if len(key_rows) > 1:
                for row in key_rows:
                    row.error = _RowError(
                        "DUPLICATE_EXTERNAL_ID",
                        f"Duplicate external id specified: {row.values[ext.name]}",
                        (ext.name,),
                    )
        wanted = [rows_[0].values[ext.name] for rows_ in by_key.values() if len(rows_) == 1]
        matches: dict[Any, list[str]] = defaultdict(list)
        stored: dict[str, Any] = {}
        for chunk in _chunks(wanted):
            marks = ", ".join("?" for _ in chunk)
            for rid, value in conn.execute(
                f'SELECT "Id", {quote(ext.name)} FROM {quote(spec.name)} '
                f'WHERE {quote(ext.name)} IN ({marks}) AND "IsDeleted" = 0',
                list(chunk),
            ):
                matches[_fold(ext, value)].append(rid)
                stored[rid] = value
        for key, key_rows in by_key.items():
            if len(key_rows) != 1:
                continue
            row = key_rows[0]
            found = matches.get(key, [])
            if len(found) > 1:
                row.error = _RowError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"More than 1 record found for external id field {ext.name}: {', '.join(sorted(found))}",
                    (ext.name,),
                    matched=sorted(found),
                )
            elif found:
                row.create, row.record_id = False, found[0]
                if stored[found[0]] == row.values[ext.name]:
                    # The key already holds exactly this value: leave its unique index entry alone.
                    del row.values[ext.name]
            else:
                row.create = True

    def _match_update(self, conn: Any, spec: ObjectSpec, rows: list[_Row]) -> None:
        live = [r for r in rows if r.error is None and r.record_id]
        seen: set[str] = set()
        for row in live:
            assert row.record_id is not None
            if row.record_id[:3] != spec.key_prefix:
                row.error = _RowError(
                    "MALFORMED_ID", f"{spec.name} ID: id value of incorrect type: {row.record_id}", ("Id",)
                )
            elif row.record_id in seen:
                row.error = _RowError("DUPLICATE_VALUE", f"Duplicate id in list: {row.record_id}", ("Id",))
            seen.add(row.record_id)
        state = self._fetch_state(conn, spec, [r.record_id for r in live if r.error is None and r.record_id])
        for row in live:
            if row.error is not None:
                continue
            assert row.record_id is not None
            deleted = state.get(row.record_id)
            if deleted is None:
                row.error = _RowError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ("Id",))
            elif deleted:
                row.error = _RowError("ENTITY_IS_DELETED", "entity is deleted", ("Id",))

    @staticmethod
    def _check_access(spec: ObjectSpec, row: _Row) -> None:
        """Field-level rules that depend on whether the row creates or updates: access and required fields."""
        names = list(row.values) + [ref.field.name for ref in row.refs]
        forbidden = spec.not_createable if row.create else spec.not_updateable
        blocked = [name for name in names if name in forbidden]
        if blocked:
            action = "create" if row.create else "update"
            row.error = _RowError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to {action} fields: {', '.join(blocked)}. Please check the security settings of this field "
                f"and verify that it is read/write for your profile or permission set.",
                blocked,
            )
            return
        referenced = {ref.field.name for ref in row.refs}
        if row.create:
            missing = [
                f.name
                for f in spec.required_on_create
                if row.values.get(f.name) is None and (not referenced or f.name not in referenced)
            ]
        else:
            missing = [
                name
                for name, value in row.values.items()
                if value is None
                and not spec.fields[name.lower()].nillable
                and spec.fields[name.lower()].type != "boolean"
            ]
        if missing:
            row.error = _RowError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )

    # -- lookups (one SELECT per target object and key field)

    def _resolve_refs(self, conn: Any, rows: list[_Row]) -> None:
        wanted: dict[tuple[str, str], set[Any]] = defaultdict(set)
        specs: dict[tuple[str, str], tuple[ObjectSpec, FieldSpec]] = {}
        for row in rows:
            if row.error is None:
                for ref in row.refs:
                    key = (ref.target.name, ref.key_field.name)
                    if ref.value is not None:
                        wanted[key].add(ref.value)
                    specs[key] = (ref.target, ref.key_field)
        found: dict[tuple[str, str], dict[Any, list[str]]] = {}
        for key, values in wanted.items():
            target, key_field = specs[key]
            matches: dict[Any, list[str]] = defaultdict(list)
            for chunk in _chunks(sorted(values, key=str)):
                marks = ", ".join("?" for _ in chunk)
                for rid, value in conn.execute(
                    f'SELECT "Id", {quote(key_field.name)} FROM {quote(target.name)} '
                    f'WHERE {quote(key_field.name)} IN ({marks}) AND "IsDeleted" = 0',
                    list(chunk),
                ):
                    matches[_fold(key_field, value)].append(rid)
            found[key] = matches
        for row in rows:
            if row.error is not None:
                continue
            for ref in row.refs:
                hits = found.get((ref.target.name, ref.key_field.name), {}).get(_fold(ref.key_field, ref.value), [])
                if len(hits) == 1:
                    row.values[ref.field.name] = hits[0]
                    continue
                if hits:
                    message = (
                        f"Foreign key external ID: {ref.value} matched more than one record for field "
                        f"{ref.key_field.name} in entity {ref.target.name}"
                    )
                else:
                    message = (
                        f"Foreign key external ID: {ref.value} not found for field {ref.key_field.name} "
                        f"in entity {ref.target.name}"
                    )
                row.error = _RowError("INVALID_FIELD", message, (ref.field.relationship_name or ref.field.name,))
                break

    def _check_direct_refs(self, conn: Any, spec: ObjectSpec, rows: list[_Row]) -> None:
        """Lookups given as Ids must name a live record of a type the field may point to."""
        ref_fields = [f for f in spec.fields.values() if f.type == "reference"]
        if not ref_fields:
            return
        by_prefix: dict[str, ObjectSpec] = {s.key_prefix: s for s in self._specs.values()}
        wanted: dict[str, set[str]] = defaultdict(set)
        via_ref = {id(row): {ref.field.name for ref in row.refs} for row in rows}
        for row in rows:
            if row.error is not None:
                continue
            for fspec in ref_fields:
                value = row.values.get(fspec.name)
                if value is None or fspec.name in via_ref[id(row)]:
                    continue
                allowed = {self._specs[t.lower()].key_prefix for t in fspec.reference_to if t.lower() in self._specs}
                known_targets = len(allowed) == len(fspec.reference_to)
                target = by_prefix.get(value[:3])
                if target is None or value[:3] not in allowed:
                    if known_targets or target is not None:
                        row.error = _RowError(
                            "MALFORMED_ID", f"{fspec.name}: id value of incorrect type: {value}", (fspec.name,)
                        )
                        break
                    continue  # a target the local CRM does not model (User, RecordType…): trust the Id
                wanted[target.name].add(value)
        state: dict[str, bool] = {}
        for target_name, ids in wanted.items():
            state.update(self._fetch_state(conn, self._specs[target_name.lower()], sorted(ids)))
        for row in rows:
            if row.error is not None:
                continue
            for fspec in ref_fields:
                value = row.values.get(fspec.name)
                if value is None or fspec.name in via_ref[id(row)] or value[:3] not in by_prefix:
                    continue
                deleted = state.get(value)
                if deleted is None:
                    row.error = _RowError(
                        "INVALID_CROSS_REFERENCE_KEY", f"{fspec.name}: invalid cross reference id", (fspec.name,)
                    )
                    break
                if deleted:
                    row.error = _RowError("ENTITY_IS_DELETED", f"{fspec.name}: entity is deleted", (fspec.name,))
                    break

    # -- uniqueness (one SELECT per unique field)

    def _check_unique(self, conn: Any, spec: ObjectSpec, rows: list[_Row], skip: FieldSpec | None) -> None:
        for fspec in spec.fields.values():
            if not fspec.unique or not fspec.stored or (skip is not None and fspec.name == skip.name):
                continue
            claims: dict[Any, _Row] = {}
            values = []
            for row in rows:
                value = row.values.get(fspec.name)
                if row.error is not None or value is None:
                    continue
                key = _fold(fspec, value)
                if key in claims:
                    row.error = _RowError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {fspec.name} duplicates value on another record in this request",
                        (fspec.name,),
                    )
                    continue
                claims[key] = row
                values.append(value)
            for chunk in _chunks(values):
                marks = ", ".join("?" for _ in chunk)
                for rid, value in conn.execute(
                    f'SELECT "Id", {quote(fspec.name)} FROM {quote(spec.name)} '
                    f'WHERE {quote(fspec.name)} IN ({marks}) AND "IsDeleted" = 0',
                    list(chunk),
                ):
                    claimant = claims.get(_fold(fspec, value))
                    if (
                        claimant is not None
                        and claimant.error is None
                        and (claimant.create or claimant.record_id != rid)
                    ):
                        claimant.error = _RowError(
                            "DUPLICATE_VALUE",
                            f"duplicate value found: {fspec.name} duplicates value on record with id: {rid}",
                            (fspec.name,),
                        )

    def _check_duplicate_rules(self, conn: Any, spec: ObjectSpec, rows: list[_Row]) -> None:
        for fields, on_edit in self._duplicate_rules.get(spec.name, ()):
            where = " AND ".join(
                f"lower({quote(f.name)}) = lower(?)" if f.type in TEXT_TYPES else f"{quote(f.name)} = ?" for f in fields
            )
            for row in rows:
                if row.error is not None or not (row.create or on_edit):
                    continue
                values = [row.values.get(f.name) for f in fields]
                if not row.create:  # an update: the record as it will be, its unchanged fields included
                    stored = conn.execute(
                        f'SELECT {", ".join(quote(f.name) for f in fields)} FROM {quote(spec.name)} WHERE "Id" = ?',
                        [row.record_id],
                    ).fetchone()
                    values = [
                        v if f.name in row.values else (stored[i] if stored else None)
                        for i, (f, v) in enumerate(zip(fields, values, strict=True))
                    ]
                if any(v is None or v == "" for v in values):
                    continue
                matched = [
                    rid
                    for (rid,) in conn.execute(
                        f'SELECT "Id" FROM {quote(spec.name)} WHERE {where} AND "IsDeleted" = 0 ORDER BY "Id"', values
                    )
                    if rid != row.record_id
                ]
                if matched:
                    row.error = _RowError(
                        "DUPLICATES_DETECTED",
                        "You're creating a duplicate record. We recommend you use an existing record instead.",
                        matched=matched,
                    )

    # -- writing (executemany)

    def _write_rows(self, conn: Any, spec: ObjectSpec, rows: list[_Row], now: str) -> None:
        creates = [r for r in rows if r.error is None and r.create]
        updates = [r for r in rows if r.error is None and not r.create]
        if creates:
            first = self._allocate(conn, spec.name, len(creates))
            columns = spec.stored_fields()
            defaults = {f.name: _default(f) for f in columns}
            defaults.update({"IsDeleted": 0, "CreatedDate": now, "LastModifiedDate": now, "SystemModstamp": now})
            params = []
            if spec.name == "ContentVersion" and "contentdocumentid" in spec.fields:
                # Salesforce creates a ContentDocument for a new version that names none; the local CRM does not
                # model ContentDocument, so it only issues the Id (ContentDocumentLink rows can then point at it).
                new_documents = [r for r in creates if r.values.get("ContentDocumentId") is None]
                if new_documents:
                    doc_seq = self._allocate(conn, "ContentDocument", len(new_documents))
                    for n, row in enumerate(new_documents):
                        row.values["ContentDocumentId"] = make_id("069", doc_seq + n)
            for n, row in enumerate(creates):
                row.record_id = make_id(spec.key_prefix, first + n)
                values = {**defaults, **{k: v for k, v in row.values.items() if v is not None}}
                values["Id"] = row.record_id
                params.append(tuple(values[f.name] for f in columns))
            cols = ", ".join(quote(f.name) for f in columns)
            marks = ", ".join("?" for _ in columns)
            conn.executemany(f"INSERT INTO {quote(spec.name)} ({cols}) VALUES ({marks})", params)
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
        for row in updates:
            names = tuple(row.values)
            groups[names].append((*row.values.values(), now, now, row.record_id))
        for names, params_list in groups.items():
            sets = ", ".join(f"{quote(n)} = ?" for n in (*names, "LastModifiedDate", "SystemModstamp"))
            conn.executemany(f'UPDATE {quote(spec.name)} SET {sets} WHERE "Id" = ?', params_list)
        auto = _auto_number(spec.describe.get("x_autoNumberFormat"))
        if auto is not None and creates:
            # An auto-number Name (RUN-000001): the org fills it on create, in insertion order.
            before, digits, after = auto
            conn.executemany(
                f"""UPDATE {quote(spec.name)} SET "Name" = ? || printf('%0{digits}d', rowid) || ? WHERE "Id" = ?""",
                [(before, after, r.record_id) for r in creates],
            )
        if spec.person_name and (creates or updates):
            # Contact.Name and Lead.Name are computed by Salesforce from the name parts; do the same.
            conn.executemany(
                f'UPDATE {quote(spec.name)} SET "Name" = '
                """TRIM(COALESCE("FirstName", '') || ' ' || COALESCE("LastName", '')) WHERE "Id" = ?""",
                [(r.record_id,) for r in (*creates, *updates)],
            )

    # -- org behaviours after a write (campaign member statuses; the checks before it are member_statuses.py)
    #
    # Salesforce starts every new campaign with "Sent" (the default) and "Responded", and a status made the
    # default takes that role from the campaign's previous default.

    def _statuses_spec(self) -> ObjectSpec | None:
        return self._specs.get("campaignmemberstatus")

    def _org_rules_after(self, conn: Any, spec: ObjectSpec, rows: list[_Row], now: str) -> None:
        statuses = self._statuses_spec()
        if statuses is None:
            return
        written = [r for r in rows if r.error is None and r.record_id]
        if spec.name == "Campaign":
            self._add_standard_statuses(conn, statuses, [r for r in written if r.create], now)
        elif spec is statuses:
            self._keep_one_default(conn, spec, [r for r in written if r.values.get("IsDefault") == 1], now)

    def _campaign_of(self, conn: Any, spec: ObjectSpec, rows: list[_Row]) -> dict[int, str | None]:
        """{row index: its CampaignId}: from the row on create, from the stored record on update."""
        stored: dict[str, str] = {}
        updates = [r.record_id for r in rows if not r.create and r.record_id]
        for chunk in _chunks(updates):
            marks = ", ".join("?" for _ in chunk)
            for rid, campaign in conn.execute(
                f'SELECT "Id", "CampaignId" FROM {quote(spec.name)} WHERE "Id" IN ({marks})', list(chunk)
            ):
                stored[rid] = campaign
        return {r.index: (r.values.get("CampaignId") if r.create else stored.get(r.record_id or "")) for r in rows}

    def _add_standard_statuses(self, conn: Any, statuses: ObjectSpec, created: list[_Row], now: str) -> None:
        if not created:
            return
        rows: list[_Row] = []
        for row in created:
            for n, (label, default, responded) in enumerate((("Sent", 1, 0), ("Responded", 0, 1)), start=1):
                values = {"CampaignId": row.record_id, "Label": label, "IsDefault": default, "HasResponded": responded}
                if "sortorder" in statuses.fields:
                    values["SortOrder"] = n
                rows.append(_Row(index=len(rows), values=values))
        self._write_rows(conn, statuses, rows, now)

    def _keep_one_default(self, conn: Any, spec: ObjectSpec, defaults: list[_Row], now: str) -> None:
        """A status made the default takes that role from the campaign's previous default."""
        campaign_of = self._campaign_of(conn, spec, defaults)
        conn.executemany(
            'UPDATE "CampaignMemberStatus" SET "IsDefault" = 0, "LastModifiedDate" = ?, "SystemModstamp" = ? '
            'WHERE "CampaignId" = ? AND "Id" != ? AND "IsDefault" = 1',
            [(now, now, campaign_of[r.index], r.record_id) for r in defaults if campaign_of.get(r.index)],
        )


def _wrong_type(fspec: FieldSpec) -> _RowError:
    return _RowError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{fspec.name}: value not of required type {fspec.type}", (fspec.name,)
    )


def _iso(text: str) -> str:
    """Salesforce writes `+0000`; Python 3.11 reads `+00:00` and `Z` — normalise the offset."""
    text = text.strip().replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    return text


def _default(fspec: FieldSpec) -> Any:
    """What the server fills in when a create leaves the field out."""
    if fspec.type == "boolean":
        default = fspec.default_value
        return 1 if default is True or str(default).lower() == "true" else 0
    if fspec.type in ("picklist", "multipicklist") and fspec.default_picklist_value is not None:
        return fspec.default_picklist_value
    return None


def _output(fspec: FieldSpec, value: Any) -> Any:
    """Stored value -> the JSON value Salesforce's REST API returns."""
    if value is None:
        return None
    if fspec.type == "boolean":
        return bool(value)
    if fspec.type in INTEGER_TYPES:
        return int(value)
    if fspec.type in REAL_TYPES:
        return float(value)
    return value


def _build_record(compiled: CompiledQuery, row: Sequence[Any]) -> CrmRecord:
    """Flat SQL row -> Salesforce-shaped record: parent paths nest (`{"Account": {"Name": …}}`), or are null."""
    n = len(compiled.columns)
    join_present = {path: row[n + i] is not None for i, path in enumerate(compiled.join_paths)}
    record: CrmRecord = {}
    for column, value in zip(compiled.columns, row, strict=False):
        target = record
        path = column.path
        missing = False
        for depth in range(len(path) - 1):
            rel = path[depth]
            if not join_present[path[: depth + 1]]:
                target[rel] = None
                missing = True
                break
            nested = target.get(rel)
            if not isinstance(nested, dict):
                nested = {}
                target[rel] = nested
            target = nested
        if not missing:
            target[path[-1]] = _output(column.spec, value)
    return record


def _auto_number(display_format: object) -> tuple[str, int, str] | None:
    """`ISS-{000000}` -> ("ISS-", 6, ""): an auto-number's text around its zero-padded counter."""
    if not isinstance(display_format, str):
        return None
    match = re.fullmatch(r"([^{}]*)\{(0+)\}([^{}]*)", display_format)
    return (match[1], len(match[2]), match[3]) if match else None
