"""Sync health in the CRM: issue records for rows not in the org as they should be, and a record per run.

Development staff live in Salesforce (issue 14).  After a run, every ledger row that is rejected, blocked or
invalid becomes an `Ignite_Sync_Issue__c` record (upserted on the row's key and step) with the org's error
code, the fields it named, its message and a plain-language "what to do"; when the row lands, its issue is
set Resolved with a resolution date (never deleted).  A run that wrote anything gets an `Ignite_Sync_Run__c`.

Staff steer from the record: an issue set to `Retry requested` is picked up at the start of the next run (one
query, made only while open issues exist) and its row is sent again at once, whatever its backoff; the row's
blocked children follow in the same run because their parent now lands first.

What it costs, and the bound:
- issue records go through the connector's upsert in batches like every other write (Collections, or Bulk
  past the connector's threshold), and only when an issue's content changed: an unchanged resync writes none
  and, with no open issues, makes no call at all;
- at most `max_issues` issue records per run (default 200: one Collections call); the rest are counted in the
  run record's Issues_Not_Written__c and written by the next runs (resolutions first, then new issues);
- one upsert for the run record, and one query for retry requests while issues are open.
All of it is counted in the run's API calls, like the sync's own calls.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from connector.base import CrmConnector, CrmError
from connector.reader import query_all
from connector.soql import soql_quote
from mappings.health import (
    HEALTH_KEY_LENGTH,
    ISSUE_OBJECT,
    MESSAGE_LENGTH,
    OPEN,
    PROBLEMS,
    RESOLVED,
    RETRY_REQUESTED,
    RUN_OBJECT,
    what_to_do,
)
from store.issues import IssueRepository, WrittenIssue
from store.jobs import utcnow
from store.jobs_tables import sync_ledger
from store.ledger import LedgerRepository
from sync.failures import PROBLEM_STATUSES, RecordDescriber

log = logging.getLogger("ignite_sync.health")

# Objects an issue can link to with a lookup, when the row is one of them and the org holds it.
LOOKUPS = {"Contact": "Contact__c", "Account": "Account__c", "Opportunity": "Opportunity__c"}
# Codes meaning the record is gone from the org: a lookup to it would make the issue itself fail.
GONE = {"ENTITY_IS_DELETED", "ENTITY_IS_MERGED", "CRM_RECORD_MISSING", "INVALID_CROSS_REFERENCE_KEY"}
# Rows whose CRM message may echo what a participant answered: the message stays out of the org's issue.
SENSITIVE_KEYS = ("response:",)
_FIELDS = re.compile(r" \(fields: ([^)]*)\)$")
OUTCOMES = {"succeeded": "Succeeded", "partial": "Partial", "retry": "Retry", "failed": "Failed"}


def issue_key(record_key: str, step: str) -> str:
    """The issue's external ID: the row's key and step, or a hash of them when that is too long."""
    key = f"{record_key}|{step}"
    if len(key) <= HEALTH_KEY_LENGTH:
        return key
    return "issue:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def _when(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z") if value is not None else None


def _hash(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()


@dataclass
class HealthReport:
    """What the health writes did in one run (the run report carries it as `health`)."""

    retries_requested: int = 0
    issues_written: int = 0
    issues_resolved: int = 0
    issues_not_written: int = 0
    issue_rejections: int = 0
    run_record: bool = False
    # A whole call failed (e.g. INVALID_TYPE: the org lacks the plugin's objects); the sync itself is unaffected.
    error: str | None = None

    def as_dict(self) -> dict[str, int | bool]:
        return dict(self.__dict__)


@dataclass
class SyncHealth:
    """Writes the sync-health records for one engine; `enabled=False` (IGNITE_CRM_SYNC_HEALTH) does nothing."""

    engine: Engine
    crm: CrmConnector
    key_field: str = "Ignite_Key__c"
    max_issues: int = 200
    batch_size: int = 200
    retry_first_wait: timedelta = timedelta(hours=1)
    retry_longest_wait: timedelta = timedelta(hours=24)
    enabled: bool = True
    last: HealthReport = field(default_factory=HealthReport)

    # -- before the run: staff asked for retries ------------------------------------------------------------

    def take_retry_requests(self) -> int:
        """Release the rows whose issue staff set to Retry requested; one query, only while issues are open."""
        self.last = HealthReport()
        if not self.enabled:
            return 0
        with self.engine.connect() as conn:
            if not IssueRepository(conn).any_open():
                return 0
        soql = f"SELECT Id, {self.key_field} FROM {ISSUE_OBJECT} WHERE Status__c = {soql_quote(RETRY_REQUESTED)}"
        try:
            keys = [str(r[self.key_field]) for r in query_all(self.crm, soql) if r.get(self.key_field)]
        except CrmError as exc:  # staff's requests wait for the next run; the sync goes on
            self.last.error = exc.code or type(exc).__name__
            log.warning("could not read retry requests from the CRM (%s)", self.last.error)
            return 0
        if not keys:
            return 0
        with self.engine.begin() as conn:
            issues = IssueRepository(conn)
            pairs = [(i.record_key, i.step) for i in issues.by_issue_keys(keys)]
            released = LedgerRepository(conn).release(pairs)
            issues.forget_hashes(pairs)  # rewritten at the end of the run: Resolved, or Open with the new error
        self.last.retries_requested = len(pairs)
        log.info("staff asked for %s retries in the CRM; %s rows sent again now", len(pairs), released)
        return len(pairs)

    # -- after the run: issues and the run record -----------------------------------------------------------

    def record_run(
        self,
        *,
        run_id: int | None,
        mode: str,
        status: str,
        started: datetime,
        counts: Mapping[str, Mapping[str, int]],
        wrote: bool,
        calls_so_far: Callable[[], int],
    ) -> HealthReport:
        """Write changed issues (bounded), then the run record if the run wrote anything or any issue."""
        if not self.enabled:
            return self.last
        try:
            self._write_issues()
            if run_id is not None and (wrote or self.last.issues_written):
                self._write_run(run_id, mode, status, started, counts, calls_so_far())
        except CrmError as exc:
            # The sync's own writes are done and recorded; an org without the plugin's health objects (or a
            # CRM that went away just now) must not fail them.  Unwritten issues are written by a later run.
            self.last.error = exc.code or type(exc).__name__
            log.warning(
                "sync health records not written (%s); deploy the plugin or set IGNITE_CRM_SYNC_HEALTH=false",
                self.last.error,
            )
        return self.last

    def _problem_rows(self) -> Iterator[Any]:
        led = sync_ledger.c
        with self.engine.connect() as conn:
            query = select(sync_ledger).where(led.status.in_(PROBLEM_STATUSES)).order_by(led.record_key, led.step)
            yield from conn.execute(query).all()

    def _write_issues(self) -> None:
        now = utcnow()
        with self.engine.connect() as conn:
            written = IssueRepository(conn).all()
            describe = RecordDescriber(conn, personal=False)
            problems = list(self._problem_rows())
            problem_pairs = {(r.record_key, r.step) for r in problems}
            resolutions: list[tuple[WrittenIssue, dict[str, Any]]] = []
            for pair, issue in sorted(written.items()):
                if issue.status == "open" and pair not in problem_pairs:
                    resolutions.append(self._resolution(conn, issue, now))
            opened: list[tuple[WrittenIssue, dict[str, Any]]] = []
            for row in problems:
                before = written.get((row.record_key, row.step))
                first_seen = before.first_seen if before is not None and before.status == "open" else now
                payload = self._issue_payload(row, describe, first_seen)
                digest = _hash(payload)
                if before is not None and before.status == "open" and before.payload_hash == digest:
                    continue
                key = payload[self.key_field]
                opened.append((WrittenIssue(row.record_key, row.step, key, "open", digest, first_seen), payload))
        todo = resolutions + opened
        self.last.issues_not_written = max(len(todo) - self.max_issues, 0)
        todo = todo[: self.max_issues]
        saved: list[WrittenIssue] = []
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start : start + self.batch_size]
            results = self.crm.upsert(ISSUE_OBJECT, self.key_field, [payload for _, payload in batch])
            for (issue, _), result in zip(batch, results, strict=True):
                if result.success:
                    saved.append(issue)
                else:  # the org refused the issue itself (e.g. the plugin is not deployed); try again next run
                    self.last.issue_rejections += 1
                    log.warning("issue record %s refused: %s", issue.issue_key, result.error_code)
        with self.engine.begin() as conn:
            IssueRepository(conn).save(saved)
        self.last.issues_written = len(saved)
        self.last.issues_resolved = sum(1 for i in saved if i.status == "resolved")

    def _resolution(self, conn: Any, issue: WrittenIssue, now: datetime) -> tuple[WrittenIssue, dict[str, Any]]:
        entry = LedgerRepository(conn).get_many(issue.step, [issue.record_key]).get(issue.record_key)
        payload: dict[str, Any] = {self.key_field: issue.issue_key, "Status__c": RESOLVED, "Resolved_On__c": _when(now)}
        if entry is not None and entry.crm_id:
            payload["CRM_Record_Id__c"] = entry.crm_id
            lookup = LOOKUPS.get(entry.object_name)
            if lookup is not None:
                payload[lookup] = entry.crm_id
        digest = _hash(payload)
        resolved = WrittenIssue(issue.record_key, issue.step, issue.issue_key, "resolved", digest, issue.first_seen)
        return resolved, payload

    def _issue_payload(self, row: Any, describe: RecordDescriber, first_seen: datetime) -> dict[str, Any]:
        code = row.error_code or ("BLOCKED_BY_PARENT" if row.status == "blocked" else "UNKNOWN")
        message = row.error_message or ""
        named = _FIELDS.search(message)
        fields = named.group(1) if named else ""
        if named:
            message = message[: named.start()]
        if row.record_key.startswith(SENSITIVE_KEYS) or (row.source_key or "").startswith(SENSITIVE_KEYS):
            message = "(left out: the org's message may repeat a participant's answer)"
        rejected = row.status == "rejected"
        attempts = int(row.attempts or 0)
        next_retry = None
        if rejected and row.rejected_hash is not None and row.updated_at is not None:
            wait = min(self.retry_first_wait * 2 ** min(max(attempts - 1, 0), 20), self.retry_longest_wait)
            next_retry = row.updated_at + wait
        payload: dict[str, Any] = {
            self.key_field: issue_key(row.record_key, row.step),
            "Status__c": OPEN,
            "Problem__c": PROBLEMS[row.status],
            "Object__c": row.object_name,
            "Step__c": row.step,
            "Record_Key__c": row.record_key,
            "Record__c": describe(row.source_key or row.record_key)[:255],
            "CRM_Record_Id__c": row.crm_id,
            "Error_Code__c": code[:80],
            "Fields__c": fields[:255] or None,
            "Message__c": message[:MESSAGE_LENGTH] or None,
            "What_To_Do__c": what_to_do(code),
            "Blocked_By__c": row.blocked_by,
            "First_Seen__c": _when(first_seen),
            # Blocked and invalid rows are re-planned by every run without a call: only a send is a try.
            "Last_Tried__c": _when(row.updated_at) if rejected else None,
            "Next_Retry__c": _when(next_retry),
            "Attempts__c": attempts if rejected else 0,
            "Resolved_On__c": None,
        }
        lookup = LOOKUPS.get(row.object_name)
        if lookup is not None and row.crm_id and code not in GONE:
            payload[lookup] = row.crm_id
        return payload

    def _write_run(
        self,
        run_id: int,
        mode: str,
        status: str,
        started: datetime,
        counts: Mapping[str, Mapping[str, int]],
        calls_so_far: int,
    ) -> None:
        def total(name: str) -> int:
            return sum(int(c.get(name, 0)) for c in counts.values())

        usage = getattr(self.crm, "api_usage", None)
        used = usage() if callable(usage) else None
        payload = {
            self.key_field: f"run:{started:%Y%m%dT%H%M%S}:{run_id}",
            "Mode__c": mode[:40],
            "Started__c": _when(started),
            "Finished__c": _when(utcnow()),
            "Outcome__c": OUTCOMES.get(status, status.title()),
            "Created__c": total("created"),
            "Updated__c": total("updated") + total("matched"),
            "Unchanged__c": total("unchanged"),
            "Rejected__c": total("rejected"),
            "Blocked__c": total("blocked"),
            "Invalid__c": total("invalid"),
            "API_Calls__c": calls_so_far + 1,  # this record's own write included
            "Org_API_Used__c": getattr(used, "used", None),
            "Org_API_Limit__c": getattr(used, "total", None),
            "Issues_Not_Written__c": self.last.issues_not_written,
        }
        result = self.crm.upsert(RUN_OBJECT, self.key_field, [payload])[0]
        self.last.run_record = result.success
        if not result.success:
            log.warning("run record refused: %s", result.error_code)
