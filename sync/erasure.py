"""Forgetting one person (issue 18): the service database at once, the CRM as a durable job.

`forget` runs the service-database part (store.erasure) in one transaction at request time, so the person's
data leaves the database immediately, and in the same transaction queues the CRM part as an `erasure` job whose
payload holds only CRM Ids and keys (no name, no email) plus an incremental sync, so cohort aggregates in the
CRM (outcomes, summaries) are recomputed without the person.  A CRM outage fails the job retryably; the worker
finishes it later, and running `forget` again resumes it.

The CRM part (`CrmErasure`) touches only records the sync created: the ledger's records, the intake Lead and
Tasks keyed by the person's submissions, the sync-issue records of their rows.  Any other record that looks up
their Contact or Lead was made by staff: it is listed, not touched, and then the Contact or Lead itself is
anonymised rather than deleted (deleting it would take staff's Tasks along, or be refused by PMM's lookups).

- `delete`: children before parents (the profile's step order, reversed: PMM's Contact lookups restrict the
  delete while engagements or deliveries exist).  Every record is first blanked (scrub, then delete), so what
  lands in the recycle bin holds no value either.
- `anonymise`: names and contact fields blanked (a required one becomes `Erased participant <hash>`), the key
  field cleared; dates, statuses and lookups stay, so the fact of attendance is kept.  Individual answers and
  sync-issue records are deleted even so: an answer is the person's, not a fact the organisation must keep.
- `keep`: nothing is queued; the answer lists the CRM Ids that hold the person for the organisation's process.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from connector.base import CrmConnector, CrmError, FatalCrmError, RowResult, TransientCrmError
from connector.soql import soql_quote
from mappings.health import ISSUE_OBJECT
from mappings.profile import Profile
from store import erasure as store_erasure
from store import erasure_plan
from store.erasure_tables import CRM_PENDING
from store.jobs import Job, JobRepository
from sync.jobs import enqueue_incremental_sync
from sync.worker import Worker

log = logging.getLogger("ignite.erasure")

ERASURE_JOB = "erasure"
POLICIES = ("delete", "anonymise", "keep")
ERASURE_MAX_ATTEMPTS = 500  # the retry policy's ~72-hour budget ends retries first
PERSON_OBJECTS = ("Contact", "Lead")
TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "combobox", "encryptedstring"})
# Deleted under every policy: an individual answer is the person's, an issue record quotes their row.
ALWAYS_DELETED = frozenset({"Ignite_Survey_Response__c", ISSUE_OBJECT})
GONE = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "NOT_FOUND"})
_IGNORED_LOOKUPS = frozenset({"MasterRecordId", "ConvertedContactId", "OwnerId", "CreatedById", "LastModifiedById"})
_CHUNK = 200

ConnectorFactory = Callable[[], CrmConnector]


def placeholder(short: str) -> str:
    return f"Erased participant {short[:8]}"


@dataclass
class CrmResult:
    """What the CRM part did, by object: Ids only, never values."""

    policy: str
    deleted: dict[str, list[str]] = field(default_factory=dict)
    anonymised: dict[str, list[str]] = field(default_factory=dict)
    already_gone: dict[str, list[str]] = field(default_factory=dict)
    hand_made: list[dict[str, str]] = field(default_factory=list)
    kept: list[dict[str, str]] = field(
        default_factory=list
    )  # person records anonymised because staff's records use them
    failed: list[dict[str, str]] = field(default_factory=list)

    def add(self, bucket: dict[str, list[str]], object_name: str, record_id: str) -> None:
        ids = bucket.setdefault(object_name, [])
        if record_id not in ids:
            ids.append(record_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "deleted": self.deleted,
            "anonymised": self.anonymised,
            "already_gone": self.already_gone,
            "hand_made": self.hand_made,
            "kept": self.kept,
            "failed": self.failed,
        }


class CrmErasure:
    """Erases one person's records in the CRM by a policy.  Only keyed writes by Id; running it again finds
    deleted records gone and anonymised ones already blank, and changes nothing."""

    def __init__(self, crm: CrmConnector, profile: Profile) -> None:
        self.crm = crm
        self.profile = profile
        self.key_field = profile.key_field
        self._describes: dict[str, dict[str, Any] | None] = {}

    def _describe(self, object_name: str) -> dict[str, Any] | None:
        if object_name not in self._describes:
            try:
                self._describes[object_name] = self.crm.describe(object_name)
            except TransientCrmError:
                raise
            except CrmError:
                self._describes[object_name] = None  # the org has no such object
        return self._describes[object_name]

    def _ids_by_key(self, object_name: str, keys: Sequence[str]) -> list[str]:
        describe = self._describe(object_name)
        if not keys or describe is None:
            return []
        if not any(f.get("name") == self.key_field for f in describe.get("fields", [])):
            return []
        found: list[str] = []
        for start in range(0, len(keys), _CHUNK):
            quoted = ", ".join(soql_quote(k) for k in keys[start : start + _CHUNK])
            soql = f"SELECT Id FROM {object_name} WHERE {self.key_field} IN ({quoted})"
            found += [str(r["Id"]) for page in self.crm.query(soql) for r in page.records]
        return found

    def _lookup_objects(self) -> list[str]:
        objects = {step.object for step in self.profile.steps.values()}
        return sorted(objects | {"Task", "Event", "CampaignMember", "Case", "Opportunity"})

    def _children(self, people: Sequence[str]) -> list[dict[str, str]]:
        """Every live record that looks up one of these Contacts or Leads: {object, id, of (15-character Id)}."""
        if not people:
            return []
        found: list[dict[str, str]] = []
        for object_name in self._lookup_objects():
            describe = self._describe(object_name)
            if describe is None:
                continue
            for f in describe.get("fields", []):
                targets = set(f.get("referenceTo") or [])
                if f.get("type") != "reference" or not targets & set(PERSON_OBJECTS) or f["name"] in _IGNORED_LOOKUPS:
                    continue
                for start in range(0, len(people), _CHUNK):
                    quoted = ", ".join(soql_quote(i) for i in people[start : start + _CHUNK])
                    soql = f"SELECT Id, {f['name']} FROM {object_name} WHERE {f['name']} IN ({quoted})"
                    found += [
                        {"object": object_name, "id": str(r["Id"]), "of": str(r[f["name"]])[:15]}
                        for page in self.crm.query(soql)
                        for r in page.records
                    ]
        return found

    def _blanked(self, object_name: str, record_id: str, short: str, *, person: bool) -> dict[str, Any] | None:
        """The update that blanks a record's text (and the key; and dates on a person), or None when the
        record is gone.  `{}` when there is nothing left to blank."""
        describe = self._describe(object_name)
        if describe is None:
            return None
        record = self.crm.get(object_name, record_id)
        if record is None:
            return None
        changes: dict[str, Any] = {}
        for f in describe.get("fields", []):
            name = f["name"]
            kind = f.get("type")
            if not f.get("updateable") or f.get("calculated") or record.get(name) in (None, ""):
                continue
            blank_it = kind in TEXT_TYPES or (person and kind == "date")
            if not blank_it and name != self.key_field:
                continue
            if f.get("nillable", True):
                changes[name] = None
            elif kind in TEXT_TYPES:
                value = placeholder(short)[: int(f.get("length") or 80)]
                if record.get(name) != value:
                    changes[name] = value
        return changes

    def run(self, payload: dict[str, Any], policy: str) -> CrmResult:
        short = str(payload.get("hash", ""))
        result = CrmResult(policy)
        ours: dict[tuple[str, str], int] = {}  # (object, id) -> delete order (higher first)
        for record in payload.get("records", []):
            position = self.profile.position(record["step"]) if record.get("step") in self.profile.steps else 0
            ours[(record["object"], record["id"])] = position
        intake_keys = list(payload.get("intake_keys", []))
        for object_name in ("Lead", "Task"):
            for record_id in self._ids_by_key(object_name, intake_keys):
                ours.setdefault((object_name, record_id), 0 if object_name == "Lead" else 10_000)
        for record_id in self._ids_by_key(ISSUE_OBJECT, list(payload.get("issue_keys", []))):
            ours.setdefault((ISSUE_OBJECT, record_id), 10_000)
        our_ids = {record_id for _, record_id in ours}
        people = sorted({rid for (obj, rid) in ours if obj in PERSON_OBJECTS})
        for person in payload.get("people", []):
            if person["id"] not in our_ids:
                result.hand_made.append({"object": person["object"], "id": person["id"]})
        hand_made_children = [c for c in self._children(people) if c["id"] not in our_ids]
        for child in hand_made_children:
            listed = {"object": child["object"], "id": child["id"]}
            if listed not in result.hand_made:
                result.hand_made.append(listed)
        # Persons that staff's records look up are kept (anonymised), so those records are not touched.
        held = {c["of"] for c in hand_made_children}
        children = sorted(((obj, rid) for (obj, rid) in ours if obj not in PERSON_OBJECTS), key=lambda k: -ours[k])
        persons = [(obj, rid) for (obj, rid) in ours if obj in PERSON_OBJECTS]
        for object_name, record_id in children + persons:
            person = object_name in PERSON_OBJECTS
            delete = policy == "delete" or object_name in ALWAYS_DELETED
            if person and record_id[:15] in held:
                delete = False
                result.kept.append({"object": object_name, "id": record_id, "why": "staff's records look it up"})
            self._erase_one(result, object_name, record_id, short, person=person, delete=delete)
        return result

    def _erase_one(
        self, result: CrmResult, object_name: str, record_id: str, short: str, *, person: bool, delete: bool
    ) -> None:
        changes = self._blanked(object_name, record_id, short, person=person)
        if changes is None:
            result.add(result.already_gone, object_name, record_id)
            return
        if changes:
            [row] = self.crm.update(object_name, [{"Id": record_id, **changes}])
            if not self._ok(result, object_name, record_id, row, "update"):
                return
        if not delete:
            result.add(result.anonymised, object_name, record_id)
            return
        [row] = self.crm.delete(object_name, [record_id])
        if row.success:
            result.add(result.deleted, object_name, record_id)
        elif row.error_code in GONE:
            result.add(result.already_gone, object_name, record_id)
        else:  # refused (a lookup staff added restricts it): it stays, blanked
            result.add(result.anonymised, object_name, record_id)
            result.kept.append({"object": object_name, "id": record_id, "why": f"delete refused: {row.error_code}"})

    @staticmethod
    def _ok(result: CrmResult, object_name: str, record_id: str, row: RowResult, what: str) -> bool:
        if row.success:
            return True
        if row.error_code in GONE:
            result.add(result.already_gone, object_name, record_id)
        else:
            result.failed.append({"object": object_name, "id": record_id, "what": what, "code": str(row.error_code)})
        return False


# ------------------------------------------------------------------------------------------ the request


@dataclass
class ForgetOutcome:
    """What `forget` did or would do: counts, CRM Ids, the job; never a value of the person."""

    subject: str  # prefix of the keyed hash
    dry_run: bool
    policy: str
    counts: dict[str, int]
    crm_records: list[dict[str, str]]
    crm_people: list[dict[str, str]]
    intake_records: int
    issue_records: int
    exports_delivered_before: list[dict[str, Any]]
    erasure_id: int | None = None
    job_id: int | None = None
    status: str = "planned"
    crm_result: dict[str, Any] | None = None
    found: bool = True
    job_error: str | None = None

    @property
    def crm_queued(self) -> bool:
        return self.status == CRM_PENDING

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "dry_run": self.dry_run,
            "crm_policy": self.policy,
            "status": self.status,
            "erasure_id": self.erasure_id,
            "job_id": self.job_id,
            "removed" if not self.dry_run else "would_remove": self.counts,
            "crm_records": self.crm_records,
            "crm_people": self.crm_people,
            "intake_records": self.intake_records,
            "issue_records": self.issue_records,
            "exports_delivered_before": self.exports_delivered_before,
            "crm_result": self.crm_result,
            "job_error": self.job_error,
        }


def _payload(p: erasure_plan.ErasurePlan, erasure_id: int, policy: str) -> dict[str, Any]:
    return {
        "erasure_id": erasure_id,
        "policy": policy,
        "hash": p.subject.short,
        "records": p.crm_records,
        "people": p.people,
        "intake_keys": p.intake_keys,
        "issue_keys": p.issue_keys,
    }


def forget(
    engine: Engine,
    subject: store_erasure.Subject,
    *,
    policy: str,
    requested_by: str,
    profile: str,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ForgetOutcome:
    """The service-database part, in one transaction with the CRM job and the aggregate sync (see the module)."""
    if policy not in POLICIES:
        raise ValueError(f"--crm must be one of {', '.join(POLICIES)}")
    now = now or datetime.now(UTC)
    with engine.connect() as connection, connection.begin():
        p = erasure_plan.plan(connection, subject)
        outcome = ForgetOutcome(
            subject=p.subject.short,
            dry_run=dry_run,
            policy=policy,
            counts=p.counts(),
            crm_records=[{"object": r["object"], "id": r["id"]} for r in p.crm_records],
            crm_people=p.people,
            intake_records=len(p.intake_keys),
            issue_records=len(p.issue_keys),
            exports_delivered_before=p.exports_delivered_before,
            found=not p.empty or p.existing is not None,
        )
        if dry_run:
            if p.existing is not None:
                outcome.erasure_id, outcome.status = int(p.existing.id), str(p.existing.status)
            connection.rollback()
            return outcome
        erasure_id = erasure_plan.apply(connection, p, requested_by=requested_by, policy=policy, at=now)
        outcome.erasure_id = erasure_id
        jobs = JobRepository(connection)
        if policy != "keep" and p.crm_work:
            job_id = jobs.enqueue(
                ERASURE_JOB,
                _payload(p, erasure_id, policy),
                idempotency_key=f"erasure:{erasure_id}:{uuid.uuid4().hex}",
                max_attempts=ERASURE_MAX_ATTEMPTS,
            )
            store_erasure.attach_job(connection, erasure_id, job_id)
            outcome.job_id = job_id
        elif p.existing is not None and p.existing.status == CRM_PENDING and p.existing.job_id is not None:
            # A rerun resumes the CRM part left waiting (an outage): due now, with a fresh attempt budget.
            outcome.job_id = int(p.existing.job_id)
            jobs.replay(outcome.job_id)
        if not p.empty:
            enqueue_incremental_sync(connection, f"erasure {erasure_id}", profile=profile)
        row = store_erasure.get(connection, erasure_id)
        outcome.status = str(row.status)
        outcome.crm_result = row.crm_result
    erasure_plan.flush_old_pages(engine)
    log.info(
        "erasure %s subject=%s policy=%s removed %s; CRM job %s",
        erasure_id,
        p.subject.short,
        policy,
        sum(outcome.counts.values()),
        outcome.job_id,
    )
    return outcome


class ErasureHandler:
    """The worker's handler for `erasure` jobs (payload: erasure id, policy, CRM Ids and keys)."""

    def __init__(self, engine: Engine, connector_factory: ConnectorFactory, profile: Profile) -> None:
        self.engine = engine
        self.connector_factory = connector_factory
        self.profile = profile

    def __call__(self, job: Job, control: object = None) -> None:
        payload = job.payload
        erasure_id = int(payload["erasure_id"])
        with self.engine.connect() as connection:
            if store_erasure.get(connection, erasure_id) is None:
                raise FatalCrmError(f"erasure job {job.id}: erasure {erasure_id} does not exist")
        crm = self.connector_factory()
        try:
            result = CrmErasure(crm, self.profile).run(payload, str(payload["policy"]))
        finally:
            close = getattr(crm, "close", None)
            if callable(close):
                close()
        with self.engine.begin() as connection:
            store_erasure.record_crm_result(connection, erasure_id, result.as_dict(), at=datetime.now(UTC))
        log.info(
            "erasure %s subject=%s CRM done: deleted %s, anonymised %s, hand-made %s, failed %s",
            erasure_id,
            payload.get("hash"),
            sum(len(v) for v in result.deleted.values()),
            sum(len(v) for v in result.anonymised.values()),
            len(result.hand_made),
            len(result.failed),
        )


def run_erasure_jobs(engine: Engine, handler: ErasureHandler) -> None:
    """Run every due erasure job now, through the worker's own outcome rules (a CRM outage leaves the job
    retry-waiting for the worker), as the CLI does instead of waiting for a worker."""
    Worker(engine, {ERASURE_JOB: handler}, poll_seconds=0).run(once=True)


def refresh(engine: Engine, outcome: ForgetOutcome) -> ForgetOutcome:
    """The outcome with the erasure record's and the job's state as they are now (after an inline run)."""
    if outcome.erasure_id is None:
        return outcome
    with engine.connect() as connection:
        row = store_erasure.get(connection, outcome.erasure_id)
        job = JobRepository(connection).get(outcome.job_id) if outcome.job_id is not None else None
    outcome.status = str(row.status)
    outcome.crm_result = row.crm_result
    if job is not None and job.state != "succeeded":
        outcome.job_error = job.last_error
    return outcome


def delivered_before(rows: Iterable[dict[str, Any]]) -> list[str]:
    return [f"{r['funder']} ({r['delivered_at'][:10]})" for r in rows]
