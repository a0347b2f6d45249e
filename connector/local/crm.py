"""`LocalCrm`: an embedded CRM on SQLite that behaves like a Salesforce org where a sync can tell the difference.

It is self-describing: `LocalCrm.create_database(url, describes)` builds typed tables from Salesforce describe
JSON and keeps those describes in the database, so `LocalCrm.open(url)` needs nothing else, and calling it again
with a grown profile adds the new objects and fields in place.  Writes are checked against the describes with
Salesforce's own error codes and fail per row (`RowResult`), never by exception; only whole-call problems
(unknown object, a query that does not parse) raise.

This module is the façade: the port's methods and the order a write call runs its steps in.  Each step is a
module of its own: rows read from input (preparation.py), matched to stored records (matching.py), checked
for field access (access.py), lookups (references.py), unique values and duplicate rules (uniqueness.py) and
org behaviours (checks.py and its siblings), then written (writing.py) with the campaign-status rules after
(member_status_defaults.py); all inside one `BEGIN IMMEDIATE` transaction (storage.py), so a concurrent writer
cannot slip a duplicate in between.  Queries compile to SQL (query.py) and come back in pages (cursors.py).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from connector.base import CallCounter, CrmRecord, FatalCrmError, QueryPage, RowResult
from connector.ids import to_18
from connector.local import cursors
from connector.local.access import check_access
from connector.local.address_picklists import AddressPicklists, without_address_picklists
from connector.local.checks import Check, merged_candidates
from connector.local.deletes import apply_delete, plan_delete
from connector.local.matching import match_update, match_upsert
from connector.local.member_status_defaults import org_rules_after
from connector.local.member_statuses import MemberStatuses
from connector.local.merging import MergeResult, merge, merge_ids
from connector.local.preparation import prepare
from connector.local.query import CompiledQuery, compile_query, datetime_text, quote
from connector.local.references import check_direct_refs, resolve_refs
from connector.local.rows import Row, RowError
from connector.local.schema import FieldSpec, ObjectSpec
from connector.local.soql_parser import parse
from connector.local.stage_rules import StageRestrictions
from connector.local.storage import Storage, engine_for, fetch_state
from connector.local.uniqueness import DuplicateRule, check_duplicate_rules, check_unique
from connector.local.validation_rules import ValidationRules
from connector.local.values import output
from connector.local.writing import write_rows

__all__ = ["DEFAULT_PAGE_SIZE", "RECORDS_PER_CALL", "Clock", "LocalCrm", "MergeResult"]

DEFAULT_PAGE_SIZE = 2000
# Salesforce sObject Collections take at most 200 records per call; we count calls the same way.
RECORDS_PER_CALL = 200

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
        self._clock = clock or _utc_now
        self.page_size = page_size
        self.api_limit = api_limit
        self.counter = CallCounter()
        self._specs: dict[str, ObjectSpec] = {}
        self._duplicate_rules: dict[str, list[DuplicateRule]] = {}
        # Org behaviours beyond the describes, each in its own module (see connector/local/checks.py).
        self._checks: tuple[Check, ...] = (
            MemberStatuses(self._spec_or_none),
            AddressPicklists(),
            StageRestrictions(self._spec_or_none),
            ValidationRules(self._spec_or_none),
        )
        self._storage = Storage(engine)
        self._specs = self._storage.load_specs()

    # ---------------------------------------------------------------------------------------- opening

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
        crm = cls(engine_for(url), clock=clock, page_size=page_size)
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
        crm = cls(engine_for(url), clock=clock, page_size=page_size)
        if not crm._specs:
            raise FatalCrmError(f"the local CRM database at {parsed.database} has no objects yet", code="NOT_FOUND")
        return crm

    def close(self) -> None:
        self._storage.close()

    def __enter__(self) -> LocalCrm:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

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
        with self._storage.lock:
            self._storage.save_describes(self._specs, describes)
            self._specs = self._storage.load_specs()

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
        with self._storage.write() as conn:
            state = fetch_state(conn, spec, list(wanted))
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
        """Merge up to two duplicates into a master record, as staff do in Salesforce (see merging.py)."""
        spec = self._spec(object_name)
        master, losers = merge_ids(spec, master_id, duplicate_ids)
        self.counter.add("merge")
        now = self._now()
        with self._storage.write() as conn:
            return merge(conn, self._specs, spec, master, losers, now)

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
        with self._storage.read() as conn:
            row = conn.execute(
                f'SELECT {cols} FROM {quote(spec.name)} WHERE "Id" = ? AND "IsDeleted" = 0', (rid,)
            ).fetchone()
        if row is None:
            return None
        return {f.name: output(f, v) for f, v in zip(chosen, row, strict=True)}

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
        return self._page(self._compile(soql, include_deleted), soql, include_deleted, cursor_id=None, start=0)

    def query_more(self, locator: str) -> QueryPage:
        cursor_id, soql, include_deleted, start = cursors.find_cursor(self._storage, locator)
        return self._page(self._compile(soql, include_deleted), soql, include_deleted, cursor_id=cursor_id, start=start)

    def _compile(self, soql: str, include_deleted: bool) -> CompiledQuery:
        today = self._clock().astimezone(dt.UTC).date()
        return compile_query(parse(soql), self._specs, include_deleted=include_deleted, today=today)

    def _page(
        self, compiled: CompiledQuery, soql: str, include_deleted: bool, *, cursor_id: str | None, start: int
    ) -> QueryPage:
        self.counter.add("query")
        return cursors.read_page(
            self._storage,
            compiled,
            page_size=self.page_size,
            start=start,
            cursor_id=cursor_id,
            open_cursor=lambda: cursors.open_cursor(self._storage, soql, include_deleted, self._clock()),
        )

    # ----------------------------------------------------------------------------------------- writes

    def _now(self) -> str:
        return datetime_text(self._clock())

    def _count_write(self, kind: str, rows: int) -> None:
        if rows:
            self.counter.add(kind, math.ceil(rows / RECORDS_PER_CALL))

    def _save(
        self, object_name: str, records: Sequence[Mapping[str, Any]], mode: str, ext_name: str | None
    ) -> list[RowResult]:
        """One write call: prepare every row, then match, check and write them in one transaction."""
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
        rows = [prepare(self._specs, spec, i, record, mode, ext) for i, record in enumerate(records)]
        now = self._now()
        with self._storage.write() as conn:
            if mode == "upsert":
                assert ext is not None
                match_upsert(conn, spec, ext, rows)
            elif mode == "update":
                match_update(conn, spec, rows)
            for row in rows:
                if row.error is None:
                    check_access(spec, row)
            resolve_refs(conn, rows)
            check_direct_refs(conn, self._specs, spec, rows)
            check_unique(conn, spec, rows, skip=ext if mode == "upsert" else None)
            check_duplicate_rules(conn, spec, rows, self._duplicate_rules.get(spec.name, []))
            self._org_checks(conn, spec, rows)
            write_rows(conn, spec, rows, now)
            org_rules_after(conn, self._specs, spec, rows, now)
        return [
            row.error.result() if row.error else RowResult(True, id=row.record_id, created=row.create) for row in rows
        ]

    def _org_checks(self, conn: Any, spec: ObjectSpec, rows: list[Row]) -> None:
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
                row.error = RowError(candidate.refusal.code, candidate.refusal.message, candidate.refusal.fields)
